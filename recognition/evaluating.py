"""Evaluate this site's engine and recogniser on a folder-per-person dataset, the way production runs.

Its own module (not in recognition.engine) because it joins the three parts: the engine embeds, the
training worker's own function fits (recognition.training) and the kiosk's call identifies
(recognition.matching), and engine must not import the modules that import it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from recognition import engine, matching, training
from recognition.ml import evaluation


def engine_evaluate(
    *,
    plan: evaluation.EvaluationPlan,
    target_far: float | None = None,
    threshold: float | None = None,
    min_face_size: int | None = None,
    progress: evaluation.Progress = evaluation.no_progress,
) -> dict:
    """Return the evaluation report of the engine and the recogniser on a folder-per-person dataset.

    The recogniser is fitted by the training worker's own function (`training.recogniser_fit`) and
    asked by the kiosk's (`matching.recogniser_identify`, through its mirror cascade,
    `matching.mirror_when`); `target_far` overrides
    RECOGNISER_TARGET_FAR and `threshold` the calibrated threshold. `min_face_size` overrides the
    setting for this evaluation (a second engine is built for it). See recognition.ml.evaluation for
    the plan and the report's keys.
    """
    config = engine.engine_config()
    if min_face_size is not None:
        config = dataclasses.replace(config, min_face_size=min_face_size)
    built = engine.get_engine(config)

    def train(embeddings: np.ndarray, person_ids: np.ndarray):
        return training.recogniser_fit(
            embeddings, person_ids, embedder_version=built.embedder_version, target_far=target_far
        )

    return evaluation.evaluate(
        built,
        plan,
        train=train,
        identify=matching.recogniser_identify,
        threshold=threshold,
        max_pixels=engine.max_pixels_setting(),
        progress=progress,
        mirror_when_for=matching.mirror_when,
    )
