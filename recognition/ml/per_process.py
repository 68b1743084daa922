"""Models built once per process, lazily, and never used across a fork.

TensorFlow is not fork-safe: a model built in a Celery parent and used in a forked child hangs
(pipeline-facts). So each heavy model lives in a per-process cache that remembers which process
built it, and a forked child that finds its parent's model is told to build its own instead.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Hashable
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)
Model = TypeVar("Model")


def build_once(
    cache: dict[Key, tuple[int, Model]],
    lock: threading.Lock,
    key: Key,
    build: Callable[[], Model],
    *,
    what: str,
) -> Model:
    """Return the object cached under `key`, calling `build` on first use only (thread-safe).

    Raise RuntimeError, naming `what`, when the cached object was built by another process (a parent
    before fork()).
    """
    entry = cache.get(key)
    if entry is None:
        with lock:
            entry = cache.get(key)
            if entry is None:
                entry = (os.getpid(), build())
                cache[key] = entry
    pid, built = entry
    if pid != os.getpid():
        raise RuntimeError(
            f"{what} was built in process {pid} before this process ({os.getpid()}) was forked; "
            "build it after the fork (in the Celery child), not in the parent"
        )
    return built
