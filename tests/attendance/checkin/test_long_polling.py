"""Long polling: a kiosk's poll with `?wait=S` answers as soon as the worker signals the outcome."""

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection

from attendance.checkin import services, wakeups
from attendance.models import CheckinAttempt
from tests.attendance.checkin.test_api import URL
from tests.factories import KioskFactory, PersonFactory
from tests.fakes import fake_seen

pytestmark = pytest.mark.django_db(transaction=True)  # the "worker" below commits in its own thread


@pytest.fixture(autouse=True)
def _fresh_throttle_counters():
    cache.clear()
    yield
    cache.clear()


def auth(kiosk) -> dict:
    return {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}


def pending_attempt(kiosk) -> str:
    """A posted frame's attempt, with no task queued (a session's worker could take it meanwhile)."""
    return str(CheckinAttempt.objects.create(kiosk=kiosk).pk)


def test_a_waiting_poll_answers_with_the_outcome_the_worker_signals(client):
    kiosk, ana = KioskFactory(), PersonFactory(full_name="Ana Lima")
    attempt_id = pending_attempt(kiosk)
    assert client.get(f"{URL}{attempt_id}/", **auth(kiosk)).json()["state"] == "pending"

    def worker() -> None:  # what the recognition task does once it has the outcome
        try:
            time.sleep(0.3)
            services.checkin_attempt_resolve(attempt_id=attempt_id, recognition=fake_seen(ana))
            wakeups.attempt_finished(attempt_id)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    body = client.get(f"{URL}{attempt_id}/?wait=3", **auth(kiosk)).json()
    thread.join()
    assert body["state"] == "done" and body["outcome"] == "confirming", body


def test_a_poll_without_a_signal_answers_pending_after_its_wait(client):
    kiosk = KioskFactory()
    attempt_id = pending_attempt(kiosk)
    other_id = pending_attempt(kiosk)
    wakeups.attempt_finished(other_id)  # another attempt's signal does not end this wait
    assert client.get(f"{URL}{attempt_id}/?wait=0.2", **auth(kiosk)).json()["state"] == "pending"


def test_a_wait_ends_when_the_attempt_expires_and_says_so(client, settings):
    settings.CHECKIN_MAX_PENDING_SECONDS = 0.3
    kiosk = KioskFactory()
    attempt_id = pending_attempt(kiosk)
    body = client.get(f"{URL}{attempt_id}/?wait=3", **auth(kiosk)).json()
    assert body["state"] == "expired", body


@pytest.mark.parametrize("wait", ["soon", "-1", "nan", "inf"])
def test_a_bad_wait_gets_400_saying_what_it_should_be(client, wait):
    kiosk = KioskFactory()
    attempt_id = pending_attempt(kiosk)
    response = client.get(f"{URL}{attempt_id}/?wait={wait}", **auth(kiosk))
    assert response.status_code == 400
    assert "wait: a number of seconds" in response.json()["detail"]
