"""The kiosk as a time clock, end to end: explicit choices and the automatic minimum time, in real Chromium
with a fake camera fed from a real photo and the real recognition worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from attendance.checkin.services import kiosk_register
from attendance.clock import Clock
from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium, write_y4m
from tests.fixtures.services import enrol_through_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "mindy_kaling"]
PHOTOS_EACH = 8


def _kiosk_page(playwright, web_server, video, token):
    browser = launch_chromium(playwright, video=video)
    context = browser.new_context(viewport={"width": 1024, "height": 700})
    context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
    page = context.new_page()
    page.goto(f"{web_server}/kiosk/")
    return browser, page


@pytest.mark.django_db(transaction=True)
def test_explicit_check_in_and_out_and_automatic_pass_by(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """Explicit kiosk: Jerry taps "Check in" (an entry, shown with his employee id, the time and a beep),
    then "Check out" comes preselected and is confirmed by itself after its seconds (an exit). Automatic
    kiosk (30 min minimum): Jerry passing by 10 minutes after an entry is told "already checked in at
    HH:MM" and nothing is recorded. Revoked, that kiosk shows one screen without buttons."""
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    hr = UserFactory(username="hr-e2e", groups=["HR"], is_staff=True)
    ids = enrol_through_worker(celebrity_dir, ENROLLED, photos_each=PHOTOS_EACH, by=hr)
    jerry = ids["jerry_seinfeld"]
    video = write_y4m(sorted((celebrity_dir / "val" / "jerry_seinfeld").glob("*.jpg"))[0], tmp_path / "j.y4m")
    desk, token = kiosk_register(name="Desk")
    Kiosk.objects.filter(pk=desk.pk).update(decision=Kiosk.Decision.EXPLICIT, choice_confirm_seconds=2)

    with sync_playwright() as playwright:
        # Check in by a tap.
        browser, page = _kiosk_page(playwright, web_server, video, token)
        expect(page.locator("body")).to_have_attribute("data-state", "choosing", timeout=90_000)
        expect(page.locator("#message")).to_contain_text("Jerry · ")
        expect(page.locator("#choices button[data-kind='in']")).to_have_attribute("aria-pressed", "true")
        page.screenshot(path=str(tmp_path / "explicit-choosing-in.png"))
        page.click("#choices button[data-kind='in']")
        expect(page.locator("#message")).to_contain_text("Checked in at", timeout=10_000)
        entry = AttendanceEvent.objects.get()
        employee_id = entry.person.employee_id
        at = timezone.localtime(entry.timestamp).strftime("%H:%M")
        expect(page.locator("#detail")).to_have_text(f"Jerry · {employee_id} · {at}")
        expect(page.locator("body")).to_have_attribute("data-beeps", "1")
        expect(page.locator("#choices")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "explicit-checked-in.png"))
        browser.close()
        assert list(AttendanceEvent.objects.values_list("person_id", "kind")) == [(jerry, "in")]

        # Check out: preselected from the entry, confirmed without a tap.
        browser, page = _kiosk_page(playwright, web_server, video, token)
        expect(page.locator("body")).to_have_attribute("data-state", "choosing", timeout=60_000)
        expect(page.locator("#choices button[data-kind='out']")).to_have_attribute("aria-pressed", "true")
        page.screenshot(path=str(tmp_path / "explicit-choosing-out.png"))
        expect(page.locator("#message")).to_contain_text("Checked out at", timeout=10_000)
        page.screenshot(path=str(tmp_path / "explicit-checked-out.png"))
        browser.close()
    kinds = list(AttendanceEvent.objects.order_by("timestamp").values_list("kind", flat=True))
    assert kinds == ["in", "out"]
    out = AttendanceEvent.objects.get(kind="out")
    assert out.attempt.requested_kind == "out" and out.attempt.choice_made_at is not None

    # Automatic kiosk: an entry 10 minutes ago, and Jerry walks past.
    AttendanceEvent.objects.all().delete()
    door, door_token = kiosk_register(name="Door")
    entry_at = timezone.now() - dt.timedelta(minutes=10)
    AttendanceEvent.objects.create(
        person_id=jerry,
        kind="in",
        timestamp=entry_at,
        workday=Clock.from_settings().workday(entry_at),
        kiosk=door,
    )
    with sync_playwright() as playwright:
        browser, page = _kiosk_page(playwright, web_server, video, door_token)
        expect(page.locator("#message")).to_have_text(
            f"Jerry, you are already checked in at {timezone.localtime(entry_at):%H:%M}", timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "automatic-pass-by.png"))
        browser.close()
    assert list(AttendanceEvent.objects.values_list("kind", flat=True)) == ["in"]
    assert CheckinAttempt.objects.filter(kiosk=door, outcome=CheckinAttempt.Outcome.ALREADY).exists()

    # The door kiosk revoked: one consistent screen, no buttons.
    Kiosk.objects.filter(pk=door.pk).update(is_active=False)
    with sync_playwright() as playwright:
        browser, page = _kiosk_page(playwright, web_server, video, door_token)
        expect(page.locator("#message")).to_have_text("This kiosk has been revoked", timeout=30_000)
        expect(page.locator("#detail")).to_contain_text("It no longer records anything.")
        expect(page.locator("#btn-in")).to_be_hidden()
        expect(page.locator("#btn-out")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "revoked.png"))
        browser.close()
    print(f"screenshots in {tmp_path}")
