"""The face engine: detect, align, assess and embed every face in a frame.

`get_engine()` builds the engine once per process, lazily, under a lock, and is the only place that
imports TensorFlow (inside its body), so importing this module costs nothing. TensorFlow is not
fork-safe: build the engine in the process that uses it (a Celery child after the fork), never in a
parent that then forks.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recognition.ml import EMBEDDER_VERSION, EMBEDDER_VERSION_V1, weights
from recognition.ml.align import DEFAULT_MARGIN, FACE_SIZE, align_face
from recognition.ml.per_process import build_once
from recognition.ml.quality import FaceQuality, assess

if TYPE_CHECKING:
    from recognition.ml.detector import DetectedFace, FaceDetector
    from recognition.ml.embedder import Embedder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedderSteps:
    """How one embedder version cuts the face out (align.CROPS) and whether it averages the mirror image."""

    crop: str
    flip: bool


# Every version the engine can make. Embeddings of different versions are never compared: a
# recogniser answers embeddings made as its own were (Engine.analyse(embedder_version=...)).
EMBEDDERS = {
    EMBEDDER_VERSION_V1: EmbedderSteps(crop="landmarks", flip=False),
    EMBEDDER_VERSION: EmbedderSteps(crop="box-levelled", flip=True),
}


# Given a batch's crop-only embeddings (N, 128), which rows need the mirror image averaged in.
MirrorWhen = Callable[[np.ndarray], np.ndarray]


def mirror_averaged(crop_vectors: np.ndarray, mirror_vectors: np.ndarray) -> np.ndarray:
    """Return the unit-length mean of each crop's embedding and its mirror image's (float32)."""
    summed = crop_vectors + mirror_vectors
    return (summed / np.linalg.norm(summed, axis=1, keepdims=True)).astype(np.float32)


def embedder_steps(version: str) -> EmbedderSteps | None:
    """Return the steps of an embedder version (weights suffix "+..." ignored), None if unknown."""
    return EMBEDDERS.get(version.split("+", 1)[0])


# Which face of a frame is "the" face: the kiosk's is the largest (the person nearest the camera);
# a photo's subject is framed in the middle (LFW's convention), where the largest face is often a
# bystander's (on 2,496 of LFW's multi-face photos).
FACE_CHOICES = ("largest", "centre")


def choose_face(faces: Sequence[DetectedFace], shape: tuple[int, ...], how: str = "largest") -> DetectedFace:
    """Return the face of `faces` (largest first) that `how` picks in a frame of `shape` (h, w, ...)."""
    if how == "largest":
        return faces[0]
    if how == "centre":
        cy, cx = shape[0] / 2.0, shape[1] / 2.0
        return min(
            faces, key=lambda f: (f.box[0] + f.box[2] / 2 - cx) ** 2 + (f.box[1] + f.box[3] / 2 - cy) ** 2
        )
    raise ValueError(f"unknown face choice {how!r}: expected one of {', '.join(FACE_CHOICES)}")


@dataclass(frozen=True, eq=False)
class FaceAnalysis:
    """One face found in a frame: where it is, how good it is, and its embedding.

    box: (x, y, width, height) in the frame's pixels. landmarks: left_eye, right_eye, nose,
    mouth_left, mouth_right as (x, y). embedding: 128 float32, L2-normalised. aligned: the 160x160
    RGB crop the embedding was made from (for thumbnails; not stored by the engine).
    """

    box: tuple[float, float, float, float]
    landmarks: dict[str, tuple[float, float]]
    confidence: float
    quality: FaceQuality
    embedding: np.ndarray = field(repr=False)
    aligned: np.ndarray = field(repr=False)
    embedder_version: str = EMBEDDER_VERSION
    # True when the version averages the mirror image but `mirror_when` let this face skip it: the
    # embedding is the crop's alone, good for that one decision, never to be stored or enrolled.
    mirror_skipped: bool = False


@dataclass(frozen=True)
class EngineConfig:
    """What the engine is built from; one engine is kept per distinct config."""

    weights_path: Path
    min_face_size: int = 40
    max_side: int | None = 1280
    min_confidence: float = 0.8
    margin: float = DEFAULT_MARGIN
    # Photos with a longer side up to this are searched at full resolution (FaceDetector): on lfw-dev
    # (250 px) halving them cost 0.1 points of pair accuracy; a 640x480 kiosk frame is unaffected.
    full_resolution_side: int = 320
    batch_size: int = 32
    verify_weights: bool = True
    # TensorFlow's threads per operation; None leaves its default (all cores). Applied only if
    # TensorFlow has not run anything yet in this process.
    intra_op_threads: int | None = None
    # FaceNet batches of at least this many faces may run in bfloat16 when asked (kiosk frames,
    # Embedder.embed(low_precision=True)); 0: never.
    low_precision_from: int = 0


class Engine:
    """MTCNN detection, face crops, quality figures and FaceNet embeddings for RGB frames.

    `embedder_version` is what it makes by default (one of EMBEDDERS, maybe with a weights suffix);
    the older versions of EMBEDDERS can be asked for, so that a recogniser trained on them still gets
    embeddings of its own kind until it is replaced.
    """

    def __init__(
        self,
        detector: FaceDetector,
        embedder: Embedder,
        *,
        margin: float = DEFAULT_MARGIN,
        embedder_version: str = EMBEDDER_VERSION,
    ):
        self.detector = detector
        self.embedder = embedder
        self.margin = margin
        self.embedder_version = embedder_version
        if embedder_steps(embedder_version) is None:
            raise ValueError(f"unknown embedder version {embedder_version!r}")
        # The weights' suffix ("+<sha>" for other weights) applies to every version this engine makes.
        self._suffix = embedder_version[len(embedder_version.split("+", 1)[0]) :]

    def version_for(self, embedder_version: str | None) -> str:
        """Return the version made when `embedder_version` is asked for (None or unknown: the engine's)."""
        if embedder_version is None:
            return self.embedder_version
        base = embedder_version.split("+", 1)[0]
        if base not in EMBEDDERS or base + self._suffix != embedder_version:
            return self.embedder_version
        return embedder_version

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Return the faces in an RGB uint8 frame, largest first."""
        return self.detector.detect(rgb)

    def align(
        self, rgb: np.ndarray, faces: Sequence[DetectedFace], *, embedder_version: str | None = None
    ) -> np.ndarray:
        """Return the 160x160 crops of `faces` as the version cuts them: one (N, 160, 160, 3) uint8 array."""
        if not faces:
            return np.empty((0, FACE_SIZE, FACE_SIZE, 3), dtype=np.uint8)
        crop = embedder_steps(self.version_for(embedder_version)).crop
        return np.stack(
            [align_face(rgb, face.box, face.landmarks, margin=self.margin, crop=crop) for face in faces]
        )

    def embed_aligned(self, crops: np.ndarray, *, embedder_version: str | None = None) -> np.ndarray:
        """Return (N, 128) unit float32 embeddings of crops, in batches (with the mirror image, if the
        version averages it: both in one batch)."""
        return self.embed_aligned_when(crops, embedder_version=embedder_version)[0]

    def embed_aligned_when(
        self,
        crops: np.ndarray,
        *,
        embedder_version: str | None = None,
        mirror_when: MirrorWhen | None = None,
        low_precision: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return `embed_aligned` of crops and which rows averaged the mirror image (a bool each).

        With `mirror_when` (a version that averages the mirror image), each crop is embedded alone
        first, and only the rows for which `mirror_when(those embeddings)` says True get the mirror
        image averaged in, in a second batch; the others keep the crop's own embedding, for half of
        FaceNet's time. Without it every row is averaged, crop and mirror in one batch.
        `low_precision` (with `mirror_when` only): the first pass over a large batch may run in bfloat16
        (Embedder.embed); the rows `mirror_when` picks are then embedded again in float32, crop and
        mirror, so that an answer near its decision is exactly the float32 one.
        """
        crops = np.asarray(crops)
        if not embedder_steps(self.version_for(embedder_version)).flip or len(crops) == 0:
            return self.embedder.embed(crops), np.zeros(len(crops), dtype=bool)
        if mirror_when is None:
            return self._alone_and_averaged(crops)[1], np.ones(len(crops), dtype=bool)
        low = low_precision and self.embedder.low_precision_for(len(crops))
        vectors = self.embedder.embed(crops, low_precision=low)
        wanted = np.asarray(mirror_when(vectors), dtype=bool).reshape(len(crops))
        if wanted.any():
            vectors = vectors.copy()
            picked = crops[wanted]
            if low:
                # Near a decision, exactly as without low precision: crop and mirror in float32.
                vectors[wanted] = self._alone_and_averaged(picked)[1]
            else:
                vectors[wanted] = mirror_averaged(vectors[wanted], self.embedder.embed(picked[:, :, ::-1]))
        return vectors, wanted

    def embed_faces(
        self, rgb: np.ndarray, faces: Sequence[DetectedFace], *, embedder_version: str | None = None
    ) -> np.ndarray:
        """Return (N, 128) unit float32 embeddings of already detected faces in `rgb`."""
        crops = self.align(rgb, faces, embedder_version=embedder_version)
        return self.embed_aligned(crops, embedder_version=embedder_version)

    def embed_faces_both(
        self, rgb: np.ndarray, faces: Sequence[DetectedFace], *, embedder_version: str | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Return (each face's crop-alone embedding, its usual embedding), float32, from one batch: the
        two answers between which the kiosk's mirror cascade (`embed_aligned_when`'s `mirror_when`)
        picks. The same array twice for a version without the mirror step."""
        version = self.version_for(embedder_version)
        crops = self.align(rgb, faces, embedder_version=version)
        if not embedder_steps(version).flip or len(crops) == 0:
            vectors = self.embedder.embed(crops)
            return vectors, vectors
        return self._alone_and_averaged(crops)

    def _alone_and_averaged(self, crops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (the crops' own embeddings, with their mirror images averaged in), crop and mirror in
        one float32 batch."""
        both = self.embedder.embed(np.concatenate([crops, crops[:, :, ::-1]]))
        return both[: len(crops)], mirror_averaged(both[: len(crops)], both[len(crops) :])

    def analyse(
        self, rgb: np.ndarray, *, max_faces: int | None = None, embedder_version: str | None = None
    ) -> list[FaceAnalysis]:
        """Return every face in the frame (the `max_faces` largest, if given), largest first.

        Embeddings are of `embedder_version` if given and known (a recogniser's own), else the engine's.
        """
        version = self.version_for(embedder_version)
        faces = self.detect(rgb)
        if max_faces is not None:
            faces = faces[:max_faces]
        crops = self.align(rgb, faces, embedder_version=version)
        vectors, mirrored = self.embed_aligned_when(crops, embedder_version=version)
        return _analyses(faces, crops, vectors, mirrored, version)

    def analyse_many(
        self,
        rgbs: Sequence[np.ndarray],
        *,
        max_faces: int | None = None,
        embedder_version: str | None = None,
        mirror_when: MirrorWhen | None = None,
        low_precision: bool = False,
    ) -> list[list[FaceAnalysis]]:
        """Return `analyse` of each frame, with the frames detected and embedded in batches.

        Used for frames of several kiosks at once: MTCNN runs on same-size frames together and every
        face crop (with its mirror image) goes through FaceNet in one call, which costs about 31 ms a
        face for 8 faces against 47 ms for one alone (2 cores). The answers are each frame's own.
        `mirror_when`, `low_precision`: see `embed_aligned_when` (a face whose mirror image is skipped
        has `mirror_skipped`); for kiosk decisions only, never for embeddings that are kept.
        """
        version = self.version_for(embedder_version)
        detected = self.detector.detect_many(rgbs) if hasattr(self.detector, "detect_many") else None
        if detected is None:
            detected = [self.detect(rgb) for rgb in rgbs]
        if max_faces is not None:
            detected = [faces[:max_faces] for faces in detected]
        crops = [
            self.align(rgb, faces, embedder_version=version)
            for rgb, faces in zip(rgbs, detected, strict=True)
        ]
        counts = [len(c) for c in crops]
        vectors, mirrored = (
            self.embed_aligned_when(
                np.concatenate(crops),
                embedder_version=version,
                mirror_when=mirror_when,
                low_precision=low_precision,
            )
            if sum(counts)
            else ([], [])
        )
        answers, start = [], 0
        for faces, frame_crops, count in zip(detected, crops, counts, strict=True):
            frame = slice(start, start + count)
            start += count
            answers.append(_analyses(faces, frame_crops, vectors[frame], mirrored[frame], version))
        return answers

    def warm_up(self, *, low_precision: bool = False) -> None:
        """Run every network once, so that the first real request does not pay for tracing
        (`low_precision`: also the bfloat16 FaceNet of kiosk batches, in a recognition worker)."""
        frame = np.full((480, 640, 3), 128, dtype=np.uint8)
        self.detect(frame)
        self.embedder.warm_up(low_precision=low_precision)


_engines: dict[EngineConfig, tuple[int, Engine]] = {}
_lock = threading.Lock()


def build_engine(config: EngineConfig) -> Engine:
    """Return a new engine for `config` (slow: seconds). Raise WeightsMissingError or WeightsError first."""
    manifest = weights.check_installed(config.weights_path, verify_sha256=config.verify_weights)
    # Heavy imports here, not at module level: the web process imports this module for nothing.
    import tensorflow as tf

    from recognition.ml.detector import FaceDetector
    from recognition.ml.embedder import Embedder

    if config.intra_op_threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(config.intra_op_threads)
        except RuntimeError:  # TensorFlow already initialised its thread pools in this process
            log.warning("intra_op_threads=%s ignored: TensorFlow is already running", config.intra_op_threads)
    started = time.perf_counter()
    detector = FaceDetector(
        min_face_size=config.min_face_size,
        max_side=config.max_side,
        min_confidence=config.min_confidence,
        full_resolution_side=config.full_resolution_side,
    )
    embedder = Embedder(
        config.weights_path, batch_size=config.batch_size, low_precision_from=config.low_precision_from
    )
    log.info("face engine built in %.1f s (pid %s)", time.perf_counter() - started, os.getpid())
    return Engine(
        detector, embedder, margin=config.margin, embedder_version=weights.embedder_version_for(manifest)
    )


def get_engine(config: EngineConfig) -> Engine:
    """Return this process's engine for `config`, building it on first use (thread-safe)."""
    return build_once(_engines, _lock, config, lambda: build_engine(config), what="the face engine")


def _analyses(faces, crops, vectors, mirrored, version: str) -> list[FaceAnalysis]:
    """Return a FaceAnalysis per detected face of one frame, from its aligned crop and embedding."""
    flips = embedder_steps(version).flip
    return [
        FaceAnalysis(
            box=face.box,
            landmarks=face.landmarks,
            confidence=face.confidence,
            quality=assess(box=face.box, confidence=face.confidence, landmarks=face.landmarks, aligned=crop),
            embedding=vector,
            aligned=crop,
            embedder_version=version,
            mirror_skipped=flips and not averaged,
        )
        for face, crop, vector, averaged in zip(faces, crops, vectors, mirrored, strict=True)
    ]


@functools.cache
def bfloat16_hardware() -> bool:
    """Return whether this CPU computes bfloat16 natively (the amx_bf16 or avx512_bf16 flag; Linux)."""
    try:
        return cpu_has_bfloat16(Path("/proc/cpuinfo").read_text())
    except OSError:
        return False


def cpu_has_bfloat16(cpuinfo: str) -> bool:
    """Return whether a /proc/cpuinfo text lists the amx_bf16 or avx512_bf16 flag."""
    flags = set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[-1].split())
    return bool(flags & {"amx_bf16", "avx512_bf16"})
