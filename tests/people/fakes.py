"""A fake face engine for fast tests: answers with queued FaceAnalysis objects, no TensorFlow."""

from __future__ import annotations

import numpy as np
import pytest

from recognition.ml.pipeline import FaceAnalysis
from recognition.ml.quality import FaceQuality


def fake_face(
    embedding: np.ndarray, *, size: float = 200.0, sharpness: float = 300.0, yaw: float = 0.0
) -> FaceAnalysis:
    """Return a FaceAnalysis as the engine would, with the given (fake) embedding and quality."""
    return FaceAnalysis(
        box=(10.0, 20.0, size, size * 1.2),
        landmarks={
            n: (50.0 + i, 60.0 + i)
            for i, n in enumerate(("left_eye", "right_eye", "nose", "mouth_left", "mouth_right"))
        },
        confidence=0.999,
        quality=FaceQuality(
            face_size_px=size,
            confidence=0.999,
            sharpness=sharpness,
            brightness=120.0,
            yaw_deg=yaw,
            roll_deg=1.0,
        ),
        embedding=np.asarray(embedding, dtype=np.float32),
        aligned=np.zeros((160, 160, 3), dtype=np.uint8),
    )


class FakeEngine:
    """Stands in for recognition.services.image_analyse: answers with the faces queued per call."""

    def __init__(self):
        self.answers: list[list[FaceAnalysis]] = []
        self.calls = 0

    def __call__(self, *, data: bytes, max_faces=None):
        self.calls += 1
        return self.answers.pop(0) if self.answers else []


def install_fake_engine(monkeypatch) -> FakeEngine:
    """Replace the face engine with a fake whose answers the test queues (no TensorFlow)."""
    from recognition import services

    engine = FakeEngine()
    monkeypatch.setattr(services, "image_analyse", engine)
    return engine


@pytest.fixture
def fake_engine(monkeypatch) -> FakeEngine:
    """The fake face engine, installed for this test."""
    return install_fake_engine(monkeypatch)
