"""Login lockout on every door: the site's /login/, the admin's, the report API's HTTP Basic (issue 13: 7).

The attack: 60 wrong passwords on /login/, 30 on /admin/login/, 200 on HTTP Basic, then the right
password worked at once. Now the fifth wrong password locks the account (the right password too),
with a clear message; an administrator unlocks the account in the admin.
"""

import base64

import pytest
from axes.models import AccessAttempt
from django.test import Client

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pw-for-tests"


def basic(username: str, password: str) -> dict:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {token}"}


def post_login(client: Client, url: str, username: str, password: str):
    return client.post(url, {"username": username, "password": password, "next": "/"})


@pytest.mark.parametrize("url", ["/login/", "/admin/login/"])
def test_repeated_wrong_passwords_lock_the_login_page_even_for_the_right_password(client, settings, url):
    """After the failure limit, the right password is refused too, with a 429 saying what to do."""
    UserFactory(username="hr", is_staff=True, groups=["HR"])
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert post_login(client, url, "hr", "wrong").status_code == 200  # the form again, with its error
    assert post_login(client, url, "hr", "wrong").status_code == 429  # the limit: locked
    response = post_login(client, url, "hr", PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed logins" in text and "ask an administrator" in text
    assert "_auth_user_id" not in client.session


def test_http_basic_on_the_report_api_is_locked_too(client, settings):
    """The report API's HTTP Basic counts failures; once locked, the right password gets 429 JSON."""
    UserFactory(username="integrator", groups=["Managers"])
    url = "/api/v1/reports/today/"
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.get(url, **basic("integrator", "wrong")).status_code in (401, 403)
    client.get(url, **basic("integrator", "wrong"))
    response = client.get(url, **basic("integrator", PASSWORD))
    assert response.status_code == 429
    assert "Too many failed logins" in response.json()["detail"]


def test_right_password_before_the_limit_still_works_and_resets_the_count(client, settings):
    """A few typos then the right password log in, and the failures are forgotten."""
    UserFactory(username="manager", groups=["Managers"])
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        post_login(client, "/login/", "manager", "wrong")
    response = post_login(client, "/login/", "manager", PASSWORD)
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username="manager", failures_since_start__gt=0).exists()


def test_an_administrator_unlocks_a_locked_account_in_the_admin(client, admin_client, settings):
    """Deleting the access attempt in the admin lets the right password in again at once."""
    UserFactory(username="manager", groups=["Managers"])
    for _ in range(settings.AXES_FAILURE_LIMIT):
        post_login(client, "/login/", "manager", "wrong")
    assert post_login(client, "/login/", "manager", PASSWORD).status_code == 429
    attempt = AccessAttempt.objects.get(username="manager")
    listing = admin_client.get("/admin/axes/accessattempt/")
    assert listing.status_code == 200 and "manager" in listing.content.decode()
    deleted = admin_client.post(f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert post_login(client, "/login/", "manager", PASSWORD).status_code == 302
