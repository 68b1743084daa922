"""Evaluate the liveness check on real frames: synthetic head turns of real photos, and photo attacks.

    python -m attendance.bench_liveness [--photos 2] [--splits val,train] [--verbose]

Every 5-celebrity photo used is detected once by the real engine, then framed as a 640x480 webcam
frame with the face about 170 px wide. From that frame it makes bursts of 10 frames, as the kiosk
page captures them (two frames looking ahead, then four for each asked direction), JPEG-encoded:

- genuine: a non-rigid horizontal warp that slides the central features (nose, mouth) sideways
  relative to the eyes and face outline, as a turning head does (the nose stands out of the face);
  both orders, "left then right" and "right then left";
- still: the same photo in every frame (sensor noise only);
- shifted: the photo moved sideways and back by up to half a face width (translation only);
- rotated: the photo rotated in the image plane by up to 15 degrees, one way then the other;
- tilted: the photo as a flat print turned about its vertical axis by up to 35 degrees
  (perspective with a webcam's focal length), one way then the other;
- swapped: a genuine turn that becomes another person's genuine turn half way;
- wrong order: a genuine turn in the opposite order to the one asked (a replayed video).

Each burst goes through the real engine (MTCNN landmarks + FaceNet embeddings) and
recognition.ml.liveness.liveness_check. Prints the genuine pass rate and each attack's reject rate.
Not a test: it prints figures only (tests/recognition/test_liveness_frames.py asserts on a subset).
"""

from __future__ import annotations

import argparse
import io
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

FRAME_SIZE = (640, 480)
FACE_WIDTH_PX = 170  # face box width in the synthetic webcam frame
LEAD_FRAMES = 2
STEP_PROFILE = (0.4, 0.8, 1.0, 0.6)  # share of the full turn in the frames of one asked direction
MAX_NOSE_SHIFT = 0.5  # of the eye distance: a 15-25 degree landmark yaw, a "slight" turn
FOCAL_PX = 600.0  # a 640 px wide webcam with a 56 degree field of view
ATTACKS = ("still", "shifted", "rotated", "tilted", "swapped", "wrong_order")


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


def frame_face(rgb: np.ndarray, face, *, person: str = "", name: str = "") -> FramedFace:
    """Return the photo scaled so the face box is FACE_WIDTH_PX wide and centred in a 640x480 frame."""
    x, y, w, h = face.box
    scale = FACE_WIDTH_PX / max(w, 1.0)
    image = Image.fromarray(rgb)
    image = image.resize(
        (max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BILINEAR
    )
    cx, cy = (x + w / 2) * scale, (y + h / 2) * scale
    left, top = round(cx - FRAME_SIZE[0] / 2), round(cy - FRAME_SIZE[1] / 2 + 10)
    canvas = Image.new("RGB", FRAME_SIZE, (128, 128, 128))
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


def profile(directions: Sequence[str]) -> list[float]:
    """Return the turn amount per frame (+ = the image's right = the person's left) for asked directions."""
    from recognition.ml.liveness import YAW_SIGN

    amounts = [0.0] * LEAD_FRAMES
    for direction in directions:
        amounts += [YAW_SIGN[direction] * share for share in STEP_PROFILE]
    return amounts


def jpeg(rgb: np.ndarray, rng: np.random.Generator, quality: int = 85) -> bytes:
    """Return the frame with a little sensor noise, JPEG-encoded as the kiosk page sends it."""
    noisy = np.clip(rgb.astype(np.int16) + rng.integers(-2, 3, rgb.shape), 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noisy).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def sequence(
    kind: str, face: FramedFace, directions: Sequence[str], *, other: FramedFace | None = None, seed: int = 0
) -> list[bytes]:
    """Return the JPEG burst of one kind ("genuine" or an ATTACKS name) for the asked directions."""
    rng = np.random.default_rng(seed)
    amounts = profile(directions)
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
        half = LEAD_FRAMES + len(STEP_PROFILE)
        frames = [yaw_warp(face if i < half else other, a) for i, a in enumerate(amounts)]
    elif kind == "wrong_order":
        frames = [yaw_warp(face, a) for a in profile(list(reversed(directions)))]
    else:
        raise ValueError(f"unknown sequence kind {kind!r}")
    return [jpeg(frame, rng) for frame in frames]


def analyse_burst(engine, frames: Sequence[bytes]) -> list:
    """Return a FrameFace (or None) per JPEG frame, from the real engine's largest face."""
    from recognition.ml.images import load_image
    from recognition.ml.liveness import FrameFace

    faces = []
    for data in frames:
        found = engine.analyse(load_image(data, max_pixels=10_000_000), max_faces=1)
        faces.append(
            FrameFace(
                box=tuple(found[0].box), landmarks=dict(found[0].landmarks), embedding=found[0].embedding
            )
            if found
            else None
        )
    return faces


def framed_photos(engine, root: Path, *, splits: Sequence[str] = ("val", "train"), per_person: int) -> list:
    """Return `per_person` photos of each person whose face looks at the camera, framed.

    Photos are taken in order from the first split, then the next (some people have few frontal photos).
    """
    from recognition.ml.images import load_image

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
                frame_face(rgb, faces[0], person=person, name=f"{path.parent.parent.name}/{path.name}")
            )
            taken += 1
    return framed


def evaluate(
    engine, faces: Sequence[FramedFace], *, log: Callable[[str], None] = lambda line: None
) -> dict[str, list]:
    """Return {kind: [verdict, ...]} over every photo, both orders, genuine and every attack."""
    from recognition.ml.liveness import liveness_check

    results: dict[str, list] = {kind: [] for kind in ("genuine", *ATTACKS)}
    for index, face in enumerate(faces):
        other = next(f for f in faces[index + 1 :] + faces[:index] if f.person != face.person)
        for order, directions in enumerate((["left", "right"], ["right", "left"])):
            for kind in results:
                burst = sequence(kind, face, directions, other=other, seed=index * 10 + order)
                verdict = liveness_check(analyse_burst(engine, burst), directions)
                results[kind].append(verdict)
                log(
                    f"{face.person}/{face.name} {'+'.join(directions):10s} {kind:11s} "
                    f"{'PASS' if verdict.passed else 'fail'} {verdict.reason:16s} "
                    f"yaw={verdict.figures.get('yaw_deg')} "
                    f"dist={verdict.figures.get('max_identity_distance')} "
                    f"narrow={verdict.figures.get('max_unexplained_narrowing')}"
                )
    return results


def table(results: dict[str, list]) -> str:
    """Return the results as a Markdown table: genuine pass rate, each attack's reject rate."""
    lines = ["| sequences | n | rate | reasons |", "| --- | --- | --- | --- |"]
    for kind, verdicts in results.items():
        genuine = kind == "genuine"
        good = sum(v.passed == genuine for v in verdicts)
        reasons: dict[str, int] = {}
        for v in verdicts:
            reasons[v.reason] = reasons.get(v.reason, 0) + 1
        what = "passed" if genuine else "rejected"
        share = 100 * good / max(1, len(verdicts))
        lines.append(
            f"| {kind} | {len(verdicts)} | {good}/{len(verdicts)} {what} ({share:.0f}%) "
            f"| {', '.join(f'{k} {n}' for k, n in sorted(reasons.items()))} |"
        )
    attacks = [v for kind, vs in results.items() if kind != "genuine" for v in vs]
    rejected = sum(not v.passed for v in attacks)
    lines.append(
        f"| all attacks | {len(attacks)} | {rejected}/{len(attacks)} rejected "
        f"({100 * rejected / max(1, len(attacks)):.0f}%) | |"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=2, help="photos per person (default 2)")
    parser.add_argument("--splits", default="val,train", help="where photos are taken from, in order")
    parser.add_argument("--verbose", action="store_true", help="print every sequence")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "attendance_site.settings")
    import django

    django.setup()
    from django.conf import settings

    from recognition import services
    from recognition.ml import dataset

    root = dataset.celebrity_dataset_dir(Path(settings.MODEL_CACHE_DIR), Path(settings.VAR_DIR) / "cache")
    engine = services.engine_get()
    engine.warm_up()
    faces = framed_photos(engine, root, splits=args.splits.split(","), per_person=args.photos)
    print(f"{len(faces)} photos of {len({f.person for f in faces})} people ({args.splits}), 2 orders each")
    results = evaluate(engine, faces, log=print if args.verbose else (lambda line: None))
    print(table(results))


if __name__ == "__main__":
    main()
