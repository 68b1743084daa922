"""Celery tasks of attendance e-mails: thin wrappers around attendance.notifications."""

from __future__ import annotations

from celery import shared_task

from attendance_site.queues import Queue

MAIL_TASK = {"queue": Queue.DEFAULT.value, "ignore_result": True, "acks_late": True}


@shared_task(name="attendance.manager_digests_send", soft_time_limit=240, time_limit=300, **MAIL_TASK)
def manager_digests_send_task(day: str | None = None) -> int:
    """Send each manager the digest of `day` (ISO date; default the last complete workday) once."""
    import datetime as dt

    from attendance import notifications

    return notifications.manager_digests_send(day=dt.date.fromisoformat(day) if day else None)


@shared_task(
    name="attendance.request_decision_mail",
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
    **MAIL_TASK,
)
def request_decision_mail_task(request_id: int) -> bool:
    """Tell an employee their request was decided (once; safe to run twice)."""
    from attendance import notifications

    return notifications.request_decision_mail_send(request_id=request_id)


@shared_task(name="attendance.request_decision_mails_send", soft_time_limit=120, time_limit=180, **MAIL_TASK)
def request_decision_mails_send_task() -> int:
    """Send the decision e-mails whose queued task was lost (a broker restart)."""
    from attendance import notifications

    return notifications.request_decision_mails_send()
