"""Enrolment pages outside the admin's own views: face photos (only for HR), progress JSON, webcam.

Face photos are biometric data: MEDIA_ROOT has no URL, and these views serve a photo only to an
active staff user with the permission to view face photos (HR and superusers).
"""

from __future__ import annotations

import io

from django.conf import settings
from django.contrib import admin
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from PIL import Image, ImageDraw

from people.models import FaceImage, Person
from people.selectors import face_image_row, person_progress
from people.services import face_image_add, face_upload_read
from recognition.services import ImageError, image_decode

THUMBNAIL_SIDE = 240
WEBCAM_SHOTS = [
    ("straight", "Look straight at the camera"),
    ("left", "Turn your head slightly to your left"),
    ("right", "Turn your head slightly to your right"),
    ("up", "Tilt your head slightly up"),
    ("down", "Tilt your head slightly down"),
]


def _require(request: HttpRequest, permission: str) -> None:
    user = request.user
    if not (user.is_active and user.is_staff and user.has_perm(permission)):
        raise PermissionDenied


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    return response


def _stored_photo(request: HttpRequest, pk: int) -> tuple[FaceImage, bytes | None]:
    """Return the photo row (404 when there is none) and its file's bytes (None when the file is gone).

    Only for users who may view face photos (HR and superusers).
    """
    _require(request, "people.view_faceimage")
    image = get_object_or_404(FaceImage, pk=pk)
    try:
        with image.image.open("rb") as handle:
            return image, handle.read()
    except OSError:
        return image, None


@require_GET
@login_required
def face_image(request: HttpRequest, pk: int) -> HttpResponse:
    """Return the stored face photo as uploaded (HR and superusers only)."""
    _image, data = _stored_photo(request, pk)
    if data is None:
        return HttpResponse("The photo file is missing.", status=404, content_type="text/plain")
    content_type = Image.MIME.get(_format(data), "application/octet-stream")
    return _private(HttpResponse(data, content_type=content_type))


def _format(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.format or ""
    except (OSError, ValueError):
        return ""


@require_GET
@login_required
def face_image_thumbnail(request: HttpRequest, pk: int) -> HttpResponse:
    """Return a small JPEG of the photo with the detected face box and landmarks drawn."""
    image, data = _stored_photo(request, pk)
    try:
        rgb = None if data is None else image_decode(data=data, max_pixels=settings.ENROLMENT_MAX_PIXELS)
    except ImageError:
        rgb = None
    if rgb is None:
        return HttpResponse("The photo cannot be shown.", status=404, content_type="text/plain")
    picture = Image.fromarray(rgb)
    colour = {FaceImage.Status.ACCEPTED: "#2e7d32", FaceImage.Status.REJECTED: "#c62828"}.get(
        image.status, "#f9a825"
    )
    draw = ImageDraw.Draw(picture)
    width = max(2, round(max(picture.size) / 150))
    if image.box:
        x, y, w, h = image.box
        draw.rectangle([x, y, x + w, y + h], outline=colour, width=width)
    for px, py in (image.landmarks or {}).values():
        draw.ellipse([px - width, py - width, px + width, py + width], fill=colour)
    picture.thumbnail((THUMBNAIL_SIDE, THUMBNAIL_SIDE))
    out = io.BytesIO()
    picture.save(out, format="JPEG", quality=85)
    return _private(HttpResponse(out.getvalue(), content_type="image/jpeg"))


@require_GET
@never_cache
@login_required
def person_progress_json(request: HttpRequest, pk: int) -> JsonResponse:
    """Return a person's enrolment progress and the training state, polled by the admin pages."""
    _require(request, "people.view_person")
    person = get_object_or_404(Person, pk=pk)
    ids = [int(v) for v in request.GET.getlist("photo") if v.isdigit()]
    return JsonResponse(person_progress(person=person, photo_ids=ids or None))


@login_required
def webcam_enrol(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the guided webcam enrolment page for a person (the camera is the browser's)."""
    _require(request, "people.add_faceimage")
    person = get_object_or_404(Person, pk=pk)
    context = {
        **admin.site.each_context(request),
        "title": f"Webcam enrolment: {person.full_name}",
        "person": person,
        "opts": Person._meta,
        "shots": WEBCAM_SHOTS,
        "has_consent": person.consent_given_at is not None,
    }
    return render(request, "admin/people/person/webcam.html", context)


@require_POST
@login_required
def webcam_shot(request: HttpRequest, pk: int) -> JsonResponse:
    """Store one webcam shot (multipart field `shot`) and queue it; answer with the photo's row."""
    _require(request, "people.add_faceimage")
    person = get_object_or_404(Person, pk=pk)
    upload = request.FILES.get("shot")
    if upload is None:
        return JsonResponse({"error": "No image was received (field 'shot')."}, status=400)
    try:
        with transaction.atomic():
            checked = face_upload_read(upload)
            image = face_image_add(
                person=person,
                upload=upload,
                source=FaceImage.Source.WEBCAM,
                uploaded_by=request.user,
                checked=checked,
                asked_pose=request.POST.get("pose", ""),
            )
    except ValidationError as exc:
        return JsonResponse({"error": " ".join(exc.messages)}, status=400)
    return JsonResponse(face_image_row(image), status=201)
