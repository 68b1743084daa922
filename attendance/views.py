"""HR's page of one person's attendance history (check-in and reports have their own views)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from attendance.models import CheckinAttempt
from attendance.selectors import person_attendance_days
from people.models import FaceImage, Person

HISTORY_DAYS = 60
MAX_HISTORY_DAYS = 731


@login_required
@permission_required(["people.view_person", "attendance.view_attendanceevent"], raise_exception=True)
@require_GET
def person_attendance(request, person_id: int):
    """HR's view of one person: details and attendance history, day by day."""
    person = get_object_or_404(Person.objects.select_related("department"), pk=person_id)
    asked = request.GET.get("days") or str(HISTORY_DAYS)
    if not asked.isdigit() or not 1 <= int(asked) <= MAX_HISTORY_DAYS:
        message = f"days must be a whole number from 1 to {MAX_HISTORY_DAYS}, not {asked!r}."
        return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
    days = person_attendance_days(person=person, days=int(asked))
    accepted = person.face_images.filter(status=FaceImage.Status.ACCEPTED).count()
    return render(
        request, "attendance/person.html", {"person": person, "days": days, "accepted_photos": accepted}
    )


@login_required
@require_GET
def checkin_frame(request, attempt_id):
    """Return the frame kept for a check-in attempt (a PIN punch's evidence) to HR, never cached.

    Frames are biometric data: MEDIA_ROOT has no URL, only active staff who may view check-in
    attempts get them, and every view is in the audit log (attendance_site/audit.py).
    """
    user = request.user
    if not (user.is_staff and user.has_perm("attendance.view_checkinattempt")):
        raise PermissionDenied
    attempt = get_object_or_404(CheckinAttempt, pk=attempt_id)
    if not attempt.frame:
        return HttpResponse("No frame was kept for this attempt.", status=404, content_type="text/plain")
    try:
        with attempt.frame.open("rb") as handle:
            data = handle.read()
    except OSError:
        return HttpResponse("The frame file is missing.", status=404, content_type="text/plain")
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, no-store"
    return response
