"""E-mails: the daily digest to each manager and the decision on a request to the employee.

Sent through Django's e-mail (settings.EMAIL_BACKEND: the console by default, SMTP from the
environment). Each is sent once: a ManagerDigest row per manager and day, `decision_mailed_at` on
the request, both written in the transaction that sends, so a failed send is tried again and a
second run sends nothing.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from attendance.clock import current_workday
from attendance.models import ManagerDigest
from attendance.reports.rules import ABSENT
from attendance.reports.selectors import PersonDay, attendance_day_rows, report_scope_for
from people.models import CorrectionRequest

log = logging.getLogger(__name__)

MANAGERS_ROLE = "Managers"


def _site_link(name: str, query: str = "") -> str:
    return settings.SITE_URL.rstrip("/") + reverse(name) + query


@dataclass
class Digest:
    """What a manager's digest of one workday says, for the people in their departments."""

    day: dt.date
    late: list[PersonDay] = field(default_factory=list)
    absent: list[PersonDay] = field(default_factory=list)
    missing_exit: list[PersonDay] = field(default_factory=list)
    pending: list[CorrectionRequest] = field(default_factory=list)

    def figures(self) -> dict[str, int]:
        return {
            "late": len(self.late),
            "absent": len(self.absent),
            "missing_exit": len(self.missing_exit),
            "pending_requests": len(self.pending),
        }


def manager_digest_read(*, user, day: dt.date) -> Digest:
    """Return the late, absent and missing exits of `day` and the pending requests, in the user's scope."""
    scope = report_scope_for(user=user)
    digest = Digest(day=day)
    for row in attendance_day_rows(day=day, scope=scope):
        if row.day.late:
            digest.late.append(row)
        if row.day.status == ABSENT:
            digest.absent.append(row)
        if row.day.missing_exit:
            digest.missing_exit.append(row)
    digest.pending = list(
        CorrectionRequest.objects.filter(
            status=CorrectionRequest.Status.PENDING, person__in=scope.people().values("pk")
        )
        .select_related("person")
        .order_by("created_at")
    )
    return digest


def manager_digest_recipients():
    """Return the active members of the Managers role who have an e-mail address."""
    return (
        get_user_model()
        .objects.filter(is_active=True, groups__name=MANAGERS_ROLE)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def manager_digest_send(*, user, day: dt.date) -> ManagerDigest | None:
    """Send `user` the digest of `day` unless it was sent already; return its record, None if it was.

    The record is written in the transaction that sends: if sending fails nothing is recorded and the
    next run tries again; a second run for the same day finds the record (or the unique constraint)
    and sends nothing.
    """
    if ManagerDigest.objects.filter(user=user, day=day).exists():
        return None
    digest = manager_digest_read(user=user, day=day)
    context = {
        "user": user,
        "digest": digest,
        "day_url": _site_link("reports:day", f"?day={day.isoformat()}"),
        "requests_url": _site_link("reports:requests"),
    }
    subject = (
        f"Attendance {day:%a %d %b}: {len(digest.late)} late, {len(digest.absent)} absent, "
        f"{len(digest.missing_exit)} missing exits, {len(digest.pending)} requests waiting"
    )
    try:
        with transaction.atomic():
            record = ManagerDigest.objects.create(
                user=user, day=day, recipient=user.email, summary=digest.figures()
            )
            send_mail(
                subject,
                render_to_string("email/manager_digest.txt", context),
                None,
                [user.email],
            )
    except IntegrityError:  # another run sent it meanwhile
        return None
    return record


def manager_digests_send(*, day: dt.date | None = None) -> int:
    """Send every manager the digest of `day` (default: the last complete workday); return how many
    were sent now (0 when the run repeats)."""
    day = day or current_workday() - dt.timedelta(days=1)
    sent = 0
    for user in manager_digest_recipients():
        try:
            sent += manager_digest_send(user=user, day=day) is not None
        except Exception:  # one manager's bad address must not stop the others; retried next run
            log.exception("The digest of %s to user %s was not sent", day, user.pk)
    return sent


def _decision_recipient(item: CorrectionRequest) -> str:
    person = item.person
    return person.email or (person.user.email if person.user_id else "")


def request_decision_mail_send(*, request_id: int) -> bool:
    """Tell the employee their request was approved or rejected; return True if sent now.

    Sends nothing for a pending request, one told already, or an employee with no e-mail address.
    """
    with transaction.atomic():
        item = (
            CorrectionRequest.objects.select_for_update(of=("self",))
            .select_related("person", "person__user", "decided_by")
            .filter(pk=request_id)
            .first()
        )
        if item is None or item.status == CorrectionRequest.Status.PENDING or item.decision_mailed_at:
            return False
        recipient = _decision_recipient(item)
        if not recipient:
            return False
        status = item.get_status_display().lower()
        send_mail(
            f"Your request was {status}: {item.what}",
            render_to_string(
                "email/request_decided.txt",
                {"item": item, "status": status, "timesheet_url": _site_link("reports:my-timesheet")},
            ),
            None,
            [recipient],
        )
        item.decision_mailed_at = timezone.now()
        item.save(update_fields=["decision_mailed_at"])
    return True


def request_decision_mails_send(*, within: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Send the decision e-mails not sent yet (a queued one lost with the broker); return how many."""
    since = timezone.now() - within
    ids = CorrectionRequest.objects.filter(
        decision_mailed_at__isnull=True, decided_at__gte=since
    ).values_list("pk", flat=True)
    return sum(request_decision_mail_send(request_id=pk) for pk in ids)
