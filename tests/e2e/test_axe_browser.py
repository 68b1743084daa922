"""axe-core (bundled in axe-playwright-python) finds no serious or critical issue on any page.

The pages come from the URL configuration, as in tests/site/test_authorization_matrix.py (its `walk`,
its sample objects and its table of who may open what): every named URL is either an HTML page that
axe checks, once, as one role allowed to open it (each role's home page and top bar as that role), or
listed in NOT_PAGES with what it is instead. A page added later is therefore checked, or this test
fails until it is classified.
"""

from __future__ import annotations

import asyncio
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


# A page more than one role may open is checked once, as the first of these allowed: anonymous and
# the employee for what everybody (or every account) sees, HR for the reports it shares with the
# manager (HR sees every department's figures; the manager here may report on none).
CHECKED_AS = (ANONYMOUS, EMPLOYEE, HR, MANAGER)


def pages_by_role(urls: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Every HTML page once, as the first role in CHECKED_AS allowed to open it; besides, each role's
    home page (the top bar's links differ per role), the 404 (anonymous) and 403 (an employee) pages,
    and for the superuser its admin index and the pages no role in the table may open (users,
    groups, lockouts, the audit log, report access)."""
    pages = [(key, path) for key, path in urls if not not_a_page(key)]
    by_role: dict[str, list[tuple[str, str]]] = {role: [] for role in (*CHECKED_AS, ADMIN)}
    for key, path in pages:
        allowed = rule_for(key) or set()
        if role := next((role for role in CHECKED_AS if role in allowed), None):
            by_role[role].append((key, path))
    for role_pages in by_role.values():
        if ("reports:home", "/") not in role_pages:
            role_pages.insert(0, ("reports:home", "/"))
    by_role[ANONYMOUS].append(("404", "/no-such-page/"))
    by_role[EMPLOYEE].append(("403", "/reports/today/"))  # an employee reads no reports: the 403 page
    by_role[ADMIN] += [("admin:index", "/admin/")] + [
        (key, path) for key, path in pages if key.startswith(SUPERUSER_APPS) or key == "admin:app_list[auth]"
    ]
    return by_role


async def log_in(page, base_url: str, username: str) -> None:
    """Log in through the site's login page (the web server signs sessions with its own secret key)."""
    await page.goto(f"{base_url}/login/")
    await page.fill("#id_username", username)
    await page.fill("#id_password", PASSWORD)
    async with page.expect_navigation():
        await page.click("main button[type=submit]")
    assert "/login/" not in page.url, f"{username} could not log in"


# axe's rules each have one impact; those whose findings are moderate or minor (which this test lets
# pass) are switched off rather than run for nothing.
AXE_RUN = """(bad) => axe.run(document, {
  resultTypes: ["violations"],
  rules: Object.fromEntries(axe._audit.rules.filter((rule) => !bad.includes(rule.impact))
    .map((rule) => [rule.id, {enabled: false}])),
})"""


async def axe_check(base_url: str, visits: list[tuple[str, str, str]], usernames: dict[str, str]):
    """Open each (role, key, path) in `visits` as that role and run axe there; return the serious and
    critical findings, the keys checked, and the visits redirected elsewhere (checked where they land).

    Two tabs check a page each at a time (two Chromium renderers beside the web server, on two cores),
    taking visits from either end of the list (grouped by role): each logs in once per role it meets."""
    from axe_playwright_python.base import AXE_SCRIPT
    from playwright.async_api import async_playwright

    found, checked, skipped = [], set(), []
    visits = list(visits)

    async def tab(browser, take) -> None:
        pages = {}  # role: a page logged in as that role
        try:
            while visits:
                role, key, path = take()
                if role not in pages:
                    context = await browser.new_context(viewport={"width": 1280, "height": 900})
                    await context.add_init_script(AXE_SCRIPT)  # axe in every page, before its own scripts
                    pages[role] = await context.new_page()
                    if role in usernames:
                        await log_in(pages[role], base_url, usernames[role])
                page = pages[role]
                response = await page.goto(f"{base_url}{path}")
                if (
                    response is None
                    or response.status in (302, 405)
                    or not page.url.startswith(f"{base_url}{path.split('?')[0]}")
                ):
                    skipped.append(f"{role} {path} {response and response.status} {page.url}")
                    continue
                checked.add(key)
                if key == "api-docs":  # Swagger UI renders the operations after fetching the schema
                    await page.locator(".opblock").first.wait_for(timeout=30_000)
                for violation in (await page.evaluate(AXE_RUN, list(BAD)))["violations"]:
                    if violation["impact"] in BAD and (key, violation["id"]) not in KNOWN:
                        target = violation["nodes"][0]["target"]
                        found.append(f"{role} {path}: {violation['impact']} {violation['id']} at {target}")
        finally:
            for page in pages.values():
                await page.context.close()

    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            await asyncio.gather(tab(browser, lambda: visits.pop(0)), tab(browser, lambda: visits.pop()))
        finally:
            await browser.close()
    return found, checked, skipped


def test_every_page_is_an_axe_checked_page_or_classified(world):
    """A URL that is neither an HTML page some role opens nor in NOT_PAGES fails here (fast, no browser)."""
    by_role = pages_by_role(concrete_urls(world))
    checked = {key for pages in by_role.values() for key, _ in pages}
    unchecked = [key for key, _ in concrete_urls(world) if not not_a_page(key) and key not in checked]
    # Pages no role may open and the superuser does not use either: refused to everybody.
    refused_to_all = [key for key in unchecked if rule_for(key) == set()]
    assert sorted(set(unchecked) - set(refused_to_all)) == []


def test_no_serious_or_critical_accessibility_issue_on_any_page(full_world, web_server, tmp_path):
    """Every page (once, as one role that may open it; each role's home page) passes axe-core without
    a serious or critical violation."""
    world = full_world
    User.objects.create_superuser("root", password=PASSWORD)
    usernames = {**{role: user.username for role, user in world["users"].items()}, ADMIN: "root"}
    visits = [
        (role, key, path)
        for role, pages in pages_by_role(concrete_urls(world)).items()
        for key, path in pages
    ]

    # Playwright's event loop runs only inside asyncio.run: the ORM calls above and after are outside it.
    found, checked, skipped = asyncio.run(axe_check(web_server, visits, usernames))
    (tmp_path / "axe-found.txt").write_text("\n".join(found))
    print(f"axe checked {len(checked)} pages in {len(visits)} visits; redirected elsewhere: {skipped}")
    assert found == []
    assert len(checked) > 100  # the URL conf's pages, not a handful
