"""The engine makes the current embedder version and, when asked, the older one a recogniser knows."""

from __future__ import annotations

import numpy as np

from recognition.ml import EMBEDDER_VERSION, EMBEDDER_VERSION_V1
from recognition.ml.pipeline import EMBEDDERS, Engine, embedder_steps


class FakeEmbedder:
    """A named fake of the FaceNet embedder: a face's vector is its column means (not mirror-symmetric)."""

    def __init__(self):
        self.batches: list[int] = []

    def low_precision_for(self, count: int) -> bool:
        return False

    def embed(self, faces: np.ndarray, *, low_precision: bool = False) -> np.ndarray:
        self.batches.append(len(faces))
        vectors = faces.astype(np.float32).mean(axis=(1, 3))[:, :128]
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def crops(count: int = 3) -> np.ndarray:
    rng = np.random.default_rng(4)
    return rng.integers(0, 255, size=(count, 160, 160, 3), dtype=np.uint8)


def test_v2_averages_each_crop_with_its_mirror_in_one_batch():
    """v2's embedding is the normalised sum of the crop's and the mirrored crop's, both in one batch."""
    embedder = FakeEmbedder()
    engine = Engine(detector=None, embedder=embedder)
    faces = crops()
    vectors = engine.embed_aligned(faces)
    plain, mirrored = embedder.embed(faces), embedder.embed(faces[:, :, ::-1])
    expected = (plain + mirrored) / np.linalg.norm(plain + mirrored, axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-6)
    assert embedder.batches[0] == 6  # the 3 crops and their mirrors together


def test_v1_is_still_made_when_a_v1_recogniser_asks():
    """Asked for v1, the engine embeds the crop alone (no mirror), as v1 embeddings were made."""
    embedder = FakeEmbedder()
    engine = Engine(detector=None, embedder=embedder)
    faces = crops()
    np.testing.assert_allclose(
        engine.embed_aligned(faces, embedder_version=EMBEDDER_VERSION_V1), embedder.embed(faces), atol=1e-6
    )
    assert engine.version_for(EMBEDDER_VERSION_V1) == EMBEDDER_VERSION_V1
    assert EMBEDDERS[EMBEDDER_VERSION_V1].crop == "landmarks" and not EMBEDDERS[EMBEDDER_VERSION_V1].flip


def test_unknown_versions_and_other_weights_get_the_engines_own():
    """An unknown version gets the engine's own; with other weights (a "+sha" suffix) every version
    carries the suffix, and a version without it is not made."""
    engine = Engine(detector=None, embedder=FakeEmbedder())
    assert engine.version_for(None) == EMBEDDER_VERSION
    assert engine.version_for("something-else") == EMBEDDER_VERSION
    other = Engine(detector=None, embedder=FakeEmbedder(), embedder_version=f"{EMBEDDER_VERSION}+abc123")
    assert other.version_for(f"{EMBEDDER_VERSION_V1}+abc123") == f"{EMBEDDER_VERSION_V1}+abc123"
    assert other.version_for(EMBEDDER_VERSION_V1) == f"{EMBEDDER_VERSION}+abc123"
    assert embedder_steps(f"{EMBEDDER_VERSION}+abc123") == EMBEDDERS[EMBEDDER_VERSION]
