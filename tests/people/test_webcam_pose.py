"""Guided webcam shots must show the pose they ask for; a still photo held to the camera does not."""

import pytest
from django.urls import reverse

from people import services
from people.models import FaceImage
from people.rules import FRONTAL_NOSE_HEIGHT, Pose, nose_height, pose_shortfall
from recognition.ml.synthetic import fake_face, unit_vector
from tests.factories import UserFactory
from tests.people.factories import ConsentedPersonFactory
from tests.people.test_enrolment_services import upload

FRONT = {
    "left_eye": (40, 50),
    "right_eye": (80, 50),
    "nose": (60, 70),
    "mouth_left": (45, 85),
    "mouth_right": (75, 85),
}


def test_nose_height_is_where_the_nose_sits_between_eyes_and_mouth_whatever_the_roll():
    """The nose halfway down gives about 4/7 here; turning the whole face by 30 degrees changes nothing."""
    import math

    assert nose_height(FRONT) == pytest.approx(20 / 35)
    angle = math.radians(30)
    rolled = {
        k: (x * math.cos(angle) - y * math.sin(angle), x * math.sin(angle) + y * math.cos(angle))
        for k, (x, y) in FRONT.items()
    }
    assert nose_height(rolled) == pytest.approx(20 / 35)


def test_a_shot_with_the_same_pose_as_the_straight_one_is_sent_back_with_what_to_do():
    """Same yaw and nose height as the straight shot (a still photo): each turn or tilt asks for a retake."""
    straight = Pose(yaw_degrees=3.0, nose_height=0.57)
    for asked in ("left", "right", "up", "down"):
        reason = pose_shortfall(asked=asked, pose=straight, straight=straight)
        assert reason and reason.startswith("Retake this shot") and asked in reason


def test_a_shot_that_reaches_the_pose_passes():
    """Turned 12 degrees the asked way, or tilted by 0.08 of the face height, is accepted."""
    straight = Pose(yaw_degrees=3.0, nose_height=0.57)
    assert pose_shortfall(asked="left", pose=Pose(15.0, 0.57), straight=straight) is None
    assert pose_shortfall(asked="right", pose=Pose(-9.0, 0.57), straight=straight) is None
    assert pose_shortfall(asked="up", pose=Pose(3.0, 0.49), straight=straight) is None
    assert pose_shortfall(asked="down", pose=Pose(3.0, 0.65), straight=straight) is None
    assert pose_shortfall(asked="left", pose=Pose(-15.0, 0.57), straight=straight) is not None  # wrong way


def test_without_a_straight_shot_a_typical_frontal_face_is_the_reference():
    """Before the straight shot is in, a turn is measured from 0 degrees and the typical nose height."""
    assert pose_shortfall(asked="left", pose=Pose(10.0, FRONTAL_NOSE_HEIGHT), straight=None) is None
    assert pose_shortfall(asked="up", pose=Pose(0.0, FRONTAL_NOSE_HEIGHT), straight=None) is not None


@pytest.mark.django_db
def test_worker_rejects_a_left_shot_that_is_not_turned_and_accepts_one_that_is(fake_engine):
    """With an accepted straight shot, a "left" shot at the same yaw is rejected with the retake reason."""
    person = ConsentedPersonFactory()

    def shot(pose: str, yaw: float) -> FaceImage:
        fake_engine.answers.append([fake_face(unit_vector(7, noise=0.01, base=person.pk), yaw=yaw)])
        image = services.face_image_add(
            person=person, upload=upload(), source=FaceImage.Source.WEBCAM, uploaded_by=None, asked_pose=pose
        )
        return services.face_image_process(face_image_id=image.pk)

    assert shot("straight", 2.0).status == FaceImage.Status.ACCEPTED
    still = shot("left", 2.0)
    assert still.status == FaceImage.Status.REJECTED
    assert "turned 0° to the left" in still.rejection_reason
    assert shot("left", 14.0).status == FaceImage.Status.ACCEPTED
    assert shot("", 2.0).status == FaceImage.Status.ACCEPTED  # uploads are not guided: no pose asked


@pytest.mark.django_db
def test_webcam_shot_records_the_asked_pose_and_refuses_an_unknown_one(client):
    """The page sends the pose with each shot; the server keeps it, and refuses one it does not know."""
    client.force_login(UserFactory(groups=["HR"]))
    person = ConsentedPersonFactory()
    url = reverse("people:webcam-shot", args=[person.pk])
    assert client.post(url, {"shot": upload(), "pose": "left"}).status_code == 201
    assert FaceImage.objects.get(person=person).asked_pose == "left"
    refused = client.post(url, {"shot": upload(), "pose": "sideways"})
    assert refused.status_code == 400 and "Unknown pose" in refused.json()["error"]
