"""The recogniser: who is this face, or nobody we know? Trained from enrolled embeddings; no Django.

Two parts, because a classifier alone always names somebody:

- a linear SVM, one-vs-rest (`LinearSVC`), with probabilities calibrated by `CalibratedClassifierCV`
  (sigmoid, 3 stratified folds; 2 above 1,000 people), picks the most likely enrolled person and
  says how sure it is;
- an open-set check accepts that answer only when the face is closer than `threshold` to one of
  that person's enrolled faces.

The threshold is set from the gallery itself for a target false-accept rate: every enrolled face
is searched against everybody else's faces (leave one person out), and the threshold is put below
all but that share of those nearest-impostor distances. A stranger's nearest enrolled face is much
closer than a random impostor's, and gets closer as the gallery grows, so a pair-level threshold
would accept most strangers (pipeline-facts, "Thresholds").

Why one-vs-rest `LinearSVC` and not `SVC(kernel="linear")`: libsvm's one-vs-one fits P(P-1)/2
machines and its calibrated fit took about 37 s for 1,000 people (pipeline-facts); liblinear fits
P machines over all samples, which stays practical at 5,000 people (see `benchmarks.training`).
"""

from __future__ import annotations

import copy
import hashlib
import io
import pickle  # noqa: S403 -- artifacts are written by our own training run and checked by sha256 first
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

FORMAT_VERSION = 1
MAGIC = b"FACEREC\x00"
DEFAULT_TARGET_FAR = 0.001
# With few enrolled people the gallery says little about strangers: never accept a face farther
# than this from the named person's faces (same-person pairs: 95th percentile about 1.14).
DEFAULT_MAX_THRESHOLD = 1.0
CV_FOLDS = 3
# Above this many people the calibration uses 2 folds: measured at 2,000 people, 32 s against 89 s
# for 3 folds (the SVM fits dominate), which keeps 5,000 people within minutes.
LARGE_GALLERY_PEOPLE = 1000


class ArtifactError(ValueError):
    """A stored recogniser cannot be loaded: damaged, or written by an incompatible format."""


@dataclass(frozen=True)
class Identification:
    """The answer for one face: `person_id` None means unknown (nobody close enough)."""

    person_id: int | None
    candidate_id: int | None  # who the classifier named, accepted or not
    distance: float  # to the nearest enrolled face of the candidate
    confidence: float  # the classifier's calibrated probability for the candidate


@dataclass
class Recogniser:
    person_ids: np.ndarray  # (P,) int64, the class order
    gallery: np.ndarray  # (N, 128) float32 unit vectors
    gallery_labels: np.ndarray  # (N,) index into person_ids
    classifier: CalibratedClassifierCV | None  # None when only one person is enrolled
    threshold: float
    target_far: float
    embedder_version: str = ""
    cv_accuracy: float | None = None
    genuine_accept_rate: float | None = None  # share of enrolled faces another photo of theirs accepts
    impostor_count: int = 0
    training_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @property
    def people_count(self) -> int:
        return len(self.person_ids)

    @property
    def photos_count(self) -> int:
        return len(self.gallery)

    def identify(self, embedding: np.ndarray) -> Identification:
        """Return who `embedding` (one 128-d unit vector) is, or person_id None for a stranger."""
        return self.identify_many(np.asarray(embedding, dtype=np.float32)[None])[0]

    def identify_many(self, embeddings: np.ndarray) -> list[Identification]:
        """Return an Identification for each row of `embeddings` (M, 128)."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.gallery.shape[1]:
            raise ValueError(f"expected embeddings of shape (M, {self.gallery.shape[1]}), got {x.shape}")
        if self.classifier is None:
            classes = np.zeros(len(x), dtype=np.int64)
            confidences = np.ones(len(x))
        else:
            proba = self.classifier.predict_proba(x)
            classes = proba.argmax(axis=1)
            confidences = proba[np.arange(len(x)), classes]
        distances = pairwise_distances(x, self.gallery)
        answers = []
        for row, cls, conf in zip(distances, classes, confidences, strict=True):
            distance = float(row[self.gallery_labels == cls].min())
            candidate = int(self.person_ids[cls])
            accepted = distance < self.threshold
            answers.append(
                Identification(
                    person_id=candidate if accepted else None,
                    candidate_id=candidate,
                    distance=distance,
                    confidence=float(conf),
                )
            )
        return answers

    def without(self, person_ids: set[int]) -> Recogniser | None:
        """Return a copy that no longer holds `person_ids`: their gallery faces and classifier class go.

        For deleting a person from a stored version at once, without a retraining run: the other
        people's faces, the threshold and the remaining classes' calibrated SVMs are kept as they are.
        Returns self when none of them is in it, None when nobody would be left.
        """
        drop = np.isin(self.person_ids, np.fromiter(person_ids, dtype=np.int64, count=len(person_ids)))
        if not drop.any():
            return self
        keep = np.flatnonzero(~drop)
        if len(keep) == 0:
            return None
        remap = np.full(len(self.person_ids), -1, dtype=np.int64)
        remap[keep] = np.arange(len(keep))
        rows = remap[self.gallery_labels] >= 0
        state = dict(self.__dict__)
        state.update(
            person_ids=self.person_ids[keep].copy(),
            gallery=self.gallery[rows].copy(),
            gallery_labels=remap[self.gallery_labels][rows].astype(np.int32),
            classifier=_classifier_without(self.classifier, keep) if len(keep) >= 2 else None,
            extra={**self.extra, "people_removed": self.extra.get("people_removed", 0) + int(drop.sum())},
        )
        return Recogniser(**state)

    def to_bytes(self) -> bytes:
        """Return the recogniser as bytes: a magic header, the format version, then the pickled state."""
        payload = pickle.dumps(self.__dict__, protocol=pickle.HIGHEST_PROTOCOL)
        return MAGIC + FORMAT_VERSION.to_bytes(2, "big") + payload

    @classmethod
    def from_bytes(cls, data: bytes, *, sha256: str) -> Recogniser:
        """Return the recogniser stored in `data`, after checking its sha256 and format version."""
        data = bytes(data)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArtifactError("the recogniser artifact does not match its sha256: it is damaged")
        if not data.startswith(MAGIC):
            raise ArtifactError("the recogniser artifact has no recogniser header")
        version = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "big")
        if version != FORMAT_VERSION:
            raise ArtifactError(
                f"the recogniser artifact has format {version}; this code reads {FORMAT_VERSION}"
            )
        state = pickle.load(io.BytesIO(data[len(MAGIC) + 2 :]))  # noqa: S301 -- integrity checked above
        recogniser = cls.__new__(cls)
        recogniser.__dict__.update(state)
        return recogniser


def artifact_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the Euclidean distances between rows of a (M, d) and b (N, d) as (M, N) float32."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0), dtype=np.float32)


def nearest_distances(
    gallery: np.ndarray, labels: np.ndarray, *, block: int = 2048
) -> tuple[np.ndarray, np.ndarray]:
    """Return, for every enrolled face, the distance to its nearest other-person face (impostor) and
    to its nearest other photo of the same person (genuine; inf when it is the person's only photo).

    Searching everybody else for each face is leave-one-person-out identification over the gallery.
    """
    impostor = np.empty(len(gallery), dtype=np.float32)
    genuine = np.empty(len(gallery), dtype=np.float32)
    for start in range(0, len(gallery), block):
        rows = slice(start, start + block)
        d = pairwise_distances(gallery[rows], gallery)
        same = labels[rows, None] == labels[None, :]
        impostor[rows] = np.where(same, np.inf, d).min(axis=1)
        d[np.arange(d.shape[0]), np.arange(start, start + d.shape[0])] = np.inf  # not itself
        genuine[rows] = np.where(same, d, np.inf).min(axis=1)
    return impostor, genuine


def open_set_threshold(impostor: np.ndarray, *, target_far: float, max_threshold: float) -> float:
    """Return a distance below which at most `target_far` of the nearest-impostor distances fall.

    Accepting `distance < threshold` then falsely accepts at most that share of enrolled faces searched
    against everybody else. With fewer than 1/target_far impostor distances that is below the closest
    one. Never above `max_threshold`.
    """
    finite = np.sort(impostor[np.isfinite(impostor)])
    if len(finite) == 0:
        return float(max_threshold)
    k = int(np.floor(target_far * len(finite)))
    return float(min(finite[min(k, len(finite) - 1)], max_threshold))


def train(
    embeddings: np.ndarray,
    person_ids: np.ndarray,
    *,
    target_far: float = DEFAULT_TARGET_FAR,
    max_threshold: float = DEFAULT_MAX_THRESHOLD,
    embedder_version: str = "",
    cv_folds: int | None = None,
    random_state: int = 0,
    n_jobs: int = 1,
) -> Recogniser:
    """Return a recogniser trained on `embeddings` (N, 128 unit vectors) labelled with `person_ids` (N,).

    Every person needs at least 2 photos (the calibration is cross-validated on stratified folds);
    raises ValueError otherwise, or when there is nothing to train on. `n_jobs` fits the folds in
    parallel processes (on a training-only machine; by default one core, to spare recognition).
    """
    started = time.perf_counter()
    x = np.ascontiguousarray(embeddings, dtype=np.float32)
    ids = np.asarray(person_ids, dtype=np.int64)
    if x.ndim != 2 or len(x) == 0 or len(x) != len(ids):
        raise ValueError(
            f"need one label per embedding and at least one embedding, got {x.shape} and {ids.shape}"
        )
    classes, labels, counts = np.unique(ids, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        lonely = classes[counts < 2].tolist()
        raise ValueError(f"every person needs at least 2 photos to train on; these have one: {lonely}")

    classifier, cv_accuracy = None, None
    if len(classes) >= 2:
        if cv_folds is None:
            cv_folds = CV_FOLDS if len(classes) <= LARGE_GALLERY_PEOPLE else 2
        folds = min(cv_folds, int(counts.min()))
        classifier, cv_accuracy = _fit_classifier(x, labels, folds=folds, seed=random_state, n_jobs=n_jobs)

    impostor, genuine = nearest_distances(x, labels)
    threshold = open_set_threshold(impostor, target_far=target_far, max_threshold=max_threshold)
    genuine_rate = float(np.mean(genuine < threshold))
    return Recogniser(
        person_ids=classes,
        gallery=x,
        gallery_labels=labels.astype(np.int32),
        classifier=classifier,
        threshold=threshold,
        target_far=float(target_far),
        embedder_version=embedder_version,
        cv_accuracy=cv_accuracy,
        genuine_accept_rate=genuine_rate,
        impostor_count=int(np.isfinite(impostor).sum()),
        training_seconds=time.perf_counter() - started,
    )


def _classifier_without(classifier: CalibratedClassifierCV, keep: np.ndarray) -> CalibratedClassifierCV:
    """Return a copy of the calibrated one-vs-rest SVM that only knows the classes `keep` (indices, >= 2).

    Each fold's SVM keeps its rows of weights for those classes and their calibrators; with two classes
    left it becomes a binary SVM on the second one's row, as scikit-learn lays binary ones out.
    """
    pruned = copy.deepcopy(classifier)
    count = len(keep)
    rows = keep if count > 2 else keep[1:]
    for fold in pruned.calibrated_classifiers_:
        svm = fold.estimator
        svm.coef_ = svm.coef_[rows].copy()
        svm.intercept_ = svm.intercept_[rows].copy()
        svm.classes_ = np.arange(count)
        fold.calibrators = [fold.calibrators[int(i)] for i in rows]
        fold.classes = np.arange(count)
    pruned.classes_ = np.arange(count)
    return pruned


def _fit_classifier(x: np.ndarray, labels: np.ndarray, *, folds: int, seed: int, n_jobs: int = 1):
    """Fit the calibrated one-vs-rest linear SVM; return it and its cross-validated accuracy.

    The folds are ours, so each fold's SVM (fitted without that fold) is scored on it: the
    cross-validated accuracy costs no extra fit. The fold was used to fit the sigmoid calibration,
    which is monotonic per class, so the score uses the SVM's own decision values.
    """
    splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, labels))
    svm = LinearSVC(C=1.0, dual=True, max_iter=2000)
    classifier = CalibratedClassifierCV(svm, method="sigmoid", cv=splits, ensemble=True, n_jobs=n_jobs)
    with warnings.catch_warnings():
        # liblinear may stop at max_iter on a near-separable class; the fit is still usable.
        warnings.simplefilter("ignore", ConvergenceWarning)
        classifier.fit(x, labels)
    correct = 0
    for (_, test), fold in zip(splits, classifier.calibrated_classifiers_, strict=True):
        scores = fold.estimator.decision_function(x[test])
        predicted = (scores > 0).astype(int) if scores.ndim == 1 else scores.argmax(axis=1)
        predicted = fold.estimator.classes_[predicted]
        correct += int((predicted == labels[test]).sum())
    return classifier, correct / len(x)
