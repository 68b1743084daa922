"""The error pages and the admin wear the site's look and say what to do next."""

import pytest
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.factories import UserFactory


@pytest.mark.django_db
def test_unknown_address_gets_the_site_404_page(client):
    """A mistyped address answers 404 with the site's top bar and a way home, not Django's bare page."""
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    text = response.content.decode()
    assert 'class="topbar"' in text and "Page not found" in text
    assert "Go to the home page" in text


@pytest.mark.django_db
def test_refused_page_names_the_account_and_the_role_to_ask_for(client):
    """A logged-in user without the Managers role gets the styled 403 saying which account and whom to ask."""
    client.force_login(UserFactory(username="clerk"))
    response = client.get("/reports/today/")
    assert response.status_code == 403
    text = response.content.decode()
    assert 'class="topbar"' in text and "<strong>clerk</strong>" in text
    assert "Managers role" in text


@pytest.mark.django_db
def test_server_error_page_renders_without_a_request_context():
    """The 500 page renders from the site's base even though Django gives it no context."""
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    text = response.content.decode()
    assert 'class="topbar"' in text and "Something went wrong on our side" in text


@pytest.mark.django_db
def test_csrf_failure_says_the_form_expired(client):
    """A form sent without a valid CSRF token gets a page that says nothing was saved and what to do."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "x", "password": "y"})
    assert response.status_code == 403
    assert "This form has expired" in response.content.decode()


@pytest.mark.django_db
def test_admin_wears_the_site_theme_and_links_back_to_the_site(admin_client):
    """The admin loads the site's palette, shows the site's brand and a navigation back to its pages."""
    text = admin_client.get("/admin/").content.decode()
    assert "site/theme.css" in text
    assert "admin-themed" in text
    assert '<nav class="site-nav" aria-label="Site">' in text
    assert 'href="/">Home</a>' in text
    assert "dark_mode.css" not in text
