"""recognition.services, the one door: it offers every name the other apps use, and answers through it."""

import pytest

from recognition import services
from recognition.ml.synthetic import fake_face
from tests.people.factories import enrolled_people
from tests.support.images import plain_jpeg

# The names people/, attendance/ and attendance_site/ call (docs: the issue 10 architecture target).
PINNED = {
    "engine": [
        "ImageError", "WeightsError", "WeightsMissingError", "ChecksumError", "FaceAnalysis",
        "ACCEPTED_IMAGE_FORMATS", "EMBEDDER_VERSION", "engine_config", "engine_get", "engine_warm_up",
        "image_decode", "image_analyse", "weights_status", "weights_fetch", "embedder_version",
        "engine_evaluate",
    ],
    "embeddings": ["embedding_to_bytes", "embedding_from_bytes"],
    "training": ["recogniser_train", "recogniser_request_training", "training_run", "training_status"],
    "matching": [
        "FrameRecognition", "frame_recognise", "embedding_identify", "frames_analyse", "recogniser_threshold",
    ],
    "liveness": ["FrameFace", "LivenessConfig", "LivenessVerdict", "liveness_check"],
    "workers": ["worker_heartbeat_record", "worker_heartbeat_remove", "workers_alive"],
}  # fmt: skip


@pytest.mark.parametrize("area", sorted(PINNED))
def test_the_facade_exports_every_pinned_name(area):
    """Every name the other apps were promised is in services.__all__ and is importable from it."""
    missing = [name for name in PINNED[area] if name not in services.__all__ or not hasattr(services, name)]
    assert missing == []


def test_everything_the_facade_exports_exists_and_is_someone_elses():
    """__all__ names only real objects, each defined in a recognition module behind the facade."""
    for name in services.__all__:
        value = getattr(services, name)
        home = getattr(value, "__module__", None)
        if home is not None:  # constants (strings, tuples) have no home module
            assert home.startswith("recognition.") and home != "recognition.services", name


def test_the_embedding_bytes_round_trip():
    """An embedding stored through the facade reads back the same 128 float32 values (512 bytes)."""
    vector = fake_face([0.5] * 128).embedding
    data = services.embedding_to_bytes(vector)
    assert len(data) == 512
    assert (services.embedding_from_bytes(data) == vector).all()


@pytest.mark.django_db
def test_the_services_door_gives_the_kiosk_its_answer(fake_engine):
    """recognition.services.frame_recognise returns the FrameRecognition shape the kiosk reads."""
    groups = enrolled_people(2, 3)
    version = services.recogniser_train(trigger="test")
    fake_engine.answers.append([fake_face(services.embedding_from_bytes(groups[0][0].embedding))])
    seen = services.frame_recognise(data=plain_jpeg())
    assert isinstance(seen, services.FrameRecognition)
    assert (seen.person_id, seen.recogniser_version_id) == (groups[0][0].person_id, version.pk)
    assert seen.box is not None and "nose" in seen.landmarks
