"""evaluate_recognition on the real 5-celebrity photos: the figures, the JSON, and its refusals."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from recognition.ml import recogniser

REPO = Path(__file__).resolve().parents[3]
FETCH = "python manage.py fetch_facenet_weights"


@pytest.fixture
def trainings(monkeypatch) -> list[tuple[dict, recogniser.Recogniser]]:
    """Record every recogniser.train call (its keyword arguments and the recogniser it returned)."""
    calls = []
    real_train = recogniser.train

    def recording_train(*args, **kwargs):
        trained = real_train(*args, **kwargs)
        calls.append((kwargs, trained))
        return trained

    monkeypatch.setattr(recogniser, "train", recording_train)
    return calls


def test_evaluate_recognition_train_gallery_val_probes_is_100_percent(
    engine, celebrity_dir, tmp_path, settings, trainings
):
    """evaluate_recognition with train/ as gallery and val/ as probes reports 100% rank-1, also in JSON,
    measured on a recogniser trained with the training worker's settings."""
    out = io.StringIO()
    report_path = tmp_path / "report.json"
    call_command(
        "evaluate_recognition", str(celebrity_dir / "train"), "--probes", str(celebrity_dir / "val"),
        "--json", str(report_path), stdout=out,
    )  # fmt: skip
    table = out.getvalue()
    assert "100.0% (25/25)" in table
    report = json.loads(report_path.read_text())
    assert report["identification"] == {
        "probes": 25, "probes_with_face": 25, "correct": 25, "rank1": 1.0, "rank1_all": 1.0,
    }  # fmt: skip
    assert report["dataset"]["gallery_images"] == 93 and report["dataset"]["gallery_people"] == 5
    # Detection failures are listed, not hidden: every train photo either has a face or is named.
    assert report["detection"]["no_face"] == len(report["detection"]["failures"])
    assert report["timing_ms"]["detect_median"] > 0 and report["timing_ms"]["embed_median"] > 0
    assert report["open_set"]["threshold_source"] == "gallery leave-one-person-out"
    # The open-set score (best template distance minus the next ones') must be well below zero.
    assert -1.0 < report["open_set"]["threshold"] < 0.0
    (options, trained), *_ = trainings
    assert options["target_far"] == settings.RECOGNISER_TARGET_FAR == report["open_set"]["target_far"]
    assert options["max_threshold"] == settings.RECOGNISER_MAX_THRESHOLD
    assert report["open_set"]["threshold"] == trained.threshold
    assert report["recogniser"]["people"] == 5 and report["recogniser"]["cv_accuracy"] > 0.9
    # Asked as the kiosk asks: the crop alone, its mirror image only near a decision.
    cascade = report["kiosk_cascade"]
    assert cascade["answers"] == 25 and 0.0 <= cascade["probes_mirrored"] < 1.0
    assert cascade["answers_changed"] == 0


@pytest.fixture(scope="module")
def lfw_style_dir(celebrity_photos, tmp_path_factory):
    """Return a folder of 5 people x 6 photos named person/person_000N.jpg, and an LFW pairs.txt for it."""
    root = tmp_path_factory.mktemp("lfw")
    people = sorted(celebrity_photos["val"])
    for person in people:
        photos = celebrity_photos["val"][person] + celebrity_photos["train"][person]
        (root / person).mkdir()
        for number, photo in enumerate(photos[:6], start=1):
            os.symlink(photo, root / person / f"{person}_{number:04d}.jpg")
    lines = ["10\t2"]
    for fold in range(10):
        a, b = people[fold % 5], people[(fold + 1) % 5]
        first, second = 1 + fold % 3, 4 + fold % 3
        lines += [f"{a}\t{first}\t{second}", f"{b}\t{first}\t{second}"]
        lines += [f"{a}\t{first}\t{b}\t{second}", f"{b}\t{first}\t{people[(fold + 2) % 5]}\t{second}"]
    (root / "pairs.txt").write_text("\n".join(lines) + "\n")
    return root


def test_evaluate_recognition_open_set_and_pairs(engine, lfw_style_dir, tmp_path):
    """With strangers held out and LFW pairs, the report gives FAR, FRR, 10-fold accuracy and TAR at FAR."""
    report_path = tmp_path / "report.json"
    call_command(
        "evaluate_recognition", str(lfw_style_dir), "--gallery-size", "3", "--stranger-share", "0.4",
        "--pairs", str(lfw_style_dir / "pairs.txt"), "--target-far", "0.1", "--json", str(report_path),
        stdout=io.StringIO(),
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["dataset"]["gallery_people"] == 3
    assert report["dataset"]["stranger_images"] == 12 and report["dataset"]["probe_images"] == 9
    open_set = report["open_set"]
    assert open_set["strangers"] >= 10
    assert 0.0 <= open_set["far"] <= 1.0 and 0.0 <= open_set["frr"] <= 1.0
    assert open_set["threshold_for_target_far_on_strangers"] is not None
    verification = report["verification"]
    assert verification["pairs"] == 40 and verification["folds"] == 10
    assert verification["accuracy_mean"] >= 0.9
    assert set(verification["tar_at_far"]) == {"0.01", "0.001"}


def test_pairs_alone_measure_only_the_pairs(engine, lfw_style_dir, tmp_path):
    """With --pairs and nothing else, no gallery is trained: identification, open set and recogniser are
    null, the dataset counts nothing, and the face choice is reported."""
    report_path = tmp_path / "report.json"
    call_command(
        "evaluate_recognition", str(lfw_style_dir), "--pairs", str(lfw_style_dir / "pairs.txt"),
        "--face", "centre", "--json", str(report_path), stdout=io.StringIO(),
    )  # fmt: skip
    report = json.loads(report_path.read_text())
    assert report["identification"] is None and report["open_set"] is None and report["recogniser"] is None
    assert report["dataset"]["gallery_images"] == 0 and report["dataset"]["probe_images"] == 0
    assert report["detection"]["face_choice"] == "centre"
    assert report["detection"]["images"] == 30  # the 30 photos the pairs name, each embedded once
    assert report["verification"]["pairs"] == 40 and report["verification"]["accuracy_mean"] >= 0.9


def test_evaluate_recognition_refuses_a_missing_folder(tmp_path):
    """A dataset folder that does not exist is a one-line command error."""
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("evaluate_recognition", str(tmp_path / "nowhere"))


def test_evaluate_recognition_refuses_a_gallery_of_one_photo(tmp_path):
    """The recogniser needs 2 photos of each person: --gallery-size 1 is a one-line command error."""
    with pytest.raises(CommandError, match="--gallery-size must be at least 2"):
        call_command("evaluate_recognition", str(tmp_path), "--gallery-size", "1")


def test_commands_without_weights_name_the_fetch_command(settings, tmp_path, celebrity_dir):
    """evaluate_recognition and the engine benchmark stop with one line naming the fetch command."""
    settings.MODELS_DIR = tmp_path / "empty"
    with pytest.raises(CommandError, match=FETCH):
        call_command(
            "evaluate_recognition", str(celebrity_dir / "train"), "--probes", str(celebrity_dir / "val")
        )
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.engine", "--models-dir", str(tmp_path / "empty")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("error: ") and FETCH in error
