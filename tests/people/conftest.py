"""Enrolment test helpers: the 5-celebrity photos, a fake engine, and waiting for the worker."""

from __future__ import annotations

from tests.people.fakes import fake_engine  # noqa: F401 -- a fixture for every enrolment test
