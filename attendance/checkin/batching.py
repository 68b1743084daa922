"""Recognising frames of several kiosks together, in one worker process (dynamic batching).

Each kiosk frame stays one Celery task, acknowledged after its attempt has an outcome (acks_late), so
delivery stays at least once: a worker killed mid-batch leaves every message of the batch unacknowledged
and every attempt of it pending, to be finished by another worker or expired as always. What changes is
where the face work happens: a recognition worker runs tasks in threads (`-P threads -c N`), and each
task hands its frame to this process's batcher and waits. The batcher's one thread takes every frame
that is waiting when it is free (at most RECOGNITION_BATCH_SIZE), recognises them in one call
(recognition.services.frames_recognise: MTCNN and FaceNet on the whole batch) and gives each task its
own frame's answer. One kiosk alone never waits for a batch to fill: a frame that finds the batcher
idle is recognised at once.

The K-of-M agreement reads a kiosk's earlier outcomes, so a kiosk's frames must be resolved in the
order they were taken. The batcher orders each batch by the attempts' creation time and chains every
frame to the previous frame of the same kiosk: a task resolves its attempt only after that one has
(Ticket.wait_turn). Frames of different kiosks resolve in parallel.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from django.db import close_old_connections, connection

log = logging.getLogger(__name__)

# How long a task waits for the previous frame of its kiosk to be resolved before going on anyway.
TURN_TIMEOUT_SECONDS = 10.0


@dataclass(eq=False)
class Ticket:
    """One frame handed to the batcher: its answer (a recognition or the exception) and its turn."""

    kiosk_id: int
    created_at: dt.datetime
    frame: bytes
    answer: Future = field(default_factory=Future)
    done: threading.Event = field(default_factory=threading.Event)
    after: threading.Event | None = None
    batch_size: int = 0

    def result(self, timeout: float | None = None):
        """Return this frame's recognition; raise what recognising it raised."""
        return self.answer.result(timeout)

    def wait_turn(self, timeout: float = TURN_TIMEOUT_SECONDS) -> None:
        """Wait until the previous frame of the same kiosk has been resolved (or released)."""
        if self.after is not None and not self.after.wait(timeout):
            log.warning(
                "went on without the previous frame of kiosk %s (not resolved in %.0f s)",
                self.kiosk_id,
                timeout,
            )

    def release(self) -> None:
        """Say this frame is resolved (or given up): the kiosk's next frame may go on."""
        self.done.set()


class RecognitionBatcher:
    """Collects frames from task threads and recognises them in batches on one thread of its own."""

    def __init__(
        self, recognise_many: Callable[[list[bytes]], list], *, max_batch: int, idle_seconds: float = 60.0
    ):
        self.recognise_many = recognise_many
        self.max_batch = max(1, int(max_batch))
        # The thread ends (closing its database connection) after this long without a frame; the
        # next frame starts another.
        self.idle_seconds = idle_seconds
        self._waiting: queue.Queue[Ticket] = queue.Queue()
        self._last_of_kiosk: dict[int, threading.Event] = {}
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, *, kiosk_id: int, created_at: dt.datetime, frame: bytes) -> Ticket:
        """Queue a frame for the next batch; the ticket's result() gives its recognition."""
        ticket = Ticket(kiosk_id=kiosk_id, created_at=created_at, frame=frame)
        self._waiting.put(ticket)  # first: a thread about to end on idle sees it and stays
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="recognition-batcher", daemon=True)
                self._thread.start()
        return ticket

    def _take_batch(self) -> list[Ticket] | None:
        """Wait for one frame, then take every frame already waiting, up to max_batch; None when the
        thread has been idle for idle_seconds and may end."""
        try:
            batch = [self._waiting.get(timeout=self.idle_seconds)]
        except queue.Empty:
            return None
        while len(batch) < self.max_batch:
            try:
                batch.append(self._waiting.get_nowait())
            except queue.Empty:
                break
        batch.sort(key=lambda ticket: ticket.created_at)
        for ticket in batch:
            ticket.after = self._last_of_kiosk.get(ticket.kiosk_id)
            self._last_of_kiosk[ticket.kiosk_id] = ticket.done
            ticket.batch_size = len(batch)
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch is not None:
                self.run_batch(batch)
                continue
            with self._lock:
                if self._waiting.empty():
                    self._thread = None
                    connection.close()
                    return

    def run_batch(self, batch: list[Ticket]) -> None:
        """Recognise a batch and hand each ticket its answer (the batch's exception, if it failed)."""
        close_old_connections()  # the active version is read from the database
        started = time.perf_counter()
        try:
            answers = self.recognise_many([ticket.frame for ticket in batch])
            log.debug(
                "recognised a batch of %d frames in %.0f ms",
                len(batch),
                (time.perf_counter() - started) * 1000,
            )
            if len(answers) != len(batch):
                raise RuntimeError(f"{len(answers)} answers for {len(batch)} frames")
        except Exception as exc:
            log.exception("recognising a batch of %d frames failed", len(batch))
            connection.close()  # a broken connection must not fail the next batch too
            answers = [exc] * len(batch)
        for ticket, answer in zip(batch, answers, strict=True):
            if isinstance(answer, Exception):
                ticket.answer.set_exception(answer)
            else:
                ticket.answer.set_result(answer)


_batcher: RecognitionBatcher | None = None
_batcher_lock = threading.Lock()


def batcher_get() -> RecognitionBatcher:
    """Return this process's batcher (made on first use, after any fork), with the real engine."""
    global _batcher
    if _batcher is None:
        with _batcher_lock:
            if _batcher is None:
                from django.conf import settings

                from recognition.services import frames_recognise

                _batcher = RecognitionBatcher(frames_recognise, max_batch=settings.RECOGNITION_BATCH_SIZE)
    return _batcher
