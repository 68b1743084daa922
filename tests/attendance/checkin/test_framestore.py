"""Kiosk frames wait for a worker in Redis under expiring keys, never in a task message (issue 13, #12).

Real Redis (the test broker's database) and the real API; run alone, no recognition worker consumes,
as when none runs (with the session's test worker up, the frame is gone all the same).
"""

from __future__ import annotations

import base64
import json
import time

import numpy as np
import pytest
import redis
from django.core.files.uploadedfile import SimpleUploadedFile

from attendance.checkin import framestore
from attendance.models import CheckinAttempt
from tests.factories import KioskFactory
from tests.support.images import jpeg_bytes


def noise_jpeg(seed: int) -> bytes:
    """A valid 320x240 JPEG of random pixels: its bytes are found nowhere else."""
    rng = np.random.default_rng(seed)
    return jpeg_bytes(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8), quality=80)


def redis_values(client: redis.Redis):
    """Yield every value stored in the Redis database (lists, hashes, sets, strings), and the decoded
    body of every Celery message among them."""
    for key in client.scan_iter(count=1000):
        kind = client.type(key)
        if kind == b"string":
            values = [client.get(key)]
        elif kind == b"list":
            values = client.lrange(key, 0, -1)
        elif kind == b"hash":
            values = list(client.hgetall(key).values())
        elif kind == b"set":
            values = list(client.smembers(key))
        elif kind == b"zset":
            values = client.zrange(key, 0, -1)
        else:
            values = []
        for value in values:
            if value is None:
                continue
            yield value
            try:
                message = json.loads(value)
            except (ValueError, UnicodeDecodeError):
                continue
            if isinstance(message, list):  # kombu's unacked hash holds [message, exchange, routing key]
                message = message[0] if message and isinstance(message[0], dict) else {}
            if isinstance(message, dict) and isinstance(message.get("body"), str):
                yield base64.b64decode(message["body"])


def holds(client: redis.Redis, frame: bytes) -> bool:
    """Tell whether any value in Redis holds the frame, raw or in base64."""
    needles = (frame[-400:-100], base64.b64encode(frame)[-600:-200])
    return any(needle in value for value in redis_values(client) for needle in needles)


@pytest.mark.django_db(transaction=True)
def test_frames_posted_without_a_worker_leave_redis_when_their_attempts_expire(client, settings):
    """With no recognition worker the frame's bytes are in Redis only under their key, and gone a few
    seconds after the attempt expired, even with CHECKIN_KEEP_FRAMES="all"."""
    settings.CHECKIN_MAX_PENDING_SECONDS = 1
    settings.CHECKIN_KEEP_FRAMES = "all"
    kiosk = KioskFactory()
    frame = noise_jpeg(int(time.time()))
    store = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    response = client.post(
        "/api/v1/checkins/",
        {"frame": SimpleUploadedFile("f.jpg", frame, "image/jpeg")},
        HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}",
    )
    assert response.status_code == 202, response.content
    attempt_id = response.json()["id"]
    keys = [key for key in framestore.frame_keys_left() if store.get(key) == frame]
    assert len(keys) == 1, "while the attempt may be recognised, its frame waits under its own key"
    assert 0 < store.ttl(keys[0]) <= 1 + framestore.FRAME_TTL_GRACE_SECONDS

    time.sleep(1 + framestore.FRAME_TTL_GRACE_SECONDS + 0.5)

    assert not holds(store, frame), "the frame's bytes are still in Redis after its attempt expired"
    polled = client.get(f"/api/v1/checkins/{attempt_id}/", HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}")
    # Expired with no worker; done if the session's test worker (tests.fixtures.services) took it.
    assert polled.json()["state"] in (CheckinAttempt.State.EXPIRED, CheckinAttempt.State.DONE)


@pytest.mark.django_db(transaction=True)
def test_a_check_in_message_carries_no_frame_and_expires_with_its_attempt(client, settings, monkeypatch):
    """The queued task's arguments are the attempt id and the frame's key; the message expires after
    CHECKIN_MAX_PENDING_SECONDS, so a worker that gets it later drops it unrun."""
    from attendance.checkin import services

    sent = []
    real_enqueue = services.enqueue

    def recording_enqueue(name, **options):  # records, then queues for real
        sent.append((name, options))
        return real_enqueue(name, **options)

    monkeypatch.setattr(services, "enqueue", recording_enqueue)
    kiosk = KioskFactory()
    frame = noise_jpeg(int(time.time()) + 1)
    response = client.post(
        "/api/v1/checkins/",
        {"frame": SimpleUploadedFile("f.jpg", frame, "image/jpeg")},
        HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}",
    )
    assert response.status_code == 202
    [(name, options)] = sent
    assert name == "attendance.checkin_attempt_process"
    attempt_id, frame_ref = options["args"]
    assert attempt_id == response.json()["id"]
    assert framestore.is_frame_key(frame_ref) and len(frame_ref) < 100
    assert options["expires"] == settings.CHECKIN_MAX_PENDING_SECONDS
    assert framestore.frames_get([frame_ref]) == [frame]
    framestore.frames_delete([frame_ref])
