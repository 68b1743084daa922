"""Webcam enrolment in a real Chromium: a fake camera fed from a real photo, the real worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from people.models import FaceImage
from tests.factories import UserFactory
from tests.people.conftest import wait_for
from tests.people.factories import ConsentedPersonFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]
CHROMIUM = "/usr/bin/chromium"


def write_y4m(photo: Path, path: Path, *, size=(640, 480), frames: int = 5) -> Path:
    """Write the Y4M video Chromium's fake camera plays: `photo` centred on grey."""
    width, height = size
    image = Image.open(photo).convert("RGB")
    image.thumbnail((width, height))
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    ycbcr = np.asarray(canvas.convert("YCbCr"))
    planes = [ycbcr[:, :, 0]] + [
        ycbcr[:, :, c].reshape(height // 2, 2, width // 2, 2).mean(axis=(1, 3)).round().astype(np.uint8)
        for c in (1, 2)
    ]
    frame = b"FRAME\n" + b"".join(p.tobytes() for p in planes)
    path.write_bytes(f"YUV4MPEG2 W{width} H{height} F10:1 Ip A1:1 C420jpeg\n".encode() + frame * frames)
    return path


@pytest.fixture
def web_url(media_root, tmp_path):
    """Serve the site from a real gunicorn process on the test database (pytest-django's live server
    cannot run with MEDIA_URL unset, which this site needs: face photos have no public URL)."""
    import subprocess
    import sys
    import urllib.request

    from tests.fixtures.services import REPO, free_port, process_env, stop_process

    port = free_port()
    env = process_env(media_root, tmp_path / "web-var", DEBUG="true")  # DEBUG: WhiteNoise serves static/
    log = (tmp_path / "web.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "attendance_site.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--threads", "4"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return urllib.request.urlopen(f"{url}/admin/login/", timeout=2).status == 200
        except OSError:
            return False

    try:
        wait_for(up, timeout=60, what="the web server")
        yield url
    finally:
        stop_process(process)


def test_webcam_page_takes_guided_shots_and_shows_each_result(
    celery_worker_process, web_url, celebrity_dir, tmp_path
):
    """HR takes the guided shots in the browser; each is processed by the worker and shown as accepted."""
    from playwright.sync_api import sync_playwright

    photos = sorted((celebrity_dir / "train" / "ben_afflek").glob("*.jpg"))
    largest = max(photos, key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    video = write_y4m(largest, tmp_path / "camera.y4m")
    UserFactory(username="hr-webcam", is_staff=True, groups=["HR"])
    person = ConsentedPersonFactory(full_name="Webcam Person")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
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
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{web_url}/admin/login/?next=/enrolment/people/{person.pk}/webcam/")
            page.fill("#id_username", "hr-webcam")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_selector("#webcam-capture:not([disabled])", timeout=30_000)
            assert "straight" in page.inner_text("#webcam-instruction").lower()
            for index in range(2):
                page.click("#webcam-capture")
                page.wait_for_function(
                    f"document.querySelectorAll('#webcam-shots li')[{index}].dataset.photoId", timeout=30_000
                )
            page.wait_for_function(
                "Array.from(document.querySelectorAll('#webcam-shots li')).slice(0, 2)"
                ".every(li => li.dataset.result === 'accepted' || li.dataset.result === 'rejected')",
                timeout=180_000,
            )
            page.wait_for_function(
                "Array.from(document.querySelectorAll('#webcam-shots li img')).every(i => i.complete)"
            )
            page.screenshot(path=str(tmp_path / "webcam.png"), full_page=True)
            results = page.locator("#webcam-shots .shot-result").all_inner_texts()
            page.click("text=Done")
            page.wait_for_url(f"**/admin/people/person/{person.pk}/change/")
            page.wait_for_function(
                "(document.getElementById('enrolment-state')?.textContent || '').includes('2 accepted')",
                timeout=30_000,
            )
            page.wait_for_function(
                "Array.from(document.querySelectorAll('img.face-thumb')).every(i => i.complete)"
            )
            statuses = page.locator(".photo-status").all_inner_texts()
            page.screenshot(path=str(tmp_path / "person.png"), full_page=True)
        finally:
            browser.close()
    images = list(FaceImage.objects.filter(person=person).order_by("created_at"))
    assert [i.source for i in images] == ["webcam", "webcam"]
    assert [i.status for i in images] == ["accepted", "accepted"], [i.rejection_reason for i in images]
    assert results[:2] == ["accepted", "accepted"]
    assert statuses == ["Accepted", "Accepted"]
