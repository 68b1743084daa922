"""The Content-Security-Policy in a real Chromium: the kiosk and kiosk registration still work under it."""

from __future__ import annotations

import pytest

from tests.fixtures.browser import launch_chromium, write_y4m

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

COLLECT_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__csp.push(e.violatedDirective + " " + e.blockedURI);
});
"""


@pytest.mark.django_db(transaction=True)
def test_the_kiosk_runs_and_posts_frames_under_the_policy(celebrity_dir, web_server, tmp_path, monkeypatch):
    """The kiosk page starts the camera and posts frames with no policy violation (issue 13: 14)."""
    from playwright.sync_api import sync_playwright

    from attendance.checkin.services import kiosk_register

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    _kiosk, token = kiosk_register(name="CSP door")
    video = write_y4m(sorted((celebrity_dir / "val" / "madonna").glob("*.jpg"))[0], tmp_path / "face.y4m")
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, video=video)
        context = browser.new_context(viewport={"width": 1024, "height": 700})
        context.add_init_script(f"localStorage.setItem('attendance.kioskToken', {token!r});")
        context.add_init_script(COLLECT_VIOLATIONS)
        page = context.new_page()
        with page.expect_request(lambda r: r.method == "POST" and "/api/" in r.url, timeout=30_000):
            response = page.goto(f"{web_server}/kiosk/")
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert page.evaluate("window.__csp") == []
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_registering_a_kiosk_saves_its_token_under_the_policy(web_server, monkeypatch):
    """The "registered" page's script (now a static file) still saves the token in the browser."""
    from playwright.sync_api import sync_playwright

    from tests.factories import UserFactory

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    UserFactory(username="csp-admin", is_staff=True, is_superuser=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context()
        context.add_init_script(COLLECT_VIOLATIONS)
        page = context.new_page()
        page.goto(f"{web_server}/login/?next=/kiosk/register/")
        page.fill("input[name=username]", "csp-admin")
        page.fill("input[name=password]", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_url("**/kiosk/register/")
        page.fill("input[name=name]", "Front door")
        page.click("form:has(input[name=name]) button[type=submit]")  # not the top bar's log out
        page.wait_for_selector("text=The kiosk token is saved in this browser.")
        assert page.evaluate("localStorage.getItem('attendance.kioskToken')")
        assert page.evaluate("window.__csp") == []
        browser.close()


@pytest.mark.django_db(transaction=True)
def test_the_api_docs_render_the_operations_under_the_policy(web_server, monkeypatch):
    """/api/docs/ is no longer exempt from the policy: Swagger UI starts and lists the check-in
    operations, with no violation (issue 13)."""
    from playwright.sync_api import sync_playwright

    from tests.factories import UserFactory

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    UserFactory(username="csp-docs", is_staff=True, is_superuser=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context()
        context.add_init_script(COLLECT_VIOLATIONS)
        page = context.new_page()
        page.goto(f"{web_server}/login/?next=/api/docs/")
        page.fill("input[name=username]", "csp-docs")
        page.fill("input[name=password]", "pw-for-tests")
        page.click("button[type=submit]")
        page.wait_for_url("**/api/docs/")
        page.wait_for_selector("text=Answer a liveness challenge", timeout=30_000)
        assert page.evaluate("window.__csp") == []
        browser.close()
