"""The check-in API: kiosk tokens, bad frames, throttling, results, and the schema."""

import datetime as dt
import re

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from attendance.checkin import services
from attendance.models import CheckinAttempt
from tests.factories import KioskFactory, PersonFactory, UserFactory
from tests.fakes import fake_seen
from tests.support.images import plain_jpeg

pytestmark = pytest.mark.django_db
URL = "/api/v1/checkins/"


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def post_frame(client, kiosk=None, data=None, token=None, **fields):
    headers = {}
    if token or kiosk:
        headers["HTTP_AUTHORIZATION"] = f"Kiosk {token or kiosk.token}"
    payload = {
        "frame": SimpleUploadedFile(
            "frame.jpg", plain_jpeg((320, 240)) if data is None else data, "image/jpeg"
        )
    }
    payload.update(fields)
    return client.post(URL, payload, **headers)


def test_frame_is_accepted_with_an_attempt_id(client):
    """A valid frame from an active kiosk gets 202 with an attempt id and a status URL."""
    kiosk = KioskFactory()
    response = post_frame(client, kiosk, kind="in")
    assert response.status_code == 202
    body = response.json()
    attempt = CheckinAttempt.objects.get(pk=body["id"])
    assert (attempt.kiosk, attempt.state, attempt.requested_kind) == (kiosk, "pending", "in")
    assert body["status_url"] == f"{URL}{attempt.id}/" == response["Location"]


def test_result_is_read_back_by_its_kiosk(client):
    """GET on the attempt shows pending, then the outcome and the first name once recorded."""
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima")
    ids = [post_frame(client, kiosk).json()["id"] for _ in range(2)]
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    assert client.get(f"{URL}{ids[1]}/", **auth).json()["state"] == "pending"
    for attempt_id in ids:
        services.checkin_attempt_resolve(attempt_id=attempt_id, recognition=fake_seen(ana))
    body = client.get(f"{URL}{ids[1]}/", **auth).json()
    assert (body["state"], body["outcome"], body["first_name"], body["event_kind"]) == (
        "done",
        "checked_in",
        "Ana",
        "in",
    )
    assert "Checked in at" in body["message"]
    assert client.get(f"{URL}{ids[0]}/", **auth).json()["first_name"] is None  # not yet confirmed


def test_another_kiosk_cannot_read_the_attempt(client):
    """A kiosk reading another kiosk's attempt gets 404."""
    attempt_id = post_frame(client, KioskFactory()).json()["id"]
    other = KioskFactory()
    response = client.get(f"{URL}{attempt_id}/", HTTP_AUTHORIZATION=f"Kiosk {other.token}")
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("token", "status", "reason"),
    [(None, 401, "kiosk token is required"), ("not-a-token", 401, "Unknown kiosk token")],
)
def test_missing_or_unknown_token_is_refused(client, token, status, reason):
    """No token or a wrong token: 401 with a JSON reason, nothing stored."""
    response = post_frame(client, token=token)
    assert response.status_code == status
    assert reason in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Kiosk"
    assert not CheckinAttempt.objects.exists()


def test_revoked_kiosk_is_refused(client):
    """A revoked kiosk gets 403 with a JSON reason, for posting and for reading."""
    kiosk = KioskFactory()
    attempt_id = post_frame(client, kiosk).json()["id"]
    services.kiosk_revoke(kiosk=kiosk)
    response = post_frame(client, kiosk)
    assert response.status_code == 403
    assert "revoked" in response.json()["detail"]
    assert client.get(f"{URL}{attempt_id}/", HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}").status_code == 403
    assert CheckinAttempt.objects.count() == 1


def _truncated_jpeg() -> bytes:
    data = plain_jpeg((640, 480))
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"GIF89a this is not really an image", "not a readable image"),
        (b"%PDF-1.4 hello", "not a readable image"),
        (plain_jpeg((20, 20)), "each side must be"),
        ("truncated", "not a readable image"),
    ],
    ids=["empty", "gif-text", "pdf", "tiny", "truncated"],
)
def test_bad_frames_get_400_and_store_nothing(client, data, reason):
    """Empty, non-image, tiny and truncated frames: 400 with a JSON reason, no attempt stored."""
    if data == "truncated":
        data = _truncated_jpeg()
    response = post_frame(client, KioskFactory(), data=data)
    assert response.status_code == 400
    assert reason in response.json()["detail"]
    assert not CheckinAttempt.objects.exists()


def test_oversized_frame_gets_400(client, settings):
    """A frame larger than CHECKIN_FRAME_MAX_BYTES: 400 saying the limit, nothing stored."""
    settings.CHECKIN_FRAME_MAX_BYTES = 1000
    response = post_frame(
        client, KioskFactory(), data=plain_jpeg((640, 480), colour=(1, 2, 3)) + b"\0" * 2000
    )
    assert response.status_code == 400
    assert "1000" in response.json()["detail"]
    assert not CheckinAttempt.objects.exists()


def test_missing_frame_and_bad_kind_get_400(client):
    """A post without a frame, or with an unknown kind, is refused with the field named."""
    kiosk = KioskFactory()
    no_frame = client.post(URL, {"kind": "in"}, HTTP_AUTHORIZATION=f"Kiosk {kiosk.token}")
    assert no_frame.status_code == 400 and no_frame.json()["detail"].startswith("frame:")
    bad_kind = post_frame(client, kiosk, kind="lunch")
    assert bad_kind.status_code == 400 and bad_kind.json()["detail"].startswith("kind:")
    assert not CheckinAttempt.objects.exists()


def test_frames_beyond_the_throttle_get_429(client, settings):
    """More frames than KIOSK_FRAME_THROTTLE from one kiosk: 429; another kiosk is unaffected."""
    settings.KIOSK_FRAME_THROTTLE = "2/min"
    busy, other = KioskFactory(), KioskFactory()
    codes = [post_frame(client, busy).status_code for _ in range(3)]
    assert codes == [202, 202, 429]
    assert post_frame(client, other).status_code == 202
    assert CheckinAttempt.objects.filter(kiosk=busy).count() == 2


def test_schema_documents_the_checkin_api(client):
    """The OpenAPI schema served by the site lists both check-in operations and the kiosk token."""
    client.force_login(UserFactory(groups=["HR"]))
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    assert "post" in schema["paths"]["/api/v1/checkins/"]
    assert "get" in schema["paths"]["/api/v1/checkins/{attempt_id}/"]
    assert "kioskToken" in schema["components"]["securitySchemes"]


def test_api_docs_page_is_served_without_a_cdn(client):
    """/api/docs/ renders Swagger UI from the site's own static files (it works offline)."""
    client.force_login(UserFactory(groups=["HR"]))  # the docs need a signed-in user
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    assert "cdn." not in html and "unpkg" not in html
    # Issue 16: a language for screen readers, and the set-up script is a file (no inline script).
    assert '<html lang="en">' in html
    assert re.findall(r"<script>", html) == [] and 'src="/api/docs/?script=' in html
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


def test_api_docs_page_runs_under_the_csp_with_no_inline_script(client):
    """/api/docs/ carries the site's CSP (it was exempt: issue 13) and holds no inline script: its
    start-up script comes from the same URL (?script=), as JavaScript that points at the schema."""
    import re

    client.force_login(UserFactory(groups=["HR"]))
    response = client.get("/api/docs/")
    policy = response.headers["Content-Security-Policy"]
    script_src = policy.split("script-src")[1].split(";")[0]
    assert "'self'" in script_src and "unsafe-inline" not in script_src
    html = response.content.decode()
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts), scripts
    start = next(attrs for attrs, _ in scripts if "script=" in attrs)
    url = re.search(r'src="([^"]+)"', start).group(1).replace("&amp;", "&")
    script = client.get(url)
    assert script.status_code == 200 and script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode() and "SwaggerUIBundle" in script.content.decode()


def test_a_pending_attempt_past_its_wait_reads_as_expired_with_no_worker_or_scheduler(client, settings):
    """With no worker and no scheduler to expire it, the kiosk's own poll sees the attempt expire."""
    settings.CHECKIN_MAX_PENDING_SECONDS = 5
    kiosk = KioskFactory()
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    waiting, late = (post_frame(client, kiosk).json()["id"] for _ in range(2))
    CheckinAttempt.objects.filter(pk=late).update(created_at=timezone.now() - dt.timedelta(seconds=6))
    assert client.get(f"{URL}{waiting}/", **auth).json()["state"] == "pending"
    body = client.get(f"{URL}{late}/", **auth).json()
    assert body["state"] == "expired"
    assert CheckinAttempt.objects.get(pk=late).state == "expired"
    assert CheckinAttempt.objects.get(pk=waiting).state == "pending"  # only the late one is touched
