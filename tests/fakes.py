"""Fakes for fast unit tests, named as fakes: real-pipeline tests use tests.fixtures.faces instead."""

from __future__ import annotations

import pytest

from recognition.ml.synthetic import FakeEngine


@pytest.fixture
def fake_engine(monkeypatch) -> FakeEngine:
    """Put a FakeEngine (no TensorFlow) in place of this process's face engine for this test.

    Uploads are still decoded for real (recognition.engine.image_decode); the fake answers each
    analysis with the faces the test queued in `fake_engine.answers`.
    """
    from recognition import engine

    fake = FakeEngine()
    monkeypatch.setattr(engine, "engine_get", lambda: fake)
    return fake
