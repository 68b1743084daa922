"""Recognising faces with the active recogniser version: kiosk frames, liveness bursts, duplicates.

Workers cache the loaded active version and ask the database for the active id (one indexed query)
on each frame, so a version that recognition.training activates is picked up without a restart.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from django.conf import settings

from recognition import engine
from recognition.ml import recogniser as ml
from recognition.ml.images import ImageError
from recognition.ml.liveness import FrameFace, frame_face
from recognition.models import RecogniserVersion

if TYPE_CHECKING:
    from recognition.ml.pipeline import MirrorWhen

log = logging.getLogger(__name__)


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


def recogniser_threshold(version_id: int | None) -> float | None:
    """Return the open-set distance threshold of a recogniser version (None: no such version)."""
    if version_id is None:
        return None
    return RecogniserVersion.objects.filter(pk=version_id).values_list("threshold", flat=True).first()


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


def recogniser_identify(recogniser: ml.Recogniser, embeddings: np.ndarray) -> list[ml.Identification]:
    """Return who each row of `embeddings` (M, 128) is by `recogniser`: the kiosk's one question.

    Kiosk frames, liveness bursts and `evaluate_recognition` all ask it through here.
    """
    return recogniser.identify_many(
        np.asarray(embeddings, dtype=np.float32).reshape(-1, recogniser.templates.shape[1])
    )


def mirror_when(recogniser: ml.Recogniser | None) -> MirrorWhen | None:
    """Return which kiosk faces need the mirror image averaged in (Engine.analyse_many's `mirror_when`):
    those whose answer from the crop alone is within RECOGNITION_MIRROR_BAND of turning. None (every
    face gets it) when the band is off (negative) or there is no recogniser to ask."""
    band = settings.RECOGNITION_MIRROR_BAND
    if recogniser is None or band is None or band < 0:
        return None
    return lambda vectors: recogniser.undecided(vectors, band)


def embedding_identify(embedding: np.ndarray) -> tuple[int | None, ml.Identification | None]:
    """Return (version id, identification) of one embedding against the active version."""
    version_id, recogniser = active_recogniser()
    if recogniser is None:
        return None, None
    return version_id, recogniser_identify(recogniser, embedding)[0]


def frame_recognise(*, data: bytes) -> FrameRecognition:
    """Return who the largest face in an image is, or why nobody could be named.

    Fields: face_found, person_id, distance, confidence, recogniser_version_id, box, landmarks and
    reason ("no face", "no trained recogniser", "unknown face", "person no longer active").
    Raises the engine's ImageError for bytes that are not a usable image.
    """
    answer = frames_recognise([data])[0]
    if isinstance(answer, Exception):
        raise answer
    return answer


def frames_recognise(frames: list[bytes]) -> list[FrameRecognition | Exception]:
    """Return frame_recognise of each frame (of one kiosk or several), recognised in one batch.

    The frames are detected and embedded together (Engine.analyse_many) and identified with one
    active version; each answer is its own frame's. A frame that is not a usable image gets its
    ImageError in its place, without failing the others; a fault of the engine (weights missing)
    raises for all.
    """
    from people.models import Person

    # The active version is asked first: the face is embedded as that version's gallery was (after
    # an embedder upgrade the previous version serves until every enrolled photo is re-embedded).
    version_id, recogniser = active_recogniser()
    answers: list[FrameRecognition | Exception | None] = [None] * len(frames)
    images, positions = [], []
    for position, data in enumerate(frames):
        try:
            images.append(engine.image_decode(data=data))
            positions.append(position)
        except ImageError as exc:
            answers[position] = exc
    analysed = (
        engine.engine_get().analyse_many(
            images,
            max_faces=1,
            embedder_version=_version_of(recogniser),
            mirror_when=mirror_when(recogniser),
            low_precision=True,
        )
        if images
        else []
    )
    faces = {position: found[0] for position, found in zip(positions, analysed, strict=True) if found}
    for position in positions:
        if position not in faces:
            answers[position] = FrameRecognition(face_found=False, reason="no face")
    identified = {}
    if recogniser is not None and faces:
        order = sorted(faces)
        matches = recogniser_identify(recogniser, np.stack([faces[p].embedding for p in order]))
        identified = dict(zip(order, matches, strict=True))
    named = {m.person_id for m in identified.values() if m.person_id is not None}
    # A person switched off or deleted since this version was trained is not named.
    active = set(Person.objects.filter(pk__in=named, is_active=True).values_list("pk", flat=True))
    for position, face in faces.items():
        common = {"face_found": True, "box": tuple(face.box), "landmarks": dict(face.landmarks)}
        if recogniser is None:
            answers[position] = FrameRecognition(**common, reason="no trained recogniser")
            continue
        answer = identified[position]
        person_id = answer.person_id
        reason = "" if person_id is not None else "unknown face"
        if person_id is not None and person_id not in active:
            person_id, reason = None, "person no longer active"
        answers[position] = FrameRecognition(
            **common,
            person_id=person_id,
            distance=answer.distance,
            confidence=answer.confidence,
            recogniser_version_id=version_id,
            reason=reason,
        )
    return answers


def frames_analyse(frames: list[bytes]) -> list[FrameFace | None]:
    """Return a FrameFace (None where no face) per frame of a liveness burst, with who the active
    version names in it. Raises ImageError for a frame that is not a usable image."""
    _version_id, recogniser = active_recogniser()
    images = [engine.image_decode(data=data) for data in frames]  # every frame readable, or ImageError
    # The burst (up to LIVENESS_MAX_FRAMES frames of one size) is detected and embedded in batches.
    analysed = (
        engine.engine_get().analyse_many(images, max_faces=1, embedder_version=_version_of(recogniser))
        if images
        else []
    )
    found = [faces[0] for faces in analysed if faces]
    names = iter(
        recogniser_identify(recogniser, np.stack([face.embedding for face in found]))
        if recogniser is not None and found
        else [None] * len(found)
    )
    answers: list[FrameFace | None] = []
    for faces in analysed:
        if not faces:
            answers.append(None)
            continue
        answer = next(names)
        answers.append(frame_face(faces[0], person_id=answer.person_id if answer else None))
    return answers


def _version_of(recogniser: ml.Recogniser | None) -> str | None:
    return recogniser.embedder_version or None if recogniser is not None else None


@dataclass(frozen=True)
class GalleryMatch:
    """The active version's nearest enrolled face of somebody else (person_id None: nobody else)."""

    person_id: int | None
    distance: float | None
    trained_at: dt.datetime | None  # when that version was made: faces accepted since are not in it


def gallery_nearest(
    *, embedding: np.ndarray, exclude_person_id: int, embedder_version: str
) -> GalleryMatch | None:
    """Return the nearest face of anyone but `exclude_person_id` in the active version's gallery.

    None when no version is active or it was trained on another embedder version (its distances
    mean nothing for this embedding). Searches the gallery already loaded in this worker.
    """
    version_id, recogniser = active_recogniser()
    if recogniser is None or recogniser.embedder_version != embedder_version:
        return None
    owners = recogniser.person_ids[recogniser.gallery_labels]
    others = owners != exclude_person_id
    person_id, distance = None, None
    if others.any():
        distances = np.linalg.norm(recogniser.gallery[others] - embedding, axis=1)
        nearest = int(distances.argmin())
        person_id, distance = int(owners[others][nearest]), float(distances[nearest])
    trained_at = RecogniserVersion.objects.filter(pk=version_id).values_list("created_at", flat=True).first()
    return GalleryMatch(person_id=person_id, distance=distance, trained_at=trained_at)
