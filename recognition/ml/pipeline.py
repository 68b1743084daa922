"""The face engine: detect, align, assess and embed every face in a frame.

`get_engine()` builds the engine once per process, lazily, under a lock, and is the only place that
imports TensorFlow (inside its body), so importing this module costs nothing. TensorFlow is not
fork-safe: build the engine in the process that uses it (a Celery child after the fork), never in a
parent that then forks.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recognition.ml import EMBEDDER_VERSION, weights
from recognition.ml.align import DEFAULT_MARGIN, FACE_SIZE, align_face
from recognition.ml.per_process import build_once
from recognition.ml.quality import FaceQuality, assess

if TYPE_CHECKING:
    from recognition.ml.detector import DetectedFace, FaceDetector
    from recognition.ml.embedder import Embedder

log = logging.getLogger(__name__)

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


@dataclass(frozen=True)
class EngineConfig:
    """What the engine is built from; one engine is kept per distinct config."""

    weights_path: Path
    min_face_size: int = 40
    max_side: int | None = 1280
    min_confidence: float = 0.8
    margin: float = DEFAULT_MARGIN
    batch_size: int = 32
    verify_weights: bool = True
    # TensorFlow's threads per operation; None leaves its default (all cores). Applied only if
    # TensorFlow has not run anything yet in this process.
    intra_op_threads: int | None = None


class Engine:
    """MTCNN detection, landmark alignment, quality figures and FaceNet embeddings for RGB frames."""

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

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Return the faces in an RGB uint8 frame, largest first."""
        return self.detector.detect(rgb)

    def align(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """Return the aligned 160x160 crops of `faces` as one (N, 160, 160, 3) uint8 array."""
        if not faces:
            return np.empty((0, FACE_SIZE, FACE_SIZE, 3), dtype=np.uint8)
        return np.stack([align_face(rgb, face.box, face.landmarks, margin=self.margin) for face in faces])

    def embed_aligned(self, crops: np.ndarray) -> np.ndarray:
        """Return (N, 128) unit float32 embeddings of aligned crops, in batches."""
        return self.embedder.embed(crops)

    def embed_faces(self, rgb: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        """Return (N, 128) unit float32 embeddings of already detected faces in `rgb`."""
        return self.embed_aligned(self.align(rgb, faces))

    def analyse(self, rgb: np.ndarray, *, max_faces: int | None = None) -> list[FaceAnalysis]:
        """Return every face in the frame (the `max_faces` largest, if given), largest first."""
        faces = self.detect(rgb)
        if max_faces is not None:
            faces = faces[:max_faces]
        crops = self.align(rgb, faces)
        vectors = self.embed_aligned(crops)
        return [
            FaceAnalysis(
                box=face.box,
                landmarks=face.landmarks,
                confidence=face.confidence,
                quality=assess(
                    box=face.box, confidence=face.confidence, landmarks=face.landmarks, aligned=crop
                ),
                embedding=vector,
                aligned=crop,
                embedder_version=self.embedder_version,
            )
            for face, crop, vector in zip(faces, crops, vectors, strict=True)
        ]

    def warm_up(self) -> None:
        """Run every network once, so that the first real request does not pay for tracing."""
        frame = np.full((480, 640, 3), 128, dtype=np.uint8)
        self.detect(frame)
        self.embedder.warm_up()


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
        min_face_size=config.min_face_size, max_side=config.max_side, min_confidence=config.min_confidence
    )
    embedder = Embedder(config.weights_path, batch_size=config.batch_size)
    log.info("face engine built in %.1f s (pid %s)", time.perf_counter() - started, os.getpid())
    return Engine(
        detector, embedder, margin=config.margin, embedder_version=weights.embedder_version_for(manifest)
    )


def get_engine(config: EngineConfig) -> Engine:
    """Return this process's engine for `config`, building it on first use (thread-safe)."""
    return build_once(_engines, _lock, config, lambda: build_engine(config), what="the face engine")
