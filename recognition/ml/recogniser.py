"""The recogniser: who is this face, or nobody we know? Trained from enrolled embeddings; no Django.

Each enrolled person is one *template*: the normalised mean of their photos' embeddings. A face is
compared with every template (Euclidean distance between unit vectors):

- the candidate is the person of the nearest template, at distance d1;
- the open-set score is d1 minus the mean distance to the next three templates (d2..d4): how much
  nearer the face is to its best match than to the people around it. A stranger's nearest template
  gets closer as the gallery grows, but so do the next ones, so the score holds where one distance
  threshold does not (pipeline-facts, "Thresholds");
- the face is accepted iff score < threshold and d1 < max_distance (1.0: beyond it no face is the
  same person, whatever the neighbours).

The threshold is calibrated on the gallery itself for a target false-accept rate *per frame*: every
enrolled photo is searched, as a stranger, against everybody else's templates (leave one person
out), and the threshold is set at that share of those scores.

Why templates, not the calibrated linear SVM of format 1: on the lfw-dev open-set split (175 staff
enrolled with 3 photos, 1,356 probes, 1,066 strangers) the template score at its calibrated
threshold accepted 96.9% of staff probes at 0.83% of strangers and named nobody wrongly; at 1% of
strangers the SVM's decision accepted 94.9%; training is a mean per person
and one blocked search (10,000 people in seconds, not minutes), adding or removing a person changes
one template, and the artifact is plain arrays (npz, no pickle). Format 1 artifacts (pickled SVM)
are still read, so a version trained before the upgrade keeps serving until it is replaced.

Incremental updates (format 3): every calibration figure of a photo depends only on its distances to
its nearest NEIGHBOURS + 1 other templates and on its own person's photos, so the artifact keeps that
neighbour table and `Recogniser.updated` refits a change of a few people by searching only the photos
it touches: the same recogniser as a full fit, up to float rounding (tests/recognition/ml). Format 2
artifacts (no table) are still read and served; the next training run fits them in full.

Alternatives to the score measured on the same split and not adopted (`benchmarks.open_set_scores`:
a logistic score learned on the gallery, symmetric normalisation, a photo cohort; quality weighting
and more crops per face measured too): none beats it by more than the spread between folds; the
staff it turns away are probes far from their own template, a limit of the embeddings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import math
import pickle  # noqa: S403 -- only to read format 1 artifacts written by our own training runs, after sha256
import time
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

FORMAT_VERSION = 3
# Format 2: templates without the neighbour table; still served, but updating one needs a full fit.
TABLELESS_FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
MAGIC = b"FACEREC\x00"
# False accepts per frame the calibration aims at (the kiosk's K-of-M rule then multiplies it down).
DEFAULT_TARGET_FAR = 0.01
# Never accept a face farther than this from the named person's template (same-person photos of these
# weights: 95th percentile about 1.14 to a single photo, nearer to a mean of several).
DEFAULT_MAX_THRESHOLD = 1.0
# The open-set score compares the nearest template with the mean of this many next-nearest ones.
NEIGHBOURS = 3
# Where a gallery has fewer people than that, a missing neighbour counts as an unrelated face: the
# distance between two orthogonal unit vectors.
UNRELATED_DISTANCE = math.sqrt(2.0)
BLOCK_ROWS = 2048
# The neighbour table keeps each photo's nearest other templates: the NEIGHBOURS of the open-set score,
# plus the nearest one (the genuine figures need it when the photo's own template is left out).
TABLE_WIDTH = NEIGHBOURS + 1
NO_NEIGHBOUR = -1  # fewer other people than TABLE_WIDTH (its distance is infinite)
GONE_NEIGHBOUR = -2  # its template was removed since (`without`): the row must be searched again


class ArtifactError(ValueError):
    """A stored recogniser cannot be loaded: damaged, or written by an incompatible format."""


class NotUpdatableError(ValueError):
    """A recogniser cannot be updated incrementally (no neighbour table: format 2): train it in full."""


@dataclass(frozen=True)
class Identification:
    """The answer for one face: `person_id` None means unknown (nobody close enough).

    distance: to the candidate's template; score: the open-set score (distance minus the mean distance
    to the next templates; lower is surer); confidence: how far the score is inside the threshold,
    0 (at or outside it) to 1.
    """

    person_id: int | None
    candidate_id: int | None  # who the recogniser named, accepted or not
    distance: float
    confidence: float
    score: float | None = None


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the Euclidean distances between rows of a (M, d) and b (N, d) as (M, N) float32."""
    squared = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * (a @ b.T)
    return np.sqrt(np.maximum(squared, 0.0), dtype=np.float32)


def normalise(rows: np.ndarray) -> np.ndarray:
    """Return rows scaled to unit length (float32)."""
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.maximum(np.linalg.norm(rows, axis=-1, keepdims=True), 1e-12)


def nearest_scores(distances: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (index of the nearest column, d1, score) for each row of a (M, P) distance matrix."""
    m, p = distances.shape
    k = min(NEIGHBOURS + 1, p)
    if k < p:
        nearest = np.argpartition(distances, k - 1, axis=1)[:, :k]
    else:
        nearest = np.broadcast_to(np.arange(p), (m, p))
    near = np.take_along_axis(distances, nearest, axis=1)
    order = np.argsort(near, axis=1)
    near = np.take_along_axis(near, order, axis=1)
    best = np.take_along_axis(nearest, order[:, :1], axis=1)[:, 0]
    others = np.full((m, NEIGHBOURS), UNRELATED_DISTANCE, dtype=np.float32)
    # A template left out of the search (infinite distance) is no neighbour either.
    others[:, : k - 1] = np.where(np.isfinite(near[:, 1:k]), near[:, 1:k], UNRELATED_DISTANCE)
    d1 = near[:, 0]
    return best, d1, d1 - others.mean(axis=1)


def calibrated_threshold(scores: np.ndarray, *, target_far: float) -> float:
    """Return the score threshold that accepts (score < threshold) at most `target_far` of these
    impostor scores: their floor(target_far * n)-th lowest (with fewer than 1/target_far scores, the
    lowest: none of them accepted).

    No further safety margin: on the lfw-dev open-set split the gallery's 1% quantile let in 0.83% of
    real strangers, while a 95% order-statistic bound moved the threshold among the few lowest gallery
    scores (look-alikes) and turned away 11.6% of staff instead of 3.1%.
    """
    finite = np.sort(np.asarray(scores, dtype=np.float64)[np.isfinite(scores)])
    if len(finite) == 0:
        return DEFAULT_MAX_THRESHOLD - UNRELATED_DISTANCE  # no neighbours: d1 < max_distance decides
    k = int(math.floor(target_far * len(finite)))
    return float(finite[min(k, len(finite) - 1)])


@dataclass
class Recogniser:
    person_ids: np.ndarray  # (P,) int64, the order of the templates
    templates: np.ndarray  # (P, 128) float32 unit vectors
    gallery: np.ndarray  # (N, 128) float32 unit vectors, the enrolled photos
    gallery_labels: np.ndarray  # (N,) index into person_ids
    threshold: float  # on the open-set score
    target_far: float
    embedder_version: str = ""
    max_threshold: float = DEFAULT_MAX_THRESHOLD  # the cap on d1
    cv_accuracy: float | None = None  # leave-one-photo-out rank-1 over the gallery
    genuine_accept_rate: float | None = None  # share of enrolled photos accepted, left out of their template
    impostor_count: int = 0
    training_seconds: float = 0.0
    # Each gallery photo's TABLE_WIDTH nearest templates other than its own, nearest first: indices
    # into person_ids (NO_NEIGHBOUR, GONE_NEIGHBOUR) and distances (float32, infinite where none).
    # Every calibration figure follows from it and the photos, which is what lets `updated` refit
    # only what a change touches. None: a format 2 artifact, which `updated` refuses.
    neighbours: np.ndarray | None = None
    neighbour_distances: np.ndarray | None = None
    extra: dict = field(default_factory=dict)

    @property
    def people_count(self) -> int:
        return len(self.person_ids)

    @property
    def photos_count(self) -> int:
        return len(self.gallery)

    @property
    def updatable(self) -> bool:
        """Whether `updated` can refit this recogniser incrementally (it has a neighbour table)."""
        return self.neighbours is not None and self.neighbour_distances is not None

    def identify(self, embedding: np.ndarray) -> Identification:
        """Return who `embedding` (one 128-d unit vector) is, or person_id None for a stranger."""
        return self.identify_many(np.asarray(embedding, dtype=np.float32)[None])[0]

    def identify_many(self, embeddings: np.ndarray) -> list[Identification]:
        """Return an Identification for each row of `embeddings` (M, 128)."""
        x = np.asarray(embeddings, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != self.templates.shape[1]:
            raise ValueError(f"expected embeddings of shape (M, {self.templates.shape[1]}), got {x.shape}")
        x = normalise(x)
        answers = []
        for start in range(0, len(x), BLOCK_ROWS):
            # Unit vectors: |a - b|^2 = 2 - 2 a.b, one product with the templates and nothing else.
            similarity = x[start : start + BLOCK_ROWS] @ self.templates.T
            best, d1, score = nearest_scores(np.sqrt(np.maximum(2.0 - 2.0 * similarity, 0.0)))
            for index, distance, value in zip(best, d1, score, strict=True):
                candidate = int(self.person_ids[index])
                accepted = value < self.threshold and distance < self.max_threshold
                answers.append(
                    Identification(
                        person_id=candidate if accepted else None,
                        candidate_id=candidate,
                        distance=float(distance),
                        confidence=float(np.clip(self.threshold - value, 0.0, 1.0)),
                        score=float(value),
                    )
                )
        return answers

    def undecided(self, embeddings: np.ndarray, band: float) -> np.ndarray:
        """Return a bool per row of `embeddings`: whether its answer is within `band` of turning,
        i.e. its score is within `band` of the threshold, or it is accepted with its distance within
        `band` of the cap. The kiosk averages the mirror image in only for these (Engine.mirror_when).
        """
        answers = self.identify_many(embeddings)
        score = np.array([a.score for a in answers], dtype=np.float64)
        distance = np.array([a.distance for a in answers], dtype=np.float64)
        surely_in = (score < self.threshold - band) & (distance < self.max_threshold - band)
        surely_out = (score >= self.threshold + band) | (distance >= self.max_threshold + band)
        return ~(surely_in | surely_out)

    def without(self, person_ids: set[int]) -> Recogniser | None:
        """Return a copy that no longer holds `person_ids`: their templates and gallery faces go.

        For deleting a person from a stored version at once, without a training run (erasure must
        not wait for a worker): everybody else's templates and the threshold stay as they are.
        Returns self when none of them is in it, None when nobody would be left.
        """
        keep_people = ~np.isin(
            self.person_ids, np.fromiter(person_ids, dtype=np.int64, count=len(person_ids))
        )
        if keep_people.all():
            return self
        if not keep_people.any():
            return None
        remap = np.full(len(self.person_ids), -1, dtype=np.int64)
        remap[keep_people] = np.arange(int(keep_people.sum()))
        rows = remap[self.gallery_labels] >= 0
        table = {}
        if self.updatable:
            # The rows that had a removed person among their neighbours are marked, so that `updated`
            # searches them again; the threshold stays as it is until then.
            table = {
                "neighbours": _renumbered(
                    self.neighbours[rows], np.where(keep_people, remap, GONE_NEIGHBOUR)
                ),
                "neighbour_distances": self.neighbour_distances[rows].copy(),
            }
        return dataclasses.replace(
            self,
            person_ids=self.person_ids[keep_people].copy(),
            templates=self.templates[keep_people].copy(),
            gallery=self.gallery[rows].copy(),
            gallery_labels=remap[self.gallery_labels][rows].astype(np.int32),
            **table,
        )

    def updated(
        self, embeddings: np.ndarray, person_ids: np.ndarray, removed_ids: Iterable[int] = ()
    ) -> Recogniser:
        """Return the recogniser `train` would fit once the people in `person_ids` have exactly these
        photos (`embeddings`, N x 128: new people added, enrolled ones' photos replaced) and the
        people in `removed_ids` are gone, with the same options, up to float rounding.

        Only what the change touches is searched: the changed people's templates are dropped and made
        again; a photo whose nearest other templates included a dropped one is searched against every
        template; every other photo keeps its nearest ones and only meets the new templates (a product
        with the changed people alone); the new photos are searched in full. The threshold and figures
        are then recomputed from the neighbour table over the whole gallery (cheap: no search).
        Raises NotUpdatableError without a neighbour table, ValueError as `train` does.
        """
        started = time.perf_counter()
        if not self.updatable:
            raise NotUpdatableError(
                "this recogniser has no neighbour table (format 2): it cannot be updated, train it in full"
            )
        width = self.templates.shape[1]
        x_new = normalise(np.asarray(embeddings, dtype=np.float32).reshape(-1, width))
        ids_new = np.asarray(person_ids, dtype=np.int64).reshape(-1)
        if len(x_new) != len(ids_new):
            raise ValueError(f"need one label per embedding, got {x_new.shape} and {ids_new.shape}")
        changed, counts = np.unique(ids_new, return_counts=True)
        if len(counts) and counts.min() < 2:
            lonely = changed[counts < 2].tolist()
            raise ValueError(f"every person needs at least 2 photos to train on; these have one: {lonely}")
        removed = np.fromiter((int(i) for i in removed_ids), dtype=np.int64)
        keep_people = ~np.isin(self.person_ids, np.union1d(changed, removed))
        classes = np.union1d(self.person_ids[keep_people], changed)
        if len(classes) == 0:
            raise ValueError("nothing to train on: everybody was removed")
        remap = np.full(len(self.person_ids), GONE_NEIGHBOUR, dtype=np.int64)
        remap[keep_people] = np.searchsorted(classes, self.person_ids[keep_people])
        kept_rows = keep_people[self.gallery_labels]
        x = np.concatenate([self.gallery[kept_rows], x_new]).astype(np.float32, copy=False)
        labels = np.concatenate([remap[self.gallery_labels[kept_rows]], np.searchsorted(classes, ids_new)])
        sums = person_sums(x, labels, len(classes))
        templates = normalise(sums)

        kept = int(kept_rows.sum())
        near = np.full((len(x), TABLE_WIDTH), NO_NEIGHBOUR, dtype=np.int32)
        near_d = np.full((len(x), TABLE_WIDTH), np.inf, dtype=np.float32)
        near[:kept] = _renumbered(self.neighbours[kept_rows], remap)
        near_d[:kept] = self.neighbour_distances[kept_rows]
        # Photos that lost a neighbour, and the new photos: searched against everybody.
        searched = np.flatnonzero((near == GONE_NEIGHBOUR).any(axis=1) | (np.arange(len(x)) >= kept))
        near[searched], near_d[searched] = nearest_others(x[searched], labels[searched], templates)
        # Everybody else: their nearest so far, or one of the new templates.
        fresh = np.searchsorted(classes, changed)
        merged = np.setdiff1d(np.arange(kept), searched, assume_unique=True)
        if len(fresh):
            for start in range(0, len(merged), BLOCK_ROWS):
                rows = merged[start : start + BLOCK_ROWS]
                d = np.sqrt(np.maximum(2.0 - 2.0 * (x[rows] @ templates[fresh].T), 0.0))
                both = np.concatenate([near_d[rows], d], axis=1)
                both_i = np.concatenate(
                    [near[rows], np.broadcast_to(fresh, d.shape).astype(np.int32)], axis=1
                )
                order = np.argsort(both, axis=1, kind="stable")[:, :TABLE_WIDTH]
                near_d[rows] = np.take_along_axis(both, order, axis=1)
                near[rows] = np.take_along_axis(both_i, order, axis=1)

        impostor_scores, accepted_genuine, correct = neighbour_figures(x, labels, sums, near_d, len(classes))
        threshold = calibrated_threshold(impostor_scores, target_far=self.target_far)
        return Recogniser(
            person_ids=classes,
            templates=templates,
            gallery=x,
            gallery_labels=labels.astype(np.int32),
            threshold=threshold,
            target_far=self.target_far,
            embedder_version=self.embedder_version,
            max_threshold=self.max_threshold,
            cv_accuracy=correct,
            genuine_accept_rate=accepted_genuine(threshold, self.max_threshold),
            impostor_count=int(np.isfinite(impostor_scores).sum()),
            training_seconds=time.perf_counter() - started,
            neighbours=near,
            neighbour_distances=near_d,
        )

    def to_bytes(self) -> bytes:
        """Return the recogniser as bytes: a magic header, the format version, then an npz of arrays."""
        buffer = io.BytesIO()
        table = {}
        if self.updatable:
            table = {
                "neighbours": self.neighbours.astype(np.int32),
                "neighbour_distances": self.neighbour_distances.astype(np.float32),
            }
        np.savez(
            buffer,
            **table,
            person_ids=self.person_ids.astype(np.int64),
            templates=self.templates.astype(np.float32),
            gallery=self.gallery.astype(np.float32),
            gallery_labels=self.gallery_labels.astype(np.int32),
            figures=np.array(
                [
                    self.threshold,
                    self.target_far,
                    self.max_threshold,
                    np.nan if self.cv_accuracy is None else self.cv_accuracy,
                    np.nan if self.genuine_accept_rate is None else self.genuine_accept_rate,
                    self.impostor_count,
                    self.training_seconds,
                ],
                dtype=np.float64,
            ),
            embedder_version=np.array(self.embedder_version),
        )
        return MAGIC + FORMAT_VERSION.to_bytes(2, "big") + buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, *, sha256: str) -> Recogniser | LegacySvcRecogniser:
        """Return the recogniser stored in `data`, after checking its sha256 and format version."""
        data = bytes(data)
        if hashlib.sha256(data).hexdigest() != sha256:
            raise ArtifactError("the recogniser artifact does not match its sha256: it is damaged")
        if not data.startswith(MAGIC):
            raise ArtifactError("the recogniser artifact has no recogniser header")
        version = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 2], "big")
        body = data[len(MAGIC) + 2 :]
        if version == LEGACY_FORMAT_VERSION:
            return LegacySvcRecogniser.from_state(body)
        if version not in (TABLELESS_FORMAT_VERSION, FORMAT_VERSION):
            raise ArtifactError(
                f"the recogniser artifact has format {version}; this code reads {LEGACY_FORMAT_VERSION} "
                f"to {FORMAT_VERSION}"
            )
        try:
            with np.load(io.BytesIO(body), allow_pickle=False) as arrays:
                figures = arrays["figures"]
                table = version >= FORMAT_VERSION and "neighbours" in arrays.files
                return cls(
                    person_ids=arrays["person_ids"],
                    templates=arrays["templates"],
                    gallery=arrays["gallery"],
                    gallery_labels=arrays["gallery_labels"],
                    threshold=float(figures[0]),
                    target_far=float(figures[1]),
                    max_threshold=float(figures[2]),
                    cv_accuracy=None if np.isnan(figures[3]) else float(figures[3]),
                    genuine_accept_rate=None if np.isnan(figures[4]) else float(figures[4]),
                    impostor_count=int(figures[5]),
                    training_seconds=float(figures[6]),
                    embedder_version=str(arrays["embedder_version"]),
                    neighbours=arrays["neighbours"] if table else None,
                    neighbour_distances=arrays["neighbour_distances"] if table else None,
                )
        except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ArtifactError(f"the recogniser artifact cannot be read: {exc}") from exc


def artifact_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def train(
    embeddings: np.ndarray,
    person_ids: np.ndarray,
    *,
    target_far: float = DEFAULT_TARGET_FAR,
    max_threshold: float = DEFAULT_MAX_THRESHOLD,
    embedder_version: str = "",
) -> Recogniser:
    """Return a recogniser trained on `embeddings` (N, 128 unit vectors) labelled with `person_ids` (N,).

    Every person needs at least 2 photos (one is left out in turn to measure the gallery); raises
    ValueError otherwise, or when there is nothing to train on. Nothing here is random. The threads
    its matrix products use are the caller's choice (recognition.training.recogniser_fit limits them
    to RECOGNISER_TRAINING_JOBS).
    """
    started = time.perf_counter()
    x = normalise(np.ascontiguousarray(embeddings, dtype=np.float32))
    ids = np.asarray(person_ids, dtype=np.int64)
    if x.ndim != 2 or len(x) == 0 or len(x) != len(ids):
        raise ValueError(
            f"need one label per embedding and at least one embedding, got {x.shape} and {ids.shape}"
        )
    classes, labels, counts = np.unique(ids, return_inverse=True, return_counts=True)
    if counts.min() < 2:
        lonely = classes[counts < 2].tolist()
        raise ValueError(f"every person needs at least 2 photos to train on; these have one: {lonely}")
    sums = person_sums(x, labels, len(classes))
    templates = normalise(sums)

    neighbours, neighbour_distances = nearest_others(x, labels, templates)
    impostor_scores, accepted_genuine, correct = neighbour_figures(
        x, labels, sums, neighbour_distances, len(classes)
    )
    threshold = calibrated_threshold(impostor_scores, target_far=target_far)
    recogniser = Recogniser(
        person_ids=classes,
        templates=templates,
        gallery=x,
        gallery_labels=labels.astype(np.int32),
        threshold=threshold,
        target_far=float(target_far),
        embedder_version=embedder_version,
        max_threshold=float(max_threshold),
        cv_accuracy=correct,
        impostor_count=int(np.isfinite(impostor_scores).sum()),
        neighbours=neighbours,
        neighbour_distances=neighbour_distances,
    )
    recogniser.genuine_accept_rate = accepted_genuine(threshold, max_threshold)
    recogniser.training_seconds = time.perf_counter() - started
    return recogniser


@dataclass
class GalleryChanges:
    """What differs between a recogniser's gallery and the photos to train on now (`gallery_changes`)."""

    embeddings: np.ndarray  # every photo of the changed people (added or with other photos), as given
    person_ids: np.ndarray
    removed_ids: list[int]  # people the recogniser holds who are no longer in the data

    @property
    def people(self) -> int:
        """Return how many people an update would refit (changed, added and removed)."""
        return len(np.unique(self.person_ids)) + len(self.removed_ids)


def gallery_changes(recogniser: Recogniser, embeddings: np.ndarray, person_ids: np.ndarray) -> GalleryChanges:
    """Return the change that turns `recogniser`'s gallery into (embeddings, person ids), per person.

    A person is unchanged when their photos, normalised as `train` does, are bit for bit those the
    recogniser holds (in any order); a rounding difference only makes a person count as changed.
    Feed the result to `recogniser.updated` to get the recogniser `train` would fit on the data.
    """
    raw = np.ascontiguousarray(embeddings, dtype=np.float32)
    ids = np.asarray(person_ids, dtype=np.int64)
    old = _photos_by_person(recogniser.gallery, recogniser.person_ids[recogniser.gallery_labels])
    new = _photos_by_person(normalise(raw), ids)
    changed = [person for person, photos in new.items() if old.get(person) != photos]
    rows = np.isin(ids, np.asarray(changed, dtype=np.int64))
    return GalleryChanges(raw[rows], ids[rows], sorted(set(old) - set(new)))


def _photos_by_person(rows: np.ndarray, owners: np.ndarray) -> dict[int, list[bytes]]:
    grouped: dict[int, list[bytes]] = {}
    for owner, row in zip(owners.tolist(), np.ascontiguousarray(rows, dtype=np.float32), strict=True):
        grouped.setdefault(owner, []).append(row.tobytes())
    return {owner: sorted(photos) for owner, photos in grouped.items()}


def person_sums(x: np.ndarray, labels: np.ndarray, people: int) -> np.ndarray:
    """Return the (people, d) float64 sums of the rows of `x` per label (every label 0..people-1 present)."""
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(people))
    return np.add.reduceat(x[order].astype(np.float64), starts, axis=0)


def gallery_figures(x: np.ndarray, labels: np.ndarray, sums: np.ndarray, templates: np.ndarray):
    """Return (impostor scores, genuine accept rate as a function of (threshold, max distance), rank-1).

    Impostor scores: each photo searched against everybody else's templates (its own person left out,
    as a stranger). Genuine: each photo against all templates, its own person's made without it (leave
    one photo out), so the figures say how a new photo of an enrolled person fares. Both come from one
    partial sort per photo: the nearest other templates (`nearest_others`), then where the left-out
    template falls (`neighbour_figures`). `x` and `templates` are unit vectors.
    """
    _, distances = nearest_others(x, labels, templates)
    return neighbour_figures(x, labels, sums, distances, len(templates))


def nearest_others(x: np.ndarray, labels: np.ndarray, templates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return each photo's TABLE_WIDTH nearest templates other than its own (label), nearest first:
    (indices (N, TABLE_WIDTH) int32, distances float32), NO_NEIGHBOUR and infinity where there are fewer.
    """
    n, people = len(x), len(templates)
    indices = np.full((n, TABLE_WIDTH), NO_NEIGHBOUR, dtype=np.int32)
    distances = np.full((n, TABLE_WIDTH), np.inf, dtype=np.float32)
    k = min(TABLE_WIDTH, people)
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        block, own = x[rows], labels[rows]
        d = np.sqrt(np.maximum(2.0 - 2.0 * (block @ templates.T), 0.0))
        d[np.arange(len(block)), own] = np.inf  # the photo's own template is left out
        if k < people:
            nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
        else:
            nearest = np.broadcast_to(np.arange(people), d.shape)
        near = np.take_along_axis(d, nearest, axis=1)
        order = np.argsort(near, axis=1, kind="stable")
        near = np.take_along_axis(near, order, axis=1)
        nearest = np.take_along_axis(nearest, order, axis=1)
        distances[rows, :k] = near
        indices[rows, :k] = np.where(np.isfinite(near), nearest, NO_NEIGHBOUR)
    return indices, distances


def neighbour_figures(x: np.ndarray, labels: np.ndarray, sums: np.ndarray, near: np.ndarray, people: int):
    """Return `gallery_figures` from each photo's nearest other-template distances (`near`, ascending,
    infinite where missing) and the per-person sums: no search, so cheap enough to redo in full on
    every incremental update."""
    n = len(x)
    impostor = np.empty(n, dtype=np.float32)
    genuine_score = np.empty(n, dtype=np.float32)
    genuine_d1 = np.empty(n, dtype=np.float32)
    named_right = np.zeros(n, dtype=bool)
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        block, own = x[rows], labels[rows]
        # The nearest other templates, a missing one counting as an unrelated face.
        others = np.where(np.isfinite(near[rows]), near[rows], UNRELATED_DISTANCE).astype(np.float32)
        impostor[rows] = others[:, 0] - others[:, 1:].mean(axis=1) if people > 1 else np.inf
        left_out = np.linalg.norm(block - normalise(sums[own] - block), axis=1)
        right = left_out <= others[:, 0]
        behind = np.sort(np.concatenate([others[:, 1:], left_out[:, None]], axis=1), axis=1)[:, :NEIGHBOURS]
        d1 = np.where(right, left_out, others[:, 0])
        following = np.where(right[:, None], others[:, :NEIGHBOURS], behind)
        genuine_score[rows] = d1 - following.mean(axis=1)
        genuine_d1[rows] = d1
        named_right[rows] = right

    def accepted(threshold: float, max_distance: float) -> float:
        return float(np.mean(named_right & (genuine_score < threshold) & (genuine_d1 < max_distance)))

    return impostor, accepted, float(named_right.mean())


def _renumbered(neighbours: np.ndarray, remap: np.ndarray) -> np.ndarray:
    """Return neighbour indices mapped through `remap` (old index -> new index, or GONE_NEIGHBOUR);
    NO_NEIGHBOUR and GONE_NEIGHBOUR stay as they are."""
    return np.where(neighbours >= 0, remap[np.maximum(neighbours, 0)], neighbours).astype(np.int32)


# --- format 1: the calibrated linear SVM, read so that a version trained before the upgrade serves ---


@dataclass
class LegacySvcRecogniser:
    """A format 1 recogniser (calibrated one-vs-rest linear SVM plus a nearest-face distance check)."""

    person_ids: np.ndarray
    gallery: np.ndarray
    gallery_labels: np.ndarray
    classifier: object
    threshold: float
    target_far: float
    embedder_version: str = ""
    max_threshold: float = DEFAULT_MAX_THRESHOLD
    cv_accuracy: float | None = None
    genuine_accept_rate: float | None = None
    impostor_count: int = 0
    training_seconds: float = 0.0
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_state(cls, body: bytes) -> LegacySvcRecogniser:
        state = pickle.load(io.BytesIO(body))  # noqa: S301 -- integrity checked by the caller
        known = {name: state[name] for name in cls.__dataclass_fields__ if name in state}
        return cls(**known)

    @property
    def people_count(self) -> int:
        return len(self.person_ids)

    @property
    def photos_count(self) -> int:
        return len(self.gallery)

    @property
    def templates(self) -> np.ndarray:
        return self.gallery  # only its width is asked for

    def without(self, person_ids: set[int]) -> LegacySvcRecogniser | None:
        """Return self when none of `person_ids` is in it, else None: a format 1 version that held a
        deleted person loses its artifact (its SVM is not refitted here; the next training run
        replaces it with a format 2 version)."""
        return None if np.isin(self.person_ids, list(person_ids)).any() else self

    def identify(self, embedding: np.ndarray) -> Identification:
        return self.identify_many(np.asarray(embedding, dtype=np.float32)[None])[0]

    def undecided(self, embeddings: np.ndarray, band: float) -> np.ndarray:
        """Every answer counts as undecided: format 1 was never measured without the mirror image."""
        return np.ones(len(embeddings), dtype=bool)

    def identify_many(self, embeddings: np.ndarray) -> list[Identification]:
        """Return format 1's answers: the SVM's most likely person, if a face of theirs is near enough."""
        x = np.asarray(embeddings, dtype=np.float32)
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
                    score=distance,
                )
            )
        return answers
