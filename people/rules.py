"""Enrolment rules as plain functions over plain data: is this photo good enough, is this person ready."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class QualityLimits:
    """What an enrolment photo must meet; built from the ENROLMENT_* settings."""

    min_face_px: float = 80
    min_sharpness: float = 20.0
    max_yaw_degrees: float = 35.0
    max_roll_degrees: float = 30.0
    min_brightness: float = 35.0
    max_brightness: float = 225.0
    # Faces smaller than this share of the largest are background faces and are ignored.
    background_face_share: float = 0.4

    @classmethod
    def from_settings(cls) -> QualityLimits:
        from django.conf import settings

        return cls(
            min_face_px=settings.ENROLMENT_MIN_FACE_PX,
            min_sharpness=settings.ENROLMENT_MIN_SHARPNESS,
            max_yaw_degrees=settings.ENROLMENT_MAX_YAW_DEGREES,
            max_roll_degrees=settings.ENROLMENT_MAX_ROLL_DEGREES,
            min_brightness=settings.ENROLMENT_MIN_BRIGHTNESS,
            max_brightness=settings.ENROLMENT_MAX_BRIGHTNESS,
        )


def photo_rejection(
    face_sizes: list[float], quality: dict[str, float] | None, limits: QualityLimits
) -> str | None:
    """Return why an enrolment photo is not good enough, in words HR can act on, or None if it is.

    `face_sizes` are the longer box sides of every face found, largest first; `quality` holds the
    largest face's figures (face_size_px, sharpness, brightness, yaw_deg, roll_deg).
    """
    if not face_sizes or quality is None:
        return "No face was found. Use a photo in which the face is clearly visible and facing the camera."
    main = face_sizes[0]
    faces = [size for size in face_sizes if size >= limits.background_face_share * main]
    if len(faces) > 1:
        return (
            f"{len(faces)} faces were found. The photo must show only the person being enrolled; "
            "crop it or take another."
        )
    if quality["face_size_px"] < limits.min_face_px:
        return (
            f"The face is too small ({quality['face_size_px']:.0f} pixels across; at least "
            f"{limits.min_face_px:.0f} needed). Move closer or use a larger photo."
        )
    if quality["sharpness"] < limits.min_sharpness:
        return (
            f"The face is too blurred (sharpness {quality['sharpness']:.0f}; at least "
            f"{limits.min_sharpness:.0f} needed). Hold the camera still and focus on the face."
        )
    if abs(quality["yaw_deg"]) > limits.max_yaw_degrees:
        return (
            f"The head is turned too far ({abs(quality['yaw_deg']):.0f} degrees; at most "
            f"{limits.max_yaw_degrees:.0f}). Look more towards the camera."
        )
    if abs(quality["roll_deg"]) > limits.max_roll_degrees:
        return (
            f"The head is tilted too far ({abs(quality['roll_deg']):.0f} degrees; at most "
            f"{limits.max_roll_degrees:.0f}). Keep the head upright."
        )
    if quality["brightness"] < limits.min_brightness:
        return "The face is too dark. Use more light in front of the person."
    if quality["brightness"] > limits.max_brightness:
        return "The face is too bright (overexposed). Avoid direct light or flash on the face."
    return None


class EnrolmentState(StrEnum):
    NOT_ENROLLED = "not_enrolled"
    ENROLLING = "enrolling"
    READY = "ready"
    NEEDS_MORE_PHOTOS = "needs_more_photos"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").capitalize()


def enrolment_state(*, accepted: int, waiting: int, total: int, min_photos: int) -> EnrolmentState:
    """Return a person's enrolment state from their photo counts (waiting: pending or processing)."""
    if accepted >= min_photos:
        return EnrolmentState.READY
    if waiting:
        return EnrolmentState.ENROLLING
    if total == 0:
        return EnrolmentState.NOT_ENROLLED
    return EnrolmentState.NEEDS_MORE_PHOTOS


# --- Guided webcam shots ------------------------------------------------------------------------
# The pose each guided shot asks for (people/views.py WEBCAM_SHOTS uses the same keys).
POSES = ("straight", "left", "right", "up", "down")
# "Slightly" turned or tilted, compared with the person's own straight shot. A 10-15 degree turn
# moves the landmark yaw by about that much; a 10-15 degree tilt moves the nose by about 0.07-0.1
# of the eye-to-mouth height (the nose tip stands about 0.4 of it in front of the face).
MIN_TURN_DEGREES = 8.0
MIN_TILT_RATIO = 0.05
# Without a straight shot to compare with: the median of frontal faces of the 5-celebrity photos
# (31 faces, yaw median 6.9 degrees, nose at 0.57 of the eye-to-mouth height; p10-p90 0.42-0.73).
FRONTAL_YAW_DEGREES = 0.0
FRONTAL_NOSE_HEIGHT = 0.57
# The sign of the landmark yaw when the person turns their head that way (the camera's image, not
# mirrored: as recognition's liveness check reads it).
TURN_SIGN = {"left": 1.0, "right": -1.0}


def nose_height(landmarks: dict[str, list[float] | tuple[float, float]]) -> float:
    """Return where the nose sits between the eyes (0) and the mouth (1), with the roll taken out.

    Tilting the head up brings the nose tip towards the eyes (smaller), down towards the mouth.
    """
    (lx, ly), (rx, ry) = landmarks["left_eye"], landmarks["right_eye"]
    roll = math.atan2(ry - ly, rx - lx)
    cos, sin = math.cos(-roll), math.sin(-roll)

    def down(point) -> float:
        return point[0] * sin + point[1] * cos

    eyes = (down(landmarks["left_eye"]) + down(landmarks["right_eye"])) / 2.0
    mouth = (down(landmarks["mouth_left"]) + down(landmarks["mouth_right"])) / 2.0
    if mouth - eyes <= 0:
        return FRONTAL_NOSE_HEIGHT
    return (down(landmarks["nose"]) - eyes) / (mouth - eyes)


@dataclass(frozen=True)
class Pose:
    yaw_degrees: float
    nose_height: float


def pose_shortfall(*, asked: str, pose: Pose, straight: Pose | None) -> str | None:
    """Return what to retake when a guided shot does not show the asked pose, or None when it does.

    Compared with the person's straight shot when there is one (faces differ), else with a typical
    frontal face. A still photo held to the camera gives the same pose in every shot and fails here.
    """
    base = straight or Pose(FRONTAL_YAW_DEGREES, FRONTAL_NOSE_HEIGHT)
    if asked in TURN_SIGN:
        turned = (pose.yaw_degrees - base.yaw_degrees) * TURN_SIGN[asked]
        if turned < MIN_TURN_DEGREES:
            return (
                f"Retake this shot: the head is turned {max(turned, 0):.0f}° to the {asked} "
                f"(at least {MIN_TURN_DEGREES:.0f}° is needed). Turn a little further to your {asked}."
            )
    elif asked in ("up", "down"):
        tilt = (base.nose_height - pose.nose_height) * (1 if asked == "up" else -1)
        if tilt < MIN_TILT_RATIO:
            return (
                f"Retake this shot: the head is not tilted {asked} enough compared with the straight shot. "
                f"Tilt your chin a little further {asked}."
            )
    return None


# --- people.csv in an enrolment zip ---------------------------------------------------------------

PEOPLE_CSV_NAME = "people.csv"
PEOPLE_CSV_COLUMNS = ("employee_id", "full_name", "first_name", "last_name", "department", "email")


@dataclass(frozen=True)
class PersonRow:
    """One row of a zip's people.csv: who a folder's person is, for people the import creates."""

    row: int
    employee_id: str
    full_name: str
    department: str = ""
    email: str = ""


def people_csv_parse(
    text: str, *, max_id: int = 50, max_name: int = 200, max_department: int = 100
) -> tuple[dict[str, PersonRow], list[str]]:
    """Parse people.csv: return ({employee_id: row}, errors), one clear error per bad row.

    The header names the columns: employee_id, then full_name or first_name and last_name, and
    optionally department and email (any order; comma, semicolon or tab separated).
    """
    import csv
    import io
    import re

    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        return {}, [f"{PEOPLE_CSV_NAME} is empty: give a header row and one row per person."]
    try:
        dialect = csv.Sniffer().sniff(lines[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in next(reader)]
    unknown = [name for name in header if name not in PEOPLE_CSV_COLUMNS]
    problems = []
    if unknown:
        problems.append(f"unknown column(s) {', '.join(repr(n) for n in unknown)}")
    if "employee_id" not in header:
        problems.append("no employee_id column")
    if "full_name" not in header and not {"first_name", "last_name"} & set(header):
        problems.append("no full_name (or first_name and last_name) column")
    if problems:
        return {}, [
            f"{PEOPLE_CSV_NAME}: {'; '.join(problems)}. The header row must name the columns "
            f"{', '.join(PEOPLE_CSV_COLUMNS)} (full_name, or first_name and last_name)."
        ]
    rows: dict[str, PersonRow] = {}
    errors: list[str] = []
    email_pattern = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    for cells in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) > len(header):
            errors.append(f"{PEOPLE_CSV_NAME} row {number}: {len(cells)} cells for {len(header)} columns.")
            continue
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        where = f"{PEOPLE_CSV_NAME} row {number}"
        employee_id = values.get("employee_id", "")
        name = values.get("full_name") or " ".join(
            part for part in (values.get("first_name", ""), values.get("last_name", "")) if part
        )
        department, email = values.get("department", ""), values.get("email", "")
        if not employee_id:
            errors.append(f"{where}: no employee_id.")
            continue
        if employee_id in rows:
            errors.append(f"{where}: employee id {employee_id} again (first on row {rows[employee_id].row}).")
            continue
        row_errors = []
        if len(employee_id) > max_id:
            row_errors.append(f"the employee id is {len(employee_id)} characters; at most {max_id}")
        if not name:
            row_errors.append("no name (fill full_name, or first_name and last_name)")
        elif len(name) > max_name:
            row_errors.append(f"the name is {len(name)} characters; at most {max_name}")
        if len(department) > max_department:
            row_errors.append(f"the department is {len(department)} characters; at most {max_department}")
        if email and not email_pattern.match(email):
            row_errors.append(f"{email!r} is not an e-mail address")
        if row_errors:
            errors.append(f"{where} ({employee_id}): {'; '.join(row_errors)}.")
            continue
        rows[employee_id] = PersonRow(number, employee_id, name, department, email)
    return rows, errors
