"""Factories for enrolment tests: consenting people, and face photos with a fake embedding."""

from __future__ import annotations

import factory
from django.core.files.base import ContentFile
from django.utils import timezone

from people.models import FaceImage
from recognition.ml.synthetic import unit_vector
from recognition.services import EMBEDDER_VERSION, embedding_to_bytes
from tests.factories import PersonFactory
from tests.support.images import plain_jpeg


class ConsentedPersonFactory(PersonFactory):
    consent_given_at = factory.LazyFunction(timezone.now)
    consent_text_version = "test-1"


class AcceptedFaceImageFactory(factory.django.DjangoModelFactory):
    """An accepted photo with a fake embedding near the person's own fake centre."""

    class Meta:
        model = FaceImage

    person = factory.SubFactory(ConsentedPersonFactory)
    image = factory.LazyFunction(lambda: ContentFile(plain_jpeg(), name="photo.jpg"))
    status = FaceImage.Status.ACCEPTED
    embedder_version = EMBEDDER_VERSION
    embedding = factory.LazyAttributeSequence(
        lambda o, n: embedding_to_bytes(unit_vector(n, noise=0.3, base=o.person.pk))
    )


def enrolled_people(people: int = 3, photos: int = 4) -> list[list[FaceImage]]:
    """Enrol `people` consenting people with `photos` accepted photos each; return each one's photos."""
    return [
        AcceptedFaceImageFactory.create_batch(photos, person=ConsentedPersonFactory()) for _ in range(people)
    ]
