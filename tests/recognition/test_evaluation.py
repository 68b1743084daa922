"""Evaluation: the figures' arithmetic, and evaluate_recognition on the real 5-celebrity photos."""

from __future__ import annotations

import io
import json
import os

import numpy as np
import pytest
from django.core.management import CommandError, call_command

from recognition.ml import evaluation


def test_threshold_for_far_accepts_at_most_the_target_share():
    """The threshold for a 10% FAR over 20 impostor distances accepts exactly 2 of them."""
    impostors = np.linspace(0.5, 1.45, 20)
    threshold = evaluation.threshold_for_far(impostors, 0.1)
    assert (impostors < threshold).sum() == 2
    assert (impostors < evaluation.threshold_for_far(impostors, 0.0)).sum() == 0


def test_leave_one_out_impostor_distance_is_nearest_other_person():
    """Each gallery face's impostor distance is to the nearest face of someone else."""
    gallery = np.array([[1, 0], [0.8, 0.6], [0, 1], [-1, 0]], dtype=np.float32)
    labels = ["a", "a", "b", "c"]
    distances = evaluation.leave_one_out_impostor_distances(gallery, labels)
    expected = [
        np.sqrt(2),
        np.linalg.norm(gallery[1] - gallery[2]),
        np.linalg.norm(gallery[1] - gallery[2]),
        np.sqrt(2),
    ]
    np.testing.assert_allclose(distances, expected, rtol=1e-5)


def test_kfold_accuracy_picks_thresholds_on_other_folds():
    """Perfectly separable pairs give 100% in every fold; reversed labels give a poor score."""
    rng = np.random.default_rng(0)
    same = np.tile([True] * 5 + [False] * 5, 10)
    distances = np.where(same, rng.uniform(0.3, 0.9, same.size), rng.uniform(1.1, 1.6, same.size))
    folds = np.repeat(np.arange(10), 10)
    mean, std = evaluation.kfold_accuracy(distances, same, folds)
    assert mean == 1.0 and std == 0.0
    worse, _ = evaluation.kfold_accuracy(distances, ~same, folds)
    assert worse < 0.7


def test_tar_at_far_counts_genuine_pairs_under_the_impostor_threshold():
    """TAR at FAR 10% is the share of genuine pairs below the 10%-FAR impostor threshold."""
    impostors = np.linspace(1.0, 1.9, 10)
    genuine = np.array([0.5, 0.9, 1.05, 1.5])
    distances = np.concatenate([genuine, impostors])
    same = np.array([True] * 4 + [False] * 10)
    figures = evaluation.tar_at_far(distances, same, 0.1)
    assert figures["threshold"] == pytest.approx(1.1)
    assert figures["tar"] == 0.75 and figures["impostor_pairs"] == 10


def test_parse_pairs_reads_lfw_format(tmp_path):
    """An LFW pairs.txt gives matched and mismatched pairs, each with its fold."""
    path = tmp_path / "pairs.txt"
    path.write_text("2\t1\nAnn\t1\t2\nAnn\t1\tBob\t3\nBob\t1\t3\nCid\t2\tAnn\t2\n")
    pairs = evaluation.parse_pairs(path)
    assert [(p.first, p.second, p.same, p.fold) for p in pairs] == [
        (("Ann", 1), ("Ann", 2), True, 0),
        (("Ann", 1), ("Bob", 3), False, 0),
        (("Bob", 1), ("Bob", 3), True, 1),
        (("Cid", 2), ("Ann", 2), False, 1),
    ]
    path.write_text("2\t1\nAnn\t1\t2\n")
    with pytest.raises(ValueError, match="expected 4 pair lines"):
        evaluation.parse_pairs(path)


def test_evaluate_recognition_train_gallery_val_probes_is_100_percent(engine, celebrity_dir, tmp_path):
    """evaluate_recognition with train/ as gallery and val/ as probes reports 100% rank-1, also in JSON."""
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
    assert 0.5 < report["open_set"]["threshold"] < 1.3


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


def test_evaluate_recognition_refuses_a_missing_folder(tmp_path):
    """A dataset folder that does not exist is a one-line command error."""
    with pytest.raises(CommandError, match="is not a folder"):
        call_command("evaluate_recognition", str(tmp_path / "nowhere"))
