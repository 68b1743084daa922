"""Shared test set-up: private media in a temporary folder, real services, shared fixtures."""

import pytest
from django.conf import settings
from django.test import override_settings, testcases

# MEDIA_URL is None on purpose (face photos have no public URL), but Django's live server always
# wraps a media-file handler, which then fails on every request (it compares each path with
# urlparse(None)). Like production, the live server serves no media: it never handles a path.
testcases._MediaFilesHandler._should_handle = lambda self, path: False

# Tests render pages without running collectstatic first.
STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.faces",
    "tests.fixtures.throwaway",
    "tests.fixtures.browser",
    "tests.fakes",
]


@pytest.fixture(scope="session", autouse=True)
def media_root(tmp_path_factory):
    """Point MEDIA_ROOT at a temporary folder for the whole session (workers share it)."""
    path = tmp_path_factory.mktemp("media")
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC_STORAGE}}
    # Throttle counters stay in this process, and each test starts with none.
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(MEDIA_ROOT=str(path), STORAGES=storages, CACHES=caches):
        yield path


@pytest.fixture(autouse=True)
def _empty_cache():
    from django.core.cache import cache

    cache.clear()
