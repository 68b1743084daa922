"""The kiosk end to end: real Chromium with a fake camera fed from real photos, the real worker."""

from __future__ import annotations

import pytest
from celery.utils.nodenames import host_format
from django.conf import settings
from django.utils import timezone

from attendance.models import AttendanceEvent, CheckinAttempt, Kiosk
from recognition.models import RecogniserVersion
from recognition.services import recogniser_version_people
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium, write_y4m
from tests.fixtures.services import enrol_through_worker, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "mindy_kaling"]
STRANGER = "madonna"
PHOTOS_EACH = 8


@pytest.mark.django_db(transaction=True)
def test_kiosk_checks_in_the_enrolled_person_and_not_a_stranger(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """Chromium sees an enrolled person: an entry lands in PostgreSQL; a stranger: "Not recognised"; a
    still photo at a kiosk that asks for a head turn: the challenge on screen, then a failed check."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    hr = UserFactory(username="hr-e2e", groups=["HR"], is_staff=True)
    ids = enrol_through_worker(celebrity_dir, ENROLLED, photos_each=PHOTOS_EACH, by=hr)
    known_video = write_y4m(
        sorted((celebrity_dir / "val" / "jerry_seinfeld").glob("*.jpg"))[0], tmp_path / "jerry.y4m"
    )
    stranger_video = write_y4m(
        sorted((celebrity_dir / "val" / STRANGER).glob("*.jpg"))[0], tmp_path / "stranger.y4m"
    )

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, video=known_video)
        page = browser.new_page(viewport={"width": 1024, "height": 700})
        # Register this browser as a kiosk the way HR does: log in, name it, open the kiosk.
        page.goto(f"{web_server}/admin/login/?next=/kiosk/register/")
        page.fill("#id_username", "hr-e2e")
        page.fill("#id_password", "pw-for-tests")
        page.keyboard.press("Enter")
        page.fill("#id_name", "Front door")
        page.keyboard.press("Enter")
        expect(page.locator("#saved")).to_have_text("The kiosk token is saved in this browser.")
        token = page.evaluate("localStorage.getItem('attendance.kioskToken')")
        page.click("#open")
        expect(page.locator("#message")).to_contain_text("Checked in at", timeout=90_000)
        page.screenshot(path=str(tmp_path / "kiosk-checked-in.png"))
        message = page.locator("#message").inner_text()
        browser.close()

        event = AttendanceEvent.objects.get()
        assert (event.person_id, event.kind, event.source) == (ids["jerry_seinfeld"], "in", "kiosk")
        assert event.kiosk.name == "Front door"
        assert message.endswith(f"Jerry. Checked in at {timezone.localtime(event.timestamp):%H:%M}")
        assert event.attempt.recogniser_version_id is not None and event.attempt.distance is not None

        stranger_since = timezone.now()
        browser = launch_chromium(playwright, video=stranger_video)
        context = browser.new_context(viewport={"width": 1024, "height": 700})
        context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
        page = context.new_page()
        page.goto(f"{web_server}/kiosk/")
        # "Not recognised", with a hint when the face is small in the frame (this photo's is).
        expect(page.locator("#message")).to_contain_text("Not recognised", timeout=60_000)
        page.screenshot(path=str(tmp_path / "kiosk-stranger.png"))
        # A few frames of the stranger (as many as the agreement looks back over) add up to nothing.
        stranger = CheckinAttempt.objects.filter(
            created_at__gte=stranger_since, state=CheckinAttempt.State.DONE
        )
        wait_for(
            lambda: stranger.count() >= settings.CHECKIN_AGREEMENT_M, timeout=30, what="the stranger's frames"
        )
        browser.close()

        assert AttendanceEvent.objects.count() == 1
        unknown = CheckinAttempt.objects.filter(outcome=CheckinAttempt.Outcome.UNKNOWN)
        assert unknown.exists() and not unknown.exclude(person=None).exists()

        # The same kiosk asking for a head turn every time: a still photo of an enrolled person gets the
        # challenge on screen (the server's instructions), sends its burst, and fails the check.
        Kiosk.objects.filter(name="Front door").update(liveness_mode=Kiosk.Liveness.ALWAYS)
        # Someone else than Jerry (checked in a moment ago), whom the recogniser was trained on.
        trained = recogniser_version_people(version_id=RecogniserVersion.objects.get(is_active=True).pk)
        other = next(name for name in ENROLLED if name != "jerry_seinfeld" and ids[name] in trained)
        still = sorted((celebrity_dir / "val" / other).glob("*.jpg"))[0]
        browser = launch_chromium(playwright, video=write_y4m(still, tmp_path / "still.y4m"))
        context = browser.new_context(viewport={"width": 1024, "height": 700})
        context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
        page = context.new_page()
        page.goto(f"{web_server}/kiosk/")
        expect(page.locator("#message")).to_contain_text("Turn your head slightly", timeout=60_000)
        expect(page.locator("body")).to_have_attribute("data-state", "challenge")
        page.screenshot(path=str(tmp_path / "kiosk-challenge.png"))
        expect(page.locator("#message")).to_have_text(
            "Could not confirm: please try again and turn your head as shown", timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "kiosk-liveness-failed.png"))
        browser.close()
    failed = CheckinAttempt.objects.get(outcome=CheckinAttempt.Outcome.LIVENESS_FAILED)
    assert failed.person_id == ids[other] and failed.challenge_answered_at is not None
    assert not AttendanceEvent.objects.filter(person_id=ids[other]).exists()
    print(f"screenshots in {tmp_path}")


@pytest.mark.django_db(transaction=True)
def test_kiosk_says_system_busy_when_no_worker_takes_frames(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """With no recognition consumer the page says "System busy" after its timeout, and records nothing."""
    from playwright.sync_api import expect, sync_playwright

    from attendance.checkin.services import kiosk_register
    from attendance_site.celery import app

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _kiosk, token = kiosk_register(name="Side door")
    video = write_y4m(sorted((celebrity_dir / "val" / STRANGER).glob("*.jpg"))[1], tmp_path / "face.y4m")
    # Addressed to the one worker, a control command returns on its reply (a broadcast waits out its timeout).
    worker = [host_format(celery_worker_process.hostname)]
    assert app.control.cancel_consumer("recognition", destination=worker, reply=True, timeout=5)
    try:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright, video=video)
            context = browser.new_context(viewport={"width": 1024, "height": 700})
            context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
            page = context.new_page()
            page.goto(f"{web_server}/kiosk/")
            expect(page.locator("#message")).to_have_text("System busy", timeout=30_000)
            page.screenshot(path=str(tmp_path / "kiosk-busy.png"))
            browser.close()
        states = set(CheckinAttempt.objects.values_list("state", flat=True))
        assert states == {CheckinAttempt.State.PENDING}  # the API answered; nothing took the frames
    finally:
        assert app.control.add_consumer("recognition", destination=worker, reply=True, timeout=5)
    assert not AttendanceEvent.objects.exists()
