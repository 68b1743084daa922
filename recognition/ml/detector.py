"""Face detection with MTCNN (the `mtcnn` package): every face, its box, confidence and five landmarks.

Two things differ from calling `mtcnn.MTCNN().detect_faces` directly:

- Its three networks run through compiled `tf.function`s. mtcnn 1.0.0 calls them eagerly, which on
  two cores made a 640x480 frame cost about 200 ms instead of about 85 ms.
- The minimum face size is applied by downscaling the frame, never by raising mtcnn's own
  `min_face_size` above 20: its scale pyramid ignores that setting, a stage then fails on a too-small
  level, and mtcnn reports the error as "no faces" (measured: 24, 30 and 40 found nothing where 20
  found every face). Downscaling is also what makes a larger minimum cheaper.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from mtcnn import MTCNN
from mtcnn.stages import StageONet, StagePNet, StageRNet
from PIL import Image

LANDMARK_NAMES = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# mtcnn 1.0.0 is only reliable at or below this minimum face size (see the module docstring).
MTCNN_SAFE_MIN_FACE = 20
# P-Net's window: a frame (after downscaling) smaller than this cannot hold a face.
PNET_WINDOW = 12


@dataclass(frozen=True)
class DetectedFace:
    """One face as found in the frame, in the frame's pixel coordinates.

    `box` is (x, y, width, height); `landmarks` maps each of LANDMARK_NAMES to (x, y). "left_eye" is
    the eye on the left of the image (the person's right eye), as mtcnn names it.
    """

    box: tuple[float, float, float, float]
    confidence: float
    landmarks: dict[str, tuple[float, float]]

    @property
    def size(self) -> float:
        """Return the longer side of the box in pixels."""
        return max(self.box[2], self.box[3])


class _CompiledPNet(StagePNet):
    def __init__(self):
        super().__init__()
        self._model = tf.function(
            self._model, input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)]
        )


class _CompiledRNet(StageRNet):
    def __init__(self):
        super().__init__()
        self._model = tf.function(self._model, input_signature=[tf.TensorSpec([None, 24, 24, 3], tf.float32)])

    def __call__(self, images_normalized, bboxes_batch, **kwargs):
        # mtcnn feeds an empty batch on and lets the network fail (logged by TensorFlow as an error,
        # then caught as "no faces"): every blank kiosk frame would log one. Stop here instead.
        if len(bboxes_batch) == 0:
            return np.empty((0, 6), dtype=np.float32)
        return super().__call__(images_normalized=images_normalized, bboxes_batch=bboxes_batch, **kwargs)


class _CompiledONet(StageONet):
    def __init__(self):
        super().__init__()
        self._model = tf.function(self._model, input_signature=[tf.TensorSpec([None, 48, 48, 3], tf.float32)])

    def __call__(self, images_normalized, bboxes_batch, **kwargs):
        if len(bboxes_batch) == 0:
            return np.empty((0, 16), dtype=np.float32)
        return super().__call__(images_normalized=images_normalized, bboxes_batch=bboxes_batch, **kwargs)


class FaceDetector:
    """Find faces of at least `min_face_size` pixels (the box's longer side) in RGB uint8 frames.

    `max_side` bounds the frame that MTCNN sees: a larger photo is downscaled first, so a 12-megapixel
    enrolment photo costs about what a webcam frame costs (faces much smaller than the photo's long
    side / max_side * min_face_size are then missed). `min_confidence` drops weaker detections.
    A frame whose longer side is at most `full_resolution_side` is searched at full resolution (faces
    under `min_face_size` are still dropped): it costs less than a 640x480 frame at half size, and
    halving a small photo costs its box and landmarks precision.
    Safe to call from several threads.
    """

    def __init__(
        self,
        *,
        min_face_size: int = 40,
        max_side: int | None = 1280,
        min_confidence: float = 0.8,
        full_resolution_side: int = 0,
    ):
        if min_face_size < PNET_WINDOW:
            raise ValueError(f"min_face_size must be at least {PNET_WINDOW} pixels, not {min_face_size}")
        if max_side is not None and max_side < 2 * PNET_WINDOW:
            raise ValueError(f"max_side must be at least {2 * PNET_WINDOW} pixels, not {max_side}")
        self.min_face_size = int(min_face_size)
        self.max_side = max_side
        self.min_confidence = float(min_confidence)
        self.full_resolution_side = int(full_resolution_side)
        self._mtcnn = MTCNN(stages=[_CompiledPNet(), _CompiledRNet(), _CompiledONet()])

    def scale_for(self, height: int, width: int) -> float:
        """Return the factor the frame is resized by before MTCNN sees it (1.0: not resized)."""
        if max(height, width) <= self.full_resolution_side:
            return 1.0
        scale = min(1.0, MTCNN_SAFE_MIN_FACE / self.min_face_size)
        if self.max_side is not None:
            scale = min(scale, self.max_side / max(height, width))
        return scale

    def detect(self, rgb: np.ndarray) -> list[DetectedFace]:
        """Return the faces in an RGB uint8 frame, largest first."""
        return self.detect_many([rgb])[0]

    def _prepared(self, rgb: np.ndarray) -> tuple[np.ndarray, float, float] | None:
        """Return (the frame MTCNN sees as float32, x factor, y factor back to `rgb`), or None when the
        frame is too small to hold a face."""
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an RGB image of shape (height, width, 3), got {rgb.shape}")
        height, width = rgb.shape[:2]
        scale = self.scale_for(height, width)
        if min(height, width) * scale < PNET_WINDOW:
            return None
        frame = rgb
        if scale < 1.0:
            size = (max(1, round(width * scale)), max(1, round(height * scale)))
            frame = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BILINEAR))
            # The exact factors per axis, after rounding to whole pixels.
            return frame.astype(np.float32), width / size[0], height / size[1]
        return frame.astype(np.float32), 1.0, 1.0

    def detect_many(self, rgbs: Sequence[np.ndarray]) -> list[list[DetectedFace]]:
        """Return the faces of each RGB uint8 frame (largest first), like `detect` on each.

        Frames that MTCNN sees at the same size (kiosk frames of one camera model) go through its
        three networks as one batch: on 2 cores, 8 kiosk frames took about 10 ms a frame batched
        against 23 ms one by one (benchmarks.checkin). Each frame's faces are its own.
        """
        prepared = [self._prepared(rgb) for rgb in rgbs]
        groups: dict[tuple[int, ...], list[int]] = {}
        for index, item in enumerate(prepared):
            if item is not None:
                groups.setdefault(item[0].shape, []).append(index)
        found: list[list[DetectedFace]] = [[] for _ in rgbs]
        for indices in groups.values():
            frames = [prepared[i][0] for i in indices]
            rows = self._mtcnn.detect_faces(
                frames if len(frames) > 1 else frames[0],
                min_face_size=min(self.min_face_size, MTCNN_SAFE_MIN_FACE),
                box_format="xyxy",
                output_type="numpy",
            )
            rows = np.asarray(rows).reshape(-1, 16)
            for position, index in enumerate(indices):
                _frame, sx, sy = prepared[index]
                found[index] = self._faces(rows[rows[:, 0] == position], sx, sy)
        return found

    def _faces(self, rows: np.ndarray, sx: float, sy: float) -> list[DetectedFace]:
        """Turn mtcnn's rows for one frame into DetectedFaces in the frame's pixels, largest first."""
        faces = []
        for row in rows:
            confidence = float(row[5])
            if not math.isfinite(confidence) or confidence < self.min_confidence:
                continue
            x1, y1, x2, y2 = float(row[1]) * sx, float(row[2]) * sy, float(row[3]) * sx, float(row[4]) * sy
            box = (x1, y1, x2 - x1, y2 - y1)
            if max(box[2], box[3]) < self.min_face_size or min(box[2], box[3]) <= 0:
                continue
            # mtcnn's row: image id, x1, y1, x2, y2, confidence, then the five x's, then the five y's.
            xs, ys = row[6:11], row[11:16]
            landmarks = {
                name: (float(px) * sx, float(py) * sy)
                for name, px, py in zip(LANDMARK_NAMES, xs, ys, strict=True)
            }
            faces.append(DetectedFace(box=box, confidence=confidence, landmarks=landmarks))
        faces.sort(key=lambda face: face.size, reverse=True)
        return faces
