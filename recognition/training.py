"""Recogniser versions in the database: train one from enrolment, activate it, coalesce requests.

Training never blocks recognition: a run fits the new version outside any lock, then swaps the
active flag in one short transaction; until then every worker keeps using the previous version
(recognition.matching loads whichever version is active).

Training requests are coalesced through the single TrainingState row: every change marks it dirty
and queues a run a few seconds later; a run clears the mark only if nothing changed while it ran.
Runs are queued by task name (TRAIN_TASK), so this module never imports recognition.tasks.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recognition import engine, reembedding
from recognition.ml import recogniser as ml
from recognition.ml.embeddings import embedding_from_bytes
from recognition.models import RecogniserVersion, TrainingState
from recognition.training_requests import (  # noqa: F401 -- training_request is part of this module's API
    TRAIN_TASK,
    _enqueue_training,
    _training_state_locked,
    training_request,
)

log = logging.getLogger(__name__)

# The Celery task that runs `training_run` (recognition.tasks); the name is part of the deployment.


def training_data() -> tuple[np.ndarray, np.ndarray]:
    """Return (embeddings, person ids) of accepted photos of active, consenting people who are ready.

    People flagged as a possible duplicate are left out until HR has checked them.

    Only embeddings of the current embedder version count; a person needs ENROLMENT_MIN_PHOTOS
    accepted photos (and at least 2, for the cross-validated calibration).
    """
    from people.models import FaceImage

    rows = FaceImage.objects.filter(
        status=FaceImage.Status.ACCEPTED,
        embedder_version=engine.embedder_version(),
        embedding__isnull=False,
        person__is_active=True,
        person__consent_given_at__isnull=False,
        # A possible duplicate waits for HR: its face might be somebody else's (people/services.py).
        person__possible_duplicate_of__isnull=True,
    ).values_list("person_id", "embedding")
    # No ORDER BY: the model's default ordering made PostgreSQL sort every accepted photo (50,000 rows
    # at 10,000 people, spilled to disk); the photos are grouped per person here anyway.
    rows = rows.order_by()
    by_person: dict[int, list[np.ndarray]] = {}
    for person_id, blob in rows.iterator(chunk_size=2000):
        by_person.setdefault(person_id, []).append(embedding_from_bytes(blob))
    min_photos = max(2, settings.ENROLMENT_MIN_PHOTOS)
    vectors, labels = [], []
    for person_id, items in by_person.items():
        if len(items) >= min_photos:
            vectors.extend(items)
            labels.extend([person_id] * len(items))
    if not vectors:
        return np.empty((0, 128), dtype=np.float32), np.empty(0, dtype=np.int64)
    return np.stack(vectors).astype(np.float32), np.asarray(labels, dtype=np.int64)


def recogniser_fit(
    embeddings: np.ndarray, person_ids: np.ndarray, *, embedder_version: str, target_far: float | None = None
) -> ml.Recogniser:
    """Return a recogniser fitted on (embeddings, person ids) exactly as the training worker fits one.

    The one place training options are chosen (`engine.recogniser_options`): training runs and
    `evaluate_recognition` both call it, so an evaluation measures the recogniser the kiosk runs.
    `target_far` overrides RECOGNISER_TARGET_FAR (evaluations only); RECOGNISER_TRAINING_JOBS limits
    the threads the fit uses.
    """
    options = engine.recogniser_options()
    if target_far is not None:
        options["target_far"] = target_far
    with _training_threads(options.pop("n_jobs", 1)):
        return ml.train(embeddings, person_ids, embedder_version=embedder_version, **options)


def _training_threads(jobs: int | None):
    """Return a context limiting the BLAS threads to RECOGNISER_TRAINING_JOBS (`jobs`)."""
    from threadpoolctl import threadpool_limits

    # RECOGNISER_TRAINING_JOBS: the BLAS threads the fit's matrix products may use (1 spares the cores
    # a recognition worker on the same machine needs; more makes a large gallery's training faster).
    return threadpool_limits(limits=max(1, int(jobs or 1)), user_api="blas")


@dataclass
class IncrementalBase:
    """The active version an incremental update starts from."""

    version_id: int
    recogniser: ml.Recogniser


def incremental_base(*, embedder_version: str) -> IncrementalBase | None:
    """Return the active version if the next one may be fitted as an update of it, else None.

    It must have been trained (format 3, with its neighbour table) on this embedder's embeddings with
    today's options (RECOGNISER_TARGET_FAR, RECOGNISER_MAX_THRESHOLD); RECOGNISER_INCREMENTAL_MAX_PEOPLE
    0 turns incremental updates off.
    """
    if settings.RECOGNISER_INCREMENTAL_MAX_PEOPLE <= 0:
        return None
    options = engine.recogniser_options()
    row = (
        RecogniserVersion.objects.filter(
            is_active=True,
            artifact__isnull=False,
            format_version=ml.FORMAT_VERSION,
            embedder_version=embedder_version,
        )
        .values_list("pk", "artifact", "sha256")
        .first()
    )
    if row is None:
        return None
    try:
        recogniser = ml.Recogniser.from_bytes(row[1], sha256=row[2])
    except ml.ArtifactError:
        log.warning("the active recogniser v%s cannot be read: training in full", row[0], exc_info=True)
        return None
    same_options = (recogniser.target_far, recogniser.max_threshold) == (
        float(options["target_far"]),
        float(options["max_threshold"]),
    )
    if not isinstance(recogniser, ml.Recogniser) or not recogniser.updatable or not same_options:
        return None
    return IncrementalBase(version_id=row[0], recogniser=recogniser)


def recogniser_update(base: ml.Recogniser, changes: ml.GalleryChanges) -> ml.Recogniser:
    """Return `base` updated with `changes` (`ml.gallery_changes`): the recogniser `recogniser_fit`
    would fit on the changed data, refitting only what the change touches (RECOGNISER_TRAINING_JOBS
    threads)."""
    with _training_threads(engine.recogniser_options()["n_jobs"]):
        return base.updated(changes.embeddings, changes.person_ids, changes.removed_ids)


def recogniser_train(*, trigger: str, user=None) -> RecogniserVersion:
    """Train a new recogniser version from the current enrolment and make it the active one.

    The row is created first (status training) and committed, so a crash leaves a visible trace;
    the artifact and the activation are written in one transaction. When the active version can be
    updated (`incremental_base`) and at most RECOGNISER_INCREMENTAL_MAX_PEOPLE people changed since,
    the new version is that update (the same recogniser as a full fit, in a fraction of the time; its
    trigger says so), else a full fit. On any failure the version is
    marked failed with the error, and the previously active version stays active. When nobody is
    ready any more, the active version is switched off (it would still know deleted people).
    """
    version = RecogniserVersion.objects.create(
        trigger=trigger[:200],
        created_by=user,
        embedder_version=engine.embedder_version(),
        format_version=ml.FORMAT_VERSION,
    )
    try:
        pending = reembedding.reembedding_pending()
        if pending:
            # Training now would leave out whoever is not re-embedded yet: the active version (trained
            # on the older embeddings, and still given embeddings of its own kind) keeps serving.
            reembedding.reembedding_request()
            _finish(
                version,
                status=RecogniserVersion.Status.FAILED,
                error=f"{pending} enrolled photos are still being re-embedded for "
                f"{version.embedder_version}; the active version keeps serving and training follows "
                "when they are done.",
            )
            return version
        embeddings, person_ids = training_data()
        if len(embeddings) == 0:
            with transaction.atomic():
                RecogniserVersion.objects.filter(is_active=True).update(is_active=False)
                _finish(
                    version,
                    status=RecogniserVersion.Status.FAILED,
                    error="Nobody has enough accepted photos.",
                )
            return version
        started = time.perf_counter()
        trained, how = None, "full fit"
        base = incremental_base(embedder_version=version.embedder_version)
        if base is not None:
            changes = ml.gallery_changes(base.recogniser, embeddings, person_ids)
            if changes.people <= settings.RECOGNISER_INCREMENTAL_MAX_PEOPLE:
                trained = recogniser_update(base.recogniser, changes)
                how = f"incremental from v{base.version_id}: {changes.people} people changed"
                suffix = f" [{how}]"
                version.trigger = trigger[: 200 - len(suffix)] + suffix
        if trained is None:
            trained = recogniser_fit(embeddings, person_ids, embedder_version=version.embedder_version)
        artifact = trained.to_bytes()
        seconds = time.perf_counter() - started
    except Exception as exc:
        log.exception("training recogniser v%s failed", version.pk)
        _finish(version, status=RecogniserVersion.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return version

    with transaction.atomic():
        RecogniserVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
        # People erased while this run fitted (it read their faces before) must not come back.
        gone = set(trained.person_ids.tolist()) - _still_trainable(set(trained.person_ids.tolist()))
        if gone:
            trained = trained.without(gone)
            if trained is None:
                _finish(version, status=RecogniserVersion.Status.FAILED, error="Everybody was deleted.")
                return version
            artifact = trained.to_bytes()
        version.artifact = artifact
        version.sha256 = ml.artifact_sha256(artifact)
        version.people_count = trained.people_count
        version.photos_count = trained.photos_count
        version.training_seconds = seconds
        version.cv_accuracy = trained.cv_accuracy
        version.threshold = trained.threshold
        version.target_far = trained.target_far
        version.genuine_accept_rate = trained.genuine_accept_rate
        version.is_active = True
        _finish(version, status=RecogniserVersion.Status.READY)
        pruned = _older_artifacts_drop(keep=settings.RECOGNISER_KEEP_PREVIOUS_ARTIFACTS, active_id=version.pk)
    log.info(
        "recogniser v%s active (%s): %s people, %s photos, %.1f s, threshold %.3f%s",
        version.pk,
        how,
        version.people_count,
        version.photos_count,
        seconds,
        version.threshold,
        f"; artifacts of older versions dropped: {pruned}" if pruned else "",
    )
    return version


def _older_artifacts_drop(*, keep: int, active_id: int) -> list[int]:
    """Drop the artifacts of all but the `keep` newest versions other than the active one; return the
    ids dropped. The rows stay (history and figures); nothing loads an inactive version's artifact."""
    held = (
        RecogniserVersion.objects.exclude(pk=active_id)
        .filter(artifact__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)
    )
    dropped = list(held[max(keep, 0) :])
    if dropped:
        RecogniserVersion.objects.filter(pk__in=dropped).update(artifact=None, sha256="")
    return dropped


def _still_trainable(person_ids: set[int]) -> set[int]:
    """Return which of `person_ids` still have an accepted face photo of an active, consenting person."""
    from people.models import FaceImage

    return set(
        FaceImage.objects.filter(
            person_id__in=person_ids,
            status=FaceImage.Status.ACCEPTED,
            person__is_active=True,
            person__consent_given_at__isnull=False,
        ).values_list("person_id", flat=True)
    )


def _finish(version: RecogniserVersion, *, status: str, error: str = "") -> None:
    version.status = status
    version.error = error
    version.finished_at = timezone.now()
    version.save()


@dataclass
class VersionsForgotten:
    """What recogniser_versions_forget did: the active version rewritten, older artifacts dropped."""

    rewritten: list[int]
    dropped: list[int]


def recogniser_versions_forget(*, person_ids: set[int]) -> VersionsForgotten:
    """Remove people from every stored recogniser version, at once; call in the deleting transaction.

    The active version is rewritten without them (their faces and classifier class removed, see
    Recogniser.without), so from this commit on no worker can name them, even before the retraining
    run ends or while no training worker runs; its new sha256 makes every worker reload it. Older
    versions that hold them lose their artifact (the row and its figures stay as history): they
    are never loaded except to go back to them, and going back to a version trained on data that
    has since been erased would undo the erasure; refitting each of them would cost a training run
    per version for nothing. If nobody is left, the active version is switched off.

    Locks every version row (a training run activating a version meanwhile waits, then prunes
    its own result: see _activate).
    """
    result = VersionsForgotten(rewritten=[], dropped=[])
    if not person_ids:
        return result
    # Every row, not only those with an artifact: a run activating its version right now holds that
    # row, and this waits for it and then reads the artifact it wrote.
    versions = list(
        RecogniserVersion.objects.select_for_update()
        .order_by("pk")
        .values_list("pk", "is_active", "artifact", "sha256")
    )
    for pk, is_active, artifact, sha256 in versions:
        if artifact is None:
            continue
        recogniser = ml.Recogniser.from_bytes(bytes(artifact), sha256=sha256)
        pruned = recogniser.without(person_ids)
        if pruned is recogniser:
            continue
        if is_active and pruned is not None:
            data = pruned.to_bytes()
            RecogniserVersion.objects.filter(pk=pk).update(
                artifact=data,
                sha256=ml.artifact_sha256(data),
                people_count=pruned.people_count,
                photos_count=pruned.photos_count,
            )
            result.rewritten.append(pk)
        else:
            RecogniserVersion.objects.filter(pk=pk).update(artifact=None, sha256="", is_active=False)
            result.dropped.append(pk)
    if result.rewritten or result.dropped:
        log.info(
            "people %s removed from recogniser versions: rewritten %s, artifacts dropped %s",
            sorted(person_ids), result.rewritten, result.dropped,
        )  # fmt: skip
    return result


def recogniser_version_people(*, version_id: int) -> set[int]:
    """Return the ids of the people a stored version can name (empty when it has no artifact)."""
    row = RecogniserVersion.objects.filter(pk=version_id).values_list("artifact", "sha256").first()
    if row is None or row[0] is None:
        return set()
    return set(ml.Recogniser.from_bytes(row[0], sha256=row[1]).person_ids.tolist())


@dataclass
class TrainingRunResult:
    outcome: str  # "trained", "nothing to do", "deferred"
    version_id: int | None = None


def training_run(*, task_id: str) -> TrainingRunResult:
    """Train once for all changes marked so far, unless a newer change or another run says wait.

    Should be called only by the training task. A redelivered task (same id: its worker was killed)
    takes over its own run; another run still within the hard time limit defers this one.
    """
    debounce = dt.timedelta(seconds=settings.TRAINING_DEBOUNCE_SECONDS)
    stale = dt.timedelta(seconds=settings.TRAINING_TIME_LIMIT_SECONDS + 60)
    now = timezone.now()
    with transaction.atomic():
        state = _training_state_locked()
        if state.dirty_since is None:
            return TrainingRunResult("nothing to do")
        running = state.running_task_id and state.running_task_id != task_id
        if running and state.running_since and now - state.running_since < stale:
            transaction.on_commit(lambda: _enqueue_training(settings.TRAINING_DEBOUNCE_SECONDS))
            return TrainingRunResult("deferred")
        if state.last_change_at and now - state.last_change_at < debounce:
            wait = (state.last_change_at + debounce - now).total_seconds()
            transaction.on_commit(lambda: _enqueue_training(wait + 0.1))
            return TrainingRunResult("deferred")
        snapshot = state.last_change_at
        state.running_task_id = task_id
        state.running_since = now
        state.save()
        # A run that died (worker killed) left its version in "training": it never finished.
        RecogniserVersion.objects.filter(status=RecogniserVersion.Status.TRAINING).update(
            status=RecogniserVersion.Status.FAILED, error="The training worker stopped before finishing."
        )
    try:
        version = recogniser_train(trigger=f"automatic: {state.last_reason}")
    finally:
        with transaction.atomic():
            state = _training_state_locked()
            state.running_task_id = ""
            state.running_since = None
            if state.last_change_at == snapshot:
                state.dirty_since = None
            else:
                transaction.on_commit(_enqueue_training)
            state.save()
    return TrainingRunResult("trained", version.pk)


def training_status() -> dict:
    """Return what HR's pages show about training: pending changes, a run in progress, the active version."""
    state = TrainingState.objects.filter(pk=1).first()
    active = RecogniserVersion.objects.filter(is_active=True).values(
        "id", "finished_at", "people_count", "photos_count", "threshold", "cv_accuracy"
    )
    latest = RecogniserVersion.objects.values("id", "status", "error").first()
    return {
        "pending_changes": bool(state and state.dirty_since),
        "running": bool(state and state.running_task_id),
        "active": next(iter(active), None),
        "latest": latest,
        # After an embedder upgrade: photos still to re-embed before the next version can be trained.
        "reembedding": reembedding.reembedding_status(),
    }
