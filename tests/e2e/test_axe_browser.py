"""axe-core (bundled in axe-playwright-python) finds no serious or critical issue on any page, per role."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from people.models import ConsentText
from tests.factories import DepartmentFactory, PersonFactory
from tests.fixtures.browser import launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "pw-for-tests"
BAD = ("serious", "critical")


def pages_by_role(consent_pk: int, person_pk: int) -> dict[str, list[str]]:
    return {
        "anonymous": ["/", "/login/", "/no-such-page/", "/kiosk/"],
        "hr": [
            "/",
            "/admin/",
            "/admin/people/person/",
            "/admin/people/person/add/",
            "/admin/people/person/import-zip/",
            "/admin/people/consenttext/",
            f"/admin/people/consenttext/{consent_pk}/print/",
            "/kiosk/register/",
            "/reports/today/",
            "/reports/requests/",
            "/reports/pay-periods/",
            f"/reports/people/{person_pk}/events/?day=2025-03-03",
        ],
        "manager": [
            "/",
            "/reports/today/",
            "/reports/day/",
            "/reports/timesheet/",
            "/reports/departments/",
            "/reports/pay-periods/",
        ],
        "admin": ["/", "/admin/", "/admin/attendance_site/roleholder/", "/admin/auth/user/"],
    }


def test_no_serious_or_critical_accessibility_issue_on_any_page(web_server, monkeypatch):
    """Every page each role opens passes axe-core without a serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM calls run beside Playwright's loop
    User.objects.create_superuser("admin", password=PASSWORD)
    for name, role in (("hr", "HR"), ("manager", "Managers")):
        Group.objects.get(name=role).user_set.add(User.objects.create_user(name, password=PASSWORD))
    person = PersonFactory(department=DepartmentFactory(name="Lab"))
    consent, _ = ConsentText.objects.get_or_create(version="2025-1", defaults={"text": "We use your face."})

    axe = Axe()
    found = []
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for role, paths in pages_by_role(consent.pk, person.pk).items():
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                if role != "anonymous":
                    page.goto(f"{web_server}/admin/login/")
                    page.fill("#id_username", role)
                    page.fill("#id_password", PASSWORD)
                    page.click("input[type=submit]")
                for path in paths:
                    page.goto(f"{web_server}{path}")
                    for violation in axe.run(page).response["violations"]:
                        if violation["impact"] in BAD:
                            target = violation["nodes"][0]["target"]
                            found.append(
                                f"{role} {path}: {violation['impact']} {violation['id']} at {target}"
                            )
                context.close()
        finally:
            browser.close()
    assert found == []
