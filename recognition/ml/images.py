"""Decode uploaded image bytes into an upright RGB array, refusing anything that is not a sane photo.

Every way an upload can be wrong (not an image, cut short, empty, or a decompression bomb) ends in
`ImageError` with a sentence a user can act on, so a worker never crashes on user input.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# Formats a camera, phone or browser produces (JPEG covers MPO); Pillow's rarer decoders stay closed.
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "GIF", "TIFF")
Image.init()  # register every plugin now: Image.open(formats=...) only knows the registered ones


class ImageError(ValueError):
    """The bytes are not a usable image; the message says why in one sentence."""


def load_image(data: bytes, *, max_pixels: int) -> np.ndarray:
    """Return the image in `data` as an upright RGB uint8 array of shape (height, width, 3).

    Applies the EXIF orientation; converts greyscale, palette, CMYK and 16-bit images to 8-bit RGB;
    puts transparent images on white. Raises ImageError for empty or non-image bytes, a truncated
    file, a zero-size image, or one of more than `max_pixels` pixels (checked from the header,
    before anything is decoded).
    """
    if not data:
        raise ImageError("The upload is empty: no image data was received.")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns above its global limit; ours, below, is the one that counts.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(bytes(data)), formats=ACCEPTED_FORMATS)
    except Image.DecompressionBombError as exc:  # Pillow's own, far larger, limit: still ours to report
        raise ImageError(_too_large(max_pixels, str(exc))) from exc
    except UnidentifiedImageError as exc:
        claimed = _signature_format(data)
        if claimed:
            # Pillow refuses a damaged header, or one that says 0 pixels wide or high, at this step.
            raise ImageError(
                f"The {claimed} image cannot be read: its header is damaged or says it has no pixels."
            ) from exc
        raise ImageError(
            f"The upload is not an image in a supported format ({', '.join(ACCEPTED_FORMATS)})."
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"The image header cannot be read: {exc}") from exc

    with image:
        width, height = image.size
        if width <= 0 or height <= 0:
            raise ImageError(f"The image has no pixels ({width}x{height}).")
        if width * height > max_pixels:
            raise ImageError(_too_large(max_pixels, f"it is {width}x{height}, {width * height:,} pixels"))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                image.load()
                upright = ImageOps.exif_transpose(image)
                return _to_rgb_array(upright)
        except Image.DecompressionBombError as exc:
            raise ImageError(_too_large(max_pixels, str(exc))) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            # Pillow reports a cut-short file as OSError("image file is truncated ...").
            raise ImageError(f"The image data is damaged or incomplete: {exc}") from exc


_SIGNATURES = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


def _signature_format(data: bytes) -> str | None:
    """Return the format whose magic bytes `data` starts with, if any."""
    head = bytes(data[:16])
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    return next((name for magic, name in _SIGNATURES if head.startswith(magic)), None)


def _too_large(max_pixels: int, detail: str) -> str:
    return (
        f"The image is too large: over the limit of {max_pixels:,} pixels ({detail}); send a smaller photo."
    )


def _to_rgb_array(image: Image.Image) -> np.ndarray:
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _high_depth_to_rgb(np.asarray(image), mode)
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    rgb = image.convert("RGB")
    return np.array(rgb, dtype=np.uint8)


def _high_depth_to_rgb(values: np.ndarray, mode: str) -> np.ndarray:
    """Scale a single-channel 16-bit, 32-bit or float image to 8-bit grey, then to RGB."""
    values = values.astype(np.float64)
    peak = float(values.max()) if values.size else 0.0
    if mode.startswith("I;16"):
        scale = 255.0 / 65535.0
    elif mode == "F" and peak <= 1.0:
        scale = 255.0
    elif peak <= 255:
        scale = 1.0
    elif peak <= 65535:
        scale = 255.0 / 65535.0
    else:
        scale = 255.0 / peak
    grey = np.clip(np.rint(values * scale), 0, 255).astype(np.uint8)
    return np.repeat(grey[..., None], 3, axis=2)
