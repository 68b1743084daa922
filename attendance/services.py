"""Attendance events entered, fixed or deleted by hand, pay periods, and employees' requests.

Every hand-made change to an event (HR in the admin, a manager on the site, an approved request) goes
through attendance_event_add/change/delete: logged with who, when and why, and refused on a workday
inside a locked pay period. Kiosks and check-in attempts have their own services in
attendance/checkin/services.py; kiosk events are never refused (a period can only be locked once it
is over, so a kiosk's event of today never lands in one).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from attendance.clock import current_workday, person_clock
from attendance.models import AttendanceEvent, AttendanceEventLog, PayPeriod, PayPeriodLog
from attendance_site.dispatch import enqueue
from attendance_site.queues import Queue
from people.models import CorrectionRequest, Leave, Person

log = logging.getLogger(__name__)


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


class PeriodLocked(ValueError):
    """A change inside an approved and locked pay period."""


def _refuse_locked(*days: dt.date) -> None:
    """Refuse a change on a workday inside a locked pay period.

    Should be called inside a transaction: it holds the periods covering the days (SELECT FOR UPDATE),
    so that a period cannot be locked halfway through the change.
    """
    for day in sorted(set(days)):
        periods = PayPeriod.objects.select_for_update().filter(start__lte=day, end__gte=day)
        for period in periods:
            if period.locked:
                raise PeriodLocked(
                    f"{day:%a %d %b %Y} is in the {period.start:%d %b %Y} to {period.end:%d %b %Y} pay "
                    "period, which is approved and locked: reopen it (with a reason) before changing "
                    "attendance in it."
                )


def pay_period_locked_on(day: dt.date) -> PayPeriod | None:
    """Return the locked pay period covering a workday, if any (for pages that hide what cannot change)."""
    return PayPeriod.objects.filter(status=PayPeriod.Status.LOCKED, start__lte=day, end__gte=day).first()


def attendance_event_add(
    *, person: Person, kind: str, timestamp: dt.datetime, reason: str, by
) -> AttendanceEvent:
    """Add an event by hand (HR, a manager, an approved request); the workday follows the person's
    boundary; logged with the reason. Raises ValueError for a missing reason or a time in the future,
    PeriodLocked for a workday in a locked pay period."""
    reason = _require_reason(reason)
    _refuse_future(timestamp)
    workday = person_clock(person, timestamp).workday(timestamp)
    with transaction.atomic():
        Person.objects.select_for_update().filter(pk=person.pk).first()
        _refuse_locked(workday)
        event = AttendanceEvent.objects.create(
            person=person,
            kind=kind,
            timestamp=timestamp,
            workday=workday,
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
    """Fix an event's person, kind or time; keeps its values before and after, who and why.
    Raises ValueError for a missing reason or a time in the future, PeriodLocked when the event's
    workday, before or after the change, is in a locked pay period."""
    reason = _require_reason(reason)
    _refuse_future(timestamp)
    workday = person_clock(person, timestamp).workday(timestamp)
    with transaction.atomic():
        current = AttendanceEvent.objects.select_for_update().get(pk=event.pk)
        _refuse_locked(current.workday, workday)
        before = _event_snapshot(current)
        current.person = person
        current.kind = kind
        current.timestamp = timestamp
        current.workday = workday
        current.updated_by = by
        current.reason = reason
        current.save()
        _log(AttendanceEventLog.Action.CHANGE, current, by=by, reason=reason, before=before)
    return current


def attendance_event_delete(*, event: AttendanceEvent, reason: str, by) -> None:
    """Delete an event; its last values, who deleted it, when and why stay in the log.
    Raises PeriodLocked when its workday is in a locked pay period."""
    reason = _require_reason(reason)
    with transaction.atomic():
        current = AttendanceEvent.objects.select_for_update().get(pk=event.pk)
        _refuse_locked(current.workday)
        _log(AttendanceEventLog.Action.DELETE, current, by=by, reason=reason, before=_event_snapshot(current))
        current.delete()


# ---------------------------------------------------------------------------------------------
# Pay periods: approved and locked before payroll; reopened with a reason.
# ---------------------------------------------------------------------------------------------


def pay_period_create(*, start: dt.date, end: dt.date, by=None) -> PayPeriod:
    """Add an open pay period from `start` to `end` (both included).

    Raises ValueError when it ends before it starts or overlaps another period.
    """
    if end < start:
        raise ValueError("The period ends before it starts: set an end on or after the start.")
    with transaction.atomic():
        other = PayPeriod.objects.filter(start__lte=end, end__gte=start).first()
        if other is not None:
            raise ValueError(f"It overlaps the {other.start:%d %b %Y} to {other.end:%d %b %Y} pay period.")
        try:
            return PayPeriod.objects.create(start=start, end=end)
        except IntegrityError as error:
            raise ValueError(f"A pay period starting {start:%d %b %Y} exists already.") from error


def _pending_requests_in(period: PayPeriod) -> int:
    """Count the pending requests about days inside a period (their time, or their leave's days)."""
    pending = CorrectionRequest.objects.filter(status=CorrectionRequest.Status.PENDING)
    about_days = 0
    for item in pending.only("kind", "moment", "leave_start", "leave_end", "person"):
        if item.kind == CorrectionRequest.Kind.LEAVE:
            about_days += int(item.leave_start <= period.end and item.leave_end >= period.start)
        elif item.moment is not None:
            day = person_clock(item.person, item.moment).workday(item.moment)
            about_days += int(period.start <= day <= period.end)
    return about_days


def pay_period_lock(*, period: PayPeriod, by, today: dt.date | None = None) -> PayPeriod:
    """Approve and lock a period: from now on no hand-made change inside it (logged).

    Raises ValueError when it is locked already, is not over yet (a kiosk still records in it), or
    requests about its days still wait for a decision.
    """
    today = today or current_workday()
    with transaction.atomic():
        current = PayPeriod.objects.select_for_update().get(pk=period.pk)
        if current.locked:
            raise ValueError(f"The {current} is locked already.")
        if current.end >= today:
            raise ValueError(
                f"The period is not over yet: lock it after its last day ({current.end:%a %d %b %Y})."
            )
        waiting = _pending_requests_in(current)
        if waiting:
            raise ValueError(
                f"{waiting} request(s) about days in this period wait for a decision: decide them first."
            )
        current.status = PayPeriod.Status.LOCKED
        current.locked_by = by
        current.locked_at = timezone.now()
        current.save()
        PayPeriodLog.objects.create(period=current, action=PayPeriodLog.Action.LOCK, by=by)
    return current


def pay_period_reopen(*, period: PayPeriod, reason: str, by) -> PayPeriod:
    """Reopen a locked period so that it can be corrected; the reason is kept in the log.

    Raises ValueError without a reason or when the period is open already.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why the period is reopened: a reason is required.")
    with transaction.atomic():
        current = PayPeriod.objects.select_for_update().get(pk=period.pk)
        if not current.locked:
            raise ValueError(f"The {current} is open already.")
        current.status = PayPeriod.Status.OPEN
        current.locked_by = None
        current.locked_at = None
        current.save()
        PayPeriodLog.objects.create(period=current, action=PayPeriodLog.Action.REOPEN, by=by, reason=reason)
    return current


# ---------------------------------------------------------------------------------------------
# Employees' requests, decided by their manager or HR.
# ---------------------------------------------------------------------------------------------


def _request_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Say why: a reason is required for every request.")
    return reason


def _refuse_locked_day(day: dt.date) -> None:
    period = pay_period_locked_on(day)
    if period is not None:
        raise PeriodLocked(
            f"{day:%a %d %b %Y} is in a pay period that is approved and locked: ask HR to reopen it."
        )


def correction_request_create(
    *, person: Person, kind: str, moment: dt.datetime, reason: str
) -> CorrectionRequest:
    """Record an employee's request to add a missed entry ("in") or exit ("out") at `moment`.

    Raises ValueError saying what to fix: no reason, an unknown kind, a moment in the future or in a
    locked pay period.
    """
    reason = _request_reason(reason)
    if kind not in (CorrectionRequest.Kind.MISSED_ENTRY, CorrectionRequest.Kind.MISSED_EXIT):
        raise ValueError("Choose a missed entry or a missed exit.")
    if moment > timezone.now():
        raise ValueError("The time is in the future: give the time the entry or exit really happened.")
    _refuse_locked_day(person_clock(person, moment).workday(moment))
    return CorrectionRequest.objects.create(person=person, kind=kind, moment=moment, reason=reason)


def wrong_time_request_create(
    *, person: Person, event: AttendanceEvent, moment: dt.datetime, reason: str
) -> CorrectionRequest:
    """Record an employee's request to move one of their own events to `moment` (the right time).

    Raises ValueError for somebody else's event, no reason, the same time, a moment in the future, or
    a day in a locked pay period.
    """
    reason = _request_reason(reason)
    if event.person_id != person.pk:
        raise ValueError("That event is not yours: choose one of your own entries or exits.")
    if moment > timezone.now():
        raise ValueError("The time is in the future: give the time the entry or exit really happened.")
    if moment == event.timestamp:
        raise ValueError("That is the event's time already: give the right time.")
    _refuse_locked_day(event.workday)
    _refuse_locked_day(person_clock(person, moment).workday(moment))
    return CorrectionRequest.objects.create(
        person=person,
        kind=CorrectionRequest.Kind.WRONG_TIME,
        moment=moment,
        previous_moment=event.timestamp,
        event_id=event.pk,
        reason=reason,
    )


def leave_request_create(
    *, person: Person, leave_kind: str, start: dt.date, end: dt.date, half_day: bool, reason: str
) -> CorrectionRequest:
    """Record an employee's request for leave from `start` to `end` (included), or half of one day.

    Raises ValueError for an unknown kind, an end before the start, a half day over several days, or a
    day in a locked pay period.
    """
    reason = _request_reason(reason)
    if leave_kind not in Leave.Kind.values:
        raise ValueError("Choose the kind of leave: vacation, sick, unpaid or other.")
    if end < start:
        raise ValueError("The leave ends before it starts: set the last day on or after the first.")
    if half_day and end != start:
        raise ValueError("A half day is one day: set the last day to the first.")
    locked = PayPeriod.objects.filter(status=PayPeriod.Status.LOCKED, start__lte=end, end__gte=start).first()
    if locked is not None:
        raise PeriodLocked(
            f"Those days touch the {locked}, which is approved and locked: ask HR to reopen it."
        )
    return CorrectionRequest.objects.create(
        person=person,
        kind=CorrectionRequest.Kind.LEAVE,
        leave_kind=leave_kind,
        leave_start=start,
        leave_end=end,
        half_day=half_day,
        reason=reason,
    )


def _approve(current: CorrectionRequest, *, by) -> None:
    """Carry out an approved request: events through the audited path, leave as a Leave row."""
    reason = f"Correction request {current.pk}: {current.reason}"
    if current.kind == CorrectionRequest.Kind.LEAVE:
        start, end = current.leave_start, current.leave_end
        locked = PayPeriod.objects.filter(
            status=PayPeriod.Status.LOCKED, start__lte=end, end__gte=start
        ).first()
        if locked is not None:
            raise PeriodLocked(
                f"The leave touches the {locked}, which is approved and locked: reopen it first."
            )
        current.leave = Leave.objects.create(
            person=current.person,
            kind=current.leave_kind,
            start_date=start,
            end_date=end,
            half_day=current.half_day,
            note=f"Request {current.pk}: {current.reason}"[:200],
            entered_by=by,
        )
    elif current.kind == CorrectionRequest.Kind.WRONG_TIME:
        event = AttendanceEvent.objects.filter(pk=current.event_id, person=current.person).first()
        if event is None:
            raise ValueError("The event this request is about was deleted since: reject the request.")
        attendance_event_change(
            event=event,
            person=current.person,
            kind=event.kind,
            timestamp=current.moment,
            reason=reason,
            by=by,
        )
    else:
        event = attendance_event_add(
            person=current.person, kind=current.kind, timestamp=current.moment, reason=reason, by=by
        )
        current.event_id = event.pk


def correction_request_decide(
    *, request: CorrectionRequest, approve: bool, by, note: str = ""
) -> CorrectionRequest:
    """Approve (carry it out: events through the audited path, leave as a Leave row) or reject a request;
    the employee is told by e-mail once the decision is saved.

    Raises ValueError when the request was already decided or is the decider's own, PeriodLocked when
    approving would change a locked pay period (nothing changes).
    """
    with transaction.atomic():
        current = CorrectionRequest.objects.select_for_update().select_related("person").get(pk=request.pk)
        if current.status != CorrectionRequest.Status.PENDING:
            raise ValueError(f"This request was already {current.get_status_display().lower()}.")
        if by is not None and current.person.user_id == by.pk:
            raise ValueError("This is your own request: another manager or HR decides it.")
        if approve:
            _approve(current, by=by)
        current.status = CorrectionRequest.Status.APPROVED if approve else CorrectionRequest.Status.REJECTED
        current.decided_by = by
        current.decided_at = timezone.now()
        current.decision_note = (note or "").strip()[:300]
        current.save()
        transaction.on_commit(lambda: _enqueue_decision_mail(current.pk))
    return current


def _enqueue_decision_mail(request_id: int) -> None:
    """Queue the decision e-mail; if the broker is down the periodic sweep sends it later."""
    try:
        enqueue("attendance.request_decision_mail", queue=Queue.DEFAULT, args=[request_id])
    except Exception:  # noqa: BLE001 -- the decision is saved; attendance.request_decision_mails_send retries
        log.warning("Could not queue the decision e-mail of request %s", request_id)
