"""HR's page of one person's attendance history (check-in and reports have their own views)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from attendance.selectors import person_attendance_days
from people.models import Person


@login_required
@permission_required(["people.view_person", "attendance.view_attendanceevent"], raise_exception=True)
@require_GET
def person_attendance(request, person_id: int):
    """HR's view of one person: details and attendance history, day by day."""
    person = get_object_or_404(Person.objects.select_related("department"), pk=person_id)
    days = person_attendance_days(person=person, days=int(request.GET.get("days", 60) or 60))
    return render(request, "attendance/person.html", {"person": person, "days": days})
