"""HR's page of one person's attendance history (check-in and reports have their own views)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

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
