"""Celery tasks of check-in: thin wrappers around attendance.checkin.services (task names unchanged)."""

from __future__ import annotations

import base64
import logging
import uuid

from celery import shared_task

from attendance_site.queues import Queue

log = logging.getLogger(__name__)

# Recognition work: on the latency-bound queue, acknowledged once done (safe: the services re-check the
# attempt's state), no result kept (the attempt row is the result).
RECOGNITION_TASK = {"queue": Queue.RECOGNITION.value, "acks_late": True, "ignore_result": True}


@shared_task(name="attendance.checkin_attempt_process", soft_time_limit=20, time_limit=30, **RECOGNITION_TASK)
def checkin_attempt_process_task(attempt_id: str, frame_b64: str) -> str:
    """Recognise one kiosk frame and record what it leads to; return the attempt's outcome.

    The frame rides in the message (base64) because check-in frames are not written to storage
    unless the retention setting asks for it. Safe to run twice: the service re-checks the state.
    """
    from attendance.checkin import services

    attempt = services.checkin_attempt_process(
        attempt_id=uuid.UUID(attempt_id), frame=base64.b64decode(frame_b64)
    )
    return attempt.outcome or attempt.state


@shared_task(
    name="attendance.checkin_liveness_process", soft_time_limit=40, time_limit=60, **RECOGNITION_TASK
)
def checkin_liveness_process_task(attempt_id: str, frames_b64: list[str]) -> str:
    """Check the frames answering an attempt's liveness challenge; return the attempt's outcome.

    The frames ride in the message (base64), like single check-in frames. Safe to run twice.
    """
    from attendance.checkin import services

    attempt = services.checkin_liveness_process(
        attempt_id=uuid.UUID(attempt_id), frames=[base64.b64decode(f) for f in frames_b64]
    )
    return attempt.outcome or attempt.state


@shared_task(name="attendance.checkin_attempts_expire", queue=Queue.DEFAULT.value, ignore_result=True)
def checkin_attempts_expire_task() -> int:
    """Expire attempts that waited too long for a recognition worker; return how many."""
    from attendance.checkin import services

    return services.checkin_attempts_expire()
