"""The entry/exit rules as plain functions: no database."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from attendance.checkin.rules import (
    BREAK_END,
    BREAK_START,
    IN,
    OUT,
    LastEvent,
    agreement_reached,
    automatic_cooldown,
    event_decide,
    likely_kind,
)
from attendance.clock import workday_of

UTC = dt.UTC
LONDON = ZoneInfo("Europe/London")
FOUR = dt.time(4, 0)
COOLDOWN = dt.timedelta(minutes=2)
WINDOW = dt.timedelta(seconds=5)
T0 = dt.datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def decide(now, last=None, requested=None, tz=UTC, boundary=FOUR):
    return event_decide(
        now=now, last_event=last, requested=requested, cooldown=COOLDOWN, boundary=boundary, tz=tz
    )


def test_two_of_three_frames_agree():
    """Two of the last three frames naming one person reach agreement."""
    frames = [(at(0), 7), (at(0.4), None), (at(0.8), 7)]
    assert agreement_reached(frames, person_id=7, now=at(0.8), k=2, m=3, window=WINDOW)


def test_one_frame_is_not_agreement():
    """A single recognition among three frames does not record anything."""
    frames = [(at(0), 3), (at(0.4), None), (at(0.8), 7)]
    assert not agreement_reached(frames, person_id=7, now=at(0.8), k=2, m=3, window=WINDOW)


def test_agreement_counts_only_the_last_m_frames():
    """An older sighting beyond the last M frames does not count."""
    frames = [(at(0), 7), (at(1), 3), (at(1.5), 3), (at(2), 7)]
    assert not agreement_reached(frames, person_id=7, now=at(2), k=2, m=3, window=WINDOW)
    assert agreement_reached(frames, person_id=7, now=at(2), k=2, m=4, window=WINDOW)


def test_agreement_ignores_frames_outside_the_window():
    """A sighting older than the window never confirms a new one."""
    frames = [(at(0), 7), (at(10), 7)]
    assert not agreement_reached(frames, person_id=7, now=at(10), k=2, m=3, window=WINDOW)


def test_agreement_rejects_impossible_k():
    """K larger than M is a configuration error, said as such."""
    with pytest.raises(ValueError, match="k <= m"):
        agreement_reached([], person_id=1, now=T0, k=4, m=3, window=WINDOW)


def test_first_event_of_the_workday_is_an_entry_then_exit_then_entry():
    """Events alternate within a workday: in, out, in."""
    first = decide(at(0))
    assert first.kind == IN
    second = decide(at(3600), LastEvent(IN, at(0), first.workday))
    assert second.kind == OUT
    third = decide(at(7200), LastEvent(OUT, at(3600), first.workday))
    assert third.kind == IN


def test_new_workday_starts_with_an_entry_even_after_an_open_entry():
    """An entry left open yesterday does not make today's first event an exit."""
    yesterday = LastEvent(IN, at(-86400), (T0 - dt.timedelta(days=1)).date())
    assert decide(at(0), yesterday).kind == IN


def test_recognition_within_cooldown_records_nothing():
    """A recognition within the cooldown after the last event records nothing and names that event."""
    last = LastEvent(IN, at(0), T0.date())
    decision = decide(at(119), last)
    assert not decision.records
    assert decision.blocking == last
    assert decide(at(121), last).kind == OUT


def test_cooldown_applies_across_a_workday_boundary():
    """An entry at 03:59:30 and a sighting at 04:01 is one walk past the camera, not a new day's entry."""
    last = LastEvent(IN, dt.datetime(2025, 6, 2, 3, 59, 30, tzinfo=UTC), dt.date(2025, 6, 1))
    assert not decide(dt.datetime(2025, 6, 2, 4, 1, tzinfo=UTC), last).records


def test_explicit_other_kind_overrides_the_cooldown():
    """Pressing "out" just after an entry records the exit; pressing "in" again does not."""
    last = LastEvent(IN, at(0), T0.date())
    assert decide(at(30), last, requested=OUT).kind == OUT
    assert not decide(at(30), last, requested=IN).records


def test_explicit_out_without_a_prior_in_is_recorded():
    """An explicit "out" with no entry that day is recorded as an exit."""
    assert decide(at(0), None, requested=OUT).kind == OUT
    old = LastEvent(OUT, at(-86400 * 2), (T0 - dt.timedelta(days=2)).date())
    assert decide(at(0), old, requested=OUT).kind == OUT


def test_unknown_requested_kind_is_refused():
    """Only an event kind (in, out, break_start, break_end) or nothing can be requested."""
    with pytest.raises(ValueError):
        decide(at(0), requested="lunch")


def test_night_shift_across_midnight_stays_one_workday():
    """In at 21:00 and out at 02:30 the next morning is one workday: entry, then exit."""
    start = dt.datetime(2025, 6, 2, 21, 0, tzinfo=LONDON)
    entry = decide(start, tz=LONDON)
    assert entry.kind == IN and entry.workday == dt.date(2025, 6, 2)
    end = dt.datetime(2025, 6, 3, 2, 30, tzinfo=LONDON)
    exit_ = decide(end, LastEvent(IN, start, entry.workday), tz=LONDON)
    assert exit_.kind == OUT and exit_.workday == dt.date(2025, 6, 2)


def test_night_shift_past_the_boundary_needs_a_later_boundary():
    """A 22:00-06:00 shift is one workday when the boundary is set to noon."""
    noon = dt.time(12, 0)
    start = dt.datetime(2025, 6, 2, 22, 0, tzinfo=LONDON)
    entry = decide(start, tz=LONDON, boundary=noon)
    exit_ = decide(
        dt.datetime(2025, 6, 3, 6, 5, tzinfo=LONDON),
        LastEvent(IN, start, entry.workday),
        tz=LONDON,
        boundary=noon,
    )
    assert (entry.kind, exit_.kind) == (IN, OUT)
    assert entry.workday == exit_.workday == dt.date(2025, 6, 2)


def test_spring_forward_night_shift_is_one_workday():
    """Across the March clock change (01:00 to 02:00 BST) a night shift stays one workday."""
    start = dt.datetime(2025, 3, 29, 22, 0, tzinfo=LONDON)
    end = dt.datetime(2025, 3, 30, 3, 30, tzinfo=LONDON)  # only 4.5 real hours later
    entry = decide(start, tz=LONDON)
    exit_ = decide(end, LastEvent(IN, start, entry.workday), tz=LONDON)
    assert exit_.kind == OUT
    assert exit_.workday == entry.workday == dt.date(2025, 3, 29)
    assert workday_of(dt.datetime(2025, 3, 30, 4, 0, tzinfo=LONDON), boundary=FOUR, tz=LONDON) == dt.date(
        2025, 3, 30
    )


def test_fall_back_cooldown_counts_real_time_not_wall_clock():
    """At the October clock change the wall clock repeats 01:xx; the cooldown uses real elapsed time."""
    first_pass = dt.datetime(2025, 10, 26, 1, 59, 30, fold=0, tzinfo=LONDON)  # 00:59:30 UTC (BST)
    last = LastEvent(IN, first_pass, workday_of(first_pass, boundary=FOUR, tz=LONDON))
    # 01:01 GMT reads 58 minutes EARLIER on the wall clock, but is 90 real seconds later.
    soon = dt.datetime(2025, 10, 26, 1, 1, fold=1, tzinfo=LONDON)
    assert not decide(soon, last, tz=LONDON).records
    # 01:30 BST then 01:40 GMT: ten wall-clock minutes, seventy real ones: the exit is recorded.
    early = dt.datetime(2025, 10, 26, 1, 30, fold=0, tzinfo=LONDON)
    late = dt.datetime(2025, 10, 26, 1, 40, fold=1, tzinfo=LONDON)
    decision = decide(late, LastEvent(IN, early, workday_of(early, boundary=FOUR, tz=LONDON)), tz=LONDON)
    assert decision.kind == OUT
    assert decision.workday == dt.date(2025, 10, 25)


def test_frame_taken_just_before_the_last_event_is_within_cooldown():
    """A frame processed late, taken a moment before the last event, is the same walk past: nothing."""
    last = LastEvent(IN, at(10), T0.date())
    assert not decide(at(9.5), last).records


def test_automatic_cooldown_is_the_kiosk_minimum_or_the_site_cooldown():
    """30 minutes of the kiosk win over 2 of the site; 0 minutes fall back to the site's 2."""
    assert automatic_cooldown(min_minutes_between_in_and_out=30, cooldown=COOLDOWN) == dt.timedelta(
        minutes=30
    )
    assert automatic_cooldown(min_minutes_between_in_and_out=0, cooldown=COOLDOWN) == COOLDOWN


def test_a_pass_by_within_the_minimum_time_records_nothing():
    """With a 30-minute minimum, a recognition 29 minutes after the entry is blocked; at 31, an exit."""
    day = T0.date()
    last = LastEvent(IN, T0, day)
    thirty = dt.timedelta(minutes=30)
    kwargs = {"last_event": last, "requested": None, "cooldown": thirty, "boundary": FOUR, "tz": UTC}
    blocked = event_decide(now=at(29 * 60), **kwargs)
    assert not blocked.records and blocked.blocking == last
    assert event_decide(now=at(31 * 60), **kwargs).kind == OUT


def test_break_kinds_are_recorded_as_chosen():
    """A chosen break start after an entry is recorded; repeating it within the cooldown is not."""
    last = LastEvent(IN, T0, T0.date())
    assert decide(at(600), last=last, requested=BREAK_START).kind == BREAK_START
    on_break = LastEvent(BREAK_START, T0, T0.date())
    assert not decide(at(30), last=on_break, requested=BREAK_START).records
    assert decide(at(30), last=on_break, requested=BREAK_END).kind == BREAK_END


@pytest.mark.parametrize(
    ("last_kind", "expected"),
    [(None, IN), (IN, OUT), (BREAK_START, BREAK_END), (BREAK_END, OUT), (OUT, IN)],
)
def test_likely_choice_follows_the_last_event(last_kind, expected):
    """The preselected choice continues the person's day: in, then out; a break's start, then its end."""
    last = LastEvent(last_kind, T0, T0.date()) if last_kind else None
    assert likely_kind(last_event=last, workday=T0.date()) == expected


def test_likely_choice_on_a_new_workday_is_an_entry():
    """Yesterday's open entry does not make today's first choice an exit."""
    yesterday = LastEvent(IN, T0 - dt.timedelta(days=1), T0.date() - dt.timedelta(days=1))
    assert likely_kind(last_event=yesterday, workday=T0.date()) == IN


@pytest.mark.parametrize(
    ("face_height", "hint"), [(40, "closer"), (76, "closer"), (78, ""), (240, ""), (384, ""), (400, "back")]
)
def test_distance_hint_from_the_face_height_in_a_480_pixel_frame(face_height, hint):
    """Under 16% of the frame's height: step closer; over 80%: step back; in between: nothing."""
    from attendance.checkin.rules import distance_hint

    assert distance_hint(face_height=face_height, frame_height=480) == hint
