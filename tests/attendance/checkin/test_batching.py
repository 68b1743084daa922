"""Kiosk frames recognised in batches (attendance.checkin.batching), with a fake recogniser.

The batcher runs for real (its thread, the task threads, PostgreSQL row locks); only the face work is
a fake that names who each frame shows. The real engine's batches are tested in
tests/recognition/test_batching_engine.py, a killed batched worker in tests/faults.
"""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone

from attendance.checkin import services
from attendance.checkin.batching import RecognitionBatcher
from attendance.models import AttendanceEvent, CheckinAttempt
from tests.factories import CheckinAttemptFactory, KioskFactory, PersonFactory
from tests.fakes import FAKE_STRANGER, fake_seen

Outcome = CheckinAttempt.Outcome
pytestmark = pytest.mark.django_db(transaction=True)


class FakeBatchRecogniser:
    """A fake recogniser of whole batches: frame bytes b"person:<pk>" show that person.

    It records the frames of every batch it is asked. `hold` makes the first batch wait until
    `expected` more frames are queued behind it, so that they all arrive in the next batch.
    """

    def __init__(self, people: dict[int, object]):
        self.people = people
        self.batches: list[list[bytes]] = []
        self.batcher: RecognitionBatcher | None = None
        self.hold_until_waiting = 0

    def __call__(self, frames: list[bytes]) -> list:
        self.batches.append(list(frames))
        if self.hold_until_waiting and len(self.batches) == 1:
            deadline = timezone.now() + dt.timedelta(seconds=20)
            while self.batcher._waiting.qsize() < self.hold_until_waiting and timezone.now() < deadline:
                threading.Event().wait(0.01)
        answers = []
        for frame in frames:
            if frame.startswith(b"person:"):
                answers.append(fake_seen(self.people[int(frame.split(b":")[1])]))
            elif frame == b"broken":
                answers.append(ValueError("The frame is not a readable image."))
            else:
                answers.append(FAKE_STRANGER)
        return answers


def batched_run(recogniser: FakeBatchRecogniser, attempts_and_frames: list[tuple[CheckinAttempt, bytes]]):
    """Process every attempt in a thread of its own (as a threads-pool worker does) through one batcher,
    behind a first frame that holds the batcher until all of them wait; return the attempts."""
    batcher = RecognitionBatcher(recogniser, max_batch=16, idle_seconds=0.2)
    recogniser.batcher = batcher
    recogniser.hold_until_waiting = len(attempts_and_frames)
    gate = CheckinAttemptFactory(kiosk=KioskFactory())
    results: dict = {}
    errors: list[BaseException] = []

    def process(attempt: CheckinAttempt, frame: bytes) -> None:
        try:
            results[attempt.pk] = services.checkin_attempt_process(
                attempt_id=attempt.pk, frame=frame, batcher=batcher
            )
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            connection.close()

    first = threading.Thread(target=process, args=(gate, b"stranger"))
    first.start()
    while not recogniser.batches:
        threading.Event().wait(0.01)
    threads = [threading.Thread(target=process, args=pair) for pair in attempts_and_frames]
    for thread in threads:
        thread.start()
    for thread in [first, *threads]:
        thread.join(30)
    assert errors == []
    return [results[attempt.pk] for attempt, _frame in attempts_and_frames]


def test_a_batch_of_frames_from_different_kiosks_gives_each_kiosk_its_own_outcome():
    """Four kiosks, four people, one batch: each attempt names the person in its own frame."""
    people = [PersonFactory() for _ in range(3)]
    recogniser = FakeBatchRecogniser({p.pk: p for p in people})
    kiosks = [KioskFactory() for _ in range(4)]
    # Each of the first three kiosks has already seen its person once (K-of-M: this frame confirms).
    for kiosk, person in zip(kiosks, people, strict=False):
        services.checkin_attempt_resolve(
            attempt_id=CheckinAttemptFactory(kiosk=kiosk).pk, recognition=fake_seen(person)
        )
    pairs = [
        (CheckinAttemptFactory(kiosk=k), f"person:{p.pk}".encode())
        for k, p in zip(kiosks, people, strict=False)
    ]
    pairs.append((CheckinAttemptFactory(kiosk=kiosks[3]), b"stranger"))

    results = batched_run(recogniser, pairs)

    assert sorted(len(batch) for batch in recogniser.batches) == [1, 4], "the four frames were one batch"
    assert [r.person_id for r in results] == [p.pk for p in people] + [None]
    assert [r.outcome for r in results] == [Outcome.CHECKED_IN] * 3 + [Outcome.UNKNOWN]
    events = AttendanceEvent.objects.order_by("kiosk_id")
    assert [(e.kiosk_id, e.person_id) for e in events] == [
        (k.pk, p.pk) for k, p in zip(kiosks, people, strict=False)
    ]


def test_k_of_m_holds_for_frames_of_one_kiosk_in_one_batch():
    """Three frames of one person from one kiosk in one batch resolve in the order they were taken:
    the first waits for agreement, the second (2 of 3) records the entry, the third says "already"."""
    ana = PersonFactory()
    recogniser = FakeBatchRecogniser({ana.pk: ana})
    kiosk = KioskFactory()
    now = timezone.now()
    attempts = [CheckinAttemptFactory(kiosk=kiosk) for _ in range(3)]
    for offset, attempt in enumerate(attempts):  # taken 100 ms apart, in this order
        CheckinAttempt.objects.filter(pk=attempt.pk).update(
            created_at=now + dt.timedelta(milliseconds=100 * offset)
        )
    frame = f"person:{ana.pk}".encode()
    # Handed to the batcher newest first: the batcher must still resolve them oldest first.
    results = batched_run(recogniser, [(a, frame) for a in reversed(attempts)])

    by_age = sorted(results, key=lambda r: r.created_at)
    assert [r.outcome for r in by_age] == [Outcome.CONFIRMING, Outcome.CHECKED_IN, Outcome.ALREADY]
    assert AttendanceEvent.objects.get().attempt_id == attempts[1].pk


def test_k_of_m_is_not_reached_by_one_frame_in_a_batch_of_others():
    """One sighting at each of three kiosks in one batch is not agreement: nothing is recorded."""
    ana = PersonFactory()
    recogniser = FakeBatchRecogniser({ana.pk: ana})
    frame = f"person:{ana.pk}".encode()
    results = batched_run(
        recogniser, [(CheckinAttemptFactory(kiosk=KioskFactory()), frame) for _ in range(3)]
    )
    assert [r.outcome for r in results] == [Outcome.CONFIRMING] * 3
    assert not AttendanceEvent.objects.exists()


def test_one_unreadable_frame_fails_only_its_own_attempt():
    """A frame the engine cannot read fails its attempt with the reason; the batch's others go on."""
    ana = PersonFactory()
    recogniser = FakeBatchRecogniser({ana.pk: ana})
    kiosk = KioskFactory()
    services.checkin_attempt_resolve(
        attempt_id=CheckinAttemptFactory(kiosk=kiosk).pk, recognition=fake_seen(ana)
    )
    pairs = [
        (CheckinAttemptFactory(kiosk=KioskFactory()), b"broken"),
        (CheckinAttemptFactory(kiosk=kiosk), f"person:{ana.pk}".encode()),
    ]
    broken, good = batched_run(recogniser, pairs)
    assert (broken.state, broken.outcome) == (CheckinAttempt.State.FAILED, Outcome.ERROR)
    assert "not a readable image" in broken.message
    assert good.outcome == Outcome.CHECKED_IN


def test_a_fault_of_the_whole_batch_fails_each_attempt_and_the_next_batch_works():
    """The engine failing (weights missing) fails every attempt of that batch, with the error; the
    batcher's thread survives and recognises the next frame."""
    ana = PersonFactory()
    calls = []

    def broken_then_fine(frames):
        calls.append(len(frames))
        if len(calls) == 1:
            raise RuntimeError("FaceNet weights missing")
        return [fake_seen(ana) for _ in frames]

    batcher = RecognitionBatcher(broken_then_fine, max_batch=8, idle_seconds=0.2)
    first = services.checkin_attempt_process(
        attempt_id=CheckinAttemptFactory().pk, frame=b"x", batcher=batcher
    )
    second = services.checkin_attempt_process(
        attempt_id=CheckinAttemptFactory().pk, frame=b"x", batcher=batcher
    )
    assert (first.outcome, first.state) == (Outcome.ERROR, CheckinAttempt.State.FAILED)
    assert "FaceNet weights missing" in first.message
    assert second.person_id == ana.pk and second.outcome == Outcome.CONFIRMING


def test_a_frame_gone_from_the_store_expires_its_attempt():
    """A frame whose key expired (None) ends its attempt as expired, without asking the recogniser."""
    asked = []
    batcher = RecognitionBatcher(lambda frames: asked.append(frames) or [], max_batch=8, idle_seconds=0.2)
    attempt = services.checkin_attempt_process(
        attempt_id=CheckinAttemptFactory().pk, frame=None, batcher=batcher
    )
    assert attempt.state == CheckinAttempt.State.EXPIRED
    assert asked == []
