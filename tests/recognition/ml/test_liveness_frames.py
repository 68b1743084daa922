"""The liveness check on real frames: synthetic head turns of the 5-celebrity photos, and photo attacks.

Each sequence is a burst of JPEG frames as the kiosk captures it, run through the real engine
(MTCNN landmarks, FaceNet embeddings). See recognition.ml.synthetic for how the frames are made and
benchmarks/liveness.py for the full evaluation over more photos.
"""

from __future__ import annotations

import hashlib

import pytest

from recognition.ml import synthetic
from recognition.ml.liveness import liveness_check

pytestmark = pytest.mark.slow
ORDERS = (["left", "right"], ["right", "left"])


@pytest.fixture(scope="module")
def framed(framed_faces):
    """One photo of each of the 5 people looking at the camera (validation photos first), framed."""
    return framed_faces


@pytest.fixture(scope="module")
def analyse(engine):
    """Return analyse_burst through the real engine, once per burst in this module: a wrong-order
    attack on a person is, frame for frame, the genuine turn of the other order (same seed), which
    the turning test analysed already; only the verdict for the asked order differs."""
    analysed = {}

    def analyse_once(burst: list[bytes]):
        key = hashlib.sha256(b"".join(hashlib.sha256(frame).digest() for frame in burst)).digest()
        if key not in analysed:
            analysed[key] = synthetic.analyse_burst(engine, burst)
        return analysed[key]

    return analyse_once


def verdict(analyse, kind, face, directions, other=None, seed=0):
    burst = synthetic.sequence(kind, face, directions, other=other, seed=seed)
    return liveness_check(analyse(burst), directions)


def test_turning_sequences_pass(analyse, framed):
    """Synthetic head turns of every person pass in both orders (at least 8 of the 10 sequences)."""
    verdicts = [
        (face.person, order, verdict(analyse, "genuine", face, order, seed=i))
        for i, face in enumerate(framed)
        for order in ORDERS
    ]
    passed = [v for _, _, v in verdicts if v.passed]
    print(f"genuine pass rate {len(passed)}/{len(verdicts)}")
    failures = [
        (person, order, v.reason, v.figures.get("yaw_deg")) for person, order, v in verdicts if not v.passed
    ]
    assert len(passed) >= 8, failures


ATTACK_KINDS = ("still", "shifted", "rotated", "tilted", "swapped", "wrong_order", "mirror_swap")


@pytest.mark.parametrize(
    ("kind", "reasons"),
    [
        ("still", {"no_turn"}),
        ("shifted", {"moved_sideways", "no_turn"}),
        # In 28 frames (150 ms apart) a rotated photo's landmark yaw can cross 12 deg one way once.
        ("rotated", {"rotated_in_plane", "no_turn", "wrong_direction"}),
        # Seen in 28 frames, a tilting print's box also drifts sideways in some bursts.
        ("tilted", {"no_turn", "wrong_direction", "flat_picture", "moved_sideways"}),
        ("swapped", {"identity_changed"}),
        # With embedder v2 and full-resolution detection of the ~300-pixel source photos, Madonna's
        # wrong-order burst is stopped one check earlier, its frames 1.004 apart (limit 1.0).
        ("wrong_order", {"wrong_direction", "no_turn", "identity_changed"}),
        ("mirror_swap", {"jump", "moved_sideways", "wrong_direction"}),
    ],
)
def test_photo_attacks_fail(analyse, framed, kind, reasons):
    """A still, shifted, rotated or tilted photo, a swapped face, a turn in the wrong order and a turned
    photo swapped with its mirror image (issue 13: 1) all fail. Each kind is tried on three of the five
    people, a different three for each kind (every person meets most kinds; benchmarks/liveness.py
    tries every kind on more photos of everybody)."""
    first = ATTACK_KINDS.index(kind)
    for i in (first % 5, (first + 1) % 5, (first + 3) % 5):
        face = framed[i]
        other = framed[(i + 1) % len(framed)]
        directions = ORDERS[i % 2]
        result = verdict(analyse, kind, face, directions, other=other, seed=i)
        assert not result.passed, (face.person, kind, result.figures)
        assert result.reason in reasons, (face.person, kind, result.reason, result.figures)
