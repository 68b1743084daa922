"""Kiosks, check-in attempts and liveness challenges: every write of check-in goes here.

Recognition work is queued by task name (attendance_site.dispatch.enqueue): this module never imports
checkin.tasks, which call into it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import random
import secrets
import uuid
from collections.abc import Callable
from typing import Protocol

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from attendance.checkin import framestore, outcomes, rules, wakeups
from attendance.checkin.batching import RecognitionBatcher
from attendance.checkin.frames import FrameError, frame_size
from attendance.clock import Clock, person_clock
from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk, KioskPin
from attendance_site.dispatch import enqueue
from attendance_site.queues import Queue
from people.models import Person

log = logging.getLogger(__name__)

Outcome = CheckinAttempt.Outcome
State = CheckinAttempt.State

# Record a kiosk's "last seen" at most this often, not on every frame.
KIOSK_SEEN_EVERY = dt.timedelta(seconds=30)
# Challenge orders are drawn from the operating system's randomness (not guessable from earlier ones).
_challenge_rng = random.SystemRandom()
# The recognition worker's tasks (attendance/checkin/tasks.py), queued by name.
CHECKIN_ATTEMPT_PROCESS_TASK = "attendance.checkin_attempt_process"
CHECKIN_LIVENESS_PROCESS_TASK = "attendance.checkin_liveness_process"


class Recognition(Protocol):
    """What recognising one frame gave (recognition.services.FrameRecognition has this shape)."""

    face_found: bool
    person_id: int | None
    distance: float | None
    confidence: float | None
    recogniser_version_id: int | None
    reason: str


def kiosk_token_hash(token: str) -> str:
    """Return the stored form of a kiosk token (its sha256, hex)."""
    return hashlib.sha256(token.encode()).hexdigest()


# --- Kiosks ---


def kiosk_register(*, name: str, location: str = "", created_by=None) -> tuple[Kiosk, str]:
    """Create a kiosk and return it with its secret token; only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    kiosk = Kiosk.objects.create(
        name=name, location=location, token_hash=kiosk_token_hash(token), created_by=created_by
    )
    return kiosk, token


def kiosk_revoke(*, kiosk: Kiosk) -> None:
    """Stop accepting the kiosk's token (the kiosk and its history stay)."""
    Kiosk.objects.filter(pk=kiosk.pk).update(is_active=False)
    kiosk.is_active = False


def kiosk_seen(*, kiosk: Kiosk, now: dt.datetime | None = None) -> None:
    """Note that the kiosk called in; written at most every KIOSK_SEEN_EVERY."""
    now = now or timezone.now()
    if kiosk.last_seen_at is None or now - kiosk.last_seen_at >= KIOSK_SEEN_EVERY:
        Kiosk.objects.filter(pk=kiosk.pk).update(last_seen_at=now)
        kiosk.last_seen_at = now


# --- Check-in attempts ---


def checkin_attempt_create(*, kiosk: Kiosk, frame: bytes, requested_kind: str = "") -> CheckinAttempt:
    """Store a pending attempt for a validated frame and queue its recognition after the commit.

    The frame travels with the task message and is written to storage only when
    CHECKIN_KEEP_FRAMES says so, by the worker.
    """
    with transaction.atomic():
        attempt = CheckinAttempt.objects.create(kiosk=kiosk, requested_kind=requested_kind)
        kiosk_seen(kiosk=kiosk)
        transaction.on_commit(
            lambda: _recognition_enqueue(
                attempt_id=attempt.id,
                task=CHECKIN_ATTEMPT_PROCESS_TASK,
                frames=[frame],
                wait_seconds=settings.CHECKIN_MAX_PENDING_SECONDS,
                single=True,
            )
        )
    return attempt


def _recognition_enqueue(
    *, attempt_id: uuid.UUID, task: str, frames: list[bytes], wait_seconds: float, single: bool
) -> None:
    """Store the frames under expiring keys and queue a recognition task for an attempt that carries the
    keys; if the broker is unreachable, fail the attempt at once.

    The message expires when the attempt would (`wait_seconds`): a worker that gets it later, after a
    broker outage or with a backlog, drops it at once instead of recognising a frame nobody waits for
    (issue 13, finding 15). The frames' keys expire a little later (framestore), worker or not.
    """
    try:
        keys = framestore.frames_put(frames, wait_seconds=wait_seconds)
        enqueue(
            task,
            queue=Queue.RECOGNITION,
            args=[str(attempt_id), keys[0] if single else keys],
            expires=wait_seconds,
            # Named after the attempt, so that worker logs say which attempt a task was for.
            task_id=f"{'checkin' if single else 'liveness'}-{attempt_id}",
            retry=True,
            retry_policy={"max_retries": 2, "interval_start": 0, "interval_step": 0.2},
        )
    except Exception as exc:  # the kiosk must get an answer, not a 500
        log.error("could not queue check-in attempt %s: %s", attempt_id, exc)
        checkin_attempt_fail(attempt_id=attempt_id, error=outcomes.QUEUE_UNAVAILABLE_MESSAGE)


def checkin_attempts_expire(*, now: dt.datetime | None = None, attempt_id: uuid.UUID | None = None) -> int:
    """Mark every attempt (or only `attempt_id`) that waited longer than CHECKIN_MAX_PENDING_SECONDS as
    expired; return how many.

    An answered liveness challenge waits from its answer, for LIVENESS_MAX_PENDING_SECONDS (a burst
    of frames takes a worker longer than one frame).
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=settings.CHECKIN_MAX_PENDING_SECONDS)
    liveness_cutoff = now - dt.timedelta(seconds=settings.LIVENESS_MAX_PENDING_SECONDS)
    stale = Q(challenge_answered_at__isnull=True, created_at__lt=cutoff) | Q(
        challenge_answered_at__lt=liveness_cutoff
    )
    attempts = CheckinAttempt.objects.filter(stale, state=State.PENDING)
    if attempt_id is not None:
        attempts = attempts.filter(pk=attempt_id)
    return attempts.update(state=State.EXPIRED, finished_at=now, message=outcomes.EXPIRED_MESSAGE)


def pending_seconds_left(attempt: CheckinAttempt, now: dt.datetime | None = None) -> float:
    """Return how long a pending attempt may still wait for a worker before it expires (0: already)."""
    now = now or timezone.now()
    if attempt.challenge_answered_at is not None:
        started, limit = attempt.challenge_answered_at, settings.LIVENESS_MAX_PENDING_SECONDS
    else:
        started, limit = attempt.created_at, settings.CHECKIN_MAX_PENDING_SECONDS
    return max(0.0, limit - (now - started).total_seconds())


# What a kiosk's read of its attempt needs in one query (the answer names the person and the event).
ATTEMPT_READ_QUERYSET = CheckinAttempt.objects.select_related("person", "event", "kiosk")


def checkin_attempt_read(
    *, attempt: CheckinAttempt, wait: float = 0.0, now: dt.datetime | None = None
) -> CheckinAttempt:
    """Return the attempt as its kiosk should see it: expired once its wait is over, even if no worker
    has said so yet.

    Why: the periodic expiry runs on a worker (the scheduler every 30 s, or a worker starting). With the
    recognition worker killed, or the scheduler or broker down, a kiosk polled a pending attempt until
    it gave up (the 1-minute soak left 2 of 120 frames unanswered). Only a late attempt costs a write.
    `wait` > 0 (a kiosk's long poll): a pending attempt is read again once the worker signals its outcome
    (attendance.checkin.wakeups), after at most that many seconds.
    """
    attempt = _expired_if_due(attempt, now)
    if wait > 0 and attempt.state == State.PENDING:
        # Long polling: wait for the worker's signal, never past the moment the attempt expires.
        timeout = min(wait, settings.CHECKIN_POLL_WAIT_MAX_SECONDS, pending_seconds_left(attempt))
        answer = attempt.challenge_answered_at is not None
        if wakeups.attempt_wait(attempt.pk, answer=answer, timeout=timeout):
            attempt = ATTEMPT_READ_QUERYSET.get(pk=attempt.pk)
        attempt = _expired_if_due(attempt, None)
    return attempt


def _expired_if_due(attempt: CheckinAttempt, now: dt.datetime | None) -> CheckinAttempt:
    """Return the attempt, expired first if it is pending past its wait."""
    if attempt.state != State.PENDING:
        return attempt
    now = now or timezone.now()
    if pending_seconds_left(attempt, now) <= 0 and checkin_attempts_expire(now=now, attempt_id=attempt.pk):
        attempt.refresh_from_db()
    return attempt


def checkin_attempt_process(
    *,
    attempt_id: uuid.UUID,
    frame: bytes | None,
    recognise: Callable[..., Recognition] | None = None,
    batcher: RecognitionBatcher | None = None,
) -> CheckinAttempt:
    """Recognise the frame of a pending attempt and record what it leads to.

    Idempotent: an attempt that is no longer pending (done, expired) is returned unchanged, and one
    that waited too long for a worker is expired instead of becoming a late check-in. A frame that
    is gone (None: its key in Redis expired) ends the attempt as expired too.
    With `batcher`, the frame is recognised together with other kiosks' frames waiting in this
    process (attendance.checkin.batching), and this kiosk's frames are resolved in the order they
    were taken. Else `recognise` (default recognition.services.frame_recognise, imported lazily: it
    needs TensorFlow) recognises it alone.
    """
    checkin_attempts_expire()
    attempt = CheckinAttempt.objects.get(pk=attempt_id)
    if attempt.state != State.PENDING:
        return attempt
    if frame is None:
        return _frame_gone(attempt_id)
    ticket = None
    try:
        if batcher is not None:
            ticket = batcher.submit(kiosk_id=attempt.kiosk_id, created_at=attempt.created_at, frame=frame)
            recognition = ticket.result(timeout=settings.RECOGNITION_BATCH_TIMEOUT_SECONDS)
        else:
            if recognise is None:
                from recognition.services import frame_recognise as recognise
            recognition = recognise(data=frame)
        passive_score = None
        if _kiosk_checks_passive(attempt.kiosk_id) and recognition.person_id is not None and recognition.box:
            from recognition.services import frame_passive_score

            passive_score = frame_passive_score(data=frame, box=recognition.box)
    except Exception as exc:
        log.exception("recognising attempt %s failed", attempt_id)
        if ticket is not None:
            ticket.wait_turn()
            ticket.release()
        return checkin_attempt_fail(attempt_id=attempt_id, error=str(exc) or type(exc).__name__)
    try:
        if ticket is not None:
            ticket.wait_turn()
        return checkin_attempt_resolve(
            attempt_id=attempt_id, recognition=recognition, frame=frame, passive_score=passive_score
        )
    finally:
        if ticket is not None:
            ticket.release()


def _frame_gone(attempt_id: uuid.UUID) -> CheckinAttempt:
    """End a pending attempt whose frame expired from the store before a worker took it."""
    now = timezone.now()
    CheckinAttempt.objects.filter(pk=attempt_id, state=State.PENDING).update(
        state=State.EXPIRED, finished_at=now, message=outcomes.EXPIRED_MESSAGE
    )
    return CheckinAttempt.objects.get(pk=attempt_id)


def _kiosk_checks_passive(kiosk_id) -> bool:
    """Return whether the kiosk's liveness setting asks for the passive anti-spoofing score."""
    checks = Kiosk.objects.values_list("liveness_checks", flat=True).get(pk=kiosk_id)
    return checks in (Kiosk.LivenessChecks.PASSIVE, Kiosk.LivenessChecks.BOTH)


def _passive_refused(attempt: CheckinAttempt, score: float | None, *, now: dt.datetime) -> bool:
    """Note a passive score on the attempt; refuse it (liveness failed, reason "passive") below the
    threshold. Return whether it was refused."""
    if score is None:
        return False
    threshold = settings.LIVENESS_PASSIVE_THRESHOLD
    figures = dict(attempt.liveness_figures or {})
    figures.update(passive_score=round(float(score), 4), passive_threshold=threshold)
    attempt.liveness_figures = figures
    if score >= threshold:
        return False
    attempt.liveness_reason = "passive"
    figures["detail"] = f"anti-spoofing score {score:.3f} below {threshold:g}: a photo or a screen?"
    _finish(attempt, outcome=Outcome.LIVENESS_FAILED, message=outcomes.LIVENESS_PASSIVE_MESSAGE, now=now)
    return True


def _unknown_message(recognition: Recognition, frame: bytes | None) -> str:
    """Say "not recognised", with what to do when the face was far too small or too large in the frame."""
    box = getattr(recognition, "box", None)
    if not box or not frame:
        return outcomes.UNKNOWN_MESSAGE
    try:
        _width, height = frame_size(frame)
    except FrameError:
        return outcomes.UNKNOWN_MESSAGE
    hint = rules.distance_hint(face_height=box[3], frame_height=height)
    return outcomes.UNKNOWN_HINT_MESSAGES.get(hint, outcomes.UNKNOWN_MESSAGE)


def checkin_attempt_fail(*, attempt_id: uuid.UUID, error: str) -> CheckinAttempt:
    """Finish a pending attempt whose frame could not be recognised because of a fault."""
    with transaction.atomic():
        attempt = CheckinAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.state == State.PENDING:
            _finish(attempt, state=State.FAILED, outcome=Outcome.ERROR, message=error[:200])
            attempt.save()
    return attempt


def checkin_attempt_resolve(
    *,
    attempt_id: uuid.UUID,
    recognition: Recognition,
    frame: bytes | None = None,
    now=None,
    passive_score: float | None = None,
) -> CheckinAttempt:
    """Apply the attendance rules to a recognised frame and store the attempt's outcome.

    `passive_score`: the recognised face's anti-spoofing score, at a kiosk that asks for it; below
    LIVENESS_PASSIVE_THRESHOLD the attempt is refused (liveness failed) before anything else.

    Locks the kiosk row (so that the K-of-M agreement sees this kiosk's frames one at a time) and,
    when a person is confirmed, the person row (so that two workers confirming the same person at
    the same moment, from one kiosk or two, record one event). Locks are taken kiosk first, then
    person, so they cannot deadlock.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attempt = CheckinAttempt.objects.select_related("kiosk").get(pk=attempt_id)
        Kiosk.objects.select_for_update().filter(pk=attempt.kiosk_id).first()
        attempt = CheckinAttempt.objects.select_for_update().get(pk=attempt_id)
        if attempt.state != State.PENDING:
            return attempt
        attempt.distance = recognition.distance
        attempt.confidence = recognition.confidence
        attempt.recogniser_version_id = recognition.recogniser_version_id
        person = _recognised_person(recognition)
        attempt.person = person
        if not recognition.face_found:
            _finish(attempt, outcome=Outcome.NO_FACE, message=outcomes.NO_FACE_MESSAGE, now=now)
        elif person is None:
            _finish(attempt, outcome=Outcome.UNKNOWN, message=_unknown_message(recognition, frame), now=now)
        elif _passive_refused(attempt, passive_score, now=now):
            pass  # who it looked like stays on the attempt for HR's review of refused check-ins
        elif not _agreement(attempt, person.pk):
            _finish(attempt, outcome=Outcome.CONFIRMING, message=outcomes.CONFIRMING_MESSAGE, now=now)
        elif _needs_challenge(attempt, person, recognition):
            _challenge(attempt, now=now)
        else:
            _confirmed(attempt, person, now=now)
        _keep_frame(attempt, frame)
        attempt.save()
    return attempt


def _recognised_person(recognition: Recognition) -> Person | None:
    """Return the active person a recognition names, or None (strangers, inactive people)."""
    if not recognition.face_found or recognition.person_id is None:
        return None
    return Person.objects.filter(pk=recognition.person_id, is_active=True).first()


def _agreement(attempt: CheckinAttempt, person_id: int) -> bool:
    """Return whether the kiosk's latest frames agree on this person (K of M, within the window)."""
    window = dt.timedelta(seconds=settings.CHECKIN_AGREEMENT_SECONDS)
    m = settings.CHECKIN_AGREEMENT_M
    earlier = (
        CheckinAttempt.objects.filter(
            kiosk_id=attempt.kiosk_id,
            state=State.DONE,
            created_at__gte=attempt.created_at - window,
            created_at__lt=attempt.created_at,
        )
        .order_by("-created_at")
        .values_list("created_at", "person_id")[: m - 1]
    )
    recent = [*earlier, (attempt.created_at, person_id)]
    return rules.agreement_reached(
        recent,
        person_id=person_id,
        now=attempt.created_at,
        k=settings.CHECKIN_AGREEMENT_K,
        m=m,
        window=window,
    )


def _kiosk_asks_choice(attempt: CheckinAttempt) -> bool:
    """Return whether this attempt's kiosk lets the person choose (explicit) and nothing was pressed."""
    if attempt.requested_kind:
        return False
    decision = Kiosk.objects.values_list("decision", flat=True).get(pk=attempt.kiosk_id)
    return decision == Kiosk.Decision.EXPLICIT


def _confirmed(attempt: CheckinAttempt, person: Person, *, now: dt.datetime) -> None:
    """Act on a confirmed recognition: ask the person's choice at an explicit kiosk, else record."""
    if _kiosk_asks_choice(attempt):
        name = person.first_name or person.full_name
        message = outcomes.CHOOSING_MESSAGE.format(name=name, employee_id=person.employee_id)
        _finish(attempt, outcome=Outcome.CHOOSING, message=message, now=now)
    else:
        _record_event(attempt, person, now=now)


def choice_likely(*, attempt: CheckinAttempt) -> str:
    """Return the choice an explicit kiosk preselects for the attempt's person (from their last event)."""
    last = AttendanceEvent.objects.filter(person_id=attempt.person_id).order_by("-timestamp", "-pk").first()
    clock = person_clock(attempt.person, attempt.created_at)
    return rules.likely_kind(
        last_event=rules.LastEvent(last.kind, last.timestamp, last.workday) if last else None,
        workday=clock.workday(attempt.created_at),
    )


def choice_expires_at(*, attempt: CheckinAttempt) -> dt.datetime:
    """Return until when the person's choice for a "choosing" attempt is taken."""
    return attempt.finished_at + dt.timedelta(seconds=settings.CHECKIN_CHOICE_MAX_SECONDS)


def checkin_choice_confirm(
    *, attempt_id: uuid.UUID, kiosk: Kiosk, kind: str, now: dt.datetime | None = None
) -> CheckinAttempt:
    """Record the event a person chose at an explicit kiosk after being recognised.

    The attempt must be this kiosk's (else CheckinAttempt.DoesNotExist), recognised and waiting for a
    choice (else KioskAnswerError 409), not older than CHECKIN_CHOICE_MAX_SECONDS (410), and a choice is
    taken once (409). The event is timed at the recognition; the usual rules then apply (choosing
    what was just recorded says "already"). Locks the kiosk, the attempt, then the person.
    """
    if kind not in rules.KINDS:
        raise KioskAnswerError(f"kind must be one of {', '.join(rules.KINDS)}, not {kind!r}.", status=400)
    now = now or timezone.now()
    with transaction.atomic():
        Kiosk.objects.select_for_update().filter(pk=kiosk.pk).first()
        attempt = (
            CheckinAttempt.objects.select_for_update(of=("self",))
            .select_related("person")
            .get(pk=attempt_id, kiosk=kiosk)
        )
        if attempt.choice_made_at is not None:
            raise KioskAnswerError("A choice was already made for this attempt.", status=409)
        if attempt.outcome != Outcome.CHOOSING or attempt.person is None:
            raise KioskAnswerError("This attempt is not waiting for a choice.", status=409)
        if now > choice_expires_at(attempt=attempt):
            raise KioskAnswerError("Too late: the choice was not made in time.", status=410)
        attempt.requested_kind = kind
        attempt.choice_made_at = now
        latency = attempt.latency_ms  # the recognition's, not the person's time to choose
        _record_event(attempt, attempt.person, now=now)
        attempt.latency_ms = latency
        attempt.save()
        kiosk_seen(kiosk=kiosk, now=now)
    return attempt


def _event_decision(attempt: CheckinAttempt, person: Person) -> rules.EventDecision:
    """Return what recording `person` for this attempt would do (an event, or "already").

    A kind the person chose is recorded unless it repeats their last event within the site's
    cooldown; an automatic decision also waits the kiosk's minimum time between an entry and an exit.
    """
    last = AttendanceEvent.objects.filter(person=person).order_by("-timestamp", "-pk").first()
    clock = person_clock(person, attempt.created_at)  # their workday boundary, from their schedule
    cooldown = dt.timedelta(seconds=settings.CHECKIN_COOLDOWN_SECONDS)
    if not attempt.requested_kind:
        minimum = Kiosk.objects.values_list("min_minutes_between_in_and_out", flat=True).get(
            pk=attempt.kiosk_id
        )
        cooldown = rules.automatic_cooldown(min_minutes_between_in_and_out=minimum, cooldown=cooldown)
    return rules.event_decide(
        now=attempt.created_at,
        last_event=rules.LastEvent(last.kind, last.timestamp, last.workday) if last else None,
        requested=attempt.requested_kind or None,
        cooldown=cooldown,
        boundary=clock.boundary,
        tz=clock.tz,
    )


def _record_event(
    attempt: CheckinAttempt, person: Person, *, now: dt.datetime, source: str = AttendanceEvent.Source.KIOSK
) -> None:
    """Record the event a confirmed recognition (or a person's choice) leads to, or say it is already
    recorded.

    Should be called inside a transaction; takes the person's row lock.
    """
    clock = Clock.from_settings()
    Person.objects.select_for_update().filter(pk=person.pk).first()
    decision = _event_decision(attempt, person)
    name = person.first_name or person.full_name
    if not decision.records:
        since = clock.local_time(decision.blocking.timestamp)
        _finish(
            attempt,
            outcome=Outcome.ALREADY,
            message=outcomes.ALREADY_MESSAGES[decision.blocking.kind].format(name=name, time=since),
            now=now,
        )
        return
    event = AttendanceEvent.objects.create(
        person=person,
        kind=decision.kind,
        timestamp=attempt.created_at,
        workday=decision.workday,
        source=source,
        kiosk_id=attempt.kiosk_id,
        attempt=attempt,
    )
    outcome, sentence = outcomes.RECORDED[decision.kind]
    message = sentence.format(
        greeting=rules.greeting(event.timestamp, tz=clock.tz),
        name=name,
        time=clock.local_time(event.timestamp),
    )
    _finish(attempt, outcome=outcome, message=message, now=now)


# --- PIN fallback ---

PIN_DIGITS = (4, 8)


class PinError(Exception):
    """A PIN punch that is refused; `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


def kiosk_pin_set(*, person: Person, pin: str, by=None) -> KioskPin:
    """Set (or replace) a person's kiosk PIN: 4 to 8 digits, stored hashed; clears any lock."""
    low, high = PIN_DIGITS
    if not (pin.isdigit() and pin.isascii() and low <= len(pin) <= high):
        raise ValueError(f"A PIN is {low} to {high} digits (0-9); got {len(pin)} characters.")
    row, _created = KioskPin.objects.update_or_create(
        person=person,
        defaults={"pin_hash": make_password(pin), "failures": 0, "locked_until": None, "set_by": by},
    )
    return row


def checkin_pin_punch(
    *,
    kiosk: Kiosk,
    employee_id: str,
    pin: str,
    frame: bytes,
    requested_kind: str = "",
    now: dt.datetime | None = None,
) -> CheckinAttempt:
    """Record a punch by employee id and PIN (after a failed recognition), with its frame as evidence.

    The event's source is "pin" for managers to review. A wrong PIN counts; KIOSK_PIN_MAX_FAILURES in a
    row lock the PIN for KIOSK_PIN_LOCK_MINUTES (PinError 423), during which even the right PIN is
    refused. An unknown employee id, a person without a PIN and a wrong PIN all get the same answer
    (PinError 403), so the keypad does not tell who has a PIN. The frame must already be validated.
    """
    now = now or timezone.now()
    refusal: PinError | None = None
    with transaction.atomic():
        Kiosk.objects.select_for_update().filter(pk=kiosk.pk).first()
        row = (
            KioskPin.objects.select_for_update(of=("self",))
            .select_related("person")
            .filter(person__employee_id=employee_id.strip(), person__is_active=True)
            .first()
        )
        if row is None:
            refusal = PinError(outcomes.PIN_REFUSED_MESSAGE, status=403)
        elif row.locked_until is not None and now < row.locked_until:
            until = Clock.from_settings().local_time(row.locked_until)
            refusal = PinError(outcomes.PIN_LOCKED_MESSAGE.format(time=until), status=423)
        elif not check_password(pin, row.pin_hash):
            row.failures += 1
            if row.failures >= settings.KIOSK_PIN_MAX_FAILURES:
                row.failures = 0
                row.locked_until = now + dt.timedelta(minutes=settings.KIOSK_PIN_LOCK_MINUTES)
                until = Clock.from_settings().local_time(row.locked_until)
                refusal = PinError(outcomes.PIN_LOCKED_MESSAGE.format(time=until), status=423)
            else:
                refusal = PinError(outcomes.PIN_REFUSED_MESSAGE, status=403)
            row.save(update_fields=["failures", "locked_until"])
        else:
            if row.failures or row.locked_until:
                row.failures, row.locked_until = 0, None
                row.save(update_fields=["failures", "locked_until"])
            attempt = CheckinAttempt.objects.create(
                kiosk=kiosk, requested_kind=requested_kind, person=row.person, by_pin=True
            )
            attempt.frame.save(f"{attempt.id}.jpg", ContentFile(frame), save=False)
            _record_event(attempt, row.person, now=now, source=AttendanceEvent.Source.PIN)
            attempt.save()
            kiosk_seen(kiosk=kiosk, now=now)
    if refusal is not None:
        raise refusal
    return attempt


# --- Liveness challenges ---


class KioskAnswerError(Exception):
    """A kiosk's answer (a challenge's frames, a choice) that cannot be taken; `status` is the HTTP
    status the API answers with."""

    def __init__(self, message: str, *, status: int):
        super().__init__(message)
        self.status = status


# The name the liveness code and its tests use.
ChallengeError = KioskAnswerError


def _needs_challenge(attempt: CheckinAttempt, person: Person, recognition: Recognition) -> bool:
    """Return whether this confirmed recognition must pass a liveness challenge first.

    Only when an event would be recorded: "already checked in" needs no proof. Should be called
    inside a transaction holding the kiosk's row lock (the kiosk's mode is read from the database).
    """
    mode, checks = Kiosk.objects.values_list("liveness_mode", "liveness_checks").get(pk=attempt.kiosk_id)
    if mode == Kiosk.Liveness.OFF or checks not in (Kiosk.LivenessChecks.ACTIVE, Kiosk.LivenessChecks.BOTH):
        return False
    from recognition.services import recogniser_threshold

    threshold = recogniser_threshold(recognition.recogniser_version_id)
    if not rules.liveness_required(
        mode=mode,
        distance=recognition.distance,
        confidence=recognition.confidence,
        threshold=threshold,
        distance_fraction=settings.LIVENESS_UNSURE_DISTANCE_FRACTION,
        min_confidence=settings.LIVENESS_UNSURE_MIN_CONFIDENCE,
    ):
        return False
    # An explicit kiosk records what the person chooses next: prove liveness before the choice.
    return _kiosk_asks_choice(attempt) or _event_decision(attempt, person).records


def _challenge(attempt: CheckinAttempt, *, now: dt.datetime) -> None:
    """Answer the attempt with a new random challenge instead of recording its event."""
    steps = rules.challenge_steps(_challenge_rng)
    attempt.challenge = steps
    attempt.challenge_nonce = secrets.token_urlsafe(24)
    attempt.challenge_issued_at = now
    attempt.challenge_expires_at = now + dt.timedelta(seconds=settings.LIVENESS_CHALLENGE_SECONDS)
    _finish(
        attempt,
        outcome=Outcome.CHALLENGE,
        message=" then ".join(rules.challenge_instructions(steps)),
        now=now,
    )


def checkin_challenge_answer(
    *, attempt_id: uuid.UUID, kiosk: Kiosk, frames: list[bytes], nonce: str, now: dt.datetime | None = None
) -> CheckinAttempt:
    """Take a kiosk's burst of frames answering an attempt's challenge, and queue its check.

    The frames must already be validated. The answer is bound to the challenge: it carries the
    challenge's nonce (used once), and it must come no sooner after the challenge was asked than a
    person following it could have captured the frames (rules.answer_too_fast) and no later than
    the challenge's expiry. A challenge is answered once: the attempt goes back to pending and the
    worker decides. Raises CheckinAttempt.DoesNotExist for another kiosk's attempt, ChallengeError
    (409) for an attempt without an open challenge, one already answered or a wrong nonce (the
    challenge stays open), ChallengeError (409) for an answer too fast and (410) for one too late,
    both stored as a failed liveness check.
    """
    now = now or timezone.now()
    refusal: ChallengeError | None = None
    with transaction.atomic():
        attempt = CheckinAttempt.objects.select_for_update().get(pk=attempt_id, kiosk=kiosk)
        if not attempt.challenge or attempt.outcome not in (Outcome.CHALLENGE, ""):
            if attempt.challenge_answered_at is not None:
                raise ChallengeError("This challenge was already answered.", status=409)
            raise ChallengeError("This attempt has no open liveness challenge.", status=409)
        if attempt.challenge_answered_at is not None:
            raise ChallengeError("This challenge was already answered.", status=409)
        if not attempt.challenge_nonce or not secrets.compare_digest(
            attempt.challenge_nonce.encode(), (nonce or "").encode()
        ):
            raise ChallengeError(
                "This answer does not carry the nonce of the challenge asked: send the challenge's "
                "'nonce' with its frames.",
                status=409,
            )
        attempt.challenge_answered_at = now
        attempt.challenge_nonce = ""  # used once
        issued = attempt.challenge_issued_at or attempt.challenge_expires_at - dt.timedelta(
            seconds=settings.LIVENESS_CHALLENGE_SECONDS
        )
        too_fast = rules.answer_too_fast(
            issued_at=issued,
            answered_at=now,
            frames=len(frames),
            min_frame_interval=dt.timedelta(seconds=settings.LIVENESS_MIN_FRAME_INTERVAL_SECONDS),
        )
        if too_fast is not None:
            attempt.liveness_reason = "too_fast"
            attempt.liveness_figures = {"detail": too_fast}
            _finish(
                attempt, outcome=Outcome.LIVENESS_FAILED, message=outcomes.LIVENESS_FAILED_MESSAGE, now=now
            )
            refusal = ChallengeError(f"Refused: {too_fast}.", status=409)
        elif now > attempt.challenge_expires_at:
            attempt.liveness_reason = "expired"
            late = (now - attempt.challenge_expires_at).total_seconds()
            attempt.liveness_figures = {"detail": f"answered {late:.1f} s after the challenge expired"}
            _finish(
                attempt, outcome=Outcome.LIVENESS_FAILED, message=outcomes.LIVENESS_TOO_LATE_MESSAGE, now=now
            )
            refusal = ChallengeError("The challenge expired before it was answered.", status=410)
        else:
            attempt.state = State.PENDING
            attempt.outcome = ""
            attempt.message = outcomes.CHECKING_MESSAGE
            frames = list(frames)
            transaction.on_commit(
                lambda: _recognition_enqueue(
                    attempt_id=attempt.id,
                    task=CHECKIN_LIVENESS_PROCESS_TASK,
                    frames=frames,
                    wait_seconds=settings.LIVENESS_MAX_PENDING_SECONDS,
                    single=False,
                )
            )
        attempt.save()
        kiosk_seen(kiosk=kiosk, now=now)
    if refusal is not None:
        raise refusal
    return attempt


def liveness_config():
    """Return the liveness check's limits from the settings."""
    from recognition.services import LivenessConfig

    return LivenessConfig(
        min_turn_deg=settings.LIVENESS_MIN_TURN_DEGREES,
        max_identity_distance=settings.LIVENESS_MAX_IDENTITY_DISTANCE,
        intermediate_fraction=settings.LIVENESS_INTERMEDIATE_FRACTION or None,
    )


def checkin_liveness_process(
    *,
    attempt_id: uuid.UUID,
    frames: list[bytes | None],
    analyse: Callable[[list[bytes]], list] | None = None,
) -> CheckinAttempt:
    """Check an answered challenge's frames and record the event, or store the failed check.

    Idempotent like checkin_attempt_process (a frame that is None expired from the store: the
    attempt expires). `analyse` turns the frames into FrameFaces (defaults
    to the real engine and the active recogniser; it needs TensorFlow, imported lazily).
    """
    from recognition.services import frames_analyse as recognition_frames_analyse
    from recognition.services import liveness_check

    checkin_attempts_expire()
    attempt = CheckinAttempt.objects.get(pk=attempt_id)
    if attempt.state != State.PENDING or not attempt.challenge:
        return attempt
    if any(frame is None for frame in frames):
        return _frame_gone(attempt_id)
    try:
        faces = (analyse or recognition_frames_analyse)(frames)
        verdict = liveness_check(faces, attempt.challenge, liveness_config(), person_id=attempt.person_id)
        passive_score = None
        if verdict.passed and _kiosk_checks_passive(attempt.kiosk_id):
            from recognition.services import frames_passive_score

            passive_score = frames_passive_score(frames=frames, faces=faces)
    except Exception as exc:
        log.exception("checking the liveness of attempt %s failed", attempt_id)
        return checkin_attempt_fail(attempt_id=attempt_id, error=str(exc))
    return checkin_liveness_resolve(attempt_id=attempt_id, verdict=verdict, passive_score=passive_score)


def checkin_liveness_resolve(
    *, attempt_id: uuid.UUID, verdict, now=None, passive_score: float | None = None
) -> CheckinAttempt:
    """Store a liveness verdict; when it passed, record the event through the usual rules and locks.

    `passive_score`: the burst's anti-spoofing score (kiosks set to "both"); below the threshold the
    challenge fails with reason "passive" even though the head turned.

    Locks the kiosk row, then the attempt, then (when recording) the person, like checkin_attempt_resolve.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attempt = CheckinAttempt.objects.get(pk=attempt_id)
        Kiosk.objects.select_for_update().filter(pk=attempt.kiosk_id).first()
        attempt = (
            CheckinAttempt.objects.select_for_update(of=("self",)).select_related("person").get(pk=attempt_id)
        )
        if attempt.state != State.PENDING:
            return attempt
        attempt.liveness_reason = verdict.reason
        attempt.liveness_figures = {"detail": verdict.detail, **verdict.figures}
        person = attempt.person
        if not verdict.passed:
            _finish(
                attempt, outcome=Outcome.LIVENESS_FAILED, message=outcomes.LIVENESS_FAILED_MESSAGE, now=now
            )
        elif _passive_refused(attempt, passive_score, now=now):
            pass
        elif person is None or not person.is_active:
            _finish(attempt, outcome=Outcome.UNKNOWN, message=outcomes.UNKNOWN_MESSAGE, now=now)
        else:
            _confirmed(attempt, person, now=now)
        attempt.save()
    return attempt


def _finish(attempt: CheckinAttempt, *, outcome: str, message: str, state=State.DONE, now=None) -> None:
    now = now or timezone.now()
    attempt.state = state
    attempt.outcome = outcome
    attempt.message = message
    attempt.finished_at = now
    attempt.latency_ms = max(0.0, (now - attempt.created_at).total_seconds() * 1000)


def _keep_frame(attempt: CheckinAttempt, frame: bytes | None) -> None:
    """Store the frame when the retention setting asks for it (never by default)."""
    keep = settings.CHECKIN_KEEP_FRAMES
    if not frame or keep == "none":
        return
    if keep == "unrecognised" and attempt.outcome not in (Outcome.UNKNOWN, Outcome.NO_FACE):
        return
    attempt.frame.save(f"{attempt.id}.jpg", ContentFile(frame), save=False)
