"""Passive liveness for kiosk frames: a recognised face's MiniFASNet real score (recognition.ml.antispoof).

Runs in the recognition worker, on the frame it has already decoded once for recognition (decoded again
here: a few milliseconds against the network's). The model is built once per worker process, on first
use (about 5 s), never in the web process.
"""

from __future__ import annotations

from collections.abc import Sequence

from recognition import engine
from recognition.ml import antispoof
from recognition.ml.liveness import FrameFace

Box = antispoof.Box


def passive_warm_up() -> None:
    """Build this process's anti-spoofing model and run it once (a recognition worker's child, after
    the fork)."""
    antispoof.get_passive_model().warm_up()


def frame_passive_score(*, data: bytes, box: Box) -> float:
    """Return the passive real score (0..1) of the face at `box` (x, y, w, h) in a frame's image bytes.

    Raises ImageError for bytes that are not a usable image, AntispoofWeightsError (a WeightsError)
    when the vendored weights are missing or damaged.
    """
    rgb = engine.image_decode(data=data)
    return float(antispoof.get_passive_model().score(rgb, [tuple(box)])[0])


def frames_passive_score(*, frames: Sequence[bytes], faces: Sequence[FrameFace | None]) -> float | None:
    """Return the passive score of a burst: the median of its frames' face scores (antispoof.burst_score).

    `faces` holds one FrameFace (or None) per frame, as frames_analyse returned them; None when no
    frame shows a face.
    """
    pairs = [
        (engine.image_decode(data=data), [tuple(face.box)])
        for data, face in zip(frames, faces, strict=True)
        if face is not None
    ]
    if not pairs:
        return None
    scores = antispoof.get_passive_model().score_frames(pairs)
    return antispoof.burst_score([float(s[0]) for s in scores])
