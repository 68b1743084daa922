"""Attendance events entered, fixed or deleted by HR: each change is logged with who, when and why.

Kiosks and check-in attempts have their own services in attendance/checkin/services.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone

from attendance.clock import person_clock
from attendance.models import AttendanceEvent, AttendanceEventLog
from people.models import CorrectionRequest, Person


def _event_snapshot(event: AttendanceEvent) -> dict[str, Any]:
    return {
        "person": event.person_id,
        "kind": event.kind,
        "timestamp": event.timestamp.isoformat(),
        "workday": event.workday.isoformat(),
        "source": event.source,
        "kiosk": event.kiosk_id,
    }


def _log(action: str, event: AttendanceEvent, *, by, reason: str, before: dict | None = None) -> None:
    """Log a change to an event with who and why; a deleted event keeps only its id and last values."""
    deleted = action == AttendanceEventLog.Action.DELETE
    AttendanceEventLog.objects.create(
        event=None if deleted else event,
        event_pk=event.pk,
        person_id=event.person_id,
        action=action,
        by=by,
        reason=reason,
        before=before,
        after=None if deleted else _event_snapshot(event),
    )


# A hand-made event may be this far ahead of the server's clock (a PC clock slightly fast), no more.
FUTURE_ALLOWANCE = dt.timedelta(minutes=5)


def _refuse_future(timestamp: dt.datetime) -> None:
    if timestamp > timezone.now() + FUTURE_ALLOWANCE:
        raise ValueError("The time is in the future: give the time the entry or exit really happened.")


def _require_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("a reason is required for every change HR makes to attendance events")
    return reason


def attendance_event_add(
    *, person: Person, kind: str, timestamp: dt.datetime, reason: str, by
) -> AttendanceEvent:
    """Add an event by hand (HR); the workday follows the person's boundary; logged with the reason.
    Raises ValueError for a missing reason or a time in the future."""
    reason = _require_reason(reason)
    _refuse_future(timestamp)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        event = AttendanceEvent.objects.create(
            person=person,
            kind=kind,
            timestamp=timestamp,
            workday=person_clock(person, timestamp).workday(timestamp),
            source=AttendanceEvent.Source.MANUAL,
            created_by=by,
            updated_by=by,
            reason=reason,
        )
        _log(AttendanceEventLog.Action.ADD, event, by=by, reason=reason)
    return event


def attendance_event_change(
    *, event: AttendanceEvent, person: Person, kind: str, timestamp: dt.datetime, reason: str, by
) -> AttendanceEvent:
    """Fix an event's person, kind or time (HR); keeps its values before and after, who and why.
    Raises ValueError for a missing reason or a time in the future."""
    reason = _require_reason(reason)
    _refuse_future(timestamp)
    with transaction.atomic():
        current = AttendanceEvent.objects.select_for_update().get(pk=event.pk)
        before = _event_snapshot(current)
        current.person = person
        current.kind = kind
        current.timestamp = timestamp
        current.workday = person_clock(person, timestamp).workday(timestamp)
        current.updated_by = by
        current.reason = reason
        current.save()
        _log(AttendanceEventLog.Action.CHANGE, current, by=by, reason=reason, before=before)
    return current


def attendance_event_delete(*, event: AttendanceEvent, reason: str, by) -> None:
    """Delete an event (HR); its last values, who deleted it, when and why stay in the log."""
    reason = _require_reason(reason)
    with transaction.atomic():
        current = AttendanceEvent.objects.select_for_update().get(pk=event.pk)
        _log(AttendanceEventLog.Action.DELETE, current, by=by, reason=reason, before=_event_snapshot(current))
        current.delete()


def correction_request_create(
    *, person: Person, kind: str, moment: dt.datetime, reason: str
) -> CorrectionRequest:
    """Record an employee's request to add a missed entry ("in") or exit ("out") at `moment`.

    Raises ValueError saying what to fix: no reason, an unknown kind, or a moment in the future.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why: a reason is required for every correction request.")
    if kind not in CorrectionRequest.Kind.values:
        raise ValueError("Choose a missed entry or a missed exit.")
    if moment > timezone.now():
        raise ValueError("The time is in the future: give the time the entry or exit really happened.")
    return CorrectionRequest.objects.create(person=person, kind=kind, moment=moment, reason=reason)


def correction_request_decide(*, request: CorrectionRequest, approve: bool, by) -> CorrectionRequest:
    """Approve (adds the event through attendance_event_add, logged with the request's reason) or reject.

    Raises ValueError when the request was already decided (nothing changes).
    """
    with transaction.atomic():
        current = CorrectionRequest.objects.select_for_update().get(pk=request.pk)
        if current.status != CorrectionRequest.Status.PENDING:
            raise ValueError(f"This request was already {current.get_status_display().lower()}.")
        if approve:
            event = attendance_event_add(
                person=current.person,
                kind=current.kind,
                timestamp=current.moment,
                reason=f"Correction request {current.pk}: {current.reason}",
                by=by,
            )
            current.event_id = event.pk
        current.status = CorrectionRequest.Status.APPROVED if approve else CorrectionRequest.Status.REJECTED
        current.decided_by = by
        current.decided_at = timezone.now()
        current.save()
    return current
