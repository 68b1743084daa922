"""axe-core (bundled in axe-playwright-python) finds no serious or critical issue on any page, per role.

The pages come from the URL configuration, as in tests/site/test_authorization_matrix.py (its `walk`,
its sample objects and its table of who may open what): every named URL is either an HTML page that
axe checks, as each role allowed to open it, or listed in NOT_PAGES with what it is instead. A page
added later is therefore checked, or this test fails until it is classified.
"""

from __future__ import annotations

import datetime as dt
import fnmatch

import pytest
from django.contrib.auth.models import User

from attendance.models import AttendanceEventLog, KioskPin
from people.models import (
    ConsentText,
    CorrectionRequest,
    Holiday,
    Leave,
    ScheduleAssignment,
    ScheduleDay,
    WorkSchedule,
)
from tests.fixtures.browser import launch_chromium
from tests.site import test_authorization_matrix as matrix
from tests.site.test_authorization_matrix import EMPLOYEE, HR, MANAGER, concrete_urls, rule_for

world = matrix.world  # the same sample objects and users as the authorization matrix


@pytest.fixture
def full_world(world):
    """The matrix's objects plus one of each record the admin pages below show, so no change page
    redirects for want of an object."""
    person, hr = world["person"], world["users"][HR]
    schedule = WorkSchedule.objects.create(name="Office")
    ScheduleDay.objects.create(schedule=schedule, weekday=0, start=dt.time(9), end=dt.time(17))
    ScheduleAssignment.objects.create(person=person, schedule=schedule, start_date=dt.date(2026, 1, 5))
    Holiday.objects.create(date=dt.date(2026, 12, 25), name="Christmas Day")
    Leave.objects.create(person=person, start_date=dt.date(2026, 8, 3), end_date=dt.date(2026, 8, 7))
    KioskPin.objects.create(person=person, pin_hash="not-a-real-hash", set_by=hr)
    AttendanceEventLog.objects.create(
        event=world["event"], event_pk=world["event"].pk, person=person, action="change", by=hr, reason="Typo"
    )
    CorrectionRequest.objects.create(
        person=person, kind="in", moment=world["event"].timestamp, reason="Forgot"
    )
    ConsentText.objects.get_or_create(version="2025-1", defaults={"text": "We use your face."})
    person.user = world["users"][EMPLOYEE]
    person.save(update_fields=["user"])
    return world


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BAD = ("serious", "critical")
ANONYMOUS, ADMIN = "anonymous", "admin"
PASSWORD = "pw-for-tests"  # tests.factories.UserFactory's

# URL names (fnmatch patterns) that are not HTML pages, and what they are instead.
NOT_PAGES = {
    "*-csv": "a CSV download",
    "*-xlsx": "a spreadsheet download",
    "reports:api-*": "JSON for the report pages",
    "api-schema": "the OpenAPI schema",
    "checkin-*": "the kiosk's JSON API (checkin-frame: a JPEG)",
    "healthz": "JSON for monitoring",
    "people:face-image*": "a photo",
    "people:person-progress": "JSON polled by the person page",
    "people:webcam-shot": "POST only (a webcam shot)",
    "reports:my-request-create": "POST only (an employee's correction request)",
    "reports:request-decide": "POST only (a manager's decision)",
    "reports:pay-period-action": "POST only (approve and lock, reopen)",
    "reports:logout": "POST only, then a redirect",
    "admin:logout": "POST only, then a redirect",
    "reports:index": "a redirect to the Today report",
    "admin:jsi18n": "JavaScript",
    "admin:autocomplete": "JSON",
    "admin:view_on_site": "a redirect",
    "admin:recognition_recogniserversion_retrain": "POST only (queues a training run)",
    "admin/*/<path:object_id>/": "a redirect to the change page",
    "admin/(?P<url>.*)$": "unknown admin pages: the 404 page, checked as /no-such-page/",
}
# Findings left alone, by URL name and axe rule, with why.
KNOWN = {
    ("api-docs", "nested-interactive"): "Swagger UI (drf-spectacular-sidecar) puts buttons inside its "
    "operations' summary buttons; upstream markup, the API reference for integrators",
}
# Pages nobody may open in the table (refused for HR and the others) that the superuser uses.
SUPERUSER_APPS = ("admin:auth_", "admin:axes_", "admin:attendance_site_", "admin:attendance_reportaccess_")


def not_a_page(key: str) -> bool:
    return any(fnmatch.fnmatchcase(key, pattern) or key == pattern for pattern in NOT_PAGES)


def pages_by_role(urls: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Every HTML page for each role allowed to open it; the superuser gets the pages no role in the
    table may open (users, groups, lockouts, the audit log, report access) and the shared ones."""
    pages = [(key, path) for key, path in urls if not not_a_page(key)]
    by_role = {
        role: [(key, path) for key, path in pages if role in (rule_for(key) or set())]
        for role in (ANONYMOUS, EMPLOYEE, HR, MANAGER)
    }
    by_role[ANONYMOUS].append(("404", "/no-such-page/"))
    by_role[EMPLOYEE].append(("403", "/reports/today/"))  # an employee reads no reports: the 403 page
    by_role[ADMIN] = [("reports:home", "/"), ("admin:index", "/admin/")] + [
        (key, path) for key, path in pages if key.startswith(SUPERUSER_APPS) or key == "admin:app_list[auth]"
    ]
    return by_role


def log_in(page, base_url: str, username: str) -> None:
    """Log in through the site's login page (the web server signs sessions with its own secret key)."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    with page.expect_navigation():
        page.click("main button[type=submit]")
    assert "/login/" not in page.url, f"{username} could not log in"


def test_every_page_is_an_axe_checked_page_or_classified(world):
    """A URL that is neither an HTML page some role opens nor in NOT_PAGES fails here (fast, no browser)."""
    by_role = pages_by_role(concrete_urls(world))
    checked = {key for pages in by_role.values() for key, _ in pages}
    unchecked = [key for key, _ in concrete_urls(world) if not not_a_page(key) and key not in checked]
    # Pages no role may open and the superuser does not use either: refused to everybody.
    refused_to_all = [key for key in unchecked if rule_for(key) == set()]
    assert sorted(set(unchecked) - set(refused_to_all)) == []


def test_no_serious_or_critical_accessibility_issue_on_any_page(
    full_world, web_server, monkeypatch, tmp_path
):
    """Every page each role opens passes axe-core without a serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM calls run beside Playwright's loop
    world = full_world
    users = {**world["users"], ADMIN: User.objects.create_superuser("root", password=PASSWORD)}

    axe = Axe()
    found, checked, skipped = [], set(), []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for role, pages in pages_by_role(concrete_urls(world)).items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                if role in users:
                    log_in(page, web_server, users[role].username)
                for key, path in pages:
                    response = page.goto(f"{web_server}{path}")
                    if (
                        response is None
                        or response.status in (302, 405)
                        or not page.url.startswith(f"{web_server}{path.split('?')[0]}")
                    ):
                        skipped.append(
                            f"{role} {path} {response and response.status} {page.url}"
                        )  # redirected elsewhere: checked where it lands
                        continue
                    checked.add(key)
                    if key == "api-docs":  # Swagger UI renders the operations after fetching the schema
                        page.locator(".opblock").first.wait_for(timeout=30_000)
                    for violation in axe.run(page).response["violations"]:
                        if violation["impact"] in BAD and (key, violation["id"]) not in KNOWN:
                            target = violation["nodes"][0]["target"]
                            found.append(
                                f"{role} {path}: {violation['impact']} {violation['id']} at {target}"
                            )
                context.close()
        finally:
            browser.close()
    (tmp_path / "axe-found.txt").write_text("\n".join(found))
    print(f"axe checked {len(checked)} pages; redirected elsewhere: {skipped}")
    assert found == []
    assert len(checked) > 100  # the URL conf's pages, not a handful
