"""The check-in pages: the kiosk screen and kiosk registration."""

import re
from pathlib import Path

import pytest
from django.core.cache import cache

from attendance.checkin.services import kiosk_token_hash
from attendance.models import Kiosk
from tests.factories import UserFactory
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db


def test_kiosk_page_needs_no_login_and_carries_its_config(client):
    """/kiosk/ is served to anonymous browsers with the API address and the busy timeout."""
    response = client.get("/kiosk/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="kiosk-config"' in html and '"checkinUrl": "/api/v1/checkins/"' in html
    assert "kiosk/kiosk.js" in html
    assert 'role="status"' in html


def test_register_page_needs_a_staff_login(client):
    """Anonymous users are sent to log in; a manager without the kiosk permission gets 403."""
    assert client.get("/kiosk/register/").status_code == 302
    client.force_login(UserFactory(groups=["Managers"]))
    assert client.get("/kiosk/register/").status_code == 403


def test_hr_registers_a_kiosk_and_its_token_works(client):
    """HR registers a browser: the token is given once, only its hash is stored, and it works."""
    hr = UserFactory(groups=["HR"], is_staff=True)
    client.force_login(hr)
    response = client.post("/kiosk/register/", {"name": "Front door", "location": "Lobby"})
    assert response.status_code == 200
    token = re.search(
        r'<script id="kiosk-token" type="application/json">"([^"]+)"', response.content.decode()
    )[1]
    kiosk = Kiosk.objects.get(name="Front door")
    assert kiosk.token_hash == kiosk_token_hash(token) and token not in kiosk.token_hash
    assert kiosk.created_by == hr and kiosk.is_active
    assert response["Cache-Control"].startswith("max-age=0")
    client.logout()
    cache.clear()
    from django.core.files.uploadedfile import SimpleUploadedFile

    posted = client.post(
        "/api/v1/checkins/",
        {"frame": SimpleUploadedFile("f.jpg", plain_jpeg((320, 240)), "image/jpeg")},
        HTTP_AUTHORIZATION=f"Kiosk {token}",
    )
    assert posted.status_code == 202


def test_registering_a_kiosk_logs_the_hr_user_out_of_that_browser(client):
    """After registering, the browser is a kiosk, not an HR browser: the session is gone and it says so."""
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    response = client.post("/kiosk/register/", {"name": "Front door"})
    assert response.status_code == 200
    assert "You are logged out of this browser" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/kiosk/register/").status_code == 302  # back to the login page
    assert client.get("/admin/").status_code == 302


def test_kiosk_registration_is_linked_from_the_home_page_and_the_kiosk_admin(client):
    """HR finds "Register a kiosk" on the home page and on the admin's kiosk list."""
    client.force_login(UserFactory(groups=["HR"], is_staff=True))
    assert 'href="/kiosk/register/"' in client.get("/").content.decode()
    admin_list = client.get("/admin/attendance/kiosk/").content.decode()
    assert 'id="register-kiosk" href="/kiosk/register/"' in admin_list


def test_the_unregistered_and_revoked_screens_say_one_thing_and_hide_the_buttons(client):
    """The help under a refused kiosk does not claim "not registered" (it may be revoked); the page's style
    hides the buttons on both screens, and the revoked screen has its own explanation."""
    html = client.get("/kiosk/").content.decode()
    help_text = re.search(r'<p id="unregistered"[^>]*>(.*?)</p>', html, re.S)[1]
    assert "not registered" not in help_text and "a staff member registers it" in help_text
    assert '"revoked_detail": "It no longer records anything.' in html
    from django.contrib.staticfiles import finders

    style = Path(finders.find("kiosk/kiosk.css")).read_text(encoding="utf-8")
    assert 'body[data-state="unauthorised"] #actions, body[data-state="unregistered"] #actions' in style
