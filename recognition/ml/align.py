"""Cut a face out of a frame as FaceNet expects it: box plus margin, eyes level, 160x160 RGB.

Two ways to place the crop (`crop_geometry`), one per embedder version (pipeline.EMBEDDERS):

- "box-levelled" (v2): MTCNN's own box plus a 10% margin, stretched to 160x160 as the weights'
  training crops were, turned about the box centre by the eye-line angle so that a tilted head gives
  the crop of an upright one (enrolment accepts up to 30 degrees of roll). On lfw-dev pairs (photos
  already levelled by deep funnelling, so levelling cannot show its worth there) the plain box scored
  99.4% and the landmark-placed crop below 99.1%.
- "landmarks" (v1): the box MTCNN draws around an *upright* face, expressed in units of the
  eye-to-mouth distance and turned by the eye angle. Its constants were fitted on the 5-celebrity
  photos and did not beat the box on real photos.

Measured on the 5-celebrity photos rotated by +-20 degrees (49 faces): distance between the rotated
and the upright photo's embeddings, median 0.18 and at most 0.37 placed from landmarks; median 0.26
and at most 0.51 placed from the box; median 0.52 without levelling the eyes. Same-person pairs are
at a median distance of 0.79.

One affine warp does the rotation, the crop and the resize, so the frame is resampled once.
"""

from __future__ import annotations

import math

import numpy as np
from PIL import Image

FACE_SIZE = 160
# Margin added on every side, as a share of the box side (pipeline-facts: about 10% worked; 0, 0.2
# and 0.3 separated same-person from different-person distances less well here).
DEFAULT_MARGIN = 0.1

# MTCNN's box around an upright face, in eye-to-mouth distances: its centre lies this far below the
# midpoint of the eyes (and this far to the side), and it is this wide and this tall. Medians over the
# upright faces (roll under 10 degrees) of the 5-celebrity training photos.
BOX_CENTRE_BELOW_EYES = 0.32
BOX_CENTRE_ASIDE = -0.01
BOX_WIDTH = 1.99
BOX_HEIGHT = 2.71
# When the landmark-placed box is not within this factor of MTCNN's box, the landmarks are not to be
# trusted (a partly hidden face, a false detection): use the box instead.
_LANDMARK_BOX_TOLERANCE = 1.8


def eye_angle(landmarks: dict[str, tuple[float, float]]) -> float:
    """Return the angle of the line from the left-hand eye to the right-hand eye, in radians."""
    (lx, ly), (rx, ry) = landmarks["left_eye"], landmarks["right_eye"]
    return math.atan2(ry - ly, rx - lx)


def face_crop_geometry(
    box: tuple[float, float, float, float], landmarks: dict[str, tuple[float, float]]
) -> tuple[float, float, float, float, float]:
    """Return (centre x, centre y, width, height, angle) of the upright face box, before the margin."""
    angle = eye_angle(landmarks)
    cos, sin = math.cos(angle), math.sin(angle)
    eyes = np.add(landmarks["left_eye"], landmarks["right_eye"]) / 2.0
    mouth = np.add(landmarks["mouth_left"], landmarks["mouth_right"]) / 2.0
    unit = float(np.linalg.norm(mouth - eyes))
    x, y, w, h = box
    width, height = BOX_WIDTH * unit, BOX_HEIGHT * unit
    ratio = math.sqrt(width * height / max(w * h, 1e-6))
    if not (1 / _LANDMARK_BOX_TOLERANCE <= ratio <= _LANDMARK_BOX_TOLERANCE):
        return x + w / 2.0, y + h / 2.0, w, h, angle
    # From the face's own axes (x along the eyes, y down the face) to the frame's.
    dx, dy = BOX_CENTRE_ASIDE * unit, BOX_CENTRE_BELOW_EYES * unit
    cx = eyes[0] + cos * dx - sin * dy
    cy = eyes[1] + sin * dx + cos * dy
    return float(cx), float(cy), width, height, angle


# How a face is cut out of the frame (see crop_geometry). "box" is the production crop.
CROPS = ("box", "box-levelled", "box-square", "landmarks")
DEFAULT_CROP = "box"


def box_crop_geometry(
    box: tuple[float, float, float, float],
    landmarks: dict[str, tuple[float, float]] | None,
    *,
    level: bool,
    square: bool = False,
) -> tuple[float, float, float, float, float]:
    """Return (centre x, centre y, width, height, angle) of MTCNN's box, before the margin.

    `square` widens the box to a square about its centre, so the face keeps its proportions at
    160x160 (otherwise it is stretched by the box's shape, as FaceNet's training crops were: on
    lfw-dev the stretched box scored 99.4% and the square 99.1%); `level` turns it by the eye-line
    angle about the box centre (without landmarks it is not turned).
    """
    x, y, w, h = box
    if square:
        w = h = max(w, h)
    angle = eye_angle(landmarks) if level and landmarks else 0.0
    return box[0] + box[2] / 2.0, box[1] + box[3] / 2.0, w, h, angle


def crop_geometry(
    box: tuple[float, float, float, float],
    landmarks: dict[str, tuple[float, float]] | None,
    crop: str = DEFAULT_CROP,
) -> tuple[float, float, float, float, float]:
    """Return (centre x, centre y, width, height, angle) of the crop named `crop` (one of CROPS)."""
    if crop == "box":
        return box_crop_geometry(box, landmarks, level=False, square=False)
    if crop == "box-levelled":
        return box_crop_geometry(box, landmarks, level=True, square=False)
    if crop == "box-square":
        return box_crop_geometry(box, landmarks, level=False, square=True)
    if crop == "landmarks":
        return face_crop_geometry(box, landmarks)
    raise ValueError(f"unknown crop {crop!r}: expected one of {', '.join(CROPS)}")


def align_face(
    rgb: np.ndarray,
    box: tuple[float, float, float, float],
    landmarks: dict[str, tuple[float, float]],
    *,
    size: int = FACE_SIZE,
    margin: float = DEFAULT_MARGIN,
    crop: str = "landmarks",
) -> np.ndarray:
    """Return the face at `box` (x, y, w, h) cut as `crop` says, plus margin, as a size x size RGB array.

    "landmarks" (the default here, embedder v1) places and levels the crop from the landmarks;
    "box" is MTCNN's box stretched to the square output, as FaceNet's training crops were;
    "box-levelled" the same box turned by the eye line; "box-square" the box widened to a square.
    Parts of the crop outside the frame are black, as in the FaceNet training crops.
    """
    return warp_crop(rgb, crop_geometry(box, landmarks, crop), size=size, margin=margin)


def warp_crop(
    rgb: np.ndarray, geometry: tuple[float, float, float, float, float], *, size: int, margin: float
) -> np.ndarray:
    """Return the rectangle (centre x, centre y, width, height, angle) plus margin as size x size RGB."""
    cx, cy, w, h, angle = geometry
    sx, sy = w * (1 + 2 * margin) / size, h * (1 + 2 * margin) / size
    image = Image.fromarray(rgb)
    # A bilinear warp only looks at the 4 nearest pixels: shrink a large face with a box filter
    # first, or the crop aliases (a 600-pixel face from a phone photo would come out grainy).
    factor = int(min(sx, sy) // 2)
    if factor >= 2:
        image = image.reduce(factor)
        cx, cy, sx, sy = cx / factor, cy / factor, sx / factor, sy / factor
    cos, sin = math.cos(angle), math.sin(angle)
    # Output pixel (u, v) -> frame point: centre + R(angle) @ ((u - size/2) * sx, (v - size/2) * sy).
    a, b = cos * sx, -sin * sy
    d, e = sin * sx, cos * sy
    half = size / 2.0
    c0 = cx - a * half - b * half
    f0 = cy - d * half - e * half
    warped = image.transform(
        (size, size),
        Image.Transform.AFFINE,
        (a, b, c0, d, e, f0),
        resample=Image.Resampling.BILINEAR,
        fillcolor=0,
    )
    return np.asarray(warped, dtype=np.uint8)
