"""FaceNet embeddings: batches of aligned 160x160 faces in, L2-normalised float32 128-d vectors out.

The network runs inside one `tf.function` with a fixed signature, traced once: calling the Keras
model eagerly costs about six times as much per face on two cores (pipeline-facts). It runs in its
fused inference form (facenet.fold_batch_norms: the same embeddings to 1e-6, about a fifth faster for
a single face).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from recognition.ml import facenet

EMBEDDING_SIZE = facenet.EMBEDDING_SIZE


def standardise(faces: tf.Tensor) -> tf.Tensor:
    """Return each face minus its mean, over its std (at least 1/sqrt(pixels)), as FaceNet was trained."""
    faces = tf.cast(faces, tf.float32)
    mean, variance = tf.nn.moments(faces, axes=[1, 2, 3], keepdims=True)
    pixels = tf.cast(tf.reduce_prod(tf.shape(faces)[1:]), tf.float32)
    std = tf.maximum(tf.sqrt(variance), 1.0 / tf.sqrt(pixels))
    return (faces - mean) / std


class Embedder:
    """FaceNet on CPU, loaded from the project's converted weight file. Safe to call from several threads."""

    def __init__(self, weights_path: Path, *, batch_size: int = 32):
        self.weights_path = Path(weights_path)
        self.batch_size = int(batch_size)
        self._model = facenet.load_facenet(self.weights_path)
        size = facenet.INPUT_SIZE
        model = self._model

        @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
        def embed(faces):
            vectors = model(standardise(faces), training=False)
            return tf.math.l2_normalize(vectors, axis=1)

        self._embed = embed

    def embed(self, faces: np.ndarray) -> np.ndarray:
        """Return an (N, 128) float32 array of unit vectors for N aligned RGB uint8 faces of 160x160."""
        faces = np.asarray(faces)
        if faces.ndim == 3:
            faces = faces[None]
        size = facenet.INPUT_SIZE
        if faces.ndim != 4 or faces.shape[1:] != (size, size, 3):
            raise ValueError(f"expected faces of shape (N, {size}, {size}, 3), got {faces.shape}")
        if len(faces) == 0:
            return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
        faces = faces.astype(np.uint8, copy=False)
        chunks = [
            self._embed(tf.constant(faces[start : start + self.batch_size])).numpy()
            for start in range(0, len(faces), self.batch_size)
        ]
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def warm_up(self) -> None:
        """Trace the compiled function now, so the first real face does not pay for it."""
        self.embed(np.zeros((1, facenet.INPUT_SIZE, facenet.INPUT_SIZE, 3), dtype=np.uint8))
