"""recognition.heartbeats: workers report in, /healthz reads who is alive, a stopping worker leaves."""

import datetime as dt

import pytest
from django.utils import timezone

from recognition import heartbeats

pytestmark = pytest.mark.django_db


def test_a_recorded_worker_is_alive_until_it_is_removed():
    """A heartbeat shows the worker's queues and warmth; a second beat updates it; removal forgets it."""
    before = timezone.now() - dt.timedelta(seconds=1)
    heartbeats.worker_heartbeat_record(
        hostname="w@h", queues=["enrolment", "recognition"], pid=7, engine_ready=False
    )
    heartbeats.worker_heartbeat_record(
        hostname="w@h", queues=["enrolment", "recognition"], pid=7, engine_ready=True
    )
    assert heartbeats.workers_alive(since=before) == [
        {"hostname": "w@h", "queues": "enrolment,recognition", "engine_ready": True}
    ]
    heartbeats.worker_heartbeat_remove(hostname="w@h")
    assert heartbeats.workers_alive(since=before) == []


def test_a_worker_silent_since_the_cut_off_is_not_alive():
    """Only heartbeats newer than `since` count."""
    heartbeats.worker_heartbeat_record(hostname="old@h", queues=["training"], pid=8, engine_ready=True)
    assert heartbeats.workers_alive(since=timezone.now() + dt.timedelta(seconds=1)) == []
