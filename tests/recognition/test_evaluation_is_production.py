"""evaluate_recognition measures what runs: the training worker's fit and the kiosk's question.

Both sides are recorded through the two functions that define them (recognition.training.recogniser_fit,
recognition.matching.recogniser_identify): if the evaluation, the training run or the kiosk stopped
calling them, one of these tests fails.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from django.core.management import call_command

from recognition import matching, training
from recognition.ml.synthetic import fake_face
from recognition.services import embedding_from_bytes
from tests.people.factories import enrolled_people
from tests.support.images import plain_jpeg


@pytest.fixture
def recorded(monkeypatch) -> dict[str, list]:
    """Record every recogniser fitted by recogniser_fit and every recogniser asked by recogniser_identify."""
    calls: dict[str, list] = {"fit": [], "identify": []}
    real_fit, real_identify = training.recogniser_fit, matching.recogniser_identify

    def fit(*args, **kwargs):
        fitted = real_fit(*args, **kwargs)
        calls["fit"].append(fitted)
        return fitted

    def identify(recogniser, embeddings):
        answers = real_identify(recogniser, embeddings)
        calls["identify"].append((recogniser, answers))
        return answers

    monkeypatch.setattr(training, "recogniser_fit", fit)
    monkeypatch.setattr(matching, "recogniser_identify", identify)
    return calls


def test_evaluation_fits_like_the_training_worker_and_asks_like_the_kiosk(
    engine, celebrity_dir, tmp_path, recorded
):
    """The evaluated recogniser is the one recogniser_fit made, and every probe answer came from
    recogniser_identify asking that very object."""
    report_path = tmp_path / "report.json"
    call_command(
        "evaluate_recognition", str(celebrity_dir / "train"), "--probes", str(celebrity_dir / "val"),
        "--json", str(report_path), stdout=io.StringIO(),
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert len(recorded["fit"]) == 1
    fitted = recorded["fit"][0]
    assert recorded["identify"], "the evaluation answered no probe through the kiosk's call"
    assert all(asked is fitted for asked, _ in recorded["identify"])
    answered = sum(len(answers) for _, answers in recorded["identify"])
    # Each face is asked as the kiosk asks it (its mirror cascade), and once more with the mirror image
    # averaged in, to count the decisions the cascade changes.
    faces = report["identification"]["probes_with_face"] + report["open_set"]["strangers"]
    assert report["kiosk_cascade"]["answers"] == faces
    assert answered == 2 * faces
    assert report["open_set"]["threshold"] == fitted.threshold


@pytest.mark.django_db
def test_training_runs_and_kiosk_frames_go_through_the_same_two_functions(fake_engine, recorded):
    """recogniser_train fits with recogniser_fit, and a kiosk frame is answered by recogniser_identify
    asking the recogniser that training run stored."""
    groups = enrolled_people(3, 4)
    version = training.recogniser_train(trigger="test")
    assert len(recorded["fit"]) == 1
    member = groups[2][1]
    fake_engine.answers.append([fake_face(embedding_from_bytes(member.embedding))])
    seen = matching.frame_recognise(data=plain_jpeg((64, 48)))
    assert seen.person_id == member.person_id and seen.recogniser_version_id == version.pk
    (asked, answers), *_ = recorded["identify"]
    np.testing.assert_array_equal(asked.gallery, recorded["fit"][0].gallery)
    assert asked.threshold == recorded["fit"][0].threshold == version.threshold
    assert answers[0].person_id == member.person_id
