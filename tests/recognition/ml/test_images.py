"""Decoding uploads: every odd but valid photo becomes upright RGB; every bad upload a clear ImageError."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from recognition.ml.images import ImageError, load_image

LIMIT = 50_000_000


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.float32)[None, :].repeat(height, 0)
    y = np.linspace(0, 255, height, dtype=np.float32)[:, None].repeat(width, 1)
    return Image.fromarray(np.stack([x, y, 255 - x], axis=2).astype(np.uint8))


def png_header_only(width: int, height: int) -> bytes:
    """Return a PNG whose header claims width x height but which holds almost no data."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def test_rgb_jpeg_loads_as_uint8_rgb():
    """A plain JPEG becomes a (height, width, 3) uint8 array."""
    rgb = load_image(encode(gradient(), "JPEG"), max_pixels=LIMIT)
    assert rgb.shape == (48, 64, 3)
    assert rgb.dtype == np.uint8


def test_exif_orientation_is_applied():
    """A photo stored sideways with an EXIF orientation tag comes out upright."""
    upright = gradient(64, 48)
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a phone writes, with tag 6 to undo it
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    rgb = load_image(encode(stored, "JPEG", exif=exif.tobytes(), quality=95), max_pixels=LIMIT)
    assert rgb.shape == (48, 64, 3)
    difference = np.abs(rgb.astype(int) - np.asarray(upright).astype(int)).mean()
    assert difference < 8


def test_greyscale_becomes_three_equal_channels():
    """A greyscale image is returned as RGB with equal channels."""
    grey = Image.fromarray(np.tile(np.arange(64, dtype=np.uint8) * 4, (32, 1)))
    rgb = load_image(encode(grey, "PNG"), max_pixels=LIMIT)
    assert rgb.shape == (32, 64, 3)
    assert (rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all()
    assert rgb[0, 63, 0] == 252


def test_transparent_rgba_is_put_on_white():
    """Fully transparent pixels of an RGBA image come out white, opaque ones keep their colour."""
    rgba = np.zeros((10, 20, 4), dtype=np.uint8)
    rgba[:, :10] = (200, 10, 10, 255)
    rgba[:, 10:] = (0, 0, 0, 0)
    rgb = load_image(encode(Image.fromarray(rgba, "RGBA"), "PNG"), max_pixels=LIMIT)
    assert tuple(rgb[5, 2]) == (200, 10, 10)
    assert tuple(rgb[5, 15]) == (255, 255, 255)


def test_sixteen_bit_greyscale_is_scaled_to_eight_bit():
    """A 16-bit greyscale PNG is scaled down to 0-255, not clipped."""
    values = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (8, 1))
    image = Image.fromarray(values)
    assert image.mode.startswith("I;16")
    rgb = load_image(encode(image, "PNG"), max_pixels=LIMIT)
    assert rgb[0, 0, 0] == 0
    assert rgb[0, -1, 0] == 255
    assert 120 <= rgb[0, 16, 0] <= 135


def test_palette_image_with_transparency_becomes_rgb():
    """A palette GIF with a transparent colour becomes RGB with white where it was transparent."""
    palette = Image.new("P", (8, 8), 0)
    palette.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    palette.paste(1, (4, 0, 8, 8))
    rgb = load_image(encode(palette, "GIF", transparency=1), max_pixels=LIMIT)
    assert tuple(rgb[0, 0]) == (255, 0, 0)
    assert tuple(rgb[0, 7]) == (255, 255, 255)


def test_cmyk_jpeg_becomes_rgb():
    """A CMYK JPEG (print workflows) is converted to RGB."""
    rgb = load_image(encode(gradient().convert("CMYK"), "JPEG"), max_pixels=LIMIT)
    assert rgb.shape == (48, 64, 3)


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"", "empty"),
        (b"%PDF-1.7 this is not a photo at all" * 10, "not an image"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, "PNG image cannot be read"),
    ],
    ids=["empty", "pdf", "broken-png-signature"],
)
def test_non_image_bytes_are_refused(data, words):
    """Empty or non-image bytes raise ImageError saying so."""
    with pytest.raises(ImageError, match=words):
        load_image(data, max_pixels=LIMIT)


def test_truncated_jpeg_is_refused():
    """A JPEG cut off half way raises ImageError about damaged data, not a decoder crash."""
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    data = encode(Image.fromarray(noise), "JPEG", quality=95)
    with pytest.raises(ImageError, match="damaged or incomplete"):
        load_image(data[: len(data) // 2], max_pixels=LIMIT)


@pytest.mark.parametrize(("width", "height"), [(0, 10), (10, 0)])
def test_zero_size_image_is_refused(width, height):
    """A PNG whose header says it has no pixels raises ImageError saying so."""
    with pytest.raises(ImageError, match="no pixels"):
        load_image(png_header_only(width, height), max_pixels=LIMIT)


def test_decompression_bomb_is_refused_from_the_header():
    """A small file claiming 50,000 x 50,000 pixels is refused before any decoding, naming the limit."""
    data = png_header_only(50_000, 50_000)
    assert len(data) < 200
    with pytest.raises(ImageError, match="over the limit of 50,000,000 pixels"):
        load_image(data, max_pixels=LIMIT)


def test_pixel_limit_is_configurable():
    """A real 2000x1000 image passes a 2,000,000-pixel limit and fails a 1,999,999 one."""
    data = encode(Image.new("L", (2000, 1000), 90), "PNG")
    assert load_image(data, max_pixels=2_000_000).shape == (1000, 2000, 3)
    with pytest.raises(ImageError, match="2000x1000"):
        load_image(data, max_pixels=1_999_999)
