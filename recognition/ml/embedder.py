"""FaceNet embeddings: batches of aligned 160x160 faces in, L2-normalised float32 128-d vectors out.

The network runs inside one `tf.function` with a fixed signature, traced once: calling the Keras
model eagerly costs about six times as much per face on two cores (pipeline-facts). It runs in its
fused inference form (facenet.fold_batch_norms: the same embeddings to 1e-6, about a fifth faster for
a single face).
"""

from __future__ import annotations

import threading
from pathlib import Path

import keras
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

    def __init__(self, weights_path: Path, *, batch_size: int = 32, low_precision_from: int = 0):
        self.weights_path = Path(weights_path)
        self.batch_size = int(batch_size)
        self.low_precision_from = max(int(low_precision_from), 0)
        self._model = facenet.load_facenet(self.weights_path)
        self._embed = _compiled(self._model)
        self._embed_low = None  # built on first use or warm-up (low_precision=True)
        self._lock = threading.Lock()

    def _low(self):
        """Return the compiled bfloat16 copy of the network (its weights kept in float32), built once."""
        with self._lock:
            if self._embed_low is None:
                low = keras.models.clone_model(
                    self._model,
                    clone_function=lambda layer: layer.__class__.from_config(
                        {**layer.get_config(), "dtype": "mixed_bfloat16"}
                    ),
                )
                low.set_weights(self._model.get_weights())
                self._embed_low = _compiled(low)
            return self._embed_low

    def embed(self, faces: np.ndarray, *, low_precision: bool = False) -> np.ndarray:
        """Return an (N, 128) float32 array of unit vectors for N aligned RGB uint8 faces of 160x160.

        `low_precision`: a batch of at least `low_precision_from` faces may run in bfloat16, which CPUs
        with bfloat16 units (AMX, AVX512-BF16) compute in about 60% of the time at 8 faces and above
        (slower below). Its embeddings differ from float32's by about 0.012 (at most 0.02 on 128 lfw-dev
        faces): for a kiosk's decision, never for a photo that is stored or enrolled.
        """
        faces = np.asarray(faces)
        if faces.ndim == 3:
            faces = faces[None]
        size = facenet.INPUT_SIZE
        if faces.ndim != 4 or faces.shape[1:] != (size, size, 3):
            raise ValueError(f"expected faces of shape (N, {size}, {size}, 3), got {faces.shape}")
        if len(faces) == 0:
            return np.empty((0, EMBEDDING_SIZE), dtype=np.float32)
        faces = faces.astype(np.uint8, copy=False)
        chunks = []
        for start in range(0, len(faces), self.batch_size):
            chunk = faces[start : start + self.batch_size]
            low = low_precision and self.low_precision_for(len(chunk))
            chunks.append((self._low() if low else self._embed)(tf.constant(chunk)).numpy())
        return np.concatenate(chunks).astype(np.float32, copy=False)

    def low_precision_for(self, count: int) -> bool:
        """Return whether `embed(low_precision=True)` runs a batch of `count` faces in bfloat16."""
        return 0 < self.low_precision_from <= count

    def warm_up(self, *, low_precision: bool = False) -> None:
        """Trace the compiled function now (and build and trace the bfloat16 one if `low_precision`
        may be asked for here), so that the first real face does not pay for it."""
        size = facenet.INPUT_SIZE
        self.embed(np.zeros((1, size, size, 3), dtype=np.uint8))
        if low_precision and self.low_precision_from:
            self.embed(np.zeros((self.low_precision_from, size, size, 3), dtype=np.uint8), low_precision=True)


def _compiled(model: keras.Model):
    """Return the network as one compiled function: uint8 faces in, unit float32 embeddings out."""
    size = facenet.INPUT_SIZE

    @tf.function(input_signature=[tf.TensorSpec([None, size, size, 3], tf.uint8)])
    def embed(faces):
        vectors = model(standardise(faces), training=False)
        return tf.math.l2_normalize(tf.cast(vectors, tf.float32), axis=1)

    return embed
