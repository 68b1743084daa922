"""The one door into recognition for the rest of the site: people/, attendance/ and attendance_site/
import these names and nothing else from `recognition` (import-linter keeps it so).

No logic lives here: every name is one of these modules', re-exported:

- recognition.engine: this process's face engine from the settings (decode, analyse, weights, evaluate),
  with the errors and types of the pure library it hands out (recognition.ml);
- recognition.ml.embeddings: the stored byte form of an embedding;
- recognition.training (and training_requests): recogniser versions trained from enrolment,
  coalesced training requests;
- recognition.reembedding: after an embedder upgrade, enrolled photos re-embedded, then a retrain;
- recognition.matching: the active version, recognising kiosk frames and liveness bursts, duplicates;
- recognition.ml.liveness: the pure liveness check over a burst of faces;
- recognition.antispoofing: the passive anti-spoofing score of a kiosk frame's face, or of a burst;
- recognition.heartbeats: which workers are alive and warm.

Importing this module never imports TensorFlow (the web process and /healthz import it).
"""

from __future__ import annotations

from recognition.antispoofing import frame_passive_score, frames_passive_score, passive_warm_up
from recognition.engine import (
    ACCEPTED_IMAGE_FORMATS,
    celebrity_photos_dir,
    embedder_version,
    engine_config,
    engine_get,
    engine_warm_up,
    image_analyse,
    image_decode,
    weights_fetch,
    weights_status,
)
from recognition.evaluating import engine_evaluate
from recognition.heartbeats import worker_heartbeat_record, worker_heartbeat_remove, workers_alive
from recognition.matching import (
    FrameRecognition,
    GalleryMatch,
    embedding_identify,
    frame_recognise,
    frames_analyse,
    frames_recognise,
    gallery_nearest,
    recogniser_threshold,
)
from recognition.ml import EMBEDDER_VERSION
from recognition.ml.embeddings import embedding_from_bytes, embedding_to_bytes
from recognition.ml.evaluation import EvaluationPlan
from recognition.ml.images import ImageError
from recognition.ml.liveness import FrameFace, LivenessConfig, LivenessVerdict, liveness_check
from recognition.ml.pipeline import FaceAnalysis
from recognition.ml.recogniser import Identification
from recognition.ml.weights import ChecksumError, WeightsError, WeightsMissingError
from recognition.reembedding import reembedding_resume, reembedding_status
from recognition.training import (
    recogniser_train,
    recogniser_version_people,
    recogniser_versions_forget,
    training_run,
    training_status,
)
from recognition.training import training_request as recogniser_request_training

__all__ = [
    # engine
    "ACCEPTED_IMAGE_FORMATS",
    "EMBEDDER_VERSION",
    "ChecksumError",
    "FaceAnalysis",
    "ImageError",
    "WeightsError",
    "WeightsMissingError",
    "EvaluationPlan",
    "celebrity_photos_dir",
    "embedder_version",
    "engine_config",
    "engine_evaluate",
    "engine_get",
    "engine_warm_up",
    "image_analyse",
    "image_decode",
    "weights_fetch",
    "weights_status",
    # embeddings
    "embedding_from_bytes",
    "embedding_to_bytes",
    # training
    "reembedding_resume",
    "reembedding_status",
    "recogniser_request_training",
    "recogniser_train",
    "recogniser_version_people",
    "recogniser_versions_forget",
    "training_run",
    "training_status",
    # matching
    "FrameRecognition",
    "GalleryMatch",
    "Identification",
    "embedding_identify",
    "frame_recognise",
    "frames_analyse",
    "frames_recognise",
    "gallery_nearest",
    "recogniser_threshold",
    # liveness
    "FrameFace",
    "LivenessConfig",
    "LivenessVerdict",
    "liveness_check",
    "frame_passive_score",
    "frames_passive_score",
    "passive_warm_up",
    # workers and health
    "worker_heartbeat_record",
    "worker_heartbeat_remove",
    "workers_alive",
]
