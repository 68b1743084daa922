"""Webcam enrolment in a real Chromium: a fake camera fed from a real photo, the real worker."""

from __future__ import annotations

import pytest
from PIL import Image

from people.models import FaceImage
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium, write_y4m
from tests.people.factories import ConsentedPersonFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_webcam_page_takes_guided_shots_and_shows_each_result(
    celery_worker_process, web_server, celebrity_dir, tmp_path
):
    """HR takes the guided shots in the browser; each is processed by the worker and shown as accepted."""
    from playwright.sync_api import sync_playwright

    photos = sorted((celebrity_dir / "train" / "ben_afflek").glob("*.jpg"))
    largest = max(photos, key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    video = write_y4m(largest, tmp_path / "camera.y4m")
    UserFactory(username="hr-webcam", is_staff=True, groups=["HR"])
    person = ConsentedPersonFactory(full_name="Webcam Person")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, video=video)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(f"{web_server}/admin/login/?next=/enrolment/people/{person.pk}/webcam/")
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
