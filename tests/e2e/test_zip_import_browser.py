"""The zip import behaves as its page says, both choices, in Chromium with the real worker and models.

"Refuse the whole zip": one photo without a face and nothing is saved, the page updates itself while
the worker checks and then lists the photo with the reason; a zip of good photos is saved, its people
named from people.csv. "Keep the good photos": everything is saved and the worker rejects only the
photo without a face.
"""

from __future__ import annotations

import zipfile

import pytest

from people.models import ConsentText, Department, FaceImage, Person, ZipImport
from tests.factories import UserFactory
from tests.fixtures.browser import launch_chromium
from tests.fixtures.services import wait_for
from tests.support.images import plain_jpeg

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

# 5-celebrity photos the worker accepts (one frontal face of at least 80 px); most others in the set
# are rejected for their size or a turned head, which would refuse every zip.
GOOD_PHOTOS = {
    "E-1": [
        "ben_afflek/httpwwwallposterscomimagesPostersPFjpg.jpg",
        "ben_afflek/httpwwwhillsindcomstorebenjpg.jpg",
    ],
    "E-2": ["elton_john/httpmediacacheecpinimgcomxffeffbcefjpg.jpg"],
}
CSV = "employee_id,first_name,last_name,department\nE-1,Ben,Affleck,Film\nE-2,Elton,John,Music\n"


def write_zip(path, entries: dict[str, bytes | str]):
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return path


def test_zip_import_does_what_its_page_says_for_both_choices(
    celery_worker_process, web_server, celebrity_dir, tmp_path, monkeypatch
):
    from playwright.sync_api import expect, sync_playwright

    monkeypatch.setenv(
        "DJANGO_ALLOW_ASYNC_UNSAFE", "true"
    )  # the ORM calls below run beside Playwright's loop
    ConsentText.objects.get_or_create(version="2025-1", defaults={"text": "We use your face."})
    UserFactory(username="hr-zip", is_staff=True, groups=["HR"])
    good = {"people.csv": CSV}
    for folder, names in GOOD_PHOTOS.items():
        for index, name in enumerate(names):
            good[f"{folder}/{index}.jpg"] = (celebrity_dir / "train" / name).read_bytes()
    with_bad = write_zip(tmp_path / "with-bad.zip", {**good, "E-2/no-face.jpg": plain_jpeg((240, 240))})
    all_good = write_zip(tmp_path / "all-good.zip", good)

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"{web_server}/admin/login/?next=/admin/people/person/import-zip/")
            page.fill("#id_username", "hr-zip")
            page.fill("#id_password", "pw-for-tests")
            page.click("input[type=submit]")

            def upload(archive, *, keep: bool) -> None:
                page.goto(f"{web_server}/admin/people/person/import-zip/")
                page.set_input_files("#id_archive", str(archive))
                page.check("#id_mode_1" if keep else "#id_mode_0")
                page.check("#id_create_missing")
                page.check("#id_create_departments")
                page.check("#id_consent_confirmed")
                page.click("#zip-form input[type=submit]")

            # 1. Refuse the whole zip (the default): one photo has no face, so nothing is saved.
            page.goto(f"{web_server}/admin/people/person/import-zip/")
            expect(page.locator("#id_mode_0")).to_be_checked()
            expect(page.locator("#zip-promise")).to_contain_text("nothing is saved")
            upload(with_bad, keep=False)
            expect(page.locator("#zip-import-state")).to_contain_text("Checking the photos", timeout=30_000)
            expect(page.locator("#zip-import-state")).to_have_text(
                "Refused: nothing was saved", timeout=300_000
            )
            expect(page.locator("#zip-import-unusable")).to_contain_text("E-2/no-face.jpg")
            expect(page.locator("#zip-import-outcome")).to_contain_text("1 of 4 photos have no usable face")
            expect(page.locator(".messagelist")).to_have_count(0)  # "being checked" is gone with the result
            page.screenshot(path=str(tmp_path / "refused.png"), full_page=True)
            assert not Person.objects.exists() and not FaceImage.objects.exists()
            assert not Department.objects.exists()

            # 2. The same zip, keeping the good photos: all saved, the worker rejects the one without a face.
            upload(with_bad, keep=True)
            expect(page.locator(".messagelist")).to_contain_text("rejected on its own")
            unfinished = [FaceImage.Status.PENDING, FaceImage.Status.PROCESSING]
            wait_for(
                lambda: (
                    FaceImage.objects.count() == 4
                    and not FaceImage.objects.filter(status__in=unfinished).exists()
                ),
                timeout=300,
                what="the worker to check the kept photos",
            )
            rejected = FaceImage.objects.get(status=FaceImage.Status.REJECTED)
            assert rejected.person.employee_id == "E-2" and rejected.rejection_reason
            assert FaceImage.objects.filter(status=FaceImage.Status.ACCEPTED).count() == 3
            assert Person.objects.get(employee_id="E-1").full_name == "Ben Affleck"
            assert Person.objects.get(employee_id="E-2").department.name == "Music"

            # 3. Refuse the whole zip again, with good photos only: every photo checked, then all saved.
            Person.objects.all().delete()
            upload(all_good, keep=False)
            expect(page.locator("#zip-import-state")).to_have_text("Saved", timeout=300_000)
            expect(page.locator("#zip-import-created")).to_contain_text("Ben Affleck")
            expect(page.locator("#zip-import-created")).to_contain_text("Elton John (E-2, Music)")
            page.screenshot(path=str(tmp_path / "saved.png"), full_page=True)
        finally:
            browser.close()
    assert list(ZipImport.objects.order_by("pk").values_list("status", flat=True)) == ["refused", "saved"]
    saved = FaceImage.objects.filter(person__employee_id__in=["E-1", "E-2"])
    assert saved.count() == 3 and all(p.status == FaceImage.Status.ACCEPTED for p in saved)
