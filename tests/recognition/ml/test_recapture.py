"""Simulated recaptures: deterministic frames of the expected size, with the cue each one simulates.

How the passive check scores them is tested in test_antispoof.py and measured by benchmarks/antispoof.py.
"""

import numpy as np
import pytest

from recognition.ml import recapture


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    return np.random.default_rng(1).integers(0, 256, (120, 90, 3), dtype=np.uint8)


def test_recapture_simulations_are_deterministic(photo):
    """The same photo and seed give the same simulated attack (benchmarks can be compared run to run)."""
    for kind, attack in recapture.ATTACKS.items():
        first, second = attack(photo, seed=3), attack(photo, seed=3)
        assert first.dtype == np.uint8 and first.ndim == 3, kind
        np.testing.assert_array_equal(first, second, err_msg=kind)


def test_screen_and_print_simulations_frame_the_photo_in_a_webcam_frame(photo):
    """Prints, screens and tilted sheets come back as 640x480 frames; quality losses keep the photo's size."""
    for kind in ("printed_photo_border", "lcd_screen", "lcd_screen_close", "flat_perspective"):
        assert recapture.ATTACKS[kind](photo, seed=0).shape == (480, 640, 3), kind
    for kind in ("halftone_print", "jpeg_chain", "rescale_blur"):
        assert recapture.ATTACKS[kind](photo, seed=0).shape == photo.shape, kind


def test_lcd_simulation_shows_subpixel_stripes():
    """A flat grey photo on the simulated screen is no longer flat: its columns alternate in colour."""
    grey = np.full((200, 150, 3), 128, dtype=np.uint8)
    frame = recapture.ATTACKS["lcd_screen_close"](grey, seed=0).astype(float)
    middle = frame[200:280, 280:360]
    assert np.abs(np.diff(middle[..., 0] - middle[..., 2], axis=1)).mean() > 2  # measured 3.5
    untouched = recapture.ATTACKS["jpeg_chain"](grey, seed=0).astype(float)
    assert np.abs(np.diff(untouched[..., 0] - untouched[..., 2], axis=1)).mean() < 0.5  # measured 0
