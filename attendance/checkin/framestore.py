"""Kiosk frames waiting for a recognition worker: in Redis under a key that expires, never in a message.

The task message carries only the key. A frame's key lives as long as its attempt may still be
recognised (CHECKIN_MAX_PENDING_SECONDS, or LIVENESS_MAX_PENDING_SECONDS for a challenge's burst) plus
FRAME_TTL_GRACE_SECONDS, and the worker deletes it once the attempt has its outcome. So with no
recognition worker running, frames are gone from Redis a few seconds after their attempts expired,
whatever CHECKIN_KEEP_FRAMES says (issue 13, finding 12); a message that outlives its frame is
dropped by the worker (it also expires, see services._recognition_enqueue).

The store is the broker's Redis (the embedded Valkey on `make run`), reached with redis-py.
"""

from __future__ import annotations

import math
import secrets
import threading
from urllib.parse import urlsplit

import redis
from django.conf import settings

KEY_PREFIX = "attendance:checkin-frame:"
FRAME_TTL_GRACE_SECONDS = 2

_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def redis_client() -> redis.Redis:
    """Return this process's client of the broker's Redis (one connection pool per broker URL)."""
    url = settings.CELERY_BROKER_URL
    client = _clients.get(url)
    if client is None:
        with _lock:
            client = _clients.get(url)
            if client is None:
                if url.startswith("redis+socket://"):
                    client = redis.Redis(unix_socket_path=urlsplit(url).path, socket_timeout=5)
                else:
                    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3)
                _clients[url] = client
    return client


def is_frame_key(value: str) -> bool:
    """Tell a frame key from a frame carried in base64 by a message queued before this store existed."""
    return value.startswith(KEY_PREFIX)


def frames_put(frames: list[bytes], *, wait_seconds: float) -> list[str]:
    """Store frames for a worker that must take them within `wait_seconds`; return their keys."""
    ttl = math.ceil(wait_seconds) + FRAME_TTL_GRACE_SECONDS
    keys = [KEY_PREFIX + secrets.token_urlsafe(18) for _ in frames]
    pipe = redis_client().pipeline(transaction=False)
    for key, frame in zip(keys, frames, strict=True):
        pipe.set(key, frame, ex=ttl)
    pipe.execute()
    return keys


def frames_get(keys: list[str]) -> list[bytes | None]:
    """Return the frames under `keys` (None where a frame's key has expired)."""
    if not keys:
        return []
    return redis_client().mget(keys)


def frames_delete(keys: list[str]) -> None:
    """Delete frames once their attempt has its outcome (their keys would expire anyway)."""
    if keys:
        redis_client().delete(*keys)


def frame_keys_left() -> list[str]:
    """Return the keys of every frame still stored (for tests and the privacy check)."""
    return [key.decode() for key in redis_client().scan_iter(match=KEY_PREFIX + "*", count=1000)]
