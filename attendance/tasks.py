"""Celery tasks of the attendance app: thin wrappers around attendance.services."""

from __future__ import annotations

import base64
import logging
import uuid

from celery import shared_task, signals

from attendance_site.celery import Queue

log = logging.getLogger(__name__)


@shared_task(
    name="attendance.checkin_attempt_process",
    queue=Queue.RECOGNITION.value,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=20,
    time_limit=30,
)
def checkin_attempt_process_task(attempt_id: str, frame_b64: str) -> str:
    """Recognise one kiosk frame and record what it leads to; return the attempt's outcome.

    The frame rides in the message (base64) because check-in frames are not written to storage
    unless the retention setting asks for it. Safe to run twice: the service re-checks the state.
    """
    from attendance import services

    attempt = services.checkin_attempt_process(
        attempt_id=uuid.UUID(attempt_id), frame=base64.b64decode(frame_b64)
    )
    return attempt.outcome or attempt.state


@shared_task(
    name="attendance.checkin_liveness_process",
    queue=Queue.RECOGNITION.value,
    acks_late=True,
    ignore_result=True,
    soft_time_limit=40,
    time_limit=60,
)
def checkin_liveness_process_task(attempt_id: str, frames_b64: list[str]) -> str:
    """Check the frames answering an attempt's liveness challenge; return the attempt's outcome.

    The frames ride in the message (base64), like single check-in frames. Safe to run twice.
    """
    from attendance import services

    attempt = services.checkin_liveness_process(
        attempt_id=uuid.UUID(attempt_id), frames=[base64.b64decode(f) for f in frames_b64]
    )
    return attempt.outcome or attempt.state


@shared_task(name="attendance.checkin_attempts_expire", queue=Queue.DEFAULT.value, ignore_result=True)
def checkin_attempts_expire_task() -> int:
    """Expire attempts that waited too long for a recognition worker; return how many."""
    from attendance import services

    return services.checkin_attempts_expire()


def checkin_attempt_enqueue(*, attempt_id: uuid.UUID, frame: bytes) -> None:
    """Queue the recognition of an attempt; if the broker is unreachable, fail the attempt at once."""
    try:
        checkin_attempt_process_task.apply_async(
            args=[str(attempt_id), base64.b64encode(frame).decode("ascii")],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception as exc:  # the kiosk must get an answer, not a 500
        from attendance import services

        log.error("could not queue check-in attempt %s: %s", attempt_id, exc)
        services.checkin_attempt_fail(attempt_id=attempt_id, error="The recognition queue is unavailable.")


def checkin_liveness_enqueue(*, attempt_id: uuid.UUID, frames: list[bytes]) -> None:
    """Queue the liveness check of an answered challenge; if the broker is unreachable, fail it at once."""
    try:
        checkin_liveness_process_task.apply_async(
            args=[str(attempt_id), [base64.b64encode(frame).decode("ascii") for frame in frames]],
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception as exc:  # the kiosk must get an answer, not a 500
        from attendance import services

        log.error("could not queue the liveness check of attempt %s: %s", attempt_id, exc)
        services.checkin_attempt_fail(attempt_id=attempt_id, error="The recognition queue is unavailable.")


@signals.worker_ready.connect
def _expire_stale_attempts_on_start(sender=None, **_kwargs) -> None:
    """When a worker starts, expire frames that waited for it too long (never late check-ins)."""
    from attendance import services

    try:
        expired = services.checkin_attempts_expire()
    except Exception as exc:  # the database may not be up yet; the first task expires them too
        log.warning("could not expire stale check-in attempts: %s", exc)
        return
    if expired:
        log.info("expired %d check-in attempts that waited for a worker", expired)
