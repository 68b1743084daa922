"""Recogniser versions in the database: train one, activate it, load the active one, recognise a frame.

Training never blocks recognition: a run fits the new version outside any lock, then swaps the
active flag in one short transaction; until then every worker keeps using the previous version.
Workers cache the loaded active version and ask the database for the active id (one indexed
query) on each frame, so a newly activated version is picked up without a restart.

Training requests are coalesced through the single TrainingState row: every change marks it dirty
and queues a run a few seconds later; a run clears the mark only if nothing changed while it ran.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from recognition.ml import recogniser as ml
from recognition.models import RecogniserVersion, TrainingState

log = logging.getLogger(__name__)

EMBEDDING_DTYPE = np.dtype("<f4")


def embedding_to_bytes(vector: np.ndarray) -> bytes:
    """Return a 128-d embedding as 512 little-endian float32 bytes (portable across databases)."""
    return np.asarray(vector, dtype=EMBEDDING_DTYPE).tobytes()


def embedding_from_bytes(data: bytes) -> np.ndarray:
    return np.frombuffer(bytes(data), dtype=EMBEDDING_DTYPE)


def current_embedder_version() -> str:
    """Return the embedder version of the installed weights (embeddings of others are not compared)."""
    from recognition import services

    return services.embedder_version()


# --- Training -------------------------------------------------------------------------------------


def training_data() -> tuple[np.ndarray, np.ndarray]:
    """Return (embeddings, person ids) of accepted photos of active, consenting people who are ready.

    Only embeddings of the current embedder version count; a person needs ENROLMENT_MIN_PHOTOS
    accepted photos (and at least 2, for the cross-validated calibration).
    """
    from people.models import FaceImage

    rows = FaceImage.objects.filter(
        status=FaceImage.Status.ACCEPTED,
        embedder_version=current_embedder_version(),
        embedding__isnull=False,
        person__is_active=True,
        person__consent_given_at__isnull=False,
    ).values_list("person_id", "embedding")
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


def recogniser_train(*, trigger: str, user=None) -> RecogniserVersion:
    """Train a new recogniser version from the current enrolment and make it the active one.

    The row is created first (status training) and committed, so a crash leaves a visible trace;
    the artifact and the activation are written in one transaction. On any failure the version is
    marked failed with the error, and the previously active version stays active. When nobody is
    ready any more, the active version is switched off (it would still know deleted people).
    """
    version = RecogniserVersion.objects.create(
        trigger=trigger[:200],
        created_by=user,
        embedder_version=current_embedder_version(),
        format_version=ml.FORMAT_VERSION,
    )
    try:
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
        trained = ml.train(
            embeddings,
            person_ids,
            target_far=settings.RECOGNISER_TARGET_FAR,
            max_threshold=settings.RECOGNISER_MAX_THRESHOLD,
            embedder_version=version.embedder_version,
            n_jobs=settings.RECOGNISER_TRAINING_JOBS,
        )
        artifact = trained.to_bytes()
        seconds = time.perf_counter() - started
    except Exception as exc:
        log.exception("training recogniser v%s failed", version.pk)
        _finish(version, status=RecogniserVersion.Status.FAILED, error=f"{type(exc).__name__}: {exc}")
        return version

    with transaction.atomic():
        RecogniserVersion.objects.select_for_update().filter(is_active=True).update(is_active=False)
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
    log.info(
        "recogniser v%s active: %s people, %s photos, %.1f s, threshold %.3f",
        version.pk,
        version.people_count,
        version.photos_count,
        seconds,
        version.threshold,
    )
    return version


def _finish(version: RecogniserVersion, *, status: str, error: str = "") -> None:
    version.status = status
    version.error = error
    version.finished_at = timezone.now()
    version.save()


def training_request(*, reason: str) -> None:
    """Mark the enrolment as changed and queue a training run after the debounce delay.

    Call inside the transaction that made the change: the run is queued only once it commits.
    """
    now = timezone.now()
    with transaction.atomic():
        state = _training_state_locked()
        if state.dirty_since is None:
            state.dirty_since = now
        state.last_change_at = now
        state.last_reason = reason[:200]
        state.save()
    transaction.on_commit(_enqueue_training)


def _enqueue_training(countdown: float | None = None) -> None:
    from recognition.tasks import recogniser_train_task

    delay = settings.TRAINING_DEBOUNCE_SECONDS if countdown is None else countdown
    recogniser_train_task.apply_async(countdown=delay)


def _training_state_locked() -> TrainingState:
    TrainingState.objects.get_or_create(pk=1)
    return TrainingState.objects.select_for_update().get(pk=1)


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
    }


# --- Recognition ----------------------------------------------------------------------------------


class _ActiveCache:
    """The loaded active version of this process; reloaded when the active version changes.

    Keyed by id and sha256, not id alone: ids repeat after a database is reset or restored, and a
    worker must never keep answering with a recogniser the database no longer holds.
    """

    def __init__(self):
        self.key: tuple[int, str] | None = None
        self.recogniser: ml.Recogniser | None = None
        self.lock = threading.Lock()

    def get(self) -> tuple[int | None, ml.Recogniser | None]:
        active = RecogniserVersion.objects.filter(is_active=True).values_list("id", "sha256").first()
        if active is None:
            return None, None
        if active != self.key:
            with self.lock:
                if active != self.key:
                    row = (
                        RecogniserVersion.objects.filter(pk=active[0])
                        .values_list("artifact", "sha256")
                        .first()
                    )
                    if row is None:  # swapped again meanwhile; the next frame loads the new one
                        return (self.key[0] if self.key else None), self.recogniser
                    self.recogniser = ml.Recogniser.from_bytes(row[0], sha256=row[1])
                    self.key = (active[0], row[1])
                    log.info("loaded recogniser v%s", active[0])
        return self.key[0], self.recogniser


_active = _ActiveCache()


def active_recogniser() -> tuple[int | None, ml.Recogniser | None]:
    """Return (version id, recogniser) of the active version, loaded if it changed; (None, None) if none."""
    return _active.get()


@dataclass(frozen=True)
class FrameRecognition:
    """What a kiosk frame shows: the main face and who it is (person_id None: unknown or no face)."""

    face_found: bool
    person_id: int | None = None
    distance: float | None = None
    confidence: float | None = None
    recogniser_version_id: int | None = None
    box: tuple[float, float, float, float] | None = None
    landmarks: dict[str, tuple[float, float]] | None = field(default=None)
    reason: str = ""


def recognise_embedding(embedding: np.ndarray) -> tuple[int | None, ml.Identification | None]:
    """Return (version id, identification) of one embedding against the active version."""
    version_id, recogniser = active_recogniser()
    if recogniser is None:
        return None, None
    return version_id, recogniser.identify(embedding)


def frame_recognise(*, data: bytes) -> FrameRecognition:
    """Return who the largest face in an image is, or why nobody could be named.

    Raises the engine's ImageError for bytes that are not a usable image.
    """
    from people.models import Person
    from recognition import services

    faces = services.image_analyse(data=data)
    if not faces:
        return FrameRecognition(face_found=False, reason="no face")
    face = faces[0]
    common = {"face_found": True, "box": tuple(face.box), "landmarks": dict(face.landmarks)}
    version_id, answer = recognise_embedding(face.embedding)
    if answer is None:
        return FrameRecognition(**common, reason="no trained recogniser")
    person_id = answer.person_id
    reason = "" if person_id is not None else "unknown face"
    # A person switched off or deleted since this version was trained is not named.
    if person_id is not None and not Person.objects.filter(pk=person_id, is_active=True).exists():
        person_id, reason = None, "person no longer active"
    return FrameRecognition(
        **common,
        person_id=person_id,
        distance=answer.distance,
        confidence=answer.confidence,
        recogniser_version_id=version_id,
        reason=reason,
    )
