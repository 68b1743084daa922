"""Factories and fakes for the attendance tests."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import factory
from PIL import Image

from attendance.models import CheckinAttempt
from tests.factories import KioskFactory


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


class CheckinAttemptFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CheckinAttempt

    kiosk = factory.SubFactory(KioskFactory)


def jpeg_bytes(width: int = 320, height: int = 240, color=(120, 90, 60)) -> bytes:
    """Return a small valid JPEG (no face in it)."""
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()
