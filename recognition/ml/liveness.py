"""Active liveness: did the head really turn the way the kiosk asked, while one person stayed in view?

A plain function over what the engine measured on each frame of a short burst (box, the five MTCNN
landmarks, the embedding): no database, no TensorFlow. The cue is parallax. On a real head the nose
stands out of the face, so when the head turns the nose slides sideways relative to the eyes and mouth
corners (`estimate_yaw` reads that slide). A photo moved sideways moves every landmark together, a photo
rotated in its plane or tilted as a flat sheet keeps the nose where it was between the eyes and mouth:
the box moves or narrows, the landmark yaw does not.

A live turn is also continuous: the kiosk captures a frame every 300 ms, and a head turning on
request passes through the angles in between. Frames that jump straight to a turned pose (a photo of
the person turned, then its mirror image for the other way), a reference that is not steady, and
frames repeated exactly are refused whatever directions they seem to show.

Directions are the person's own: "left" is their left, which is the image's right as the camera sees
them (estimate_yaw is positive for a face turned towards the image's right).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from recognition.ml.quality import estimate_roll, estimate_yaw

LEFT = "left"
RIGHT = "right"
DIRECTIONS = (LEFT, RIGHT)
# The sign of the landmark yaw when the person turns their head that way (camera image, not mirrored).
YAW_SIGN = {LEFT: 1.0, RIGHT: -1.0}


@dataclass(frozen=True)
class FrameFace:
    """The main face of one frame: box (x, y, w, h), the five landmarks, its unit embedding."""

    box: tuple[float, float, float, float]
    landmarks: dict[str, tuple[float, float]]
    embedding: np.ndarray | None = field(default=None, repr=False)
    person_id: int | None = None  # who the recogniser named in this frame, if anyone


def frame_face(analysis, *, person_id: int | None = None) -> FrameFace:
    """Return the FrameFace of one face the engine found (a pipeline.FaceAnalysis)."""
    return FrameFace(
        box=tuple(analysis.box),
        landmarks=dict(analysis.landmarks),
        embedding=analysis.embedding,
        person_id=person_id,
    )


@dataclass(frozen=True)
class LivenessConfig:
    """The limits of the check (see docs in LIVENESS_* settings).

    min_turn_deg: how far the landmark yaw must move from the first frame for each asked direction.
        Well above the jitter of MTCNN landmarks on a still face (a few degrees) and well below a
        comfortable "slight" head turn (20-30 degrees).
    max_identity_distance: the largest embedding distance allowed between consecutive frames, and
        between the first frame and every frame facing about the same way (the pose itself moves FaceNet
        embeddings, so a turned frame is compared with its neighbours, not with the frontal one).
        Frames a third of a second apart of one person sit far closer than two different people.
        Embedder v2 on lfw-dev (benchmarks.distances): two different people's photos 1st percentile
        1.11 (under 1.0: 0.14% of pairs), one person's photos taken on different days 99th percentile
        1.04; synthetic head turns (benchmarks.liveness) 0.39-0.82 (1.00-1.01 from one ~300-px source
        photo, upscaled), a swapped face 1.15-1.60. 1.0 keeps swaps out without failing turns.
    min_frames: frames with a face needed; min_face_fraction: share of the frames that must show one.
    reference_frames: the first frames with a face, captured looking ahead before any instruction:
        their mean yaw is the reference (one frame alone carries the landmarks' jitter).
    translation_face_widths: a box that travelled this many face widths without the yaw changing is
        reported as "moved sideways" rather than "did not turn".
    roll_change_deg: a roll range this large without a turn is reported as "rotated in the image".
    max_unexplained_narrowing: a turning head narrows by about cos(yaw) (the face's width against its
        height, eyes to mouth); a flat print turned about its vertical axis narrows by the cosine of
        its own, larger angle while its landmark yaw barely moves. A turn whose face narrowed this much
        more than its yaw explains is a flat picture.
    max_step_deg: the largest yaw change between two consecutive frames with a face. Frames are 300 ms
        apart within a step, 900 ms across the instruction between two steps, where a head swings
        from one side to the other (up to 33 deg measured on the synthetic turns): 45 deg leaves room.
        A photo swapped for its mirror image jumps twice its own angle.
    max_reference_spread_deg: the reference frames (looking ahead, before any instruction) must agree
        within this many degrees: a photo and its mirror as the reference average to "ahead" while
        being 30 deg or more apart.
    intermediate_fraction: when set, before each asked direction is reached some frame must sit part
        way, at least this fraction of min_turn_deg towards it (but short of it): a head passes
        through the angles in between, a set of photos (one ahead, one turned, its mirror) jumps
        over them. Off by default: the kiosk captures nothing while the person reads the next
        instruction, so a real head is often already turned in the first frame of a step; turn it on
        (0.25) once the kiosk captures through the whole challenge.
    """

    min_turn_deg: float = 12.0
    max_identity_distance: float = 1.0
    min_frames: int = 4
    min_face_fraction: float = 0.6
    translation_face_widths: float = 0.15
    roll_change_deg: float = 8.0
    max_unexplained_narrowing: float = 0.2
    reference_frames: int = 2
    max_step_deg: float = 45.0
    max_reference_spread_deg: float = 8.0
    intermediate_fraction: float | None = None


@dataclass(frozen=True)
class LivenessVerdict:
    """The answer: passed, a short reason code, a sentence for HR, and the measured figures."""

    passed: bool
    reason: str  # "ok", "too_few_frames", "face_lost", "identity_changed", "repeated_frame",
    # "jump", "moved_sideways", "rotated_in_plane", "flat_picture", "no_turn",
    # "wrong_direction"
    detail: str
    figures: dict = field(default_factory=dict)


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return (box[0] + box[2] / 2.0, box[1] + box[3] / 2.0)


def _eye_distance(landmarks: dict[str, tuple[float, float]]) -> float:
    (lx, ly), (rx, ry) = landmarks["left_eye"], landmarks["right_eye"]
    return math.hypot(rx - lx, ry - ly)


def _aspect(landmarks: dict[str, tuple[float, float]]) -> float:
    """Return the eye distance over the eyes-to-mouth distance: scale-free, shrinks as cos(yaw)."""
    (lx, ly), (rx, ry) = landmarks["left_eye"], landmarks["right_eye"]
    (mlx, mly), (mrx, mry) = landmarks["mouth_left"], landmarks["mouth_right"]
    height = math.hypot((mlx + mrx - lx - rx) / 2.0, (mly + mry - ly - ry) / 2.0)
    return _eye_distance(landmarks) / max(height, 1.0)


def _repeated_frame(faces: Sequence[FrameFace]) -> tuple[int, int] | None:
    """Return the first pair of frames that are the same picture (same box, landmarks and embedding).

    A camera never delivers two identical frames: its noise moves every landmark a little.
    """
    seen: dict[bytes, int] = {}
    for index, face in enumerate(faces):
        key = np.array(
            [*face.box, *(c for point in face.landmarks.values() for c in point)], dtype=np.float64
        ).tobytes() + (face.embedding.tobytes() if face.embedding is not None else b"")
        if key in seen:
            return seen[key], index
        seen[key] = index
    return None


def _fail(reason: str, detail: str, figures: dict) -> LivenessVerdict:
    return LivenessVerdict(False, reason, detail, figures)


def liveness_check(
    faces: Sequence[FrameFace | None],
    directions: Sequence[str],
    config: LivenessConfig | None = None,
    *,
    person_id: int | None = None,
) -> LivenessVerdict:
    """Return whether a burst of frames shows a live head turning in `directions`, in that order.

    `faces` holds one entry per frame in capture order (None where no face was found). The first frame
    with a face is the reference: the yaw must then move by at least min_turn_deg towards each asked
    direction in turn (the second relative to the same reference, so "left then right" means passing
    back through the centre), and every frame must stay the same person as the reference. With
    `person_id` (who the challenge was asked of), some frame must be recognised as that person and
    none as anybody else.
    """
    config = config or LivenessConfig()
    unknown = [d for d in directions if d not in DIRECTIONS]
    if not directions or unknown:
        raise ValueError(f"directions must be a non-empty sequence of {DIRECTIONS}, not {list(directions)}")
    present = [face for face in faces if face is not None]
    figures: dict = {"frames": len(faces), "faces": len(present), "asked": list(directions)}
    if len(present) < config.min_frames:
        return _fail(
            "too_few_frames", f"a face was seen in {len(present)} frames; {config.min_frames} needed", figures
        )
    if len(present) < config.min_face_fraction * len(faces):
        return _fail(
            "face_lost", f"the face was lost in {len(faces) - len(present)} of {len(faces)} frames", figures
        )

    reference = present[0]
    yaws = np.array([estimate_yaw(face.landmarks) for face in present])
    relative = yaws - float(yaws[: max(1, config.reference_frames)].mean())
    # Same person throughout: the recogniser never names two different people, and the embeddings never
    # jump between consecutive frames nor drift from the first frame at a similar pose.
    named = {face.person_id for face in present if face.person_id is not None}
    distances = [
        float(np.linalg.norm(face.embedding - previous.embedding))
        for previous, face in zip(present, present[1:], strict=False)
        if face.embedding is not None and previous.embedding is not None
    ] + [
        float(np.linalg.norm(face.embedding - reference.embedding))
        for face, turn in zip(present[1:], relative[1:], strict=True)
        if face.embedding is not None and reference.embedding is not None and abs(turn) < config.min_turn_deg
    ]
    figures["max_identity_distance"] = round(max(distances, default=0.0), 3)
    figures["people_named"] = sorted(named)
    if len(named) > 1 or (person_id is not None and named - {person_id}):
        return _fail("identity_changed", f"the recogniser named {len(named)} different people", figures)
    if person_id is not None and person_id not in named:
        return _fail("identity_changed", "the person asked was not recognised in any frame", figures)
    if distances and max(distances) > config.max_identity_distance:
        return _fail(
            "identity_changed",
            f"the face changed during the challenge (distance {max(distances):.2f} > "
            f"{config.max_identity_distance:.2f})",
            figures,
        )

    repeated = _repeated_frame(present)
    if repeated is not None:
        return _fail(
            "repeated_frame", f"frames {repeated[0] + 1} and {repeated[1] + 1} are the same picture", figures
        )

    rolls = np.array([estimate_roll(face.landmarks) for face in present])
    width = max(_eye_distance(reference.landmarks), 1.0)
    cx0, cy0 = _centre(reference.box)
    shift = max(math.hypot(_centre(f.box)[0] - cx0, _centre(f.box)[1] - cy0) for f in present) / width
    figures.update(
        yaw_deg=[round(float(y), 1) for y in yaws],
        yaw_range_deg=round(float(relative.max() - relative.min()), 1),
        max_shift_face_widths=round(shift, 2),
        roll_range_deg=round(float(rolls.max() - rolls.min()), 1),
    )

    # Continuity: a steady reference, no jump between frames, and the angles in between on the way.
    steps = np.abs(np.diff(yaws))
    lead = yaws[: max(1, config.reference_frames)]
    figures["max_step_deg"] = round(float(steps.max()), 1) if len(steps) else 0.0
    figures["reference_spread_deg"] = round(float(lead.max() - lead.min()), 1)
    if figures["reference_spread_deg"] > config.max_reference_spread_deg:
        return _fail(
            "jump",
            f"the face did not look ahead steadily at the start (yaw spread {figures['reference_spread_deg']}"
            f" deg > {config.max_reference_spread_deg:g})",
            figures,
        )
    if figures["max_step_deg"] > config.max_step_deg:
        return _fail(
            "jump",
            f"the head jumped {figures['max_step_deg']} deg between two frames ({config.max_step_deg:g} at "
            "most): not a turning head",
            figures,
        )

    # Walk the asked directions in order: each must be reached after the previous one, passing
    # through an angle part way there.
    start = 0
    reached = []
    skipped = []
    for direction in directions:
        signed = YAW_SIGN[direction] * relative[start:]
        hits = np.nonzero(signed >= config.min_turn_deg)[0]
        if len(hits) == 0:
            break
        on_the_way = signed[: int(hits[0])]
        part_way = config.intermediate_fraction
        if part_way is not None and not (on_the_way >= part_way * config.min_turn_deg).any():
            skipped.append(direction)
        start += int(hits[0])
        reached.append(direction)
    figures["reached"] = reached
    figures["skipped_to"] = skipped
    # A turning head narrows by about cos(yaw); a flat picture tilted about its vertical axis narrows more.
    aspects = np.array([_aspect(face.landmarks) for face in present])
    expected = np.cos(np.radians(yaws)) / math.cos(math.radians(yaws[0]))
    unexplained = 1.0 - (aspects / aspects[0]) / expected
    turned = np.abs(relative) >= config.min_turn_deg
    figures["max_unexplained_narrowing"] = round(float(unexplained[turned].max()), 3) if turned.any() else 0.0
    if len(reached) == len(directions):
        if figures["max_unexplained_narrowing"] > config.max_unexplained_narrowing:
            return _fail(
                "flat_picture",
                f"the face narrowed {figures['max_unexplained_narrowing']:.0%} more than its turn explains: "
                "a tilted flat picture?",
                figures,
            )
        if skipped:
            return _fail(
                "jump",
                f"the head reached {' and '.join(skipped)} without any angle in between: a set of pictures?",
                figures,
            )
        return LivenessVerdict(True, "ok", "the head turned as asked", figures)

    turned_somehow = float(np.abs(relative).max()) >= config.min_turn_deg
    if turned_somehow:
        return _fail(
            "wrong_direction",
            f"the head turned, but not {' then '.join(directions)} as asked",
            figures,
        )
    if shift >= config.translation_face_widths:
        return _fail(
            "moved_sideways",
            f"the face moved {shift:.2f} face widths without turning (yaw range "
            f"{figures['yaw_range_deg']} deg): a moved photo?",
            figures,
        )
    if figures["roll_range_deg"] >= config.roll_change_deg:
        return _fail(
            "rotated_in_plane",
            f"the face tilted {figures['roll_range_deg']} deg in the image without turning: a rotated photo?",
            figures,
        )
    return _fail(
        "no_turn",
        f"the head did not turn (yaw range {figures['yaw_range_deg']} deg; {config.min_turn_deg:g} needed)",
        figures,
    )
