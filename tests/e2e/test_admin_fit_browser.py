"""HR's admin lists fit a 1280 px screen: every column visible without scrolling sideways."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from tests.factories import DepartmentFactory, PersonFactory
from tests.fixtures.browser import launch_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_people_list_fits_1280_px_with_a_flagged_duplicate(web_server, monkeypatch):
    """The people list, with its longest cell (a possible duplicate), needs no sideways scrolling."""
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # the ORM calls run beside Playwright's loop
    Group.objects.get(name="HR").user_set.add(User.objects.create_user("hr", password="pw-for-tests"))
    department = DepartmentFactory(name="Research and development")
    original = PersonFactory(
        full_name="Alexandra Montgomery-Smith", employee_id="EMP-000123", department=department
    )
    PersonFactory(
        full_name="Alexandra Montgomery",
        employee_id="EMP-000124",
        department=department,
        possible_duplicate_of=original,
        duplicate_distance=0.41234,
    )
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{web_server}/admin/login/?next=/admin/people/person/")
            page.fill("#id_username", "hr")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_selector("#result_list")
            overflow = page.evaluate(
                "(() => { const r = document.querySelector('.results');"
                " return r.scrollWidth - r.clientWidth; })()"
            )
            duplicate_cell = page.inner_text("td.field-duplicate_flag >> nth=0")
        finally:
            browser.close()
    assert overflow <= 0, f"the list is {overflow} px wider than its box"
    assert "(distance 0.41)" in duplicate_cell
