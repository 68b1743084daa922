"""Report render and export times for 1,000 people x 30 days, through the full request path.

Everyone works to a schedule (three Mon-Fri schedules, one of them nights with a 30 min break), one
weekday is a company holiday, a quarter of the people follow a second site's holiday calendar (its
own holiday the next weekday), and one person in twenty is on a week of leave, so the reports read
the whole calendar.

    python -m benchmarks.reports [--people 1000] [--days 30] [--runs 5] [--json PATH]

Creates its own PostgreSQL database (benchmarks.common.throwaway_database, on BENCH_POSTGRES_URL's
server; DATABASE_URL is ignored), fills it with bulk inserts, then times each report through the Django
test client, logged in as a superuser: the best and the median of a few runs. Drops the database
afterwards. A benchmark, not a test: it prints figures and asserts nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time

from benchmarks.common import emit, parser, print_table, throwaway_database, use_database


def main() -> None:
    arguments = parser(__doc__)
    arguments.add_argument("--people", type=int, default=1000)
    arguments.add_argument("--days", type=int, default=30)
    arguments.add_argument("--runs", type=int, default=5)
    args = arguments.parse_args()
    with throwaway_database() as url:
        use_database(url)
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connections
        from django.test.utils import setup_test_environment

        call_command("migrate", verbosity=0)
        setup_test_environment()  # the test client, as in the tests
        settings.STORAGES = {
            **settings.STORAGES,
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
        settings.REPORT_MAX_RANGE_DAYS = max(settings.REPORT_MAX_RANGE_DAYS, args.days)
        try:
            figures = run(people=args.people, days=args.days, runs=args.runs)
        finally:
            connections.close_all()  # the database is dropped next
    emit("reports", figures, json_path=args.json)


def fill(*, people: int, days: int, end: dt.date) -> int:
    """Insert `people` people in 10 departments and weekday attendance for `days` days up to `end`."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from attendance.models import AttendanceEvent
    from people.models import (
        Department,
        Holiday,
        HolidayCalendar,
        Leave,
        Person,
        ScheduleAssignment,
        ScheduleDay,
        WorkSchedule,
    )

    tz = ZoneInfo(settings.TIME_ZONE)
    rng = random.Random(6)
    departments = Department.objects.bulk_create([Department(name=f"Department {n:02d}") for n in range(10)])
    site = HolidayCalendar.objects.create(name="Second site", country="AT")
    staff = Person.objects.bulk_create(
        [
            Person(
                employee_id=f"B{n:05d}",
                full_name=f"Person {n:05d}",
                department=departments[n % 10],
                holiday_calendar=site if n % 4 == 1 else None,
            )
            for n in range(people)
        ]
    )
    schedules = []
    for name, shift_start, shift_end, break_minutes in [
        ("Office", dt.time(9), dt.time(17), 0),
        ("Early", dt.time(7), dt.time(15, 30), 30),
        ("Nights", dt.time(22), dt.time(6), 30),
    ]:
        schedule = WorkSchedule.objects.create(name=name, break_minutes=break_minutes)
        ScheduleDay.objects.bulk_create(
            ScheduleDay(schedule=schedule, weekday=d, start=shift_start, end=shift_end) for d in range(5)
        )
        schedules.append(schedule)
    start = end - dt.timedelta(days=days - 1)
    ScheduleAssignment.objects.bulk_create(
        ScheduleAssignment(person=p, schedule=schedules[n % 3], start_date=start - dt.timedelta(days=365))
        for n, p in enumerate(staff)
    )
    holiday = next(
        end - dt.timedelta(days=n) for n in range(7, 14) if (end - dt.timedelta(days=n)).weekday() < 5
    )
    Holiday.objects.create(date=holiday, name="Benchmark day")
    site_day = holiday + dt.timedelta(days=1)
    while site_day.weekday() >= 5:
        site_day += dt.timedelta(days=1)
    Holiday.objects.create(calendar=site, date=site_day, name="Second site day")
    Leave.objects.bulk_create(
        Leave(person=p, start_date=end - dt.timedelta(days=6), end_date=end - dt.timedelta(days=2))
        for p in staff[::20]
    )
    events = []
    for offset in range(days):
        workday = end - dt.timedelta(days=offset)
        if workday.weekday() >= 5:
            continue
        for person in staff:
            if rng.random() < 0.05:
                continue
            start = dt.datetime.combine(workday, dt.time(9), tzinfo=tz) + dt.timedelta(
                minutes=rng.gauss(0, 8)
            )
            moments = [start, start + dt.timedelta(hours=4), start + dt.timedelta(hours=4, minutes=40)]
            moments.append(start + dt.timedelta(hours=8, minutes=40 + rng.randint(0, 30)))
            for n, moment in enumerate(moments):
                events.append(
                    AttendanceEvent(
                        person=person, kind="out" if n % 2 else "in", timestamp=moment, workday=workday
                    )
                )
    AttendanceEvent.objects.bulk_create(events, batch_size=5000)
    return len(events)


def timed(client, url: str, params: dict, runs: int) -> tuple[float, float, int]:
    """Return (best, median) seconds of GET url over `runs` runs, reading the whole body, and its size."""
    seconds, size = [], 0
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url, params)
        body = b"".join(response.streaming_content) if response.streaming else response.content
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        size = len(body)
    return min(seconds), statistics.median(seconds), size


def run(*, people: int, days: int, runs: int) -> dict:
    from django.contrib.auth.models import User
    from django.test import Client

    from attendance.clock import current_workday

    end = current_workday() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=days - 1)
    began = time.perf_counter()
    count = fill(people=people, days=days, end=end)
    print(f"Filled {people} people x {days} days: {count} events in {time.perf_counter() - began:.1f} s")
    client = Client()
    client.force_login(User.objects.create_superuser("bench", "bench@example.com", "bench-password"))

    day = {"day": end.isoformat()}
    month = {"start": start.isoformat(), "end": end.isoformat()}
    cases = [
        ("Day report page (one page of rows)", "/reports/day/", day, runs),
        ("Day report page, sorted by hours", "/reports/day/", {**day, "sort": "-hours"}, runs),
        ("Day report CSV (all people)", "/reports/day.csv", day, runs),
        ("Day report API (page_size 1000)", "/api/v1/reports/day/", {**day, "page_size": 1000}, runs),
        ("Today page", "/reports/today/", {}, runs),
        (f"Month timesheet CSV ({people} x {days} rows)", "/reports/timesheet.csv", month, max(1, runs // 2)),
        (
            f"Month timesheet XLSX ({people} x {days} rows)",
            "/reports/timesheet.xlsx",
            month,
            max(1, runs // 2),
        ),
        ("Month department summary page", "/reports/departments/", month, max(1, runs // 2)),
        ("Month department summary XLSX", "/reports/departments.xlsx", month, max(1, runs // 2)),
    ]
    results = []
    for label, url, params, n in cases:
        best, median, size = timed(client, url, params, n)
        record = {"report": label, "url": url, "runs": n, "best_s": best, "median_s": median}
        results.append({**record, "kilobytes": size / 1024})
    print_table(
        ["report", "best s", "median s", "size KB"],
        [
            [r["report"], f"{r['best_s']:.3f}", f"{r['median_s']:.3f}", f"{r['kilobytes']:.0f}"]
            for r in results
        ],
        title=f"Reports, {people} people x {days} days ({count} events)",
    )
    return {"people": people, "days": days, "events": count, "reports": results}


if __name__ == "__main__":
    main()
