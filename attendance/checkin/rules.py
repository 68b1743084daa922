"""Check-in rules as plain functions over plain data: agreement, entry or exit, greeting, liveness."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from attendance.clock import workday_of

IN = "in"
OUT = "out"
BREAK_START = "break_start"
BREAK_END = "break_end"
# What a person may choose at an explicit kiosk, in the order its buttons show.
KINDS = (IN, OUT, BREAK_START, BREAK_END)


@dataclass(frozen=True)
class LastEvent:
    """The most recent attendance event of a person (any workday)."""

    kind: str
    timestamp: dt.datetime
    workday: dt.date


@dataclass(frozen=True)
class EventDecision:
    """What a confirmed recognition leads to: an event of `kind` on `workday`, or nothing."""

    kind: str | None
    workday: dt.date
    # When nothing is recorded: the event that is still within its cooldown.
    blocking: LastEvent | None = None

    @property
    def records(self) -> bool:
        return self.kind is not None


def agreement_reached(
    recent: Sequence[tuple[dt.datetime, int | None]],
    *,
    person_id: int,
    now: dt.datetime,
    k: int,
    m: int,
    window: dt.timedelta,
) -> bool:
    """Return whether `person_id` was recognised in at least `k` of the last `m` frames within `window`.

    `recent` holds (moment, recognised person id or None) for the frames of ONE kiosk, the frame
    being decided included; order does not matter. Frames older than `window` before `now` (or
    later than `now`) do not count, so an old sighting never confirms a new one.
    """
    if not 1 <= k <= m:
        raise ValueError(f"agreement needs 1 <= k <= m (got k={k}, m={m})")
    in_window = sorted(
        (frame for frame in recent if now - window <= frame[0] <= now),
        key=lambda frame: frame[0],
        reverse=True,
    )[:m]
    return sum(1 for _moment, pid in in_window if pid == person_id) >= k


def event_decide(
    *,
    now: dt.datetime,
    last_event: LastEvent | None,
    requested: str | None,
    cooldown: dt.timedelta,
    boundary: dt.time,
    tz: ZoneInfo,
) -> EventDecision:
    """Decide the event a confirmed recognition of a person records at `now`.

    - The first event of a person's workday is an entry, the next an exit, and so on.
    - Within `cooldown` (real elapsed time, so clock changes do not matter) of the person's last
      event, before or after it, nothing is recorded, unless the person explicitly asks for the other kind
      (pressed "out" just after an accidental "in").
    - An explicit `requested` kind (one of KINDS) is recorded as asked, even an exit with no entry
      before it: HR sees it in the history and can fix it.

    An automatic kiosk passes its minimum time between an entry and an exit as `cooldown` (see
    automatic_cooldown), so that walking past within it never toggles.
    """
    if requested is not None and requested not in KINDS:
        raise ValueError(f"requested kind must be one of {', '.join(KINDS)} or None, not {requested!r}")
    workday = workday_of(now, boundary=boundary, tz=tz)
    # Subtract in UTC: two datetimes sharing one zone subtract by wall clock, wrong across DST.
    # Either order counts: two frames processed out of order (two workers) are still one walk past.
    if (
        last_event is not None
        and abs(now.astimezone(dt.UTC) - last_event.timestamp.astimezone(dt.UTC)) < cooldown
        and requested in (None, last_event.kind)
    ):
        return EventDecision(kind=None, workday=workday, blocking=last_event)
    if requested is not None:
        return EventDecision(kind=requested, workday=workday)
    same_day_in = last_event is not None and last_event.workday == workday and last_event.kind == IN
    return EventDecision(kind=OUT if same_day_in else IN, workday=workday)


def automatic_cooldown(*, min_minutes_between_in_and_out: int, cooldown: dt.timedelta) -> dt.timedelta:
    """Return how long after a person's last event an automatic kiosk records nothing for them.

    The kiosk's minimum time between an entry and an exit, but never less than the site's cooldown
    (which keeps one walk past from being two events at two kiosks).
    """
    return max(dt.timedelta(minutes=min_minutes_between_in_and_out), cooldown)


def likely_kind(*, last_event: LastEvent | None, workday: dt.date) -> str:
    """Return the choice an explicit kiosk preselects for a person, from their last event.

    Nothing yet this workday: an entry. After an entry or the end of a break: an exit. During a
    break: its end. After an exit: an entry again (back from an errand).
    """
    if last_event is None or last_event.workday != workday:
        return IN
    return {IN: OUT, BREAK_START: BREAK_END, BREAK_END: OUT, OUT: IN}.get(last_event.kind, IN)


def greeting(moment: dt.datetime, *, tz: ZoneInfo) -> str:
    """Return "Good morning", "Good afternoon" or "Good evening" for a moment in local time."""
    hour = moment.astimezone(tz).hour
    if 4 <= hour < 12:
        return "Good morning"
    if 12 <= hour < 18:
        return "Good afternoon"
    return "Good evening"


# --- Liveness ---

# A face shorter than this share of the frame is too far for a reliable match (at 480 px: 77 px, the
# detector's and FaceNet's useful floor); taller than this share it runs off the frame's edges.
FACE_TOO_FAR = 0.16
FACE_TOO_CLOSE = 0.8
STEP_CLOSER = "closer"
STEP_BACK = "back"


def distance_hint(*, face_height: float, frame_height: int) -> str:
    """Return STEP_CLOSER, STEP_BACK or "" for a face `face_height` pixels tall in a frame that tall."""
    if frame_height <= 0:
        return ""
    share = face_height / frame_height
    if share < FACE_TOO_FAR:
        return STEP_CLOSER
    if share > FACE_TOO_CLOSE:
        return STEP_BACK
    return ""


LIVENESS_OFF = "off"
LIVENESS_ALWAYS = "always"
LIVENESS_WHEN_UNSURE = "when_unsure"
TURN_LEFT = "left"
TURN_RIGHT = "right"
INSTRUCTIONS = {
    TURN_LEFT: "Turn your head slightly to your left",
    TURN_RIGHT: "Turn your head slightly to your right",
}


def liveness_required(
    *,
    mode: str,
    distance: float | None,
    confidence: float | None,
    threshold: float | None,
    distance_fraction: float,
    min_confidence: float,
) -> bool:
    """Return whether a recognition must pass a liveness challenge before its event is recorded.

    "when_unsure" challenges a recognition that is not confident: its distance is above
    `distance_fraction` of the recogniser's acceptance threshold (it was accepted, but not by a wide
    margin), or the classifier's confidence is below `min_confidence`. Missing figures count as unsure.
    """
    if mode == LIVENESS_OFF:
        return False
    if mode == LIVENESS_ALWAYS:
        return True
    if mode != LIVENESS_WHEN_UNSURE:
        raise ValueError(f"unknown liveness mode {mode!r}")
    if distance is None or threshold is None or confidence is None:
        return True
    return distance > distance_fraction * threshold or confidence < min_confidence


def challenge_steps(rng) -> list[str]:
    """Return the directions of a new challenge: left and right, in an order drawn from `rng`.

    Both directions are always asked, so the head must pass back through the centre; only the order is
    random (a recorded turn replayed has one chance in two of matching it, and must then also match the
    timing of the capture).
    """
    steps = [TURN_LEFT, TURN_RIGHT]
    rng.shuffle(steps)
    return steps


def challenge_instructions(steps: Sequence[str]) -> list[str]:
    """Return the sentence the kiosk shows for each step."""
    return [INSTRUCTIONS[step] for step in steps]


def answer_too_fast(
    *, issued_at: dt.datetime, answered_at: dt.datetime, frames: int, min_frame_interval: dt.timedelta
) -> str | None:
    """Return why a challenge answer came too soon to be a person following it, or None if plausible.

    A kiosk captures its frames one after another after the challenge is shown, so `frames` frames
    take at least (frames - 1) intervals; a burst recorded in advance and posted as soon as the
    challenge appears arrives sooner.
    """
    needed = min_frame_interval * max(frames - 1, 0)
    took = answered_at - issued_at
    if took >= needed:
        return None
    return (
        f"the {frames} frames came {took.total_seconds():.1f} s after the challenge was asked; capturing "
        f"them while following it takes at least {needed.total_seconds():.1f} s"
    )
