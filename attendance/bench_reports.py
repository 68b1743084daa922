"""Benchmark of the reports: render and export times for 1,000 people x 30 days. Prints figures.

    DATABASE_URL=postgres://... python -m attendance.bench_reports [--people 1000] [--days 30]

It builds a throwaway test database (Django's test database, "test_<name>", dropped afterwards),
fills it with bulk inserts, then times each report through the full request path (Django test
client, logged in as a superuser): the best and the median of a few runs. A benchmark, not a test:
it asserts nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=1000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.test.utils import setup_databases as create_databases
    from django.test.utils import setup_test_environment, teardown_databases

    setup_test_environment()
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.REPORT_MAX_RANGE_DAYS = max(settings.REPORT_MAX_RANGE_DAYS, args.days)
    old = create_databases(verbosity=0, interactive=False)
    try:
        run(people=args.people, days=args.days, runs=args.runs)
    finally:
        teardown_databases(old, verbosity=0)


def fill(*, people: int, days: int, end: dt.date) -> int:
    """Insert `people` people in 10 departments and weekday attendance for `days` days up to `end`."""
    from zoneinfo import ZoneInfo

    from django.conf import settings

    from attendance.models import AttendanceEvent
    from people.models import Department, Person

    tz = ZoneInfo(settings.TIME_ZONE)
    rng = random.Random(6)
    departments = Department.objects.bulk_create([Department(name=f"Department {n:02d}") for n in range(10)])
    staff = Person.objects.bulk_create(
        [
            Person(employee_id=f"B{n:05d}", full_name=f"Person {n:05d}", department=departments[n % 10])
            for n in range(people)
        ]
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


def run(*, people: int, days: int, runs: int) -> None:
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
    load = " ".join(f"{n:.2f}" for n in os.getloadavg())
    print(f"Load average before timing: {load}; CPUs: {os.cpu_count()}")
    print(f"{'report':52} {'best s':>8} {'median s':>9} {'size':>10}")
    for label, url, params, n in cases:
        best, median, size = timed(client, url, params, n)
        print(f"{label:52} {best:8.3f} {median:9.3f} {size / 1024:8.0f} KB")


if __name__ == "__main__":
    main()
