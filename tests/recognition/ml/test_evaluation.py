"""Evaluation: the figures' arithmetic, and evaluating through the recogniser the kiosk runs.

The real engine on the real 5-celebrity photos is measured in management/test_evaluate_recognition.py;
here a fake engine whose embeddings the test chooses shows what `evaluate` does with them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from recognition.ml import evaluation, recogniser
from recognition.ml.synthetic import near, synthetic_gallery
from tests.support.images import plain_jpeg


def test_threshold_for_far_accepts_at_most_the_target_share():
    """The threshold for a 10% FAR over 20 impostor distances accepts exactly 2 of them."""
    impostors = np.linspace(0.5, 1.45, 20)
    threshold = evaluation.threshold_for_far(impostors, 0.1)
    assert (impostors < threshold).sum() == 2
    assert (impostors < evaluation.threshold_for_far(impostors, 0.0)).sum() == 0


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


class ColourCodedEngine:
    """A fake engine for evaluate's bookkeeping: a photo's red level says which fake embedding it shows.

    A black photo has no face. Only detect and embed_faces are used by evaluation.
    """

    embedder_version = "fake-colour-coded"
    STEP = 12  # red levels per code: far wider than JPEG's error on a plain colour

    def __init__(self, embeddings: list[np.ndarray]):
        self.embeddings = embeddings

    def detect(self, rgb: np.ndarray) -> list:
        return ["face"] if rgb.mean() > 5 else []

    def embed_faces(self, rgb: np.ndarray, faces) -> np.ndarray:
        code = round(float(rgb[..., 0].mean()) / self.STEP) - 1
        return self.embeddings[code][None]


def trainer(**options):
    """Return a `train` for evaluate: recogniser.train with these options."""
    return lambda x, ids: recogniser.train(x, ids, **options)


def ask(trained: recogniser.Recogniser, x: np.ndarray) -> list[recogniser.Identification]:
    return trained.identify_many(x)


def write_photo(path: Path, code: int | None) -> None:
    """Write a plain JPEG showing fake embedding `code` (None: a black photo, no face)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    colour = (0, 0, 0) if code is None else ((code + 1) * ColourCodedEngine.STEP, 128, 128)
    path.write_bytes(plain_jpeg((32, 32), colour))


@pytest.fixture
def coded_dataset(tmp_path):
    """Return (root, engine, gallery embeddings, gallery ids): 3 people x 4 photos, and "dora" with
    3 photos of which only the last shows a face (too few to enrol, so her one probe is a stranger)."""
    x, ids, centres = synthetic_gallery(4, per_person=2, seed=11)
    embeddings = list(x)  # codes 0-7: the first two photos of each person
    for person in range(3):  # codes 8-13: two more photos of ann, bob and cid
        embeddings += [near(centres[person], seed=100 + person), near(centres[person], seed=200 + person)]
    for index, name in enumerate(("ann", "bob", "cid")):
        codes = [2 * index, 2 * index + 1, 8 + 2 * index, 9 + 2 * index]
        for number, code in enumerate(codes, start=1):
            write_photo(tmp_path / name / f"{name}_{number:04d}.jpg", code)
    write_photo(tmp_path / "dora" / "dora_0001.jpg", None)
    write_photo(tmp_path / "dora" / "dora_0002.jpg", 6)
    write_photo(tmp_path / "dora" / "dora_0003.jpg", 7)
    return tmp_path, ColourCodedEngine(embeddings), x[:6], ids[:6]


def test_evaluate_answers_probes_with_the_recogniser_trained_on_the_gallery(coded_dataset):
    """Rank-1 and the open-set rates are the trained recogniser's answers, with its own threshold."""
    root, engine, gallery, gallery_ids = coded_dataset
    report = evaluation.evaluate(
        engine,
        evaluation.EvaluationPlan(root, gallery_size=2),
        train=trainer(target_far=0.1, max_threshold=1.0),
        identify=ask,
    )
    expected = recogniser.train(gallery, gallery_ids, target_far=0.1, max_threshold=1.0)
    assert report["dataset"]["gallery_people"] == 3
    assert report["dataset"]["not_enrolled_people"] == 1
    assert report["identification"] == {
        "probes": 6, "probes_with_face": 6, "correct": 6, "rank1": 1.0, "rank1_all": 1.0,
    }  # fmt: skip
    open_set = report["open_set"]
    assert open_set["threshold"] == pytest.approx(expected.threshold)
    assert open_set["threshold_source"] == "gallery leave-one-person-out"
    assert open_set["gallery_impostor_searches"] == expected.impostor_count == 6
    assert (open_set["strangers"], open_set["far"], open_set["frr"]) == (1, 0.0, 0.0)
    assert report["recogniser"]["people"] == 3 and report["recogniser"]["photos"] == 6
    assert report["detection"]["no_face"] == 1


class TwoAnswerEngine(ColourCodedEngine):
    """A ColourCodedEngine whose crop-alone embeddings (embed_faces_both) differ from the usual ones for
    the codes in `alone`: what the face alone looks like when its mirror image is left out."""

    def __init__(self, embeddings: list[np.ndarray], alone: dict[int, np.ndarray]):
        super().__init__(embeddings)
        self.alone = alone

    def embed_faces_both(self, rgb: np.ndarray, faces) -> tuple[np.ndarray, np.ndarray]:
        code = round(float(rgb[..., 0].mean()) / self.STEP) - 1
        usual = self.embeddings[code][None]
        return self.alone.get(code, usual[0])[None], usual


def test_probes_are_asked_as_the_kiosk_cascade_asks_them(coded_dataset):
    """With the kiosk's mirror cascade, a probe is asked with its crop-alone embedding unless the rule
    picks it; the report says how many needed the mirror image and how many decisions the cascade
    changed. Here ann's two probes (codes 8 and 9) look like bob (code 2) without their mirror image."""
    root, colour_coded, _, _ = coded_dataset
    bob = colour_coded.embeddings[2]
    engine = TwoAnswerEngine(colour_coded.embeddings, alone={8: bob, 9: bob})
    plan = evaluation.EvaluationPlan(root, gallery_size=2)
    options = {"train": trainer(target_far=0.1, max_threshold=1.0), "identify": ask}

    def cascade(rule):
        return evaluation.evaluate(engine, plan, mirror_when_for=lambda trained: rule, **options)

    never = cascade(lambda vectors: np.zeros(len(vectors), dtype=bool))
    assert never["identification"]["correct"] == 4  # ann's probes named as bob, as the kiosk would
    assert never["open_set"]["misidentified"] == pytest.approx(2 / 6)
    assert never["kiosk_cascade"] == {
        "probes_mirrored": 0.0, "strangers_mirrored": 0.0, "answers": 7, "answers_changed": 2,
    }  # fmt: skip

    picked = cascade(lambda vectors: np.all(vectors == bob, axis=1))  # the rule catches both
    assert picked["identification"]["correct"] == 6
    assert picked["kiosk_cascade"]["probes_mirrored"] == pytest.approx(2 / 6)
    assert picked["kiosk_cascade"]["answers_changed"] == 0

    without = evaluation.evaluate(engine, plan, **options)
    assert without["kiosk_cascade"] is None
    assert without["identification"] == picked["identification"]
    assert without["open_set"] == picked["open_set"]
    changed_line = [
        line for line in evaluation.format_report(never).splitlines() if "decisions unlike" in line
    ]
    assert len(changed_line) == 1 and changed_line[0].endswith("  2 of 7")


def test_a_given_threshold_replaces_the_calibrated_one(coded_dataset):
    """With a score threshold of -3 (below any score) every face is rejected: every known probe is a
    false reject."""
    root, engine, _, _ = coded_dataset
    report = evaluation.evaluate(
        engine, evaluation.EvaluationPlan(root, gallery_size=2), train=trainer(), identify=ask, threshold=-3.0
    )
    open_set = report["open_set"]
    assert (open_set["threshold"], open_set["threshold_source"]) == (-3.0, "given")
    assert (open_set["frr"], open_set["far"], open_set["misidentified"]) == (1.0, 0.0, 0.0)
    assert report["identification"]["correct"] == 6  # the candidate is still right, just not accepted


def test_a_gallery_with_one_photo_each_is_refused(coded_dataset):
    """Nobody can be enrolled from one photo each: a clear error naming the minimum, not a crash."""
    root, engine, _, _ = coded_dataset
    with pytest.raises(ValueError, match="at least 2 per person"):
        evaluation.evaluate(
            engine, evaluation.EvaluationPlan(root, gallery_size=1), train=trainer(), identify=ask
        )


def test_open_set_rates_count_accepts_rejects_and_wrong_names():
    """far counts strangers accepted, frr known probes rejected, misidentified known probes named wrongly."""
    answer = recogniser.Identification
    known = [
        answer(1, 1, 0.5, 0.9),
        answer(None, 2, 1.2, 0.5),  # rejected
        answer(3, 3, 0.4, 0.9),  # accepted as the wrong person
        answer(1, 1, 0.6, 0.8),
    ]
    truth = [1, 2, 2, 1]
    strangers = [answer(None, 1, 1.3, 0.4), answer(2, 2, 0.7, 0.6)]
    rates = evaluation.open_set_rates(known, truth, strangers)
    assert rates == {"far": 0.5, "frr": 0.25, "misidentified": 0.25}
    assert evaluation.open_set_rates([], [], []) == {"far": None, "frr": None, "misidentified": None}
