"""Numbers about a face that a person can act on: size, detection confidence, sharpness, light, pose.

Sharpness and brightness are measured on the aligned 160x160 crop, so they compare across photos of
any resolution. Pose is estimated from the five landmarks alone (no 3-D model): good enough to say
"look at the camera", not to measure angles precisely.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class FaceQuality:
    """Quality figures of one face.

    face_size_px: the longer side of the detected box in the original image, in pixels.
    confidence: MTCNN's face probability, 0 to 1.
    sharpness: variance of the Laplacian of the grey aligned crop (higher is sharper; blurred faces
        score well under 100, crisp ones several hundred).
    brightness: mean grey level of the aligned crop, 0 (black) to 255 (white).
    yaw_deg: head turned left/right, about -90 to 90; 0 is facing the camera, positive is the face
        turned towards the image's right.
    roll_deg: head tilted; the angle of the eye line from horizontal, positive is clockwise in the image.
    """

    face_size_px: float
    confidence: float
    sharpness: float
    brightness: float
    yaw_deg: float
    roll_deg: float

    def as_dict(self) -> dict[str, float]:
        """Return the figures as a JSON-ready dict, rounded to what is meaningful."""
        return {key: round(value, 3) for key, value in asdict(self).items()}


def to_grey(rgb: np.ndarray) -> np.ndarray:
    """Return the ITU-R 601 luma of an RGB image as float32."""
    return rgb[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def laplacian_variance(grey: np.ndarray) -> float:
    """Return the variance of the 4-neighbour Laplacian of a grey image (edges only, no padding)."""
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    centre = grey[1:-1, 1:-1]
    lap = grey[:-2, 1:-1] + grey[2:, 1:-1] + grey[1:-1, :-2] + grey[1:-1, 2:] - 4.0 * centre
    return float(lap.var())


def estimate_roll(landmarks: dict[str, tuple[float, float]]) -> float:
    """Return the head roll in degrees: the angle of the eye line from horizontal."""
    (lx, ly), (rx, ry) = landmarks["left_eye"], landmarks["right_eye"]
    return math.degrees(math.atan2(ry - ly, rx - lx))


def estimate_yaw(landmarks: dict[str, tuple[float, float]]) -> float:
    """Return the head yaw in degrees from where the nose sits between the eyes and mouth corners.

    In the face's own axes (roll removed), the nose of a frontal face sits midway between the left
    and right landmarks; turned by yaw, it shifts by about sin(yaw) of the half-width.
    """
    roll = math.radians(estimate_roll(landmarks))
    cos, sin = math.cos(-roll), math.sin(-roll)

    def along_eyes(point: tuple[float, float]) -> float:
        return point[0] * cos - point[1] * sin

    left = (along_eyes(landmarks["left_eye"]) + along_eyes(landmarks["mouth_left"])) / 2.0
    right = (along_eyes(landmarks["right_eye"]) + along_eyes(landmarks["mouth_right"])) / 2.0
    half_width = (right - left) / 2.0
    if half_width <= 0:
        return 90.0
    offset = (along_eyes(landmarks["nose"]) - (left + right) / 2.0) / half_width
    return math.degrees(math.asin(max(-1.0, min(1.0, offset))))


def assess(
    *,
    box: tuple[float, float, float, float],
    confidence: float,
    landmarks: dict[str, tuple[float, float]],
    aligned: np.ndarray,
) -> FaceQuality:
    """Return the quality figures of one detected face and its aligned crop."""
    grey = to_grey(aligned)
    return FaceQuality(
        face_size_px=float(max(box[2], box[3])),
        confidence=float(confidence),
        sharpness=laplacian_variance(grey),
        brightness=float(grey.mean()),
        yaw_deg=estimate_yaw(landmarks),
        roll_deg=estimate_roll(landmarks),
    )
