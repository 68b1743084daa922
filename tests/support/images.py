"""Image bytes for tests: a plain JPEG (no face in it); photos come from tests.fixtures.faces."""

from __future__ import annotations

import numpy as np

from recognition.ml.synthetic import jpeg_bytes

# Pillow's own default quality: the byte sizes some upload-limit tests rely on.
PLAIN_QUALITY = 75


def plain_jpeg(size: tuple[int, int] = (64, 64), colour=(120, 90, 60)) -> bytes:
    """Return a valid JPEG of one colour, `size` = (width, height), with no face in it."""
    width, height = size
    return jpeg_bytes(np.full((height, width, 3), colour, dtype=np.uint8), quality=PLAIN_QUALITY)
