"""The kiosk as a time clock, end to end: explicit choices and the automatic minimum time, in real Chromium
with a fake camera fed from a real photo and the real recognition worker."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from attendance.checkin.services import kiosk_pin_set, kiosk_register
from attendance.clock import Clock
from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk, KioskPin
from people.models import Person
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium, write_y4m
from tests.fixtures.services import enrol_through_worker

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "mindy_kaling"]
PHOTOS_EACH = 8


STAGED_ID = "00000000-0000-4000-8000-000000000000"


def _answer_pending(route):
    """Take a frame without a worker: the kiosk then polls the staged attempt."""
    body = {"id": STAGED_ID, "state": "pending", "status_url": f"/api/v1/checkins/{STAGED_ID}/"}
    route.fulfill(status=202, json=body, headers={"Location": body["status_url"]})


def _answer_no_face(route):
    """Answer a poll the way the server answers a frame of an empty scene."""
    route.fulfill(
        status=200,
        json={"id": STAGED_ID, "state": "done", "outcome": "no_face", "message": "Please look at the camera"},
    )


def _kiosk_page(browser, web_server, token):
    """Open the kiosk page with `token` in a fresh context of `browser` (close the context after)."""
    context = browser.new_context(viewport={"width": 1024, "height": 700})
    context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
    page = context.new_page()
    page.goto(f"{web_server}/kiosk/")
    return context, page


@pytest.mark.django_db(transaction=True)
def test_explicit_check_in_and_out_and_automatic_pass_by(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """Explicit kiosk: Jerry taps "Check in" (an entry, shown with his employee id, the time and a beep),
    then "Check out" comes preselected and is confirmed by itself after its seconds (an exit). Automatic
    kiosk (30 min minimum): Jerry passing by 10 minutes after an entry is told "already checked in at
    HH:MM" and nothing is recorded. Revoked, that kiosk shows one screen without buttons. A face not
    recognised is offered a PIN: Mindy checks in by PIN (marked "pin"); 3 wrong PINs lock Ben's. Once
    the scene is empty the idle prompt returns."""
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    hr = UserFactory(username="hr-e2e", groups=["HR"], is_staff=True)
    ids = enrol_through_worker(celebrity_dir, ENROLLED, photos_each=PHOTOS_EACH, by=hr)
    jerry = ids["jerry_seinfeld"]
    video = write_y4m(sorted((celebrity_dir / "val" / "jerry_seinfeld").glob("*.jpg"))[0], tmp_path / "j.y4m")
    stranger = write_y4m(sorted((celebrity_dir / "val" / "madonna").glob("*.jpg"))[0], tmp_path / "m.y4m")
    desk, token = kiosk_register(name="Desk")
    Kiosk.objects.filter(pk=desk.pk).update(decision=Kiosk.Decision.EXPLICIT, choice_confirm_seconds=2)

    # One Chromium per fake camera (Jerry's photo, then a stranger's); each kiosk screen below opens in
    # a fresh context, as a freshly started kiosk browser would.
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, video=video)

        # Check in by a tap.
        context, page = _kiosk_page(browser, web_server, token)
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
        context.close()
        assert list(AttendanceEvent.objects.values_list("person_id", "kind")) == [(jerry, "in")]

        # Check out: preselected from the entry, confirmed without a tap.
        context, page = _kiosk_page(browser, web_server, token)
        expect(page.locator("body")).to_have_attribute("data-state", "choosing", timeout=60_000)
        expect(page.locator("#choices button[data-kind='out']")).to_have_attribute("aria-pressed", "true")
        page.screenshot(path=str(tmp_path / "explicit-choosing-out.png"))
        expect(page.locator("#message")).to_contain_text("Checked out at", timeout=10_000)
        page.screenshot(path=str(tmp_path / "explicit-checked-out.png"))
        context.close()
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
        context, page = _kiosk_page(browser, web_server, door_token)
        expect(page.locator("#message")).to_have_text(
            f"Jerry, you are already checked in at {timezone.localtime(entry_at):%H:%M}", timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "automatic-pass-by.png"))
        context.close()
        assert list(AttendanceEvent.objects.values_list("kind", flat=True)) == ["in"]
        assert CheckinAttempt.objects.filter(kiosk=door, outcome=CheckinAttempt.Outcome.ALREADY).exists()

        # The door kiosk revoked: one consistent screen, no buttons.
        Kiosk.objects.filter(pk=door.pk).update(is_active=False)
        context, page = _kiosk_page(browser, web_server, door_token)
        expect(page.locator("#message")).to_have_text("This kiosk has been revoked", timeout=30_000)
        expect(page.locator("#detail")).to_contain_text("It no longer records anything.")
        expect(page.locator("#btn-in")).to_be_hidden()
        expect(page.locator("#btn-out")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "revoked.png"))
        browser.close()

        # PIN fallback at a new kiosk, for a face that is not recognised (someone never enrolled).
        gate, gate_token = kiosk_register(name="Gate")
        mindy, ben = Person.objects.get(pk=ids["mindy_kaling"]), Person.objects.get(pk=ids["ben_afflek"])
        kiosk_pin_set(person=mindy, pin="2468")
        kiosk_pin_set(person=ben, pin="1357")
        browser = launch_chromium(playwright, video=stranger)
        context, page = _kiosk_page(browser, web_server, gate_token)
        # "Not recognised", with a hint when the face is small in the frame (this photo's is).
        expect(page.locator("#message")).to_contain_text("Not recognised", timeout=60_000)
        expect(page.locator("#btn-pin")).to_be_visible()
        page.click("#btn-pin")
        expect(page.locator("#pin-pad")).to_be_visible()
        page.fill("#pin-employee", mindy.employee_id)
        page.click("#pin-code")
        for digit in "2468":
            page.click(f"#pin-pad [data-digit='{digit}']")
        page.screenshot(path=str(tmp_path / "pin-pad.png"))
        page.click("#pin-ok")
        expect(page.locator("#message")).to_contain_text("Checked in at", timeout=10_000)
        expect(page.locator("#detail")).to_contain_text(f"Mindy · {mindy.employee_id} · ")
        page.screenshot(path=str(tmp_path / "pin-checked-in.png"))
        punch = AttendanceEvent.objects.get(person=mindy)
        assert punch.source == "pin" and punch.attempt.by_pin and punch.attempt.frame

        # Three wrong PINs for Ben: refused twice, then locked; nothing recorded. A fresh kiosk page (the
        # one above holds Mindy's entry on screen for a few seconds) offers the PIN for the stranger too.
        context.close()
        context, page = _kiosk_page(browser, web_server, gate_token)
        expect(page.locator("#btn-pin")).to_be_visible(timeout=60_000)
        page.click("#btn-pin")
        page.fill("#pin-employee", ben.employee_id)
        for attempt in range(3):
            page.fill("#pin-code", "0000")
            page.click("#pin-ok")
            if attempt < 2:
                expect(page.locator("#message")).to_have_text(
                    "Employee id or PIN not accepted: please try again or see HR"
                )
        expect(page.locator("#message")).to_contain_text("Too many wrong PINs: the PIN is locked until")
        expect(page.locator("#pin-pad")).to_be_hidden()
        page.screenshot(path=str(tmp_path / "pin-locked.png"))
        context.close()
        assert not AttendanceEvent.objects.filter(person=ben).exists()
        assert KioskPin.objects.get(person=ben).locked_until is not None

        # The idle prompt returns once the scene is empty. The fake camera shows one still photo, so after
        # a real "Not recognised" the empty scene is staged by answering every later frame "no face".
        context, page = _kiosk_page(browser, web_server, gate_token)
        # "Not recognised", with a hint when the face is small in the frame (this photo's is).
        expect(page.locator("#message")).to_contain_text("Not recognised", timeout=60_000)
        page.route("**/api/v1/checkins/", _answer_pending)
        page.route("**/api/v1/checkins/*-*/", _answer_no_face)
        expect(page.locator("body")).to_have_attribute("data-state", "idle", timeout=15_000)
        expect(page.locator("#message")).to_have_text("Look at the camera to check in or out")
        page.screenshot(path=str(tmp_path / "idle-again.png"))
        browser.close()
    print(f"screenshots in {tmp_path}")
