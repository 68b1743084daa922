"""/healthz: a live consumer for every queue, and no details for anonymous callers (issue 13: 4, 16)."""

import pytest
from django.conf import settings

from attendance_site.queues import Queue
from recognition.models import WorkerHeartbeat
from recognition.services import worker_heartbeat_record

pytestmark = pytest.mark.django_db


def beat(hostname: str, queues: list[str]) -> None:
    worker_heartbeat_record(hostname=hostname, queues=queues, pid=1, engine_ready=True)


@pytest.fixture(autouse=True)
def _no_workers():
    WorkerHeartbeat.objects.all().delete()


def test_a_stopped_training_worker_makes_healthz_503_naming_its_queues(admin_client):
    """With only the recognition worker alive, /healthz is 503 and names the queues nobody consumes."""
    beat("recognition@h", ["recognition"])
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    workers = response.json()["checks"]["workers"]
    assert workers["ok"] is False
    assert workers["missing_queues"] == ["enrolment", "training", "default"]
    assert "training" in workers["reason"] and "-Q enrolment,training,default" in workers["reason"]


def test_a_stopped_recognition_worker_makes_healthz_503(admin_client):
    """With only the background worker alive, /healthz is 503 naming the recognition queue."""
    beat("background@h", ["enrolment", "training", "default"])
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["workers"]["missing_queues"] == ["recognition"]


def test_every_queue_consumed_passes_the_worker_check(admin_client):
    """Two workers sharing the queues between them satisfy the check."""
    beat("recognition@h", ["recognition"])
    beat("background@h", ["enrolment", "training", "default"])
    workers = admin_client.get("/healthz").json()["checks"]["workers"]
    assert workers["ok"] is True, workers
    assert workers["queues"] == sorted(q.value for q in Queue)


def test_anonymous_healthz_shows_only_the_status_and_failing_names(client, settings):
    """An anonymous caller sees ok or not and which checks fail: no paths, hosts, checksums or addresses."""
    beat("recognition@somehost", ["recognition"])
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "failing": ["workers"]}
    text = response.content.decode()
    for secret in [str(settings.MODELS_DIR), "somehost", settings.DATABASES["default"]["HOST"], "sha256"]:
        assert secret not in text


def test_a_signed_in_non_staff_user_gets_no_details(client, django_user_model):
    """Details are for staff only, not for every account."""
    user = django_user_model.objects.create_user("manager", password="pw-123-long")
    client.force_login(user)
    assert "checks" not in client.get("/healthz").json()


def test_plain_http_probe_is_answered_not_redirected_in_production(client, settings):
    """With SSL redirects on, /healthz still answers a plain-HTTP probe instead of 301."""
    settings.SECURE_SSL_REDIRECT = True
    assert client.get("/healthz").status_code in (200, 503)
    assert client.get("/login/").status_code == 301  # everything else still goes to HTTPS


def test_default_settings_exempt_healthz_from_the_https_redirect():
    """The exemption is in the settings, so production has it."""
    assert r"^healthz$" in settings.SECURE_REDIRECT_EXEMPT


def test_every_queue_is_required_by_default():
    """The default list of required queues is every queue the project defines."""
    assert sorted(settings.HEALTHZ_REQUIRED_QUEUES) == sorted(q.value for q in Queue)
