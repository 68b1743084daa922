"""Webcam enrolment in a real Chromium: a fake camera fed from a real photo, the real worker."""

from __future__ import annotations

import pytest
from PIL import Image

from people.models import FaceImage
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium, write_y4m
from tests.people.factories import ConsentedPersonFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_webcam_page_accepts_the_straight_shot_and_asks_to_retake_an_unturned_one(
    celery_worker_process, web_server, celebrity_dir, tmp_path
):
    """HR takes guided shots of a still photo: the straight one is accepted, the "left" one sent back.

    The fake camera shows one photo, so the head never turns: the worker measures the same yaw as in
    the straight shot and asks for a retake, and the page says which shot to take again.
    """
    from playwright.sync_api import sync_playwright

    photos = sorted((celebrity_dir / "train" / "ben_afflek").glob("*.jpg"))
    largest = max(photos, key=lambda p: Image.open(p).size[0] * Image.open(p).size[1])
    video = write_y4m(largest, tmp_path / "camera.y4m")
    UserFactory(username="hr-webcam", is_staff=True, groups=["HR"])
    person = ConsentedPersonFactory(full_name="Webcam Person")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, video=video)
        try:
            # Playwright's wait_for_function evaluates its string with eval, which the site's
            # Content-Security-Policy forbids; tests/e2e/test_csp_browser.py checks the policy itself.
            page = browser.new_page(viewport={"width": 1200, "height": 900}, bypass_csp=True)
            page.goto(f"{web_server}/admin/login/?next=/enrolment/people/{person.pk}/webcam/")
            page.fill("#id_username", "hr-webcam")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")
            page.wait_for_selector("#webcam-capture:not([disabled])", timeout=30_000)
            assert "straight" in page.inner_text("#webcam-instruction").lower()

            def take(index: int, *, checked: bool) -> None:
                page.click("#webcam-capture")
                shot = f"document.querySelectorAll('#webcam-shots li')[{index}]"
                page.wait_for_function(f"{shot}.dataset.photoId", timeout=30_000)
                if checked:  # wait for the worker's answer
                    page.wait_for_function(
                        f"['accepted', 'rejected'].includes({shot}.dataset.result)", timeout=180_000
                    )

            # The straight shot is the reference the turned ones are measured against: checked first.
            take(0, checked=True)
            take(1, checked=True)
            page.wait_for_function(
                "Array.from(document.querySelectorAll('#webcam-shots li img')).every(i => i.complete)"
            )
            page.screenshot(path=str(tmp_path / "webcam.png"), full_page=True)
            results = page.locator("#webcam-shots .shot-result").all_inner_texts()
            for index in (2, 3, 4):  # the remaining shots, then the page names the one to retake
                take(index, checked=True)
            page.wait_for_function(
                "document.getElementById('webcam-instruction').textContent"
                ".startsWith('Retake: turn your head')",
                timeout=180_000,
            )
            instruction = page.inner_text("#webcam-instruction")
            page.click("text=Done")
            page.wait_for_url(f"**/admin/people/person/{person.pk}/change/")
            page.wait_for_function(
                "(document.getElementById('enrolment-state')?.textContent || '').includes('1 accepted')",
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
    assert [i.asked_pose for i in images] == ["straight", "left", "right", "up", "down"]
    assert images[0].status == "accepted", images[0].rejection_reason
    assert all(i.status == "rejected" and "Retake this shot" in i.rejection_reason for i in images[1:]), [
        i.rejection_reason for i in images
    ]
    assert results[0] == "accepted"
    assert results[1].startswith("rejected: Retake this shot: the head is turned 0° to the left")
    assert instruction.startswith("Retake: turn your head slightly to your left")
    assert statuses[0] == "Accepted" and set(statuses[1:]) == {"Rejected"}
