"""A new HR user, made by adding an account to the HR group and nothing else, enrols a person in Chromium."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, User

from people.models import ConsentText, FaceImage, Person
from tests.fixtures.browser import launch_chromium
from tests.support.images import plain_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_new_hr_user_logs_in_and_enrols_without_the_staff_flag_touched(web_server, tmp_path, monkeypatch):
    """Group membership alone: the admin lets them in, home leads to Add a person, consent and photo save."""
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv(
        "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
    )  # the ORM calls below run beside Playwright's loop
    user = User.objects.create_user("new-hr", password="pw-for-tests")
    Group.objects.get(name="HR").user_set.add(user)
    # Transactional tests flush the migration's rows: make sure a consent text is there to agree to.
    current, _ = ConsentText.objects.get_or_create(version="2025-1", defaults={"text": "We use your face."})
    photo = tmp_path / "face.jpg"
    photo.write_bytes(plain_jpeg((200, 160)))
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{web_server}/admin/login/?next=/")
            page.fill("#id_username", "new-hr")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            expect(page.locator("h2#todo-title")).to_have_text("Waiting for you")
            page.click("text=Add a person")
            expect(page.locator("#consent-text")).to_contain_text("face")
            page.fill("#id_employee_id", "E-7")
            page.fill("#id_full_name", "Grace Hopper")
            page.check("#id_consent")
            page.set_input_files("#id_photos", str(photo))
            page.click("input[name=_save]")
            expect(page.locator(".messagelist")).to_contain_text("1 photo(s) added")
            page.screenshot(path=str(tmp_path / "enrolled.png"))
        finally:
            browser.close()
    person = Person.objects.get(employee_id="E-7")
    assert person.consent_recorded_by == user and person.consent_text_version == current.version
    assert FaceImage.objects.filter(person=person).count() == 1
    user.refresh_from_db()
    assert user.is_staff and not user.is_superuser
