"""Enrolment test helpers: the 5-celebrity photos, a fake engine, and waiting for the worker."""

from __future__ import annotations

import time

import pytest

from tests.people.fakes import fake_engine  # noqa: F401 -- a fixture for every enrolment test


def wait_for(predicate, *, timeout: float, interval: float = 0.5, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
