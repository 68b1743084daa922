"""`make run`'s process set (Procfile) on the embedded default: SQLite and the filesystem broker."""

import contextlib
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings

from tests.fixtures.services import REPO, free_port


def embedded_env(var_dir, port: int) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "MEDIA_ROOT"}
    }
    env.update(
        VAR_DIR=str(var_dir),
        MEDIA_ROOT=str(var_dir / "media"),
        HOST="127.0.0.1",
        WEB_PORT=str(port),
        MODELS_DIR=str(settings.MODELS_DIR),
        MODEL_CACHE_DIR=str(settings.MODEL_CACHE_DIR),
        WORKER_HEARTBEAT_SECONDS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


def processes_with_env(name: str, value: str) -> list[int]:
    """Return the pids whose environment has name=value (honcho gives each process its own session)."""
    wanted = f"{name}={value}".encode()
    found = []
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            if wanted in environ.read_bytes().split(b"\0"):
                found.append(int(environ.parent.name))
        except OSError:  # gone, or not ours to read
            continue
    return found


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@pytest.mark.slow
def test_make_run_brings_up_web_and_workers_on_the_embedded_default(tmp_path):
    """`make run` serves web, workers and beat on SQLite and the filesystem broker; Ctrl-C stops all."""
    port = free_port()
    env = embedded_env(tmp_path, port)
    for name in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL"):  # a fresh make, not a child of `make test`
        env.pop(name, None)
    env["DJANGO_SUPERUSER_PASSWORD"] = "pw-for-tests"
    log = (tmp_path / "honcho.log").open("w")
    honcho = subprocess.Popen(
        ["make", "run", f"WEB_PORT={port}"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 420  # migrations, collectstatic, then the face models load
        status, body = 0, b""
        while time.monotonic() < deadline and honcho.poll() is None:
            try:
                status, body = get(f"http://127.0.0.1:{port}/healthz")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                status = 0
            if status == 200:
                break
            time.sleep(1)
        assert status == 200, f"{body!r}\n{(tmp_path / 'honcho.log').read_text()[-3000:]}"
        assert b'"vendor": "sqlite"' in body
        assert b'"transport": "filesystem"' in body
        login_status, login_page = get(f"http://127.0.0.1:{port}/admin/login/")
        assert login_status == 200
        assert b"Face attendance" in login_page
        assert processes_with_env("VAR_DIR", str(tmp_path))  # the check below can see them
        os.killpg(honcho.pid, signal.SIGINT)  # what Ctrl-C in the terminal does
        assert honcho.wait(60) is not None
        time.sleep(1)
        assert processes_with_env("VAR_DIR", str(tmp_path)) == []
    finally:
        for pid in [honcho.pid, *processes_with_env("VAR_DIR", str(tmp_path))]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
