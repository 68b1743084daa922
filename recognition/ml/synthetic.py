"""Deterministic synthetic data shared by tests and benchmarks; no Django, nothing random without a seed.

- Fake embeddings: `unit_vector` (one face of a person), `synthetic_gallery` (people x photos
  clustered like FaceNet's, same-person distance about 0.8) and `near` (another photo of a centre).
- `FakeEngine`: stands in for a pipeline.Engine in fast unit tests (no TensorFlow); it answers each
  analyse() with the faces the test queued, made by `fake_face`. It is a fake and named as one: tests
  of what the real engine sees use the real engine.
- Webcam frames and liveness bursts made from real photos: `webcam_frame`, `framed_photos`,
  `sequence` (a genuine head turn or a photo attack, as JPEG frames) and `analyse_burst`;
  hand-made landmark tracks for the pure liveness check: `landmark_face`, `landmark_track`.
"""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from recognition.ml import EMBEDDER_VERSION
from recognition.ml.images import load_image
from recognition.ml.liveness import YAW_SIGN, FrameFace, frame_face
from recognition.ml.pipeline import FaceAnalysis
from recognition.ml.quality import FaceQuality

EMBEDDING_SIZE = 128
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")

# --- Fake embeddings and galleries -------------------------------------------------------------------


def unit_vector(seed: int, *, noise: float = 0.0, base: int | None = None) -> np.ndarray:
    """Return a deterministic 128-d unit vector (a fake embedding): `base` moved by `noise`.

    `noise` is the length of the random step from the person's centre (before normalising), so
    photos of one person stay a known distance apart in 128 dimensions whatever the seeds.
    """
    centre = np.random.default_rng(seed if base is None else base).normal(size=EMBEDDING_SIZE)
    centre /= np.linalg.norm(centre)
    if noise:
        step = np.random.default_rng(seed + 10_000).normal(size=EMBEDDING_SIZE)
        centre = centre + noise * step / np.linalg.norm(step)
    return (centre / np.linalg.norm(centre)).astype(np.float32)


def synthetic_gallery(
    people: int, per_person: int = 5, *, seed: int = 0, noise: float = 0.06, first_id: int = 0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (embeddings (N, 128) float32, person ids (N,), centres (people, 128)) of a fake gallery.

    Unit embeddings clustered per person: with the default noise two photos of one person are about
    0.8 apart, as FaceNet's are. Person ids run from `first_id`.
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(people, EMBEDDING_SIZE))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = (centres[:, None, :] + noise * rng.normal(size=(people, per_person, EMBEDDING_SIZE))).reshape(
        -1, EMBEDDING_SIZE
    )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), np.repeat(np.arange(people) + first_id, per_person), centres


def near(centre: np.ndarray, *, seed: int, noise: float = 0.06) -> np.ndarray:
    """Return another fake photo of the person at `centre` (a unit vector near it)."""
    v = centre + noise * np.random.default_rng(seed).normal(size=EMBEDDING_SIZE)
    return (v / np.linalg.norm(v)).astype(np.float32)


# --- A fake engine -----------------------------------------------------------------------------------


def fake_face(
    embedding: np.ndarray, *, size: float = 200.0, sharpness: float = 300.0, yaw: float = 0.0
) -> FaceAnalysis:
    """Return a FaceAnalysis as the engine would, with the given (fake) embedding and quality."""
    return FaceAnalysis(
        box=(10.0, 20.0, size, size * 1.2),
        landmarks={name: (50.0 + i, 60.0 + i) for i, name in enumerate(LANDMARKS)},
        confidence=0.999,
        quality=FaceQuality(
            face_size_px=size,
            confidence=0.999,
            sharpness=sharpness,
            brightness=120.0,
            yaw_deg=yaw,
            roll_deg=1.0,
        ),
        embedding=np.asarray(embedding, dtype=np.float32),
        aligned=np.zeros((160, 160, 3), dtype=np.uint8),
    )


class FakeEngine:
    """A fake of pipeline.Engine for fast tests: analyse() answers with the faces queued per call.

    `answers` holds one list of FaceAnalysis per expected call (no face when it runs out); `calls`
    counts the calls. Whatever the image shows is ignored: only the test's queue decides.
    """

    embedder_version = EMBEDDER_VERSION

    def __init__(self):
        self.answers: list[list[FaceAnalysis]] = []
        self.calls = 0
        self.versions_asked: list[str | None] = []
        self.mirror_asked: list = []

    def analyse(
        self, rgb: np.ndarray, *, max_faces: int | None = None, embedder_version: str | None = None
    ) -> list[FaceAnalysis]:
        """Return the next queued answer (its `max_faces` first faces), or no face; records the
        embedder version asked for in `versions_asked`."""
        self.calls += 1
        self.versions_asked.append(embedder_version)
        faces = self.answers.pop(0) if self.answers else []
        return faces if max_faces is None else faces[:max_faces]

    def analyse_many(
        self,
        rgbs: list[np.ndarray],
        *,
        max_faces: int | None = None,
        embedder_version: str | None = None,
        mirror_when=None,
        low_precision: bool = False,
    ) -> list[list[FaceAnalysis]]:
        """Return `analyse` of each frame in turn (one queued answer per frame). A `mirror_when` is
        kept in `mirror_asked` (the queued embeddings are returned as they are)."""
        self.mirror_asked.append(mirror_when)
        return [self.analyse(rgb, max_faces=max_faces, embedder_version=embedder_version) for rgb in rgbs]

    def warm_up(self, *, low_precision: bool = False) -> None:
        """Do nothing: there is no network to warm."""


# --- Frames --------------------------------------------------------------------------------------


FRAME_SIZE = (640, 480)  # a webcam frame, width x height
GREY = (128, 128, 128)


def jpeg_bytes(rgb: np.ndarray, *, quality: int = 92) -> bytes:
    """Return an RGB array encoded as JPEG bytes, as a browser or phone would upload it."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def webcam_frame(rgb: np.ndarray, *, scale: float | None = None) -> np.ndarray:
    """Return `rgb` scaled by `scale` (default: as large as fits) and centred on grey in a 640x480 frame."""
    image = Image.fromarray(rgb)
    width, height = FRAME_SIZE
    if scale is None:
        scale = min(width / image.width, height / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)), Image.Resampling.BILINEAR)
    frame = Image.new("RGB", FRAME_SIZE, GREY)
    frame.paste(image, ((width - image.width) // 2, (height - image.height) // 2))
    return np.asarray(frame)


# --- Liveness bursts made from real photos ---------------------------------------------------------

FACE_WIDTH_PX = 170  # face box width in the synthetic webcam frame
LEAD_FRAMES = 2
# The kiosk before issue 13's second round paused its capture while the person read each instruction
# (600 ms), then took four frames: a head was often already turned in the first frame of a step.
STEP_PROFILE = (0.4, 0.8, 1.0, 0.6)  # share of the full turn in the frames of one asked direction
# Today's kiosk (static/kiosk/kiosk.js) captures without a gap: a frame every 150 ms, four looking
# ahead, then twelve per asked direction from the moment its instruction shows. A head recorded that
# way is modelled as moving smoothly: REACTION_S after the instruction it starts from where it was and
# eases (half a cosine) to the full turn towards the asked side in TURN_S, then holds it.
FRAME_S = 0.15
CONTINUOUS_LEAD_FRAMES = 4
CONTINUOUS_STEP_FRAMES = 12
REACTION_S = 0.4
TURN_S = 0.9
CAPTURES = ("continuous", "paused")
MAX_NOSE_SHIFT = 0.5  # of the eye distance: a 15-25 degree landmark yaw, a "slight" turn
FOCAL_PX = 600.0  # a 640 px wide webcam with a 56 degree field of view
ATTACKS = ("still", "shifted", "rotated", "tilted", "swapped", "wrong_order", "mirror_swap", "three_photos")


@dataclass(frozen=True)
class FramedFace:
    """A photo framed as a webcam frame, with the face's landmarks in that frame."""

    person: str
    name: str
    frame: np.ndarray  # (480, 640, 3) uint8
    landmarks: dict[str, tuple[float, float]]
    box: tuple[float, float, float, float]

    @property
    def eye_distance(self) -> float:
        (lx, ly), (rx, ry) = self.landmarks["left_eye"], self.landmarks["right_eye"]
        return math.hypot(rx - lx, ry - ly)


def frame_photo(rgb: np.ndarray, face, *, person: str = "", name: str = "") -> FramedFace:
    """Return the photo scaled so the face box is FACE_WIDTH_PX wide and centred in a 640x480 frame."""
    x, y, w, h = face.box
    scale = FACE_WIDTH_PX / max(w, 1.0)
    image = Image.fromarray(rgb)
    image = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR
    )
    cx, cy = (x + w / 2) * scale, (y + h / 2) * scale
    left, top = round(cx - FRAME_SIZE[0] / 2), round(cy - FRAME_SIZE[1] / 2 + 10)
    canvas = Image.new("RGB", FRAME_SIZE, GREY)
    canvas.paste(image, (-left, -top))
    landmarks = {k: (px * scale - left, py * scale - top) for k, (px, py) in face.landmarks.items()}
    box = (x * scale - left, y * scale - top, w * scale, h * scale)
    return FramedFace(person, name, np.asarray(canvas), landmarks, box)


def _sample(rgb: np.ndarray, src_x: np.ndarray, src_y: np.ndarray) -> np.ndarray:
    """Return `rgb` sampled (bilinear, grey outside) at the given source coordinates."""
    from scipy.ndimage import map_coordinates

    out = np.empty(src_x.shape + (3,), dtype=np.uint8)
    for channel in range(3):
        out[..., channel] = np.clip(
            map_coordinates(rgb[..., channel].astype(np.float32), [src_y, src_x], order=1, cval=128.0),
            0,
            255,
        )
    return out


def _grid() -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0 : FRAME_SIZE[1], 0 : FRAME_SIZE[0]].astype(np.float32)
    return xs, ys


def yaw_warp(face: FramedFace, amount: float) -> np.ndarray:
    """Return the frame with the head 'turned': amount in [-1, 1] of a slight turn, + is the image's right.

    A Gaussian displacement centred on the nose slides the nose and mouth sideways, the eyes a little,
    and leaves the face outline and background in place: the landmark parallax of a real turn.
    """
    xs, ys = _grid()
    nx, ny = face.landmarks["nose"]
    d = face.eye_distance
    shift = amount * MAX_NOSE_SHIFT * d
    bump = np.exp(-(((xs - nx) / (0.38 * d)) ** 2) / 2 - (((ys - ny) / (0.55 * d)) ** 2) / 2)
    # The whole head also moves a little with the turn (a real neck is not a fixed axis).
    return _sample(face.frame, xs - shift * bump - 0.04 * amount * d, ys)


def shifted(face: FramedFace, amount: float) -> np.ndarray:
    """Return the photo translated sideways by amount x half a face width."""
    xs, ys = _grid()
    return _sample(face.frame, xs - amount * 0.5 * face.box[2], ys)


def rotated(face: FramedFace, amount: float) -> np.ndarray:
    """Return the photo rotated in the image plane about the face centre by amount x 15 degrees."""
    xs, ys = _grid()
    cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
    a = math.radians(15.0 * amount)
    dx, dy = xs - cx, ys - cy
    return _sample(
        face.frame, cx + dx * math.cos(a) + dy * math.sin(a), cy - dx * math.sin(a) + dy * math.cos(a)
    )


def tilted(face: FramedFace, amount: float) -> np.ndarray:
    """Return the photo as a flat print turned about its vertical axis through the face by amount x 35 deg."""
    xs, ys = _grid()
    cx, cy = face.box[0] + face.box[2] / 2, face.box[1] + face.box[3] / 2
    theta = math.radians(35.0 * amount)
    z0 = FOCAL_PX
    # Inverse of the projection x' = u cos(t) z0 / (z0 + u sin(t)), y' = v z0 / (z0 + u sin(t)).
    du = xs - cx
    u = du * z0 / (math.cos(theta) * z0 - du * math.sin(theta))
    v = (ys - cy) * (z0 + u * math.sin(theta)) / z0
    return _sample(face.frame, cx + u, cy + v)


def profile(directions: Sequence[str], *, capture: str = "continuous") -> list[float]:
    """Return the turn amount per frame (+ = the image's right = the person's left) for asked directions.

    capture "continuous": the head's pose sampled every FRAME_S through the whole challenge, the
    instruction pauses included (today's kiosk); "paused": the earlier kiosk's frames (STEP_PROFILE).
    """
    if capture not in CAPTURES:
        raise ValueError(f"capture must be one of {CAPTURES}, not {capture!r}")
    amounts = [0.0] * (LEAD_FRAMES if capture == "paused" else CONTINUOUS_LEAD_FRAMES)
    if capture == "paused":
        for direction in directions:
            amounts += [YAW_SIGN[direction] * share for share in STEP_PROFILE]
        return amounts
    pose = 0.0
    for direction in directions:
        target = YAW_SIGN[direction] * 1.0
        for frame in range(1, CONTINUOUS_STEP_FRAMES + 1):
            progress = min(max((frame * FRAME_S - REACTION_S) / TURN_S, 0.0), 1.0)
            amounts.append(pose + (target - pose) * (1.0 - math.cos(math.pi * progress)) / 2.0)
        pose = target
    return amounts


def noisy_jpeg(rgb: np.ndarray, rng: np.random.Generator, quality: int = 85) -> bytes:
    """Return the frame with a little sensor noise, JPEG-encoded as the kiosk page sends it."""
    noisy = np.clip(rgb.astype(np.int16) + rng.integers(-2, 3, rgb.shape), 0, 255).astype(np.uint8)
    return jpeg_bytes(noisy, quality=quality)


def sequence(
    kind: str,
    face: FramedFace,
    directions: Sequence[str],
    *,
    other: FramedFace | None = None,
    seed: int = 0,
    capture: str = "continuous",
) -> list[bytes]:
    """Return the JPEG burst of one kind ("genuine" or an ATTACKS name) for the asked directions.

    Frames as the kiosk page captures them (`capture`, see profile: 28 continuous, or 10 paused):
    genuine is a non-rigid warp that slides the nose and mouth relative to the eyes, as a turning head
    does; still, shifted, rotated and tilted move a flat photo; swapped becomes another person's turn
    half way; wrong_order turns the other way round (a replayed video); mirror_swap and three_photos
    answer with a turned photo and its mirror image (eight frames).
    """
    rng = np.random.default_rng(seed)
    amounts = profile(directions, capture=capture)
    if kind == "genuine":
        frames = [yaw_warp(face, a) for a in amounts]
    elif kind == "still":
        frames = [face.frame for _ in amounts]
    elif kind == "shifted":
        frames = [shifted(face, a) for a in amounts]
    elif kind == "rotated":
        frames = [rotated(face, a) for a in amounts]
    elif kind == "tilted":
        frames = [tilted(face, a) for a in amounts]
    elif kind == "swapped":
        if other is None:
            raise ValueError("a swapped sequence needs another person's face")
        half = (
            LEAD_FRAMES + len(STEP_PROFILE)
            if capture == "paused"
            else CONTINUOUS_LEAD_FRAMES + CONTINUOUS_STEP_FRAMES
        )
        frames = [yaw_warp(face if i < half else other, a) for i, a in enumerate(amounts)]
    elif kind == "wrong_order":
        frames = [yaw_warp(face, a) for a in profile(list(reversed(directions)), capture=capture)]
    elif kind in ("mirror_swap", "three_photos"):
        # One photo of the person turned towards the first asked direction, and its mirror image for
        # the other (issue 13, finding 1): [P, Pm, P, P, P, Pm, Pm, Pm] as the attacker sent it, or
        # with a frontal photo F as the reference, [F, F, P, P, P, F, Pm, Pm].
        turned = yaw_warp(face, YAW_SIGN[directions[0]] * 1.0)
        mirrored = turned[:, ::-1].copy()
        if kind == "mirror_swap":
            frames = [turned, mirrored, turned, turned, turned, mirrored, mirrored, mirrored]
        else:
            frames = [face.frame, face.frame, turned, turned, turned, face.frame, mirrored, mirrored]
    else:
        raise ValueError(f"unknown sequence kind {kind!r}")
    return [noisy_jpeg(frame, rng) for frame in frames]


def analyse_burst(engine, frames: Sequence[bytes]) -> list[FrameFace | None]:
    """Return a FrameFace (or None) per JPEG frame, from the engine's largest face."""
    images = [load_image(data, max_pixels=10_000_000) for data in frames]
    # In batches, as the worker analyses a kiosk's burst (recognition.matching.frames_analyse).
    return [frame_face(found[0]) if found else None for found in engine.analyse_many(images, max_faces=1)]


def framed_photos(
    engine, root: Path, *, splits: Sequence[str] = ("val", "train"), per_person: int
) -> list[FramedFace]:
    """Return `per_person` photos of each person (root/<split>/<person>/*.jpg) facing the camera, framed.

    Photos are taken in order from the first split, then the next (some people have few frontal photos).
    """
    framed = []
    for person in sorted(p.name for p in (root / splits[0]).iterdir() if p.is_dir()):
        taken = 0
        for path in [path for split in splits for path in sorted((root / split / person).glob("*.jpg"))]:
            if taken == per_person:
                break
            rgb = load_image(path.read_bytes(), max_pixels=50_000_000)
            faces = engine.analyse(rgb, max_faces=1)
            # The challenge starts from a face looking at the camera ("Look straight at the camera").
            if not faces or abs(faces[0].quality.yaw_deg) > 10:
                continue
            framed.append(
                frame_photo(rgb, faces[0], person=person, name=f"{path.parent.parent.name}/{path.name}")
            )
            taken += 1
    return framed


# --- Hand-made landmark tracks for the pure liveness check -----------------------------------------

# A turn to the person's left (image right, + yaw) and back, then to their right, in degrees per frame.
LEFT_THEN_RIGHT = [0, 0, 8, 18, 22, 15, 0, -10, -20, -15]


def landmark_face(
    yaw: float = 0.0,
    *,
    dx: float = 0.0,
    roll: float = 0.0,
    narrow: float = 1.0,
    who: np.ndarray | None = None,
    person: int | None = None,
) -> FrameFace:
    """Return a FrameFace whose landmarks show a head turned by `yaw` degrees (+ = image right).

    `dx` moves the whole face sideways, `roll` rotates it in the image plane, `narrow` squeezes it
    horizontally (a flat picture); `who` is its embedding (default: the first basis vector).
    """
    half = 26.0 * math.cos(math.radians(yaw)) * narrow
    points = {
        "left_eye": (-30.0 * half / 26, -20.0),
        "right_eye": (30.0 * half / 26, -20.0),
        "nose": (26.0 * math.sin(math.radians(yaw)), 5.0),
        "mouth_left": (-22.0 * half / 26, 30.0),
        "mouth_right": (22.0 * half / 26, 30.0),
    }
    c, s = math.cos(math.radians(roll)), math.sin(math.radians(roll))
    landmarks = {k: (320 + dx + x * c - y * s, 240 + x * s + y * c) for k, (x, y) in points.items()}
    embedding = np.eye(EMBEDDING_SIZE, dtype=np.float32)[0] if who is None else who
    box = (260 + dx, 170, 120, 150)
    return FrameFace(box=box, landmarks=landmarks, embedding=embedding, person_id=person)


def landmark_track(yaws: Sequence[float], *, seed: int = 0, **kwargs) -> list[FrameFace]:
    """Return one landmark_face per yaw (same keyword arguments for every frame), with camera noise."""
    return camera_noise([landmark_face(yaw, **kwargs) for yaw in yaws], seed=seed)


def camera_noise(faces: Sequence[FrameFace], *, jitter_px: float = 0.3, seed: int = 0) -> list[FrameFace]:
    """Return the faces with each landmark moved by up to `jitter_px` at random, as a camera's noise
    moves MTCNN's: no two frames of a camera are the same picture."""
    rng = np.random.default_rng(seed)
    return [
        dataclasses.replace(
            face,
            landmarks={
                k: (x + rng.uniform(-jitter_px, jitter_px), y + rng.uniform(-jitter_px, jitter_px))
                for k, (x, y) in face.landmarks.items()
            },
        )
        for face in faces
    ]
