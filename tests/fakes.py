"""Fakes for fast unit tests, named as fakes: real-pipeline tests use tests.fixtures.faces instead."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from recognition.ml.synthetic import FakeEngine


@pytest.fixture
def fake_engine(monkeypatch) -> FakeEngine:
    """Put a FakeEngine (no TensorFlow) in place of this process's face engine for this test.

    Uploads are still decoded for real (recognition.engine.image_decode); the fake answers each
    analysis with the faces the test queued in `fake_engine.answers`.
    """
    from recognition import engine

    fake = FakeEngine()
    monkeypatch.setattr(engine, "engine_get", lambda: fake)
    return fake


@dataclass
class FakeRecognition:
    """A fake recogniser's answer with the shape of recognition.services.FrameRecognition."""

    face_found: bool = True
    person_id: int | None = None
    distance: float | None = None
    confidence: float | None = None
    recogniser_version_id: int | None = None
    box: list | None = None
    landmarks: dict = field(default_factory=dict)
    reason: str = ""


def fake_seen(person) -> FakeRecognition:
    """Return what a fake recogniser says when it recognises `person`."""
    return FakeRecognition(face_found=True, person_id=person.pk, distance=0.6, confidence=0.95)


FAKE_STRANGER = FakeRecognition(face_found=True, person_id=None, distance=1.4, confidence=0.2)
FAKE_NO_FACE = FakeRecognition(face_found=False, reason="no face found")
