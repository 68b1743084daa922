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


# Hard limit above the longest a batched frame may wait (RECOGNITION_BATCH_TIMEOUT_SECONDS for its batch,
# then batching.TURN_TIMEOUT_SECONDS for its kiosk's previous frame): past it the task is hung, and a
# threads-pool worker exits for a fresh one (attendance_site.task_watchdog).
@shared_task(name="attendance.checkin_attempt_process", soft_time_limit=35, time_limit=45, **RECOGNITION_TASK)
def checkin_attempt_process_task(attempt_id: str, frame_ref: str) -> str:
    """Recognise one kiosk frame and record what it leads to; return the attempt's outcome.

    `frame_ref` is the frame's key in the frame store (attendance.checkin.framestore: Redis, expiring),
    or the frame itself in base64 in a message queued by an older version. The frame is recognised
    with the other kiosks' frames waiting in this worker (attendance.checkin.batching) unless
    RECOGNITION_BATCH_SIZE is 1. Safe to run twice: the service re-checks the state.
    """
    from django.conf import settings

    from attendance.checkin import framestore, services, wakeups
    from attendance.checkin.batching import batcher_get

    keys, frames = _frames_of([frame_ref])
    batcher = batcher_get() if settings.RECOGNITION_BATCH_SIZE > 1 else None
    attempt = services.checkin_attempt_process(
        attempt_id=uuid.UUID(attempt_id), frame=frames[0], batcher=batcher
    )
    if attempt.state != attempt.State.PENDING:
        wakeups.attempt_finished(attempt_id)  # the kiosk's waiting poll answers now
        framestore.frames_delete(keys)
    return attempt.outcome or attempt.state


@shared_task(
    name="attendance.checkin_liveness_process", soft_time_limit=40, time_limit=60, **RECOGNITION_TASK
)
def checkin_liveness_process_task(attempt_id: str, frame_refs: list[str]) -> str:
    """Check the frames answering an attempt's liveness challenge; return the attempt's outcome.

    The frames are in the frame store like single check-in frames (keys), or in base64 in a message
    queued by an older version. Safe to run twice.
    """
    from attendance.checkin import framestore, services, wakeups

    keys, frames = _frames_of(frame_refs)
    attempt = services.checkin_liveness_process(attempt_id=uuid.UUID(attempt_id), frames=frames)
    if attempt.state != attempt.State.PENDING:
        wakeups.attempt_finished(attempt_id, answer=True)
        framestore.frames_delete(keys)
    return attempt.outcome or attempt.state


def _frames_of(refs: list[str]) -> tuple[list[str], list[bytes | None]]:
    """Return (the frame-store keys among `refs`, the frames: None where a key has expired)."""
    from attendance.checkin import framestore

    keys = [ref for ref in refs if framestore.is_frame_key(ref)]
    stored = dict(zip(keys, framestore.frames_get(keys), strict=True))
    return keys, [stored[ref] if ref in stored else base64.b64decode(ref) for ref in refs]


@shared_task(name="attendance.checkin_attempts_expire", queue=Queue.DEFAULT.value, ignore_result=True)
def checkin_attempts_expire_task() -> int:
    """Expire attempts that waited too long for a recognition worker; return how many."""
    from attendance.checkin import services

    return services.checkin_attempts_expire()
