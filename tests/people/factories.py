"""Factories for enrolment tests: consenting people, and face photos with a fake embedding."""

from __future__ import annotations

import io

import factory
import numpy as np
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image

from people.models import FaceImage
from recognition.ml import EMBEDDER_VERSION
from recognition.recogniser import embedding_to_bytes
from tests.factories import PersonFactory


class ConsentedPersonFactory(PersonFactory):
    consent_given_at = factory.LazyFunction(timezone.now)
    consent_text_version = "test-1"


def jpeg_bytes(size: tuple[int, int] = (64, 64), colour=(120, 90, 60)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="JPEG")
    return out.getvalue()


def unit_vector(seed: int, *, noise: float = 0.0, base: int | None = None) -> np.ndarray:
    """Return a deterministic 128-d unit vector (a fake embedding): `base` moved by `noise`.

    `noise` is the length of the random step from the person's centre (before normalising), so
    photos of one person stay a known distance apart in 128 dimensions whatever the seeds.
    """
    centre = np.random.default_rng(seed if base is None else base).normal(size=128)
    centre /= np.linalg.norm(centre)
    if noise:
        step = np.random.default_rng(seed + 10_000).normal(size=128)
        centre = centre + noise * step / np.linalg.norm(step)
    return (centre / np.linalg.norm(centre)).astype(np.float32)


class AcceptedFaceImageFactory(factory.django.DjangoModelFactory):
    """An accepted photo with a fake embedding near the person's own fake centre."""

    class Meta:
        model = FaceImage

    person = factory.SubFactory(ConsentedPersonFactory)
    image = factory.LazyFunction(lambda: ContentFile(jpeg_bytes(), name="photo.jpg"))
    status = FaceImage.Status.ACCEPTED
    embedder_version = EMBEDDER_VERSION
    embedding = factory.LazyAttributeSequence(
        lambda o, n: embedding_to_bytes(unit_vector(n, noise=0.3, base=o.person.pk))
    )
