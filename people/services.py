"""Enrolment writes: people, consent, face photos (added, processed by a worker, deleted).

Every change that alters what the recogniser should know asks for a training run
(`recogniser_request_training`), which coalesces bursts and runs only after the change commits.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from PIL import Image

from attendance_site.dispatch import enqueue
from attendance_site.queues import Queue
from people.models import (
    ConsentText,
    Department,
    FaceImage,
    Holiday,
    HolidayCalendar,
    Person,
    ZipImport,
    ZipImportPhoto,
    default_holiday_calendar_id,
)
from people.rules import (
    PEOPLE_CSV_NAME,
    POSES,
    PersonRow,
    Pose,
    QualityLimits,
    nose_height,
    people_csv_parse,
    photo_rejection,
    pose_shortfall,
)
from people.selectors import consent_text_current
from recognition.services import (
    ACCEPTED_IMAGE_FORMATS,
    EMBEDDER_VERSION,
    ImageError,
    embedding_from_bytes,
    embedding_to_bytes,
    gallery_nearest,
    image_analyse,
    image_decode,
    recogniser_request_training,
    recogniser_versions_forget,
)

log = logging.getLogger(__name__)

# people.tasks registers the task under this name; services queue it by name and never import tasks.
FACE_IMAGE_PROCESS_TASK = "people.face_image_process"
ZIP_IMPORT_CHECK_TASK = "people.zip_import_check"

ACCEPTED_CONTENT_TYPES = {
    "image/jpeg",
    "image/pjpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/x-ms-bmp",
    "image/gif",
    "image/tiff",
}
SUFFIX_BY_FORMAT = {
    "JPEG": "jpg",
    "MPO": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "BMP": "bmp",
    "GIF": "gif",
    "TIFF": "tif",
}


# --- Consent texts --------------------------------------------------------------------------------

# The text a new installation starts with (the same as migration 0005's); HR replaces it with theirs.
DEFAULT_CONSENT_VERSION = "2025-1"
DEFAULT_CONSENT_TEXT = """\
We use photos of your face to recognise you when you check in and out at the attendance kiosk.

From your photos we compute a face template (a list of numbers). Your photos and templates are kept \
on our own server, are seen only by HR, and are used for attendance only.

You can withdraw your consent at any time by asking HR; your photos and templates are then deleted. \
Your attendance records are kept as the law requires.
"""


def consent_text_ensure(*, using: str = "default", apps=None, **_kwargs) -> None:
    """Make sure a consent text exists (after every migrate): consent cannot be recorded without one.

    A post_migrate receiver: `apps` is the migrated state, which lacks the model when migrating back.
    """
    try:
        model = apps.get_model("people", "ConsentText") if apps is not None else ConsentText
    except LookupError:
        return
    if not model.objects.using(using).exists():
        model.objects.using(using).create(version=DEFAULT_CONSENT_VERSION, text=DEFAULT_CONSENT_TEXT)


# --- People ---------------------------------------------------------------------------------------


def person_consent_record(*, person: Person, recorded_by, text_version: str | None = None) -> Person:
    """Record that `person` agreed to the consent text now, as recorded by `recorded_by`.

    `text_version` is the version the person was shown (the current one when not given); it must
    be a kept consent text, so that what they agreed to can always be read again.
    """
    if text_version is None:
        current = consent_text_current()
        text_version = current.version if current else settings.CONSENT_TEXT_VERSION
    elif not ConsentText.objects.filter(version=text_version).exists():
        raise ValidationError(
            f"There is no consent text version {text_version!r}; reload the page and record consent "
            "against the text shown."
        )
    person.consent_given_at = timezone.now()
    person.consent_recorded_by = recorded_by
    person.consent_text_version = text_version
    person.save(
        update_fields=["consent_given_at", "consent_recorded_by", "consent_text_version", "updated_at"]
    )
    return person


def person_duplicate_dismiss(*, person: Person, by) -> Person:
    """Record HR's check that `person` is not the person their face was flagged against.

    The flag keeps the person's photos out of training (recognition.training); clearing it lets
    them in, so training is requested. The pair is remembered and never flagged again.
    """
    if person.possible_duplicate_of_id is None:
        return person
    person.not_duplicate_of_id = person.possible_duplicate_of_id
    person.possible_duplicate_of = None
    person.duplicate_distance = None
    person.save(
        update_fields=["not_duplicate_of", "possible_duplicate_of", "duplicate_distance", "updated_at"]
    )
    recogniser_request_training(reason=f"possible duplicate {person.employee_id} checked by {by}")
    return person


def person_create(*, employee_id: str, full_name: str, consent_recorded_by=None, **fields) -> Person:
    """Create a person; with `consent_recorded_by`, their consent is recorded now by that user."""
    person = Person(employee_id=employee_id, full_name=full_name, **fields)
    person.full_clean()
    person.save()
    if consent_recorded_by is not None:
        person_consent_record(person=person, recorded_by=consent_recorded_by)
    return person


def person_saved(*, person: Person, changed: list[str]) -> None:
    """React to an edit of a person: switching them on or off changes whom the recogniser knows."""
    if "is_active" in changed:
        state = "activated" if person.is_active else "deactivated"
        # The retention policy counts a person's inactivity from this moment.
        Person.objects.filter(pk=person.pk).update(
            deactivated_at=None if person.is_active else timezone.now()
        )
        recogniser_request_training(reason=f"{person.employee_id} {state}")


def person_delete(*, person: Person) -> None:
    """Delete a person, their face photos from storage and their embeddings, and retrain.

    Every stored recogniser version forgets them in the same transaction (recognition.services.
    recogniser_versions_forget). The files are removed once the deletion commits, so a rolled-back
    delete keeps them. Their kept check-in frames are attendance's: attendance_site.privacy.
    person_erase deletes those too, then calls this.
    """
    names = list(person.face_images.exclude(image="").values_list("image", flat=True))
    employee_id = person.employee_id
    with transaction.atomic():
        recogniser_versions_forget(person_ids={person.pk})
        person.delete()
    transaction.on_commit(lambda: storage_delete(names))
    recogniser_request_training(reason=f"{employee_id} deleted")


def storage_delete(names: list[str]) -> None:
    """Delete files from private storage, logging (not raising) any that cannot be removed."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError as exc:  # the row is gone either way; say which file is left behind
            log.error("could not delete %s: %s", name, exc)


# --- Uploads --------------------------------------------------------------------------------------


def face_upload_read(upload) -> tuple[bytes, str]:
    """Return (bytes, file suffix) of an uploaded face photo, or raise ValidationError saying why not.

    Refuses files over ENROLMENT_MAX_UPLOAD_BYTES, a content type that is not an image, and anything
    that does not decode completely as an image of at most ENROLMENT_MAX_PIXELS pixels.
    """
    name = getattr(upload, "name", "upload")
    if upload.size is not None and upload.size > settings.ENROLMENT_MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large(name, upload.size))
    content_type = (getattr(upload, "content_type", None) or "").split(";")[0].strip().lower()
    if content_type and content_type not in ACCEPTED_CONTENT_TYPES:
        raise ValidationError(
            f"{name}: files of type {content_type!r} are not accepted; upload a JPEG or PNG photo."
        )
    upload.seek(0)
    data = upload.read()
    return data, face_image_check(data, name=name)


def _too_large(name: str, size: int) -> str:
    limit = filesizeformat(settings.ENROLMENT_MAX_UPLOAD_BYTES).replace("\xa0", " ")
    return f"{name}: the file is {filesizeformat(size).replace(chr(160), ' ')}, over the limit of {limit}."


def face_image_check(data: bytes, *, name: str) -> str:
    """Return the file suffix for image `data` after decoding it fully; raise ValidationError if unusable."""
    if len(data) > settings.ENROLMENT_MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large(name, len(data)))
    try:
        image_decode(data=data, max_pixels=settings.ENROLMENT_MAX_PIXELS)
    except ImageError as exc:
        raise ValidationError(f"{name}: {exc}") from exc
    with Image.open(io.BytesIO(data), formats=ACCEPTED_IMAGE_FORMATS) as image:
        return SUFFIX_BY_FORMAT.get(image.format or "", "img")


def face_image_add(
    *,
    person: Person,
    upload,
    source: str,
    uploaded_by,
    checked: tuple[bytes, str] | None = None,
    asked_pose: str = "",
):
    """Store an uploaded face photo of `person` and queue it for processing once this commits.

    `checked` is the (bytes, suffix) from face_upload_read when the form already checked the upload.
    Raises ValidationError when the person's consent is not recorded or the upload is not a usable image.
    """
    if person.consent_given_at is None:
        raise ValidationError(
            f"{person.full_name} cannot be enrolled before their consent is recorded (tick the consent box)."
        )
    data, suffix = checked if checked is not None else face_upload_read(upload)
    if asked_pose and asked_pose not in POSES:
        raise ValidationError(f"Unknown pose {asked_pose!r}: one of {', '.join(POSES)}.")
    image = FaceImage(
        person=person,
        source=source,
        uploaded_by=uploaded_by,
        status=FaceImage.Status.PENDING,
        asked_pose=asked_pose,
    )
    image.image.save(f"photo.{suffix}", ContentFile(data), save=False)
    image.save()
    transaction.on_commit(lambda: _enqueue_processing(image.pk))
    return image


def _enqueue_processing(face_image_id: int) -> None:
    enqueue(FACE_IMAGE_PROCESS_TASK, queue=Queue.ENROLMENT, args=[face_image_id])


def face_image_reprocess(*, face_image: FaceImage) -> None:
    """Process a photo again (for example after the limits or the embedder changed)."""
    FaceImage.objects.filter(pk=face_image.pk).update(status=FaceImage.Status.PENDING, rejection_reason="")
    transaction.on_commit(lambda: _enqueue_processing(face_image.pk))


def face_image_delete(*, face_image: FaceImage) -> None:
    """Delete one photo, its file (after commit) and its embedding; retrain if it counted."""
    name, was_accepted = face_image.image.name, face_image.status == FaceImage.Status.ACCEPTED
    employee_id = face_image.person.employee_id
    face_image.delete()
    if name:
        transaction.on_commit(lambda: storage_delete([name]))
    if was_accepted:
        recogniser_request_training(reason=f"a photo of {employee_id} deleted")


# --- Processing (enrolment worker) ---------------------------------------------------------------


def face_image_process(*, face_image_id: int) -> FaceImage | None:
    """Detect, check, align and embed one photo; accept it or reject it with a reason HR can read.

    Idempotent: a photo already accepted or rejected is left alone, and one left "processing" by a
    worker that died is processed again. The slow part runs outside any transaction; the result is
    written under the row's lock, unless the photo was deleted meanwhile (returns None).
    """
    with transaction.atomic():
        image = FaceImage.objects.select_for_update().filter(pk=face_image_id).first()
        if image is None:
            return None
        if image.status in (FaceImage.Status.ACCEPTED, FaceImage.Status.REJECTED):
            return image
        image.status = FaceImage.Status.PROCESSING
        image.save(update_fields=["status", "updated_at"])

    result = _analyse(image)

    with transaction.atomic():
        image = (
            FaceImage.objects.select_for_update().select_related("person").filter(pk=face_image_id).first()
        )
        if image is None:
            return None
        for name, value in result.items():
            setattr(image, name, value)
        image.processed_at = timezone.now()
        image.save()
        if image.status == FaceImage.Status.ACCEPTED:
            _flag_possible_duplicate(image)
            recogniser_request_training(reason=f"a photo of {image.person.employee_id} accepted")
    return image


def _analyse(image: FaceImage) -> dict:
    """Return the fields to write for `image`: accepted with its face, or rejected with the reason."""
    try:
        with image.image.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError) as exc:
        return {**_REJECTED, "rejection_reason": f"The photo file is missing from storage ({exc})."}
    return _analyse_bytes(data, image=image)


_REJECTED = {"status": FaceImage.Status.REJECTED, "embedding": None, "embedder_version": ""}


def _analyse_bytes(data: bytes, *, image: FaceImage | None = None) -> dict:
    """Return accepted-with-face or rejected-with-reason fields for photo `data`; `image` is the
    stored photo (for a guided webcam shot's pose check), None for a staged zip photo."""
    rejected = _REJECTED
    try:
        faces = image_analyse(data=data)
    except ImageError as exc:
        return {**rejected, "rejection_reason": str(exc)}
    main = faces[0] if faces else None
    quality = _quality_dict(main.quality) if main else None
    fields = {
        "box": [round(float(v), 1) for v in main.box] if main else None,
        "landmarks": {k: [round(float(x), 1), round(float(y), 1)] for k, (x, y) in main.landmarks.items()}
        if main
        else None,
        "quality": quality,
    }
    sizes = [float(max(face.box[2], face.box[3])) for face in faces]
    reason = photo_rejection(sizes, quality, QualityLimits.from_settings()) or (
        _pose_shortfall(image, fields["landmarks"], quality) if image is not None else None
    )
    if reason:
        return {**rejected, **fields, "rejection_reason": reason}
    return {
        **fields,
        "status": FaceImage.Status.ACCEPTED,
        "rejection_reason": "",
        "embedding": embedding_to_bytes(main.embedding),
        "embedder_version": getattr(main, "embedder_version", EMBEDDER_VERSION),
    }


def _pose_of(landmarks: dict, quality: dict) -> Pose:
    return Pose(yaw_degrees=float(quality.get("yaw_deg", 0.0)), nose_height=nose_height(landmarks))


def _pose_shortfall(image: FaceImage, landmarks: dict | None, quality: dict | None) -> str | None:
    """Return what to retake when a guided webcam shot does not show the pose it asked for."""
    if not image.asked_pose or image.asked_pose == "straight" or not landmarks or not quality:
        return None
    straight = (
        FaceImage.objects.filter(
            person_id=image.person_id, asked_pose="straight", status=FaceImage.Status.ACCEPTED
        )
        .exclude(landmarks=None)
        .order_by("-processed_at")
        .values_list("landmarks", "quality")
        .first()
    )
    return pose_shortfall(
        asked=image.asked_pose,
        pose=_pose_of(landmarks, quality),
        straight=_pose_of(*straight) if straight else None,
    )


def _quality_dict(quality) -> dict[str, float]:
    values = quality.as_dict() if hasattr(quality, "as_dict") else dict(quality)
    return {"face_size_px" if key == "face_px" else key: value for key, value in values.items()}


def _flag_possible_duplicate(image: FaceImage) -> None:
    """Flag the photo's person when the face is very close to an accepted photo of somebody else.

    Searches the active recogniser's gallery (already loaded in the worker) plus the photos accepted
    since it was trained, so the cost stays small however many people are enrolled.
    """
    person = image.person
    if person.possible_duplicate_of_id is not None:
        return
    probe = embedding_from_bytes(image.embedding)
    candidates: list[tuple[int, float]] = []
    newer = FaceImage.objects.filter(
        status=FaceImage.Status.ACCEPTED, embedder_version=image.embedder_version, embedding__isnull=False
    ).exclude(person=person)
    known = gallery_nearest(
        embedding=probe, exclude_person_id=person.pk, embedder_version=image.embedder_version
    )
    if known is not None:
        if known.person_id is not None:
            candidates.append((known.person_id, known.distance))
        if known.trained_at is not None:
            newer = newer.filter(processed_at__gte=known.trained_at)
    for owner, blob in newer.values_list("person_id", "embedding").iterator(chunk_size=2000):
        candidates.append((owner, float(np.linalg.norm(embedding_from_bytes(blob) - probe))))
    if not candidates:
        return
    candidates = [item for item in candidates if item[0] != person.not_duplicate_of_id]
    if not candidates:
        return
    owner, distance = min(candidates, key=lambda item: item[1])
    if distance < settings.ENROLMENT_DUPLICATE_DISTANCE and Person.objects.filter(pk=owner).exists():
        person.possible_duplicate_of_id = owner
        person.duplicate_distance = distance
        person.save(update_fields=["possible_duplicate_of", "duplicate_distance", "updated_at"])


# --- Bulk enrolment from a zip --------------------------------------------------------------------


@dataclass
class ZipEnrolment:
    people_created: list[str] = field(default_factory=list)
    named_from_csv: int = 0
    photos_added: int = 0


@dataclass
class _ZipEntry:
    folder: str
    name: str
    data: bytes
    suffix: str


@dataclass
class ZipContents:
    """What zip_read found: the photos by folder (employee id) and the rows of people.csv, if any."""

    by_folder: dict[str, list[_ZipEntry]]
    people: dict[str, PersonRow] = field(default_factory=dict)
    has_csv: bool = False

    @property
    def photo_count(self) -> int:
        return sum(len(entries) for entries in self.by_folder.values())


# Inflate zip entries this many bytes at a time: the real size is counted as it grows, so an entry
# that lies about its size (or a bomb) is stopped at the limit instead of filling the memory.
ZIP_READ_CHUNK = 64 * 1024
# people.csv is read whole: far more than any company's list of people needs.
PEOPLE_CSV_MAX_BYTES = 2 * 1024 * 1024


def zip_read(archive, *, create_missing: bool = False, create_departments: bool = False) -> ZipContents:
    """Return the photos of a folder-per-person zip by folder (employee id); ValidationError if unusable.

    Checks everything before anything is saved, cheapest first: the archive, the number and declared
    sizes of the files, people.csv at the zip's top (names, departments, e-mails of the people it
    creates), the folder names against the people (unknown employee ids unless `create_missing`,
    missing consent, unknown departments unless `create_departments`), then inflates each photo
    counting its real size against the per-photo and total limits (declared sizes are not trusted:
    zip bombs), and decodes it. Whether each photo shows a usable face is the worker's check.
    """
    if archive.size is not None and archive.size > settings.ENROLMENT_MAX_ZIP_BYTES:
        raise ValidationError(
            f"The zip is over the limit of {settings.ENROLMENT_MAX_ZIP_BYTES / 1e6:.0f} MB."
        )
    try:
        archive.seek(0)
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(f"The file is not a readable zip archive ({exc}).") from exc
    with bundle:
        infos = [
            info
            for info in bundle.infolist()
            if not info.is_dir()
            and not any(part.startswith((".", "__MACOSX")) for part in PurePosixPath(info.filename).parts)
        ]
        csv_infos = [info for info in infos if info.filename.lower() == PEOPLE_CSV_NAME]
        infos = [info for info in infos if info not in csv_infos]
        if not infos:
            raise ValidationError("The zip holds no photos.")
        if len(infos) > settings.ENROLMENT_MAX_ZIP_FILES:
            raise ValidationError(
                f"The zip holds {len(infos)} files; at most {settings.ENROLMENT_MAX_ZIP_FILES}."
            )
        if sum(info.file_size for info in infos) > settings.ENROLMENT_MAX_ZIP_BYTES:
            raise ValidationError("The zip's contents are too large once unpacked.")
        people = _people_csv_read(bundle, csv_infos[0]) if csv_infos else {}
        folders = _zip_folders_check(infos, create_missing=create_missing)
        _zip_departments_check(people, folders, create_missing=create_missing, create=create_departments)
        by_folder: dict[str, list[_ZipEntry]] = {}
        errors = []
        budget = settings.ENROLMENT_MAX_ZIP_BYTES
        for info in infos:
            folder = PurePosixPath(info.filename).parts[-2]
            try:
                data = _zip_entry_inflate(bundle, info, budget=budget)
                budget -= len(data)
                suffix = face_image_check(data, name=info.filename)
            except ValidationError as exc:
                errors.extend(exc.messages)
                if exc.code == "unpack":
                    break  # a bomb or a damaged archive: stop reading the rest
                continue
            by_folder.setdefault(folder, []).append(_ZipEntry(folder, info.filename, data, suffix))
    if errors:
        raise ValidationError(_at_most_20(errors))
    return ZipContents(by_folder=by_folder, people=people, has_csv=bool(csv_infos))


def _at_most_20(errors: list[str]) -> list[str]:
    return errors[:20] + ([f"... and {len(errors) - 20} more."] if len(errors) > 20 else [])


def _people_csv_read(bundle: zipfile.ZipFile, info: zipfile.ZipInfo) -> dict[str, PersonRow]:
    """Read and check people.csv; ValidationError with one line per bad row."""
    if info.file_size > PEOPLE_CSV_MAX_BYTES:
        raise ValidationError(f"{PEOPLE_CSV_NAME} is over {PEOPLE_CSV_MAX_BYTES // (1024 * 1024)} MB.")
    try:
        with bundle.open(info) as entry:
            raw = entry.read(PEOPLE_CSV_MAX_BYTES + 1)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
        raise ValidationError(f"{PEOPLE_CSV_NAME} cannot be unpacked ({exc}).") from exc
    if len(raw) > PEOPLE_CSV_MAX_BYTES:
        raise ValidationError(f"{PEOPLE_CSV_NAME} is over {PEOPLE_CSV_MAX_BYTES // (1024 * 1024)} MB.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f'{PEOPLE_CSV_NAME} is not UTF-8 text (byte {exc.start}): save it as "CSV UTF-8" '
            "and zip it again."
        ) from exc
    fields = {name: Person._meta.get_field(name).max_length for name in ("employee_id", "full_name")}
    rows, errors = people_csv_parse(
        text,
        max_id=fields["employee_id"],
        max_name=fields["full_name"],
        max_department=Department._meta.get_field("name").max_length,
    )
    if errors:
        raise ValidationError(_at_most_20(errors))
    return rows


def _zip_folders_check(infos: list[zipfile.ZipInfo], *, create_missing: bool) -> set[str]:
    """Refuse files outside a folder, folder names no employee id can hold, and unknown or unconsented
    people, before any photo is inflated or decoded; return the folder names."""
    max_length = Person._meta.get_field("employee_id").max_length
    errors = []
    folders = set()
    for info in infos:
        parts = PurePosixPath(info.filename).parts
        if len(parts) < 2:
            errors.append(f"{info.filename}: not in a folder named after the person's employee id.")
        elif len(parts[-2]) > max_length:
            errors.append(
                f"{info.filename}: the folder name is {len(parts[-2])} characters; an employee id has at "
                f"most {max_length}."
            )
        else:
            folders.add(parts[-2])
    if errors:
        raise ValidationError(sorted(set(errors))[:20])
    _zip_people_check(folders, create_missing=create_missing)
    return folders


def _zip_people_check(folders: set[str], *, create_missing: bool) -> set[str]:
    """Refuse unknown employee ids (unless `create_missing`) and people without consent; return the
    folders whose person the import creates."""
    known = dict(
        Person.objects.filter(employee_id__in=folders).values_list("employee_id", "consent_given_at")
    )
    missing = sorted(folders - set(known))
    if missing and not create_missing:
        raise ValidationError(
            f"No person has the employee id {', '.join(missing[:20])}; create them first, or tick "
            '"Create people for unknown folders".'
        )
    unconsented = sorted(eid for eid, consent in known.items() if consent is None)
    if unconsented:
        raise ValidationError(f"Consent is not recorded for {', '.join(unconsented[:20])}.")
    return set(missing)


def _zip_departments_check(
    people: dict[str, PersonRow], folders: set[str], *, create_missing: bool, create: bool
) -> None:
    """Refuse people.csv rows naming a department that does not exist, unless `create` (per row)."""
    if not create_missing or create:
        return
    new = folders - set(Person.objects.filter(employee_id__in=folders).values_list("employee_id", flat=True))
    existing = {name.casefold() for name in Department.objects.values_list("name", flat=True)}
    errors = [
        f"{PEOPLE_CSV_NAME} row {row.row} ({row.employee_id}): no department is named {row.department!r}; "
        'add it first, or tick "Create missing departments".'
        for employee_id, row in sorted(people.items(), key=lambda item: item[1].row)
        if employee_id in new and row.department and row.department.casefold() not in existing
    ]
    if errors:
        raise ValidationError(_at_most_20(errors))


def _zip_entry_inflate(bundle: zipfile.ZipFile, info: zipfile.ZipInfo, *, budget: int) -> bytes:
    """Inflate one entry in small steps, refusing it once it is over the per-photo limit or `budget`."""
    limit = min(settings.ENROLMENT_MAX_UPLOAD_BYTES, budget)
    if info.file_size > settings.ENROLMENT_MAX_UPLOAD_BYTES:
        raise ValidationError(_too_large(info.filename, info.file_size))
    chunks, size = [], 0
    try:
        with bundle.open(info) as entry:
            while chunk := entry.read(ZIP_READ_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise ValidationError(
                        f"{info.filename}: unpacked it is over {filesizeformat(limit).replace(chr(160), ' ')}"
                        " (a zip bomb?); the zip was refused.",
                        code="unpack",
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, OSError, RuntimeError, EOFError) as exc:
        # zipfile stops at the declared size and then finds the checksum wrong: an entry that
        # inflates to more than it declares ends here.
        raise ValidationError(
            f"{info.filename}: cannot be unpacked ({exc}); the zip was refused (damaged, or a zip bomb).",
            code="unpack",
        ) from exc
    return b"".join(chunks)


def _zip_people_get(
    *,
    folders: set[str],
    people: dict[str, PersonRow],
    uploaded_by,
    create_missing: bool,
    create_departments: bool,
    consent_text_version: str | None = None,
    result: ZipEnrolment,
) -> dict[str, Person]:
    """Return the person of each folder, creating the missing ones (named from people.csv when it has
    their row, else after the folder), with their consent recorded by `uploaded_by`.

    Checks again what zip_read checked: the people may have changed since. Call inside a transaction.
    """
    missing = _zip_people_check(folders, create_missing=create_missing)
    _zip_departments_check(people, folders, create_missing=create_missing, create=create_departments)
    found = {p.employee_id: p for p in Person.objects.filter(employee_id__in=folders - missing)}
    departments = {d.name.casefold(): d for d in Department.objects.all()}
    for employee_id in sorted(missing):
        row = people.get(employee_id)
        department = None
        if row is not None and row.department:
            department = departments.get(row.department.casefold())
            if department is None:
                department = Department.objects.create(name=row.department)
                departments[department.name.casefold()] = department
        person = person_create(
            employee_id=employee_id,
            full_name=row.full_name if row else employee_id.replace("_", " ").replace("-", " ").title(),
            email=row.email if row else "",
            department=department,
        )
        person_consent_record(person=person, recorded_by=uploaded_by, text_version=consent_text_version)
        found[employee_id] = person
        result.people_created.append(employee_id)
        result.named_from_csv += int(row is not None)
    return found


def zip_enrol(
    *, contents: ZipContents, uploaded_by, create_missing: bool, create_departments: bool = False
) -> ZipEnrolment:
    """Add the photos read by zip_read, one folder per person (folder name: employee id): the
    "keep the good photos" import, where the worker then rejects each unusable photo on its own.

    With `create_missing`, an unknown folder creates the person (name, department and e-mail from
    people.csv, else the name from the folder), and their consent is recorded by `uploaded_by` (the
    form asks them to confirm it). All or nothing: call inside a transaction.
    """
    result = ZipEnrolment()
    people = _zip_people_get(
        folders=set(contents.by_folder),
        people=contents.people,
        uploaded_by=uploaded_by,
        create_missing=create_missing,
        create_departments=create_departments,
        result=result,
    )
    for folder, entries in contents.by_folder.items():
        for entry in entries:
            face_image_add(
                person=people[folder],
                upload=None,
                source=FaceImage.Source.UPLOAD,
                uploaded_by=uploaded_by,
                checked=(entry.data, entry.suffix),
            )
            result.photos_added += 1
    return result


# --- The all-or-nothing zip import: staged, checked by the worker, then saved or refused ----------


def zip_import_stage(
    *,
    contents: ZipContents,
    uploaded_by,
    create_missing: bool,
    create_departments: bool = False,
    file_name: str = "",
) -> ZipImport:
    """Stage a zip for the "refuse the whole zip if any photo is unusable" import and queue its check.

    Nothing is saved for the people yet: the photos wait in private storage until the enrolment
    worker has looked for a usable face in each (zip_import_check). Call inside a transaction.
    """
    _zip_people_check(set(contents.by_folder), create_missing=create_missing)
    current = consent_text_current()
    batch = ZipImport.objects.create(
        created_by=uploaded_by,
        file_name=file_name[:255],
        create_missing=create_missing,
        create_departments=create_departments,
        consent_text_version=current.version if current else "",
        people={eid: asdict(row) for eid, row in contents.people.items()},
    )
    for folder, entries in contents.by_folder.items():
        for entry in entries:
            photo = ZipImportPhoto(zip_import=batch, folder=folder, name=entry.name[:500])
            photo.image.save(f"photo.{entry.suffix}", ContentFile(entry.data), save=False)
            photo.save()
    transaction.on_commit(lambda: _enqueue_zip_check(batch.pk))
    return batch


def _enqueue_zip_check(zip_import_id: int) -> None:
    enqueue(ZIP_IMPORT_CHECK_TASK, queue=Queue.ENROLMENT, args=[zip_import_id])


def zip_import_check(*, zip_import_id: int) -> ZipImport | None:
    """Look for a usable face in each staged photo (enrolment worker), then save all or nothing.

    Idempotent: photos already checked are not checked again, and an import that ended is left alone.
    """
    batch = ZipImport.objects.filter(pk=zip_import_id).first()
    if batch is None or batch.status != ZipImport.Status.CHECKING:
        return batch
    for photo in batch.photos.filter(status=ZipImportPhoto.Status.PENDING).order_by("pk"):
        try:
            with photo.image.open("rb") as handle:
                data = handle.read()
        except (FileNotFoundError, OSError, ValueError) as exc:
            found = {"status": "rejected", "rejection_reason": f"The staged photo file is missing ({exc})."}
        else:
            found = _analyse_bytes(data)
        usable = found["status"] == FaceImage.Status.ACCEPTED
        ZipImportPhoto.objects.filter(pk=photo.pk, status=ZipImportPhoto.Status.PENDING).update(
            status=ZipImportPhoto.Status.USABLE if usable else ZipImportPhoto.Status.UNUSABLE,
            reason=found.get("rejection_reason", ""),
            analysis={key: found.get(key) for key in ("box", "landmarks", "quality")},
            embedding=found.get("embedding"),
            embedder_version=found.get("embedder_version", ""),
        )
        ZipImport.objects.filter(pk=batch.pk).update(updated_at=timezone.now())  # progress, liveness
    return zip_import_finish(zip_import_id=zip_import_id)


def zip_import_finish(*, zip_import_id: int) -> ZipImport | None:
    """Once every staged photo is checked: save the people and photos if all are usable, else refuse
    the whole zip. The staged files are deleted either way (after the commit)."""
    with transaction.atomic():
        batch = ZipImport.objects.select_for_update().filter(pk=zip_import_id).first()
        if batch is None or batch.status != ZipImport.Status.CHECKING:
            return batch
        photos = list(batch.photos.order_by("pk"))
        if any(photo.status == ZipImportPhoto.Status.PENDING for photo in photos):
            return batch
        unusable = [photo for photo in photos if photo.status == ZipImportPhoto.Status.UNUSABLE]
        if unusable:
            _zip_import_refuse(
                batch,
                f"{len(unusable)} of {len(photos)} photos have no usable face (listed below), so nothing "
                "was saved. Replace or remove them and upload the zip again, or import it with "
                '"keep the good photos".',
            )
        else:
            try:
                with transaction.atomic():
                    result = _zip_import_save(batch, photos)
            except ValidationError as exc:
                _zip_import_refuse(
                    batch, f"Nothing was saved: {' '.join(exc.messages)} (it changed since the upload)."
                )
            else:
                batch.status = ZipImport.Status.SAVED
                batch.people_created = result.people_created
                batch.outcome = _zip_outcome(result, folders=len({p.folder for p in photos}))
        batch.finished_at = timezone.now()
        batch.save()
        names = [photo.image.name for photo in photos if photo.image]
        # The staged copies and the worker's findings go: the saved photos hold their own.
        batch.photos.update(image="", embedding=None, analysis=None)
        transaction.on_commit(lambda: storage_delete(names))
    return batch


def _zip_import_refuse(batch: ZipImport, outcome: str) -> None:
    batch.status = ZipImport.Status.REFUSED
    batch.outcome = outcome


def _zip_outcome(result: ZipEnrolment, *, folders: int) -> str:
    created = len(result.people_created)
    text = f"{result.photos_added} photo(s) saved for {folders} people ({created} created"
    if created:
        by_folder = created - result.named_from_csv
        text += f": {result.named_from_csv} named from {PEOPLE_CSV_NAME}, {by_folder} after their folder"
    return text + "). Each photo showed a usable face."


def _zip_import_save(batch: ZipImport, photos: list[ZipImportPhoto]) -> ZipEnrolment:
    """Create the people and their accepted photos from the worker's findings (no second analysis)."""
    result = ZipEnrolment()
    people = _zip_people_get(
        folders={photo.folder for photo in photos},
        people={eid: PersonRow(**row) for eid, row in batch.people.items()},
        uploaded_by=batch.created_by,
        create_missing=batch.create_missing,
        create_departments=batch.create_departments,
        consent_text_version=batch.consent_text_version or None,
        result=result,
    )
    now = timezone.now()
    saved = []
    for photo in photos:
        with photo.image.open("rb") as handle:
            data = handle.read()
        analysis = photo.analysis or {}
        image = FaceImage(
            person=people[photo.folder],
            source=FaceImage.Source.UPLOAD,
            uploaded_by=batch.created_by,
            status=FaceImage.Status.ACCEPTED,
            box=analysis.get("box"),
            landmarks=analysis.get("landmarks"),
            quality=analysis.get("quality"),
            embedding=bytes(photo.embedding),
            embedder_version=photo.embedder_version,
            processed_at=now,
        )
        suffix = photo.image.name.rsplit(".", 1)[-1]
        image.image.save(f"photo.{suffix}", ContentFile(data), save=False)
        image.save()
        saved.append(image)
        result.photos_added += 1
    for image in saved:
        image.person.refresh_from_db(fields=["possible_duplicate_of", "not_duplicate_of"])
        _flag_possible_duplicate(image)
    if saved:
        recogniser_request_training(reason=f"zip import {batch.pk}: {len(saved)} photo(s) accepted")
    return result


def zip_imports_resume(*, older_than: dt.timedelta) -> list[int]:
    """Queue again the zip imports still being checked with no progress for `older_than`."""
    cutoff = timezone.now() - older_than
    stale = list(
        ZipImport.objects.filter(status=ZipImport.Status.CHECKING, updated_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for zip_import_id in stale:
        _enqueue_zip_check(zip_import_id)
    return stale


def enrolment_resume(*, older_than: dt.timedelta) -> list[int]:
    """Queue again the photos still waiting or "processing" for longer than `older_than`; return their ids.

    A worker killed outright (not just its child) leaves its message unacknowledged in Redis until
    the broker's visibility timeout, an hour; processing is idempotent, so queuing them again is safe.
    """
    cutoff = timezone.now() - older_than
    stale = list(
        FaceImage.objects.filter(
            status__in=[FaceImage.Status.PENDING, FaceImage.Status.PROCESSING], updated_at__lt=cutoff
        ).values_list("pk", flat=True)
    )
    for face_image_id in stale:
        _enqueue_processing(face_image_id)
    return stale


def holidays_prefill(*, country: str, years: list[int], subdivision: str = "", calendar: str = "") -> int:
    """Add a country's public holidays for the given years (the `holidays` package) to a holiday
    calendar; return how many were new.

    `calendar` names the calendar (created with this country and subdivision if there is none of that
    name; an existing one without a country gets them); empty means the default calendar. A date that
    already has a holiday in that calendar keeps it (HR may have renamed it), so running twice adds
    nothing. Raises ValueError naming the problem for an unknown country or subdivision.
    """
    import holidays as public_holidays

    try:
        found = public_holidays.country_holidays(
            country.upper(), subdiv=subdivision.upper() or None, years=years, language="en_US"
        )
    except NotImplementedError as exc:
        raise ValueError(
            f"Unknown country or subdivision {country!r} {subdivision!r}: use an ISO code such as DE, "
            "US or GB, and a subdivision such as BY or CA."
        ) from exc
    name = calendar.strip()
    if len(name) > HolidayCalendar._meta.get_field("name").max_length:
        raise ValueError(f"Calendar name {name[:20]!r}... is too long: use at most 100 characters.")
    with transaction.atomic():
        if name:
            target, _ = HolidayCalendar.objects.get_or_create(
                name=name, defaults={"country": country.upper(), "subdivision": subdivision.upper()}
            )
        else:
            target = HolidayCalendar.objects.get(pk=default_holiday_calendar_id())
        if not target.country:
            target.country, target.subdivision = country.upper(), subdivision.upper()
            target.save(update_fields=["country", "subdivision"])
        created = 0
        for date, holiday_name in sorted(found.items()):
            _, new = Holiday.objects.get_or_create(
                calendar=target, date=date, defaults={"name": holiday_name[:200]}
            )
            created += int(new)
    return created
