"""The foundation: configuration, real services, roles, health checks."""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import connection

from tests.fixtures.services import REPO, free_port, process_env, stop_process


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.mark.django_db
def test_tests_run_on_postgresql():
    """The test suite talks to a real PostgreSQL server, not SQLite."""
    assert connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        assert cursor.fetchone()[0].startswith("PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_task_round_trips_through_a_real_worker_process(celery_worker_process, settings):
    """A task sent over Redis runs in a separate worker process that uses the same PostgreSQL."""
    import os

    from attendance_site.celery import ping

    assert settings.CELERY_BROKER_URL.startswith("redis://")
    result = ping.delay("hello").get(timeout=60)
    assert result["value"] == "hello"
    assert result["database"] == "postgresql"
    assert result["pid"] != os.getpid()


@pytest.mark.django_db(transaction=True)
def test_a_worker_keeps_its_database_connection_and_replaces_a_dropped_one(celery_worker_process):
    """Tasks reuse the worker's PostgreSQL connection (Celery's Django fix-up would open one per task);
    a connection the server has dropped is replaced before the next task uses it, not failed on."""
    from django.db import connection

    from attendance_site.celery import ping

    first = ping.delay("one").get(timeout=60)["database_session"]
    assert isinstance(first, int)
    assert ping.delay("two").get(timeout=60)["database_session"] == first
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [first])
        assert cursor.fetchone()[0] is True
    third = ping.delay("three").get(timeout=60)
    assert third["value"] == "three"
    assert third["database_session"] not in (None, first)


@pytest.mark.django_db
def test_staff_roles_exist_after_migrations():
    """The data migration creates the HR and Managers groups."""
    assert set(Group.objects.values_list("name", flat=True)) >= {"HR", "Managers"}


@pytest.mark.django_db
def test_ensure_admin_creates_one_administrator_once(capsys, monkeypatch):
    """ensure_admin prints generated credentials once and never creates a second account."""
    monkeypatch.delenv("DJANGO_SUPERUSER_PASSWORD", raising=False)
    monkeypatch.delenv("DJANGO_SUPERUSER_USERNAME", raising=False)
    call_command("ensure_admin")
    first = capsys.readouterr().out
    assert "password:" in first
    password = first.split("password:")[1].split()[0]
    assert User.objects.get(username="admin").check_password(password)
    call_command("ensure_admin")
    assert "password:" not in capsys.readouterr().out
    assert User.objects.filter(is_superuser=True).count() == 1


@pytest.mark.django_db(transaction=True)
def test_healthz_reports_every_check_ok_with_a_worker(admin_client, celery_worker_process):
    """/healthz answers 200 when the database, Redis, a worker and the weights are all there."""
    deadline = time.monotonic() + 180  # the worker's child loads the face models first
    while True:
        response = admin_client.get("/healthz")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["checks"]["database"]["vendor"] == "postgresql"
    assert body["checks"]["broker"]["transport"] == "redis"
    assert "recognition" in body["checks"]["workers"]["queues"]
    assert body["checks"]["model_weights"]["ok"] is True


@pytest.mark.django_db
def test_healthz_is_503_with_a_reason_when_the_broker_is_down(admin_client, settings):
    """A stopped broker turns /healthz into 503 naming the broker, and the view does not crash."""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    response = admin_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["ok"] is False
    assert "broker unreachable" in body["checks"]["broker"]["reason"]
    assert body["checks"]["database"]["ok"] is True


def _get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _wait_for_json(url: str) -> tuple[int, dict]:
    deadline = time.monotonic() + 30
    while True:
        try:
            return _get_json(url)
        except (urllib.error.URLError, ConnectionError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_site_answers_503_while_its_database_is_stopped_and_recovers(tmp_path, throwaway_postgres):
    """With PostgreSQL stopped /healthz is 503 naming the database; once it is back, the check passes."""
    port = free_port()
    env = process_env(tmp_path / "media", tmp_path, DATABASE_URL=throwaway_postgres.url)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "attendance_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/healthz"
    try:
        _, body = _wait_for_json(url)
        assert "database" not in body["failing"]
        throwaway_postgres.stop()
        status, body = _get_json(url)
        assert status == 503
        assert "database" in body["failing"]  # anonymous: the name, not the address
        assert server.poll() is None
        throwaway_postgres.start()
        _, body = _get_json(url)
        assert "database" not in body["failing"]
    finally:
        stop_process(server)


def test_production_without_secret_key_refuses_to_start_in_one_line(tmp_path):
    """DJANGO_ENV=production with DEBUG off and no SECRET_KEY fails with a one-line explanation."""
    env = process_env(tmp_path, tmp_path, DJANGO_ENV="production", DEBUG="false")
    env.pop("SECRET_KEY", None)
    result = run_manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "SECRET_KEY" in lines[0]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", "mysql://root@127.0.0.1/attendance"),
        ("CELERY_BROKER_URL", "amqp://guest@127.0.0.1//"),
    ],
)
def test_unsupported_service_url_names_the_variable_in_one_line(tmp_path, variable, value):
    """A DATABASE_URL or CELERY_BROKER_URL the project cannot use gives one line naming it."""
    env = process_env(tmp_path, tmp_path, **{variable: value})
    result = run_manage("check", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert variable in lines[0]


def test_unreachable_database_is_reported_in_one_line(tmp_path):
    """preflight against a PostgreSQL that does not answer says so in one line naming DATABASE_URL."""
    env = process_env(tmp_path, tmp_path, DATABASE_URL=f"postgres://postgres@127.0.0.1:{free_port()}/x")
    result = run_manage("preflight", env=env)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "DATABASE_URL" in lines[0]


def test_local_secret_key_is_generated_once_and_kept(tmp_path):
    """The first local run writes a secret key under var/ and the next run reuses it."""
    env = process_env(tmp_path, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    env.pop("SECRET_KEY", None)
    code = "from django.conf import settings; print(settings.SECRET_KEY)"
    first = run_manage("shell", "-c", code, env=env)
    second = run_manage("shell", "-c", code, env=env)
    assert first.returncode == 0, first.stderr
    key = (tmp_path / "secret_key").read_text().strip()
    assert len(key) >= 50
    assert first.stdout.split()[-1] == second.stdout.split()[-1] == key


def test_web_process_does_not_import_tensorflow(tmp_path):
    """Loading the site (settings, URLs, admin) does not import TensorFlow in the web process."""
    env = process_env(tmp_path, tmp_path, DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}")
    code = (
        "import sys, django; django.setup(); from django.urls import resolve; resolve('/healthz'); "
        "import attendance_site.wsgi; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    env["DJANGO_SETTINGS_MODULE"] = "attendance_site.settings"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False False"


def test_embedded_default_puts_broker_results_and_cache_on_the_wheels_valkey(tmp_path):
    """With no service URLs, Celery broker, results and the Django cache use Valkey's socket in var/run."""
    env = process_env(tmp_path, tmp_path, DATABASE_URL="", CELERY_BROKER_URL="", CELERY_RESULT_BACKEND="")
    env.pop("CACHE_URL", None)
    code = (
        "import json; from django.conf import settings as s; print(json.dumps([s.CELERY_BROKER_URL, "
        "s.CELERY_RESULT_BACKEND, s.CACHES['default'], s.EMBEDDED_BROKER, s.DATABASES['default']['ENGINE']]))"
    )
    result = run_manage("shell", "-c", code, env=env)
    assert result.returncode == 0, result.stderr
    broker, results, cache, embedded, engine = json.loads(result.stdout.strip().splitlines()[-1])
    socket_path = tmp_path / "run" / "valkey.sock"
    assert broker == results == f"redis+socket://{socket_path}"
    assert cache["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    assert cache["LOCATION"] == f"unix://{socket_path}?db=1"  # never the broker's database 0
    assert embedded is True
    assert engine.endswith("sqlite3")


@pytest.mark.django_db
def test_healthz_while_workers_warm_up_is_logged_as_info_not_error(client, caplog):
    """A 503 from /healthz because no worker is warm yet is an INFO line; Django would make it an ERROR."""
    from recognition.models import WorkerHeartbeat

    WorkerHeartbeat.objects.all().delete()
    with caplog.at_level("INFO", logger="django.request"):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["workers"]  # only the workers are missing
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [r.levelname for r in records] == ["INFO"]
    assert "Not ready: workers" in records[0].getMessage()
