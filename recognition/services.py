"""The doors into the face engine for the rest of the project; nothing outside `recognition` imports `ml`.

Importing this module never imports TensorFlow (the web process and /healthz import it): the engine
is built on first use, in the process that uses it, by `recognition.ml.pipeline.get_engine`.

Errors callers handle: `ImageError` (the upload is not a usable photo; show its message to the user)
and `WeightsError` / `WeightsMissingError` (the model is not installed; the message names the command
that fixes it).

Settings read here (all optional): MODELS_DIR, MODEL_CACHE_DIR, RECOGNITION_MAX_IMAGE_PIXELS,
RECOGNITION_MIN_FACE_SIZE, RECOGNITION_DETECT_MAX_SIDE, RECOGNITION_MIN_DETECTION_CONFIDENCE,
RECOGNITION_TF_THREADS.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings

from recognition.ml import EMBEDDER_VERSION, weights
from recognition.ml.images import ImageError, load_image
from recognition.ml.pipeline import Engine, EngineConfig, FaceAnalysis, get_engine
from recognition.ml.weights import ChecksumError, WeightsError, WeightsMissingError

__all__ = [
    "ChecksumError",
    "FaceAnalysis",
    "ImageError",
    "WeightsError",
    "WeightsMissingError",
    "embedder_version",
    "engine_config",
    "engine_evaluate",
    "engine_get",
    "engine_warm_up",
    "image_analyse",
    "image_decode",
    "weights_fetch",
    "weights_status",
]

DEFAULT_MAX_IMAGE_PIXELS = 50_000_000


def _setting(name: str, default):
    return getattr(settings, name, default)


def engine_config() -> EngineConfig:
    """Return the engine configuration the settings describe."""
    return EngineConfig(
        weights_path=weights.weights_path(Path(settings.MODELS_DIR)),
        min_face_size=int(_setting("RECOGNITION_MIN_FACE_SIZE", 40)),
        max_side=_setting("RECOGNITION_DETECT_MAX_SIDE", 1280),
        min_confidence=float(_setting("RECOGNITION_MIN_DETECTION_CONFIDENCE", 0.8)),
        intra_op_threads=_setting("RECOGNITION_TF_THREADS", None),
    )


def engine_get() -> Engine:
    """Return this process's face engine, building it on first use (seconds; imports TensorFlow).

    Raises WeightsMissingError or WeightsError when the weights are not installed or damaged.
    """
    return get_engine(engine_config())


def engine_warm_up() -> None:
    """Build the engine and run every network once; call it in a worker child after the fork."""
    engine_get().warm_up()


def image_decode(*, data: bytes) -> np.ndarray:
    """Return uploaded image bytes as an upright RGB uint8 array; raise ImageError for unusable bytes."""
    return load_image(
        data, max_pixels=int(_setting("RECOGNITION_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))
    )


def image_analyse(*, data: bytes, max_faces: int | None = None) -> list[FaceAnalysis]:
    """Return every face in an uploaded image (the `max_faces` largest, if given), largest first.

    Each FaceAnalysis holds the box, landmarks, confidence, quality figures, the 128-d embedding and
    the embedder version to store with it. Raises ImageError for bytes that are not a usable photo
    (before the engine is touched) and WeightsError when the model is not installed.
    """
    rgb = image_decode(data=data)
    return engine_get().analyse(rgb, max_faces=max_faces)


def weights_status() -> dict:
    """Return whether the FaceNet weights are installed: ok, present, path, sha256, embedder_version, reason.

    Cheap and free of TensorFlow (the web process's /healthz calls it): the file's checksum is checked
    against its manifest when the engine loads, not here.
    """
    return weights.status(Path(settings.MODELS_DIR))


def embedder_version() -> str:
    """Return the version string to store with embeddings made by the installed weights."""
    manifest = weights.read_manifest(Path(settings.MODELS_DIR))
    return weights.embedder_version_for(manifest) if manifest else EMBEDDER_VERSION


def weights_fetch(
    *,
    from_file: Path | None = None,
    trust: bool = False,
    force: bool = False,
    log: Callable[[str], None] = print,
) -> weights.FetchResult:
    """Install the converted FaceNet weights into MODELS_DIR (see recognition.ml.weights.fetch)."""
    return weights.fetch(
        cache_dir=Path(settings.MODEL_CACHE_DIR),
        models_dir=Path(settings.MODELS_DIR),
        from_file=from_file,
        trust=trust,
        force=force,
        log=log,
    )


def engine_evaluate(
    *,
    root: Path,
    probes_root: Path | None = None,
    strangers_root: Path | None = None,
    gallery_size: int | None = None,
    stranger_share: float = 0.0,
    pairs_file: Path | None = None,
    target_far: float = 0.01,
    threshold: float | None = None,
    min_face_size: int | None = None,
) -> dict:
    """Return the evaluation report of the engine on a folder-per-person dataset (recognition.ml.evaluation).

    `min_face_size` overrides the setting for this evaluation (a second engine is built for it).
    """
    from recognition.ml import evaluation

    config = engine_config()
    if min_face_size is not None:
        config = dataclasses.replace(config, min_face_size=min_face_size)
    return evaluation.evaluate(
        get_engine(config),
        root=root,
        probes_root=probes_root,
        strangers_root=strangers_root,
        gallery_size=gallery_size,
        stranger_share=stranger_share,
        pairs_file=pairs_file,
        target_far=target_far,
        threshold=threshold,
        max_pixels=int(_setting("RECOGNITION_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS)),
    )


# --- The recogniser: versions trained from enrolment, and recognising a kiosk frame ----------------
# Thin doors into recognition.recogniser (imported lazily: it reads the database models).


def recogniser_train(*, trigger: str, user=None):
    """Train a recogniser version from the accepted photos now and activate it (see recognition.recogniser).

    Returns the RecogniserVersion; on failure it is marked failed and the previous version stays active.
    """
    from recognition import recogniser

    return recogniser.recogniser_train(trigger=trigger, user=user)


def recogniser_request_training(*, reason: str) -> None:
    """Mark the enrolment changed and queue one coalesced training run once the transaction commits."""
    from recognition import recogniser

    recogniser.training_request(reason=reason)


def frame_recognise(*, data: bytes):
    """Return a FrameRecognition for the largest face in `data`: the person, or None for unknown.

    Fields: face_found, person_id, distance, confidence, recogniser_version_id, box, landmarks and
    reason ("no face", "no trained recogniser", "unknown face", "person no longer active").
    Raises ImageError for bytes that are not a usable image.
    """
    from recognition import recogniser

    return recogniser.frame_recognise(data=data)
