"""Enrolment reads: people with their photo counts and state, and the progress HR's pages poll."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.urls import reverse

from people.models import ConsentText, FaceImage, Person, ZipImport, ZipImportPhoto
from people.rules import EnrolmentState, enrolment_state

WAITING = (FaceImage.Status.PENDING, FaceImage.Status.PROCESSING)


def consent_text_current() -> ConsentText | None:
    """Return the consent text people agree to now: the newest version (None before any exists)."""
    return ConsentText.objects.order_by("-created_at", "-pk").first()


def people_with_photo_counts(queryset: QuerySet[Person] | None = None) -> QuerySet[Person]:
    """Return people annotated with accepted_count, waiting_count and photo_count."""
    queryset = Person.objects.all() if queryset is None else queryset
    return queryset.annotate(
        accepted_count=Count(
            "face_images", filter=Q(face_images__status=FaceImage.Status.ACCEPTED), distinct=True
        ),
        waiting_count=Count("face_images", filter=Q(face_images__status__in=WAITING), distinct=True),
        photo_count=Count("face_images", distinct=True),
    )


def people_in_state(queryset: QuerySet[Person], state: EnrolmentState) -> QuerySet[Person]:
    """Filter people annotated by people_with_photo_counts to one enrolment state."""
    ready = Q(accepted_count__gte=settings.ENROLMENT_MIN_PHOTOS)
    match state:
        case EnrolmentState.READY:
            return queryset.filter(ready)
        case EnrolmentState.ENROLLING:
            return queryset.exclude(ready).filter(waiting_count__gt=0)
        case EnrolmentState.NOT_ENROLLED:
            return queryset.filter(photo_count=0)
        case EnrolmentState.NEEDS_MORE_PHOTOS:
            return queryset.exclude(ready).filter(waiting_count=0, photo_count__gt=0)
    return queryset


def person_enrolment_state(person: Person) -> EnrolmentState:
    """Return the state of a person annotated by people_with_photo_counts (or count now)."""
    if not hasattr(person, "accepted_count"):
        person = people_with_photo_counts(Person.objects.filter(pk=person.pk)).get()
    return enrolment_state(
        accepted=person.accepted_count,
        waiting=person.waiting_count,
        total=person.photo_count,
        min_photos=settings.ENROLMENT_MIN_PHOTOS,
    )


def face_image_row(image: FaceImage) -> dict:
    """Return what the progress JSON says about one photo."""
    return {
        "id": image.pk,
        "status": image.status,
        "status_label": image.get_status_display(),
        "reason": image.rejection_reason,
        "quality": image.quality,
        "source": image.source,
        "thumbnail_url": reverse("people:face-image-thumbnail", args=[image.pk]),
        "photo_url": reverse("people:face-image", args=[image.pk]),
    }


def person_progress(*, person: Person, photo_ids: list[int] | None = None) -> dict:
    """Return a person's enrolment progress: state, counts and each photo (or only `photo_ids`)."""
    from recognition.services import training_status

    images = person.face_images.order_by("created_at")
    if photo_ids:
        images = images.filter(pk__in=photo_ids)
    state = person_enrolment_state(person)
    counted = people_with_photo_counts(Person.objects.filter(pk=person.pk)).get()
    return {
        "person": person.pk,
        "state": state.value,
        "state_label": state.label,
        "accepted": counted.accepted_count,
        "waiting": counted.waiting_count,
        "photos": [face_image_row(image) for image in images],
        "min_photos": settings.ENROLMENT_MIN_PHOTOS,
        "possible_duplicate_of": str(person.possible_duplicate_of)
        if person.possible_duplicate_of_id
        else None,
        "training": training_status(),
    }


def zip_imports_with_counts(queryset: QuerySet[ZipImport]) -> QuerySet[ZipImport]:
    """Return zip imports annotated with photo_count, checked_count and unusable_count."""
    pending = ZipImportPhoto.Status.PENDING
    return queryset.annotate(
        photo_count=Count("photos"),
        checked_count=Count("photos", filter=~Q(photos__status=pending)),
        unusable_count=Count("photos", filter=Q(photos__status=ZipImportPhoto.Status.UNUSABLE)),
    )
