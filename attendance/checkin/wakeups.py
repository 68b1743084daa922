"""Long polling for kiosks: a poll waits until its attempt has an outcome instead of asking again.

Why: the kiosk page used to ask for an attempt's result every 60-200 ms. Each ask is a whole Django
request (about 7 ms of CPU: the kiosk's token, the attempt with its person and event, the JSON), so
8 kiosks posting 2 frames a second spent more of the 2 cores on asking than on recognising
(benchmarks.checkin, 1 recognition process, 8 kiosks: web 98 ms of CPU a frame, recognition 61 ms).
Now a poll may say `?wait=S`: the web thread blocks on Redis (no CPU) until the worker says the
attempt is finished, or S seconds.

The signal is a one-element Redis list per attempt and phase (the frame, then the answer to a
liveness challenge), written by the worker once the attempt is no longer pending and kept for a
minute. A waiting poll takes it with BLMOVE from the list to itself (it stays for any later poll).
Redis being down only means no waiting: the poll answers at once, as before.
"""

from __future__ import annotations

import logging
import uuid

import redis

from attendance.checkin.framestore import redis_client

log = logging.getLogger(__name__)

KEY_PREFIX = "attendance:checkin-done:"
SIGNAL_TTL_SECONDS = 60


def _key(attempt_id: uuid.UUID | str, *, answer: bool) -> str:
    return f"{KEY_PREFIX}{attempt_id}{':answer' if answer else ''}"


def attempt_finished(attempt_id: uuid.UUID | str, *, answer: bool = False) -> None:
    """Wake the polls waiting for this attempt (`answer`: for its liveness answer's outcome)."""
    key = _key(attempt_id, answer=answer)
    try:
        pipe = redis_client().pipeline(transaction=True)
        pipe.delete(key)
        pipe.rpush(key, b"1")
        pipe.expire(key, SIGNAL_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:  # the kiosk's poll answers after its wait instead
        log.warning("could not signal the end of attempt %s: %s", attempt_id, exc)


def attempt_wait(attempt_id: uuid.UUID | str, *, answer: bool, timeout: float) -> bool:
    """Block until the attempt is signalled finished or `timeout` seconds pass; return whether it was.

    Returns False at once when Redis cannot be reached (the caller answers with what it has).
    """
    if timeout <= 0:
        return False
    key = _key(attempt_id, answer=answer)
    try:
        return redis_client().blmove(key, key, timeout, "LEFT", "RIGHT") is not None
    except redis.RedisError as exc:
        log.warning("could not wait for attempt %s: %s", attempt_id, exc)
        return False
