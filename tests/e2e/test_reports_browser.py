"""The Today page and a person's timesheet in a real Chromium: the chart is drawn (screenshots kept)."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.test import Client

from attendance.clock import Clock
from tests.factories import AttendanceEventFactory, PersonFactory, UserFactory
from tests.support.reports import workday_events

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# Counts the canvas pixels that are not transparent: an empty canvas has none.
PAINTED_PIXELS = """(canvas) => {
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return painted;
}"""


@pytest.fixture
def manager_cookie(db) -> str:
    manager = UserFactory(username="browser-manager", groups=["Managers"], first_name="Maria", last_name="Ma")
    client = Client()
    client.force_login(manager)
    return client.cookies["sessionid"].value


@contextmanager
def chromium_page(live_server, cookie: str):
    """Yield a tablet-sized Chromium page logged in as the manager, and the page's script errors.

    Open it only after the test data exists: Playwright's sync API runs an event loop in this
    thread, and Django refuses database calls from inside one.
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1024, "height": 1100})
            context.add_cookies([{"name": "sessionid", "value": cookie, "url": live_server.url}])
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page, errors
        finally:
            browser.close()


def assert_chart_drawn(page, expected_total: float) -> None:
    page.wait_for_selector("canvas#chart[data-drawn='true']", timeout=10_000)
    values = page.evaluate("window.reportChart.data.datasets[0].data")
    assert sum(values) == pytest.approx(expected_total)
    assert page.eval_on_selector("canvas#chart", PAINTED_PIXELS) > 500


def test_today_page_draws_the_arrivals_chart(manager_cookie, live_server):
    """Today shows the counts and draws arrivals by hour from the vendored Chart.js."""
    clock = Clock.from_settings()
    from django.utils import timezone

    now = timezone.now()
    start = dt.datetime.combine(clock.workday(now), clock.boundary, tzinfo=clock.tz)
    step = (now - start) / 6
    for n, name in enumerate(["Ben Affleck", "Elton John", "Jerry Seinfeld", "Madonna"]):
        person = PersonFactory(full_name=name)
        AttendanceEventFactory(person=person, kind="in", timestamp=start + step * (n + 1))
        if n == 0:
            AttendanceEventFactory(person=person, kind="out", timestamp=start + step * 5)
    PersonFactory(full_name="Mindy Kaling")

    with chromium_page(live_server, manager_cookie) as (page, errors):
        page.goto(f"{live_server.url}/reports/today/")
        assert_chart_drawn(page, expected_total=4)  # four people came in
        assert page.inner_text(".count.in strong") == "3"
        assert page.inner_text(".count.out strong") == "1"
        assert page.inner_text(".count.not_in strong") == "1"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reports-today.png"), full_page=True)
        assert errors == []


def test_today_page_refreshes_its_figures_without_reloading(manager_cookie, live_server, settings):
    """The figures are fetched again in place: the page itself is never reloaded (no lost focus)."""
    settings.REPORT_TODAY_REFRESH_SECONDS = 1
    AttendanceEventFactory(person=PersonFactory(full_name="Ben Affleck"), kind="in")

    with chromium_page(live_server, manager_cookie) as (page, errors):
        loads = []
        page.on("load", lambda _page: loads.append(1))
        page.goto(f"{live_server.url}/reports/today/")
        page.evaluate("window.stillTheSamePage = true")
        page.wait_for_selector("[data-refresh-seconds][data-refreshed='2']", timeout=15_000)
        assert page.evaluate("window.stillTheSamePage") is True
        assert len(loads) == 1
        assert page.inner_text(".count.in strong") == "1"
        assert errors == []


def test_timesheet_draws_hours_per_day(manager_cookie, live_server):
    """A person's timesheet shows the totals and draws a bar of hours for each day."""
    person = PersonFactory(full_name="Elton John", employee_id="EJ01")
    first = dt.date(2025, 3, 3)  # a Monday
    # Mon-Fri: 08:30-12:00 and 12:30-17:00 = 3 h 30 + 4 h 30 = 8 h a day; Friday only the morning.
    for n in range(4):
        workday_events(person, first + dt.timedelta(days=n), ("08:30", "12:00"), ("12:30", "17:00"))
    workday_events(person, first + dt.timedelta(days=4), ("08:30", "12:00"))

    with chromium_page(live_server, manager_cookie) as (page, errors):
        page.goto(f"{live_server.url}/reports/timesheet/?person=EJ01&start=2025-03-03&end=2025-03-09")
        assert_chart_drawn(page, expected_total=4 * 8 + 3.5)
        assert page.inner_text("#total-hours") == "35:30"
        assert page.inner_text("#days-present") == "5"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "reports-timesheet.png"), full_page=True)
        assert errors == []


@pytest.mark.parametrize(
    "path",
    [
        "/reports/today/",
        "/reports/day/?day=2025-03-03",
        "/reports/timesheet/?person=EJ01&start=2025-03-03&end=2025-03-09",
        "/reports/departments/?start=2025-03-03&end=2025-03-09",
    ],
)
def test_reports_fit_a_phone_screen(manager_cookie, live_server, path):
    """At 390 px the page itself never scrolls sideways: wide tables scroll inside their own box."""
    person = PersonFactory(full_name="Elton John", employee_id="EJ01")
    workday_events(person, dt.date(2025, 3, 3), ("08:30", "12:00"), ("12:30", "17:00"))

    with chromium_page(live_server, manager_cookie) as (page, errors):
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(f"{live_server.url}{path}")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        ARTIFACTS.mkdir(exist_ok=True)
        name = path.strip("/").split("/")[1].split("?")[0] or "today"
        page.screenshot(path=str(ARTIFACTS / f"reports-phone-{name}.png"), full_page=True)
        assert overflow <= 0, f"{path} is {overflow} px wider than the phone"
        assert errors == []
