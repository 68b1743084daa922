"""Kiosk batches in bfloat16: close to float32 on real faces, only where asked and only for large batches,
and exactly float32 (crop and mirror) for the faces near a decision."""

from __future__ import annotations

import numpy as np
import pytest

from recognition import engine as engine_module
from recognition.ml.pipeline import Engine, cpu_has_bfloat16, mirror_averaged

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def low_engine(engine):
    """The real engine's detector with an embedder that runs batches of 8 or more in bfloat16."""
    from recognition.ml.embedder import Embedder

    embedder = Embedder(engine.embedder.weights_path, low_precision_from=8)
    embedder.warm_up(low_precision=True)
    return Engine(engine.detector, embedder, margin=engine.margin, embedder_version=engine.embedder_version)


@pytest.fixture(scope="module")
def crops(celebrity_analyses):
    return np.stack([p.faces[0].aligned for p in celebrity_analyses["val"] if p.faces][:16])


def test_low_precision_is_close_to_float32_and_only_for_large_batches_when_asked(low_engine, crops):
    """16 real faces in bfloat16 land within 0.05 of their float32 embeddings (not exactly on them); a
    batch under 8, or one not asked for low precision, is exactly float32."""
    embedder = low_engine.embedder
    exact = embedder.embed(crops)
    low = embedder.embed(crops, low_precision=True)
    gaps = np.linalg.norm(low - exact, axis=1)
    assert (gaps < 0.05).all()
    assert gaps.max() > 1e-4  # it did run in another precision
    np.testing.assert_allclose(np.linalg.norm(low, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(embedder.embed(crops[:7], low_precision=True), exact[:7], atol=1e-5)
    assert [embedder.low_precision_for(n) for n in (1, 7, 8, 16)] == [False, False, True, True]


def test_faces_near_a_decision_are_embedded_again_in_float32_with_their_mirror(low_engine, crops):
    """With low precision and `mirror_when`, the picked rows are exactly the float32 crop + mirror
    embedding; the others are the bfloat16 crop alone."""
    exact_averaged = low_engine.embed_aligned(crops)
    low_alone = low_engine.embedder.embed(crops, low_precision=True)
    picked = np.arange(len(crops)) % 3 == 0
    vectors, mirrored = low_engine.embed_aligned_when(crops, mirror_when=lambda v: picked, low_precision=True)
    assert mirrored.tolist() == picked.tolist()
    np.testing.assert_allclose(vectors[picked], exact_averaged[picked], atol=1e-5)
    np.testing.assert_allclose(vectors[~picked], low_alone[~picked], atol=1e-5)
    # Without low precision the same call is float32 throughout.
    exact_alone = low_engine.embedder.embed(crops)
    vectors, _ = low_engine.embed_aligned_when(crops, mirror_when=lambda v: picked)
    np.testing.assert_allclose(vectors[~picked], exact_alone[~picked], atol=1e-5)
    np.testing.assert_allclose(
        vectors[picked],
        mirror_averaged(exact_alone[picked], low_engine.embedder.embed(crops[picked][:, :, ::-1])),
        atol=1e-5,
    )


def test_bfloat16_units_are_read_from_the_cpu_flags():
    """The amx_bf16 or avx512_bf16 flag of /proc/cpuinfo means bfloat16 units; other flags do not."""
    assert cpu_has_bfloat16("processor\t: 0\nflags\t\t: fpu sse2 avx2 amx_bf16 amx_tile\n")
    assert cpu_has_bfloat16("flags\t: fpu avx512f avx512_bf16\nflags\t: fpu avx512f avx512_bf16\n")
    assert not cpu_has_bfloat16("flags\t: fpu sse2 avx2 avx512f avx512_fp16\n")
    assert not cpu_has_bfloat16("")


def test_the_setting_or_the_cpu_chooses_when_kiosk_batches_use_low_precision(settings, monkeypatch):
    """RECOGNITION_LOW_PRECISION_FROM wins; unset, 8 faces on a CPU with bfloat16 units, else never."""
    settings.RECOGNITION_LOW_PRECISION_FROM = 12
    assert engine_module.low_precision_from() == 12
    settings.RECOGNITION_LOW_PRECISION_FROM = 0
    assert engine_module.low_precision_from() == 0
    settings.RECOGNITION_LOW_PRECISION_FROM = None
    monkeypatch.setattr(engine_module, "bfloat16_hardware", lambda: True)
    assert engine_module.low_precision_from() == 8
    monkeypatch.setattr(engine_module, "bfloat16_hardware", lambda: False)
    assert engine_module.low_precision_from() == 0
    assert engine_module.engine_config().low_precision_from == 0
