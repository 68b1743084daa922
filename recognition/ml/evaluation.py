"""Measure what the kiosk runs on a folder-per-person dataset: identification, open-set rejection,
and LFW-style verification of the embeddings.

Identification and the open-set figures go through the recogniser itself: the caller passes the
function that trains the gallery and the one that asks the recogniser (the training worker's and
the kiosk's own, recognition.training.recogniser_fit and recognition.matching.recogniser_identify),
so the decision rule and its calibrated threshold are the ones measured. Verification (pairs) stays
distance-based, as LFW defines it: Euclidean distance between L2-normalised embeddings (0 identical,
2 opposite).

The recogniser needs at least 2 photos of each person: a gallery person with fewer usable photos
(no face found, or fewer images than that) is not enrolled, as the training worker leaves out a
person under the minimum, and their probe images count as strangers.

The report (`evaluate(engine, EvaluationPlan(...))` returns it; `evaluate_recognition --json PATH`
writes it) has these keys:

- dataset: root, probes_root, strangers_root, people, gallery_people (people enrolled),
  gallery_images, probe_images, stranger_images, gallery_size (images enrolled per person; null = all),
  not_enrolled_people (gallery people with fewer than 2 photos with a face).
- detection: images, unreadable, no_face, multiple_faces, failures (a list of {path, reason}),
  face_choice (which face of a photo with several was used: "largest" or "centre").
  An image with no face is never dropped silently: it is listed here and counts as a miss in
  identification.rank1_all.
- identification, open_set and recogniser are null (and the dataset counts 0) when only pairs were
  asked for (EvaluationPlan.identification False).
- identification: probes (known people's probe images), probes_with_face, correct (the recogniser's
  candidate is the right person, accepted or not), rank1 (correct / probes_with_face), rank1_all
  (correct / probes).
- open_set: threshold (on the recogniser's open-set score), threshold_source ("given" or "gallery
  leave-one-person-out"), target_far, max_threshold (the cap on the distance to the named person's
  template), gallery_impostor_searches, strangers (stranger
  probe images with a face), far (strangers accepted as someone), frr (known probes rejected),
  misidentified (known probes accepted as someone else), threshold_for_target_far_on_strangers (the
  score threshold these strangers would have needed; null without strangers). null when the gallery has
  fewer than two people, no threshold is given and there are no strangers.
- kiosk_cascade (when evaluated with the kiosk's mirror cascade; else null): probes_mirrored and
  strangers_mirrored (shares asked with the mirror image averaged in; the others with the crop
  alone, as the kiosk asks them), answers, answers_changed (decisions that differ from asking every
  image with the mirror image averaged in). identification and open_set are the cascade's answers.
- recogniser: people, photos, cv_accuracy, genuine_accept_rate, training_seconds of the trained gallery.
- verification (with pairs): pairs, pairs_with_faces, folds, accuracy_mean, accuracy_std, tar_at_far
  ({"0.01": {"tar", "threshold", "impostor_pairs"}, "0.001": ...}). null without pairs.
- timing_ms: detect_median, detect_mean, embed_median, embed_mean (align + embed, one face),
  per image.
- embedder_version.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recognition.ml import recogniser
from recognition.ml.dataset import IMAGE_SUFFIXES, folder_dataset
from recognition.ml.images import ImageError, load_image
from recognition.ml.pipeline import FACE_CHOICES, MirrorWhen, choose_face

# How the caller trains a recogniser from (embeddings, person ids) and asks it about embeddings: the
# training worker's and the kiosk's own functions (recognition.training / recognition.matching).
Train = Callable[[np.ndarray, np.ndarray], recogniser.Recogniser]
Identify = Callable[[recogniser.Recogniser, np.ndarray], list[recogniser.Identification]]
# Wraps an iterable of `total` items with a progress display: progress(items, description, total).
Progress = Callable[[Iterable, str, int], Iterable]


def no_progress(items: Iterable, description: str, total: int) -> Iterable:
    """Return `items` as they are (no progress display)."""
    return items


DEFAULT_MAX_PIXELS = 40_000_000
# The recogniser's calibration is cross-validated per person: fewer photos cannot be trained on.
MIN_GALLERY_PHOTOS = 2


@dataclass
class EmbeddedImage:
    """One image of the dataset after detection: its largest face's embedding, or why there is none."""

    person: str
    path: Path
    embedding: np.ndarray | None
    faces: int
    detect_ms: float | None
    embed_ms: float | None
    error: str | None = None
    # The face's crop-alone embedding (without its mirror image), where asked for (embed_images' `both`).
    alone: np.ndarray | None = None


def embed_images(
    engine,
    items: Sequence[tuple[str, Path]],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    face: str = "largest",
    progress: Progress = no_progress,
    description: str = "embedding",
    both: bool = False,
) -> list[EmbeddedImage]:
    """Return each image's face (`face`: one of FACE_CHOICES) embedded with `engine`, timing detection
    and align+embed. `both`: also its crop-alone embedding (`engine.embed_faces_both`), for the
    kiosk's mirror cascade."""
    if face not in FACE_CHOICES:
        raise ValueError(f"unknown face choice {face!r}: expected one of {', '.join(FACE_CHOICES)}")
    results = []
    for person, path in progress(items, description, len(items)):
        try:
            rgb = load_image(Path(path).read_bytes(), max_pixels=max_pixels)
        except (ImageError, OSError) as exc:
            results.append(EmbeddedImage(person, Path(path), None, 0, None, None, f"unreadable: {exc}"))
            continue
        started = time.perf_counter()
        faces = engine.detect(rgb)
        detect_ms = (time.perf_counter() - started) * 1000
        if not faces:
            results.append(EmbeddedImage(person, Path(path), None, 0, detect_ms, None, "no face found"))
            continue
        started = time.perf_counter()
        chosen = [choose_face(faces, rgb.shape, face)]
        alone = None
        if both:
            alones, vectors = engine.embed_faces_both(rgb, chosen)
            alone, vector = alones[0], vectors[0]
        else:
            vector = engine.embed_faces(rgb, chosen)[0]
        embed_ms = (time.perf_counter() - started) * 1000
        results.append(
            EmbeddedImage(person, Path(path), vector, len(faces), detect_ms, embed_ms, alone=alone)
        )
    return results


def threshold_for_far(impostor_scores: np.ndarray, target_far: float) -> float:
    """Return the largest threshold accepting (score < threshold) at most `target_far` of the impostors."""
    scores = np.sort(np.asarray(impostor_scores, dtype=np.float64))
    if len(scores) == 0:
        raise ValueError("no impostor scores to set a threshold on")
    return float(scores[min(int(np.floor(target_far * len(scores))), len(scores) - 1)])


# --- LFW-style verification -------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    """Two images named as in LFW's pairs.txt: (person, number) each; `same` for a matched pair."""

    first: tuple[str, int]
    second: tuple[str, int]
    same: bool
    fold: int


def parse_pairs(path: Path) -> list[Pair]:
    """Return the pairs of an LFW `pairs.txt`: a "folds pairs-per-fold" line, then per fold that many
    matched lines ("name n1 n2") and that many mismatched lines ("name1 n1 name2 n2")."""
    lines = [line.split() for line in Path(path).read_text().splitlines() if line.strip()]
    if not lines or len(lines[0]) != 2:
        raise ValueError(f"{path}: the first line must be 'FOLDS PAIRS_PER_FOLD'")
    folds, per_fold = int(lines[0][0]), int(lines[0][1])
    body = lines[1:]
    if len(body) != folds * per_fold * 2:
        raise ValueError(f"{path}: expected {folds * per_fold * 2} pair lines, found {len(body)}")
    pairs = []
    for index, fields in enumerate(body):
        fold = index // (2 * per_fold)
        if len(fields) == 3:
            pairs.append(Pair((fields[0], int(fields[1])), (fields[0], int(fields[2])), True, fold))
        elif len(fields) == 4:
            pairs.append(Pair((fields[0], int(fields[1])), (fields[2], int(fields[3])), False, fold))
        else:
            raise ValueError(f"{path}: line {index + 2} is neither 'name n1 n2' nor 'name1 n1 name2 n2'")
    return pairs


def lfw_image_path(root: Path, person: str, number: int) -> Path:
    """Return root/person/person_000N.jpg (or the same name with another image suffix, if that exists)."""
    stem = Path(root) / person / f"{person}_{number:04d}"
    for suffix in IMAGE_SUFFIXES:
        candidate = stem.with_suffix(suffix)
        if candidate.exists():
            return candidate
    return stem.with_suffix(".jpg")


def _best_threshold(distances: np.ndarray, same: np.ndarray) -> float:
    """Return the threshold (midway between two observed distances) with the best accuracy on these pairs."""
    values = np.unique(distances)
    if len(values) == 0:
        return 1.0
    candidates = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    accuracy = [((distances < t) == same).mean() for t in candidates]
    return float(candidates[int(np.argmax(accuracy))])


def kfold_accuracy(distances: np.ndarray, same: np.ndarray, folds: np.ndarray) -> tuple[float, float]:
    """Return mean and std of per-fold accuracy, each fold's threshold chosen on the other folds."""
    accuracies = []
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        if not test.any() or not train.any():
            continue
        threshold = _best_threshold(distances[train], same[train])
        accuracies.append(float(((distances[test] < threshold) == same[test]).mean()))
    if not accuracies:
        return float("nan"), float("nan")
    return float(np.mean(accuracies)), float(np.std(accuracies))


def tar_at_far(distances: np.ndarray, same: np.ndarray, far: float) -> dict:
    """Return the true-accept rate at the threshold that accepts at most `far` of the impostor pairs."""
    impostors = distances[~same]
    genuine = distances[same]
    if len(impostors) == 0 or len(genuine) == 0:
        return {"tar": None, "threshold": None, "impostor_pairs": int(len(impostors))}
    threshold = threshold_for_far(impostors, far)
    return {
        "tar": float((genuine < threshold).mean()),
        "threshold": threshold,
        "impostor_pairs": int(len(impostors)),
    }


def verify_pairs(
    engine,
    root: Path,
    pairs: Sequence[Pair],
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    face: str = "largest",
    progress: Progress = no_progress,
) -> tuple[dict, list[EmbeddedImage]]:
    """Return verification figures for LFW-style `pairs` of images under `root`, and the embedded images."""
    keys = sorted({key for pair in pairs for key in (pair.first, pair.second)})
    embedded = embed_images(
        engine,
        [(person, lfw_image_path(root, person, n)) for person, n in keys],
        max_pixels=max_pixels,
        face=face,
        progress=progress,
        description="pair images",
    )
    by_key = dict(zip(keys, embedded, strict=True))
    usable = [
        p for p in pairs if by_key[p.first].embedding is not None and by_key[p.second].embedding is not None
    ]
    report = {"pairs": len(pairs), "pairs_with_faces": len(usable), "folds": len({p.fold for p in pairs})}
    if not usable:
        return {**report, "accuracy_mean": None, "accuracy_std": None, "tar_at_far": {}}, embedded
    distances = np.array(
        [float(np.linalg.norm(by_key[p.first].embedding - by_key[p.second].embedding)) for p in usable]
    )
    same = np.array([p.same for p in usable])
    folds = np.array([p.fold for p in usable])
    mean, std = kfold_accuracy(distances, same, folds)
    report.update(
        accuracy_mean=mean,
        accuracy_std=std,
        tar_at_far={str(far): tar_at_far(distances, same, far) for far in (0.01, 0.001)},
    )
    return report, embedded


# --- the whole evaluation ---------------------------------------------------------------------------


def split_gallery(
    people: dict[str, list[Path]], *, gallery_size: int | None, stranger_share: float, seed: int = 0
) -> tuple[list[tuple[str, Path]], list[tuple[str, Path]], list[tuple[str, Path]]]:
    """Return (gallery, known probes, strangers) items from {person: images}.

    A `stranger_share` of the people (chosen with `seed`) is kept out of the gallery entirely; the rest
    enrol their first `gallery_size` images (all of them when None) and are probed with the others.
    """
    names = sorted(people)
    count = round(stranger_share * len(names))
    strangers_names = set(random.Random(seed).sample(names, count)) if count else set()
    gallery, probes, strangers = [], [], []
    for name in names:
        images = people[name]
        if name in strangers_names:
            strangers += [(name, p) for p in images]
            continue
        enrol = images if gallery_size is None else images[:gallery_size]
        gallery += [(name, p) for p in enrol]
        probes += [(name, p) for p in images[len(enrol) :]]
    return gallery, probes, strangers


@dataclass(frozen=True)
class EvaluationPlan:
    """What to evaluate on: a folder-per-person gallery and where the probes and strangers come from.

    Without `probes_root`, each person's first `gallery_size` images are enrolled and the rest probe.
    With `probes_root` (for example train/ as the gallery, val/ as probes), `root`'s images are enrolled
    (the first `gallery_size` of each person, or all) and `probes_root`'s images probe; probe people
    missing from the gallery count as strangers. A `stranger_share` of root's people (chosen with
    `seed`) is kept out of the gallery as strangers; `strangers_root` adds people never enrolled;
    `pairs_file` is an LFW pairs.txt naming images under `root`. `identification` False skips the
    gallery, identification and open set (pairs only). `face` picks the face of a photo with several
    (FACE_CHOICES: the kiosk's "largest", or LFW's "centre").
    """

    root: Path
    probes_root: Path | None = None
    strangers_root: Path | None = None
    gallery_size: int | None = None
    stranger_share: float = 0.0
    pairs_file: Path | None = None
    seed: int = 0
    identification: bool = True
    face: str = "largest"


def evaluate(
    engine,
    plan: EvaluationPlan,
    *,
    train: Train,
    identify: Identify,
    threshold: float | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    progress: Progress = no_progress,
    mirror_when_for: Callable[[recogniser.Recogniser], MirrorWhen | None] | None = None,
) -> dict:
    """Return the evaluation report (keys in the module docstring) of `engine` on the plan's dataset.

    `train` fits the gallery and `identify` answers the probes: pass the training worker's and the
    kiosk's own functions, so the figures are those of the recogniser the kiosk runs. A given
    `threshold` replaces the trained one. `mirror_when_for(trained)` gives the kiosk's mirror cascade
    (recognition.matching.mirror_when): probes and strangers are then asked with their crop-alone
    embedding where it says so, as at the kiosk (`engine.embed_faces_both` needed). Without
    `plan.identification` only the pairs are measured and dataset, identification, open_set and
    recogniser report null or zero.
    """
    root = plan.root
    everything: list[EmbeddedImage] = []
    identified: dict = {"dataset": _dataset_section(plan, people=0), "identification": None}
    identified.update(open_set=None, recogniser=None, kiosk_cascade=None)
    if plan.identification:
        identified = _identification(
            engine, plan, train=train, identify=identify, threshold=threshold, max_pixels=max_pixels,
            progress=progress, everything=everything, mirror_when_for=mirror_when_for,
        )  # fmt: skip

    verification = None
    if plan.pairs_file is not None:
        verification, pair_images = verify_pairs(
            engine,
            root,
            parse_pairs(plan.pairs_file),
            max_pixels=max_pixels,
            face=plan.face,
            progress=progress,
        )
        everything += pair_images

    detect_ms = [e.detect_ms for e in everything if e.detect_ms is not None]
    embed_ms = [e.embed_ms for e in everything if e.embed_ms is not None]
    return {
        "dataset": identified["dataset"],
        "detection": {
            "images": len(everything),
            "unreadable": sum(1 for e in everything if e.error and e.error.startswith("unreadable")),
            "no_face": sum(1 for e in everything if e.error == "no face found"),
            "multiple_faces": sum(1 for e in everything if e.faces > 1),
            "failures": [{"path": str(e.path), "reason": e.error} for e in everything if e.error],
            "face_choice": plan.face,
        },
        "identification": identified["identification"],
        "open_set": identified["open_set"],
        "kiosk_cascade": identified["kiosk_cascade"],
        "recogniser": identified["recogniser"],
        "verification": verification,
        "timing_ms": {
            "detect_median": statistics.median(detect_ms) if detect_ms else None,
            "detect_mean": statistics.fmean(detect_ms) if detect_ms else None,
            "embed_median": statistics.median(embed_ms) if embed_ms else None,
            "embed_mean": statistics.fmean(embed_ms) if embed_ms else None,
        },
        "embedder_version": getattr(engine, "embedder_version", None),
    }


def _dataset_section(plan: EvaluationPlan, *, people: int, **counts) -> dict:
    return {
        "root": str(plan.root),
        "probes_root": str(plan.probes_root) if plan.probes_root else None,
        "strangers_root": str(plan.strangers_root) if plan.strangers_root else None,
        "people": people,
        "gallery_people": counts.get("gallery_people", 0),
        "gallery_images": counts.get("gallery_images", 0),
        "probe_images": counts.get("probe_images", 0),
        "stranger_images": counts.get("stranger_images", 0),
        "gallery_size": plan.gallery_size,
        "not_enrolled_people": counts.get("not_enrolled_people", 0),
    }


def _identification(
    engine,
    plan: EvaluationPlan,
    *,
    train: Train,
    identify: Identify,
    threshold: float | None,
    max_pixels: int,
    progress: Progress,
    everything: list[EmbeddedImage],
    mirror_when_for: Callable[[recogniser.Recogniser], MirrorWhen | None] | None = None,
) -> dict:
    """Enrol the gallery, train it with `train`, answer probes and strangers with `identify` (through
    the kiosk's mirror cascade, where `mirror_when_for` gives one)."""
    root, probes_root, strangers_root = plan.root, plan.probes_root, plan.strangers_root
    people = folder_dataset(root)
    gallery_items, probe_items, stranger_items = split_gallery(
        people, gallery_size=plan.gallery_size, stranger_share=plan.stranger_share, seed=plan.seed
    )
    if probes_root is not None:
        probe_items = [(name, p) for name, images in folder_dataset(probes_root).items() for p in images]
    if strangers_root is not None:
        stranger_items += [
            (name, p) for name, images in folder_dataset(strangers_root).items() for p in images
        ]

    def embed(items, description, both=False):
        return embed_images(
            engine, items, max_pixels=max_pixels, face=plan.face, progress=progress, description=description,
            both=both,
        )  # fmt: skip

    gallery = embed(gallery_items, "gallery")
    faces_by_person: dict[str, list[np.ndarray]] = {}
    for item in gallery:
        if item.embedding is not None:
            faces_by_person.setdefault(item.person, []).append(item.embedding)
    names = sorted(name for name, faces in faces_by_person.items() if len(faces) >= MIN_GALLERY_PHOTOS)
    if not names:
        raise ValueError(
            f"no person under {root} has {MIN_GALLERY_PHOTOS} gallery photos with a face the engine can "
            f"find; the recogniser needs at least {MIN_GALLERY_PHOTOS} per person (--gallery-size 2 or more)"
        )
    trained = train(
        np.stack([face for name in names for face in faces_by_person[name]]),
        np.array([index for index, name in enumerate(names) for _ in faces_by_person[name]], dtype=np.int64),
    )
    if threshold is not None:
        trained = dataclasses.replace(trained, threshold=threshold)

    # Whoever the recogniser does not know is a stranger to it, as at the kiosk.
    enrolled = set(names)
    stranger_items += [(name, p) for name, p in probe_items if name not in enrolled]
    probe_items = [(name, p) for name, p in probe_items if name in enrolled]
    mirror_when = mirror_when_for(trained) if mirror_when_for is not None else None
    probes = embed(probe_items, "probes", both=mirror_when is not None)
    strangers = embed(stranger_items, "strangers", both=mirror_when is not None)
    everything += gallery + probes + strangers

    known = [p for p in probes if p.embedding is not None]
    known_answers, known_mirrored, known_changed = _identify(identify, trained, known, mirror_when)
    ids = {name: index for index, name in enumerate(names)}
    truth = [ids[p.person] for p in known]
    correct = sum(a.candidate_id == t for a, t in zip(known_answers, truth, strict=True))
    found_strangers = [s for s in strangers if s.embedding is not None]
    stranger_answers, stranger_mirrored, stranger_changed = _identify(
        identify, trained, found_strangers, mirror_when
    )
    kiosk_cascade = None
    if mirror_when is not None:
        kiosk_cascade = {
            "probes_mirrored": float(known_mirrored.mean()) if len(known) else None,
            "strangers_mirrored": float(stranger_mirrored.mean()) if found_strangers else None,
            "answers": len(known) + len(found_strangers),
            "answers_changed": known_changed + stranger_changed,
        }

    open_set = None
    if trained.people_count >= 2 or threshold is not None or found_strangers:
        open_set = {
            "threshold": trained.threshold,
            "threshold_source": "given" if threshold is not None else "gallery leave-one-person-out",
            "target_far": trained.target_far,
            "max_threshold": trained.max_threshold,
            "gallery_impostor_searches": trained.impostor_count,
            "strangers": len(found_strangers),
            **open_set_rates(known_answers, truth, stranger_answers),
            "threshold_for_target_far_on_strangers": (
                threshold_for_far([_score(a) for a in stranger_answers], trained.target_far)
                if stranger_answers
                else None
            ),
        }
    counts = {
        "gallery_people": trained.people_count,
        "gallery_images": len(gallery),
        "probe_images": len(probes),
        "stranger_images": len(strangers),
        "not_enrolled_people": len({name for name, _ in gallery_items} - enrolled),
    }
    return {
        "dataset": _dataset_section(plan, people=len(people), **counts),
        "identification": {
            "probes": len(probes),
            "probes_with_face": len(known),
            "correct": int(correct),
            "rank1": correct / len(known) if known else None,
            "rank1_all": correct / len(probes) if probes else None,
        },
        "open_set": open_set,
        "kiosk_cascade": kiosk_cascade,
        "recogniser": {
            "people": trained.people_count,
            "photos": trained.photos_count,
            "cv_accuracy": trained.cv_accuracy,
            "genuine_accept_rate": trained.genuine_accept_rate,
            "training_seconds": trained.training_seconds,
        },
    }


def _score(answer: recogniser.Identification) -> float:
    return answer.distance if answer.score is None else answer.score


def _identify(
    identify: Identify,
    trained: recogniser.Recogniser,
    images: Sequence[EmbeddedImage],
    mirror_when: MirrorWhen | None = None,
) -> tuple[list, np.ndarray, int]:
    """Return the recogniser's Identification of each image, asked as the kiosk asks; which images
    were asked with the mirror image averaged in; and how many decisions (the person accepted, or
    nobody) differ from asking every image with it.

    Without `mirror_when` every image is asked with its usual embedding (mirror averaged in). With it,
    as the kiosk's cascade (pipeline.Engine.embed_aligned_when): the crop-alone embedding, except where
    `mirror_when` of those says the answer is too near a decision.
    """
    if not images:
        return [], np.zeros(0, dtype=bool), 0
    usual = np.stack([image.embedding for image in images])
    if mirror_when is None:
        return identify(trained, usual), np.ones(len(images), dtype=bool), 0
    alone = np.stack([image.alone for image in images])
    wanted = np.asarray(mirror_when(alone), dtype=bool).reshape(len(images))
    answers = identify(trained, np.where(wanted[:, None], usual, alone))
    always = identify(trained, usual)
    changed = sum(a.person_id != b.person_id for a, b in zip(answers, always, strict=True))
    return answers, wanted, int(changed)


def open_set_rates(
    known: Sequence[recogniser.Identification], truth: Sequence[int], strangers: Sequence
) -> dict:
    """Return far, frr and misidentified of the recogniser's answers (truth: each known probe's id).

    far: strangers accepted as somebody; frr: known probes rejected as unknown; misidentified: known
    probes accepted as somebody else.
    """
    accepted = np.array([a.person_id is not None for a in known], dtype=bool)
    wrong = np.array([a.person_id != t for a, t in zip(known, truth, strict=True)], dtype=bool)
    stranger_accepted = np.array([a.person_id is not None for a in strangers], dtype=bool)
    return {
        "far": float(stranger_accepted.mean()) if len(strangers) else None,
        "frr": float((~accepted).mean()) if len(known) else None,
        "misidentified": float((accepted & wrong).mean()) if len(known) else None,
    }


def format_report(report: dict) -> str:
    """Return the report as a plain two-column text table."""

    def pct(value):
        return "n/a" if value is None else f"{100 * value:.1f}%"

    def num(value, digits=3):
        return "n/a" if value is None else f"{value:.{digits}f}"

    d, det, ident = report["dataset"], report["detection"], report["identification"]
    rows = []
    if ident is not None:
        rows += [
            ("people in dataset", str(d["people"])),
            ("gallery people / images", f"{d['gallery_people']} / {d['gallery_images']}"),
            (
                f"gallery people with under {MIN_GALLERY_PHOTOS} faces (not enrolled)",
                str(d["not_enrolled_people"]),
            ),
            ("probe images (known / strangers)", f"{d['probe_images']} / {d['stranger_images']}"),
        ]
    rows += [
        ("images with no face found", f"{det['no_face']} of {det['images']}"),
        ("unreadable images", str(det["unreadable"])),
        (f"images with several faces ({det.get('face_choice', 'largest')} used)", str(det["multiple_faces"])),
    ]
    if ident is not None:
        rows += [
            (
                "rank-1 identification (probes with a face)",
                f"{pct(ident['rank1'])} ({ident['correct']}/{ident['probes_with_face']})",
            ),
            ("rank-1 identification (all probes)", pct(ident["rank1_all"])),
            ("recogniser cross-validated accuracy (gallery)", pct(report["recogniser"]["cv_accuracy"])),
        ]
    open_set = report["open_set"]
    if open_set:
        rows += [
            (f"open-set threshold ({open_set['threshold_source']})", num(open_set["threshold"])),
            ("target false-accept rate", pct(open_set["target_far"])),
            (f"false-accept rate ({open_set['strangers']} stranger images)", pct(open_set["far"])),
            ("false-reject rate (known probes)", pct(open_set["frr"])),
            ("misidentified (known probes)", pct(open_set["misidentified"])),
            (
                "threshold for target FAR on these strangers",
                num(open_set["threshold_for_target_far_on_strangers"]),
            ),
        ]
    cascade = report.get("kiosk_cascade")
    if cascade:
        rows += [
            (
                "asked with the mirror image (kiosk cascade): probes / strangers",
                f"{pct(cascade['probes_mirrored'])} / {pct(cascade['strangers_mirrored'])}",
            ),
            (
                "decisions unlike the mirror image for every face",
                f"{cascade['answers_changed']} of {cascade['answers']}",
            ),
        ]
    verification = report["verification"]
    if verification:
        rows += [
            (
                "verification pairs (with faces)",
                f"{verification['pairs']} ({verification['pairs_with_faces']})",
            ),
            (
                f"{verification['folds']}-fold verification accuracy",
                f"{pct(verification['accuracy_mean'])} +- {pct(verification['accuracy_std'])}",
            ),
        ]
        for far, figures in verification["tar_at_far"].items():
            rows.append(
                (
                    f"TAR at FAR {100 * float(far):g}% ({figures['impostor_pairs']} impostor pairs)",
                    pct(figures["tar"]),
                )
            )
    timing = report["timing_ms"]
    rows += [
        (
            "detection ms per image (median / mean)",
            f"{num(timing['detect_median'], 1)} / {num(timing['detect_mean'], 1)}",
        ),
        (
            "align+embed ms per face (median / mean)",
            f"{num(timing['embed_median'], 1)} / {num(timing['embed_mean'], 1)}",
        ),
        ("embedder version", str(report.get("embedder_version"))),
    ]
    width = max(len(label) for label, _ in rows)
    lines = [f"{'figure'.ljust(width)}  value", f"{'-' * width}  {'-' * 20}"]
    lines += [f"{label.ljust(width)}  {value}" for label, value in rows]
    for failure in det["failures"]:
        lines.append(f"  not used: {failure['path']}: {failure['reason']}")
    return "\n".join(lines)
