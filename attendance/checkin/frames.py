"""Check that an uploaded kiosk frame is a sensible image before anything is stored."""

from __future__ import annotations

import io
import warnings

from django.conf import settings
from PIL import Image, UnidentifiedImageError

ACCEPTED_FORMATS = {"JPEG", "PNG", "WEBP"}
MIN_SIDE = 64
MAX_SIDE = 4096


class FrameError(ValueError):
    """The upload is not a usable camera frame; the message says why, in one sentence."""


def frame_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) from the image header, without decoding it; FrameError if unreadable."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise FrameError("The frame is not a readable image.") from exc


def frame_check(data: bytes) -> tuple[int, int]:
    """Return (width, height) of a valid frame, or raise FrameError saying what is wrong with it."""
    if not data:
        raise FrameError("The frame is empty.")
    limit = settings.CHECKIN_FRAME_MAX_BYTES
    if len(data) > limit:
        raise FrameError(f"The frame is {len(data)} bytes; at most {limit} are accepted.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:
                if image.format not in ACCEPTED_FORMATS:
                    raise FrameError(f"Frames must be JPEG, PNG or WebP, not {image.format}.")
                width, height = image.size
                if not (MIN_SIDE <= width <= MAX_SIDE and MIN_SIDE <= height <= MAX_SIDE):
                    raise FrameError(
                        f"The frame is {width}x{height}; each side must be {MIN_SIDE} to {MAX_SIDE} pixels."
                    )
                image.load()  # decode fully: a truncated upload fails here, not in the worker
    except FrameError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise FrameError("The frame is not a readable image.") from exc
    except Warning as exc:
        raise FrameError("The frame is not a readable image.") from exc
    return width, height
