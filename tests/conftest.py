"""Shared test set-up: private media in a temporary folder, real services, shared fixtures."""

import pytest
from django.conf import settings
from django.test import override_settings

# Tests render pages without running collectstatic first.
STATIC_STORAGE = "django.contrib.staticfiles.storage.StaticFilesStorage"

pytest_plugins = [
    "tests.fixtures.services",
    "tests.fixtures.faces",
    "tests.fixtures.throwaway",
]


@pytest.fixture(scope="session", autouse=True)
def media_root(tmp_path_factory):
    """Point MEDIA_ROOT at a temporary folder for the whole session (workers share it)."""
    path = tmp_path_factory.mktemp("media")
    storages = {**settings.STORAGES, "staticfiles": {"BACKEND": STATIC_STORAGE}}
    with override_settings(MEDIA_ROOT=str(path), STORAGES=storages):
        yield path
