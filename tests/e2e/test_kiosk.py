"""The kiosk end to end: real Chromium with a fake camera fed from real photos, the real worker."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from attendance.models import AttendanceEvent, CheckinAttempt
from people.models import FaceImage
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ENROLLED = ["ben_afflek", "elton_john", "jerry_seinfeld", "mindy_kaling"]
STRANGER = "madonna"
PHOTOS_EACH = 8
CHROMIUM = "/usr/bin/chromium"


def write_y4m(photo: Path, path: Path, *, frames: int = 10, size=(640, 480)) -> Path:
    """Write a Y4M video (what Chromium's fake camera reads) showing `photo` centred on grey."""
    width, height = size
    image = Image.open(photo).convert("RGB")
    image.thumbnail((width, height))
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    ycbcr = np.asarray(canvas.convert("YCbCr"))
    y = ycbcr[:, :, 0]
    cb = ycbcr[:, :, 1].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    cr = ycbcr[:, :, 2].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
    frame = b"FRAME\n" + y.tobytes() + cb.tobytes() + cr.tobytes()
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def enrol_celebrities(celebrity_dir: Path, hr) -> dict[str, int]:
    """Enrol the ENROLLED people through the enrolment services and the real worker; train a version."""
    from people.services import face_image_add, person_create
    from recognition.recogniser import recogniser_train

    ids = {}
    for name in ENROLLED:
        person = person_create(
            employee_id=name, full_name=name.replace("_", " ").title(), consent_recorded_by=hr
        )
        ids[name] = person.pk
        for photo in sorted((celebrity_dir / "train" / name).glob("*.jpg"))[:PHOTOS_EACH]:
            upload = SimpleUploadedFile(photo.name, photo.read_bytes(), "image/jpeg")
            face_image_add(person=person, upload=upload, source=FaceImage.Source.UPLOAD, uploaded_by=hr)
    wait_for(
        lambda: (
            not FaceImage.objects.filter(
                status__in=[FaceImage.Status.PENDING, FaceImage.Status.PROCESSING]
            ).exists()
        ),
        timeout=300,
        what="the worker to process the enrolment photos",
    )
    version = recogniser_train(trigger="kiosk e2e test")
    assert version.is_active, version.error
    return ids


@pytest.fixture
def web_server(media_root, tmp_path):
    """Serve the site from a real gunicorn process on the test database (static files via WhiteNoise)."""
    import urllib.request

    from tests.fixtures.services import REPO, free_port, process_env, stop_process

    port = free_port()
    # DEBUG lets WhiteNoise serve static files from the source folders without collectstatic.
    env = process_env(media_root, tmp_path / "web-var", DEBUG="true", KIOSK_BUSY_TIMEOUT_SECONDS="3")
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "attendance_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/kiosk/", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, what="the web server")
        yield url
    finally:
        stop_process(process)


def launch(playwright, video: Path):
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )


@pytest.mark.django_db(transaction=True)
def test_kiosk_checks_in_the_enrolled_person_and_not_a_stranger(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """Chromium sees an enrolled person: an entry lands in PostgreSQL; a stranger: "Not recognised"."""
    from playwright.sync_api import expect, sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    hr = UserFactory(username="hr-e2e", groups=["HR"], is_staff=True)
    ids = enrol_celebrities(celebrity_dir, hr)
    known_video = write_y4m(
        sorted((celebrity_dir / "val" / "jerry_seinfeld").glob("*.jpg"))[0], tmp_path / "jerry.y4m"
    )
    stranger_video = write_y4m(
        sorted((celebrity_dir / "val" / STRANGER).glob("*.jpg"))[0], tmp_path / "stranger.y4m"
    )

    with sync_playwright() as playwright:
        browser = launch(playwright, known_video)
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

        browser = launch(playwright, stranger_video)
        context = browser.new_context(viewport={"width": 1024, "height": 700})
        context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
        page = context.new_page()
        page.goto(f"{web_server}/kiosk/")
        expect(page.locator("#message")).to_have_text(
            "Not recognised: please try again or see HR", timeout=60_000
        )
        page.screenshot(path=str(tmp_path / "kiosk-stranger.png"))
        time.sleep(2)  # a few more frames of the stranger
        browser.close()

    assert AttendanceEvent.objects.count() == 1
    unknown = CheckinAttempt.objects.filter(outcome=CheckinAttempt.Outcome.UNKNOWN)
    assert unknown.exists() and not unknown.exclude(person=None).exists()
    print(f"screenshots in {tmp_path}")


@pytest.mark.django_db(transaction=True)
def test_kiosk_says_system_busy_when_no_worker_takes_frames(
    celebrity_dir, celery_worker_process, web_server, tmp_path, monkeypatch
):
    """With no recognition consumer the page says "System busy" after its timeout, and records nothing."""
    from playwright.sync_api import expect, sync_playwright

    from attendance.services import kiosk_register
    from attendance_site.celery import app

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _kiosk, token = kiosk_register(name="Side door")
    video = write_y4m(sorted((celebrity_dir / "val" / STRANGER).glob("*.jpg"))[1], tmp_path / "face.y4m")
    assert app.control.cancel_consumer("recognition", reply=True, timeout=5)
    try:
        with sync_playwright() as playwright:
            browser = launch(playwright, video)
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
        app.control.add_consumer("recognition", reply=True, timeout=5)
    assert not AttendanceEvent.objects.exists()
