"""Production hardening: `check --deploy` and the Content-Security-Policy (issue 13: 14)."""

import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.services import REPO, process_env

TEMPLATES = Path(REPO) / "templates"


def deploy_check(tmp_path) -> subprocess.CompletedProcess:
    env = process_env(
        tmp_path, tmp_path, DJANGO_ENV="production", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(64),
        ALLOWED_HOSTS="attendance.example.com",
    )  # fmt: skip
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_check_deploy_raises_no_security_warning_in_production(tmp_path):
    """In production mode `check --deploy` names no security.* (or other site) problem."""
    result = deploy_check(tmp_path)
    warnings = [line for line in result.stderr.splitlines() if re.match(r"\?: \(|\w+(\.\w+)*: \(", line)]
    assert result.returncode == 0, result.stderr
    assert warnings == [], result.stderr


def test_check_deploy_is_entirely_clean_in_production(tmp_path):
    """`check --deploy` in production mode reports no issue at all."""
    result = deploy_check(tmp_path)
    assert "System check identified no issues" in result.stdout + result.stderr, result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/login/", "/kiosk/", "/admin/login/", "/healthz"])
def test_pages_carry_a_content_security_policy_without_inline_scripts(client, url):
    """Each answer carries a CSP: scripts from this site only, no plugins, no framing."""
    response = client.get(url)
    policy = dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";") if part.strip()
    )
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'self'"


def test_no_template_has_an_inline_script():
    """Every <script> in the site's templates loads a file (or is JSON data), so script-src 'self' holds."""
    inline = []
    for path in TEMPLATES.rglob("*.html"):
        for tag in re.findall(r"<script\b[^>]*>", path.read_text()):
            if "src=" not in tag and "application/json" not in tag:
                inline.append(f"{path.relative_to(TEMPLATES)}: {tag}")
    assert inline == []
