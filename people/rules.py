"""Enrolment rules as plain functions over plain data: is this photo good enough, is this person ready."""

from __future__ import annotations

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
