"""The process-wide engine: built once under a lock, shared by threads, refused across fork()."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from recognition.ml import pipeline
from recognition.ml.images import load_image


def test_engine_is_built_once_for_concurrent_first_callers(monkeypatch, tmp_path):
    """Eight threads asking for a new engine at once get the same object, built a single time."""
    builds = []

    def slow_build(config):
        builds.append(config)
        time.sleep(0.2)
        return object()

    monkeypatch.setattr(pipeline, "build_engine", slow_build)
    monkeypatch.setattr(pipeline, "_engines", {})
    config = pipeline.EngineConfig(weights_path=Path(tmp_path / "w.h5"))
    with ThreadPoolExecutor(max_workers=8) as pool:
        engines = list(pool.map(lambda _: pipeline.get_engine(config), range(8)))
    assert len(builds) == 1
    assert all(engine is engines[0] for engine in engines)


def test_engine_built_before_a_fork_is_refused_in_the_child(monkeypatch, tmp_path):
    """An engine built by another process (a parent before fork) is refused with an explanation, not used."""
    config = pipeline.EngineConfig(weights_path=Path(tmp_path / "w.h5"))
    monkeypatch.setattr(pipeline, "_engines", {config: (1, object())})
    with pytest.raises(RuntimeError, match="before this process .* was forked"):
        pipeline.get_engine(config)


def test_engine_answers_several_threads_at_once(engine, celebrity_photos):
    """Four threads analysing the same photo at once all get the single-threaded embedding."""
    rgb = load_image(celebrity_photos["val"]["madonna"][1].read_bytes(), max_pixels=50_000_000)
    expected = engine.analyse(rgb)[0].embedding
    barrier = threading.Barrier(4)

    def analyse(_):
        barrier.wait()
        return engine.analyse(rgb)[0].embedding

    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(analyse, range(4)))
    for result in results:
        np.testing.assert_allclose(result, expected, atol=1e-5)
