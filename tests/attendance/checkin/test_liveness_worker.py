"""A liveness challenge end to end: the HTTP API, the real Celery worker, real frames, PostgreSQL."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import F

from attendance.models import AttendanceEvent, CheckinAttempt
from recognition.ml import synthetic
from tests.factories import KioskFactory, UserFactory
from tests.fixtures.services import enrol_through_worker, wait_for

pytestmark = pytest.mark.slow
PEOPLE = ["elton_john", "jerry_seinfeld"]
PHOTOS_EACH = 4
URL = "/api/v1/checkins/"


def result(client, kiosk, attempt_id, timeout=60) -> dict:
    """Poll the attempt through the API until it is no longer pending; return its JSON."""
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    return wait_for(
        lambda: (body := client.get(f"{URL}{attempt_id}/", **auth).json())["state"] != "pending" and body,
        timeout=timeout,
        interval=0.1,  # an answer takes a fraction of a second: do not add half a second to each
        what="the worker's answer",
    )


def challenge_for(client, kiosk, frame: bytes) -> dict:
    """Post the frame until the kiosk's K-of-M agreement is reached; return the challenge it answers with."""
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    for _ in range(4):
        posted = client.post(URL, {"frame": SimpleUploadedFile("f.jpg", frame, "image/jpeg")}, **auth)
        assert posted.status_code == 202, posted.json()
        body = result(client, kiosk, posted.json()["id"])
        if body["outcome"] == "challenge":
            return body
        assert body["outcome"] == "confirming", body
    pytest.fail("no challenge was asked")


def post_answer(client, kiosk, challenge: dict, frames: list[bytes]) -> dict:
    """Answer with the challenge's nonce, as if the kiosk had spent the seconds a person takes capturing
    them (the challenge's start is moved back: an answer sooner is refused as too fast)."""
    auth = {"HTTP_AUTHORIZATION": f"Kiosk {kiosk.token}"}
    attempt_id = challenge["answer_url"].rstrip("/").split("/")[-2]
    CheckinAttempt.objects.filter(pk=attempt_id).update(
        challenge_issued_at=F("challenge_issued_at") - dt.timedelta(seconds=5)
    )
    files = [SimpleUploadedFile(f"f{i}.jpg", data, "image/jpeg") for i, data in enumerate(frames)]
    response = client.post(challenge["answer_url"], {"frames": files, "nonce": challenge["nonce"]}, **auth)
    assert response.status_code == 202, response.json()
    return result(client, kiosk, response.json()["id"])


@pytest.mark.django_db(transaction=True)
def test_challenge_through_the_worker_passes_a_turn_and_fails_a_photo(
    client, celery_worker_process, celebrity_dir, framed_faces
):
    """Liveness on: a real head-turn burst checks the person in; a still photo burst is stored as failed."""
    import numpy as np

    cache.clear()
    ids = enrol_through_worker(celebrity_dir, PEOPLE, photos_each=PHOTOS_EACH, by=UserFactory(is_staff=True))
    kiosk = KioskFactory(liveness_mode="always")
    framed = {face.person: face for face in framed_faces}
    rng = np.random.default_rng(0)

    # A live person: turns as asked, in the order the server drew.
    elton = framed["elton_john"]
    body = challenge_for(client, kiosk, synthetic.noisy_jpeg(elton.frame, rng))
    assert not AttendanceEvent.objects.exists()
    steps = body["challenge"]["steps"]
    done = post_answer(client, kiosk, body["challenge"], synthetic.sequence("genuine", elton, steps))
    figures = CheckinAttempt.objects.values_list("liveness_reason", "liveness_figures").get(pk=body["id"])
    assert (done["outcome"], done["first_name"], done["event_kind"]) == ("checked_in", "Elton", "in"), (
        figures[0],
        figures[1]["yaw_deg"],
    )
    event = AttendanceEvent.objects.get()
    assert (event.person_id, str(event.attempt_id)) == (ids["elton_john"], body["id"])

    # A photo held still in front of the camera: recognised, challenged, and refused.
    jerry = framed["jerry_seinfeld"]
    body = challenge_for(client, kiosk, synthetic.noisy_jpeg(jerry.frame, rng))
    done = post_answer(
        client, kiosk, body["challenge"], synthetic.sequence("still", jerry, body["challenge"]["steps"])
    )
    assert done["outcome"] == "liveness_failed" and done["first_name"] is None, done
    attempt = CheckinAttempt.objects.get(pk=body["id"])
    assert (attempt.person_id, attempt.liveness_reason) == (ids["jerry_seinfeld"], "no_turn")
    assert AttendanceEvent.objects.count() == 1
