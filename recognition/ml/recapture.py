"""Simulated presentation attacks: a photo re-rendered as if printed, or shown on a screen, and re-captured.

Deterministic image transforms (numpy and Pillow, no TensorFlow) shared by the anti-spoofing tests
and `benchmarks/antispoof.py`. Each takes an RGB uint8 photo and a seed and returns an RGB uint8 frame
that still shows the face, so the face detector can find it again.

What they are not: real recaptures. A real print or screen in front of a webcam adds what no
transform here reproduces faithfully: the camera's own optics, sensor noise and auto exposure, the
paper's texture and sheen, the screen's viewing-angle colour shift, real moire between the display's
pixel grid and the sensor's, reflections of the room, hands holding the sheet. They show how the
passive check reacts to each cue in isolation; they do not measure how often a real attack passes.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

FRAME_SIZE = (640, 480)  # a kiosk webcam frame (width, height)


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _to_uint8(pixels: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def _resize(rgb: np.ndarray, size: tuple[int, int], resample=Image.Resampling.BILINEAR) -> np.ndarray:
    return np.asarray(Image.fromarray(rgb).resize(size, resample))


def _camera(
    rgb: np.ndarray, rng: np.random.Generator, *, noise: float = 2.0, blur: float = 0.6
) -> np.ndarray:
    """Return `rgb` as a webcam re-captures it: a little optical blur, sensor noise, JPEG at 90."""
    image = Image.fromarray(rgb).filter(ImageFilter.GaussianBlur(blur)) if blur else Image.fromarray(rgb)
    pixels = np.asarray(image).astype(np.float32) + rng.normal(0, noise, rgb.shape)
    return jpeg_roundtrip(_to_uint8(pixels), quality=90)


def jpeg_roundtrip(rgb: np.ndarray, *, quality: int) -> np.ndarray:
    """Return `rgb` encoded as JPEG at `quality` and decoded again."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    return np.asarray(Image.open(buffer).convert("RGB"))


def background(size: tuple[int, int], seed: int) -> np.ndarray:
    """Return a plain, softly lit room-like background (a wall with a gradient and fine noise)."""
    rng = _rng(seed)
    width, height = size
    base = rng.uniform(90, 190, 3)
    ramp = np.linspace(-25, 25, width)[None, :, None] + np.linspace(-15, 15, height)[:, None, None]
    pixels = base[None, None, :] + ramp + rng.normal(0, 3, (height, width, 3))
    return np.asarray(Image.fromarray(_to_uint8(pixels)).filter(ImageFilter.GaussianBlur(1.5)))


# --- print -----------------------------------------------------------------------------------------


def _paper(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return ink-on-paper colours: blacks lifted, whites dulled, a warm white balance, lower saturation."""
    pixels = rgb.astype(np.float32)
    grey = pixels.mean(axis=2, keepdims=True)
    pixels = grey + (pixels - grey) * 0.8  # ink gamut: less saturated than the source
    pixels = 28 + pixels * (225 - 28) / 255  # paper white and ink black are not 255 and 0
    tint = np.array([1.04, 1.0, 0.88]) * rng.uniform(0.97, 1.03, 3)  # warm indoor light on paper
    return pixels * tint


def halftone(rgb: np.ndarray, *, seed: int, cell: int = 4, upsample: int = 3) -> np.ndarray:
    """Return the photo as a CMYK halftone print re-captured by a camera at the photo's own size.

    Each ink is screened at its own angle (C 15, M 75, Y 0, K 45 degrees) into dots of `cell` pixels
    at `upsample` times the photo's resolution; the camera then integrates the dots back down.
    """
    rng = _rng(seed)
    height, width = rgb.shape[:2]
    big = _resize(rgb, (width * upsample, height * upsample)).astype(np.float32) / 255
    black = 1 - big.max(axis=2)
    inks = [(1 - big[..., i] - black) / np.maximum(1 - black, 1e-3) for i in range(3)] + [black]
    ys, xs = np.mgrid[0 : height * upsample, 0 : width * upsample].astype(np.float32)
    coverage = []
    for ink, angle in zip(inks, (15, 75, 0, 45), strict=True):
        theta = np.deg2rad(angle)
        u = (xs * np.cos(theta) + ys * np.sin(theta)) / cell
        v = (-xs * np.sin(theta) + ys * np.cos(theta)) / cell
        # Distance to the nearest dot centre, 0 at the centre and about 0.7 at a cell corner.
        distance = np.hypot(u - np.round(u), v - np.round(v))
        coverage.append((distance < np.sqrt(np.clip(ink, 0, 1) / np.pi)).astype(np.float32))
    cyan, magenta, yellow, key = coverage
    printed = np.stack([(1 - cyan), (1 - magenta), (1 - yellow)], axis=2) * (1 - key[..., None])
    printed = _to_uint8(_paper(printed * 255, rng))
    captured = _resize(printed, (width, height), Image.Resampling.BOX)
    return _camera(captured, rng)


def printed_photo(rgb: np.ndarray, *, seed: int) -> np.ndarray:
    """Return a 640x480 frame: the photo printed with a white paper border, held flat before a wall."""
    rng = _rng(seed)
    paper = _to_uint8(_paper(rgb, rng))
    border = max(6, round(0.08 * max(paper.shape[:2])))
    sheet = Image.new("RGB", (paper.shape[1] + 2 * border, paper.shape[0] + 2 * border), (238, 236, 226))
    sheet.paste(Image.fromarray(paper), (border, border))
    frame = _place(np.asarray(sheet), background(FRAME_SIZE, seed), height_share=0.85, rng=rng)
    # Light falls unevenly across a sheet of paper.
    gradient = np.linspace(1.08, 0.9, FRAME_SIZE[0])[None, :, None]
    return _camera(_to_uint8(frame * gradient), rng)


# --- screen ----------------------------------------------------------------------------------------


def lcd_screen(rgb: np.ndarray, *, seed: int, subpixels: int = 3, close: bool = False) -> np.ndarray:
    """Return a 640x480 frame: the photo on an LCD (RGB stripes, gamma, glare, bezel) re-captured.

    Every photo pixel becomes `subpixels` x `subpixels` device pixels: a red, a green and a blue
    stripe with a dark row between cells. The camera's pixels then average the panel over its own
    grid at a non-integer ratio, which beats against the stripes as moire. Auto exposure brings the
    dimmer panel back to the photo's brightness; the display adds its flatter gamma and cooler white,
    a glare highlight, and (unless `close`: the screen filling the frame) a black bezel and the room.
    """
    rng = _rng(seed)
    height, width = rgb.shape[:2]
    n = int(subpixels)
    stripes = np.zeros((n, n, 3), dtype=np.float32)
    for channel in range(3):
        stripes[:, channel * n // 3 : (channel + 1) * n // 3, channel] = 3.0  # one lit stripe of three
    stripes[-1, :, :] *= 0.3  # the black matrix between rows of cells
    panel = np.repeat(np.repeat(rgb.astype(np.float32), n, axis=0), n, axis=1) * np.tile(
        stripes, (height, width, 1)
    )
    bezel = 0 if close else max(4, round(0.05 * max(width, height) * n))
    device = np.full((height * n + 2 * bezel, width * n + 2 * bezel, 3), 8.0, dtype=np.float32)
    device[bezel : bezel + height * n, bezel : bezel + width * n] = panel
    frame_w, frame_h = FRAME_SIZE
    share = 1.0 if close else 0.9  # close: the screen fills the frame's height, its bezel out of view
    scale = min(share * frame_h / device.shape[0], 0.95 * frame_w / device.shape[1])
    size = (max(1, round(device.shape[1] * scale)), max(1, round(device.shape[0] * scale)))
    # Each camera pixel integrates the panel over its footprint (a box filter at a non-integer ratio).
    seen = np.stack(
        [
            np.asarray(Image.fromarray(device[..., c], mode="F").resize(size, Image.Resampling.BOX))
            for c in range(3)
        ],
        axis=2,
    )
    edge = round(bezel * scale)
    lit = seen[edge : size[1] - edge, edge : size[0] - edge]
    seen = seen * (rgb.mean() / max(float(lit.mean()), 1e-3))  # auto exposure
    # A display's flatter gamma and cooler white point.
    seen = _to_uint8(255 * (np.clip(seen, 0, 255) / 255) ** 0.85 * np.array([0.95, 1.0, 1.07]))
    frame = _place(seen, background(FRAME_SIZE, seed), height_share=None, rng=rng)
    # A screen held close to a webcam focused at arm's length is slightly out of focus.
    return _camera(_glare(frame, rng), rng, blur=1.0 if close else 0.4)


def _glare(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Return `rgb` with a soft elliptical reflection of a light source added."""
    height, width = rgb.shape[:2]
    cx, cy = rng.uniform(0.25, 0.75) * width, rng.uniform(0.15, 0.4) * height
    ys, xs = np.mgrid[0:height, 0:width]
    glow = np.exp(-(((xs - cx) / (0.18 * width)) ** 2 + ((ys - cy) / (0.1 * height)) ** 2))
    return _to_uint8(rgb.astype(np.float32) + 70 * glow[..., None])


# --- quality loss ----------------------------------------------------------------------------------


def jpeg_chain(rgb: np.ndarray, *, seed: int, steps: int = 4) -> np.ndarray:
    """Return the photo re-compressed `steps` times at qualities 55-75, rescaled slightly in between."""
    rng = _rng(seed)
    height, width = rgb.shape[:2]
    out = rgb
    for _ in range(steps):
        scale = rng.uniform(0.8, 0.95)
        out = _resize(out, (max(1, round(width * scale)), max(1, round(height * scale))))
        out = _resize(jpeg_roundtrip(out, quality=int(rng.integers(55, 76))), (width, height))
    return out


def rescale_blur(rgb: np.ndarray, *, seed: int, factor: float = 0.3) -> np.ndarray:
    """Return the photo downscaled to `factor` of its size and upscaled back (a low-resolution replay)."""
    rng = _rng(seed)
    height, width = rgb.shape[:2]
    small = _resize(
        rgb, (max(8, round(width * factor)), max(8, round(height * factor))), Image.Resampling.BOX
    )
    return _camera(_resize(small, (width, height)), rng, blur=0.0)


# --- geometry --------------------------------------------------------------------------------------


def flat_perspective(rgb: np.ndarray, *, seed: int) -> np.ndarray:
    """Return a 640x480 frame: the photo as a flat sheet tilted 20-35 degrees, small in a bigger scene."""
    rng = _rng(seed)
    photo = _to_uint8(_paper(rgb, rng))
    height, width = photo.shape[:2]
    # A sheet turned about its vertical axis: the far edge shrinks and moves in.
    shrink = rng.uniform(0.12, 0.22) * height
    slant = rng.uniform(0.1, 0.18) * width
    corners = [(0, 0), (width - slant, shrink), (width - slant, height - shrink), (0, height)]
    warped = _warp_quad(photo, corners, (width, height))
    return _camera(_place(warped, background(FRAME_SIZE, seed), height_share=0.6, rng=rng), rng)


def _warp_quad(rgb: np.ndarray, corners, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Return `rgb` drawn into the quadrilateral `corners` (TL, TR, BR, BL) of a `size` canvas, and a mask."""
    width, height = size
    source = [(0, 0), (rgb.shape[1], 0), (rgb.shape[1], rgb.shape[0]), (0, rgb.shape[0])]
    coefficients = _perspective_coefficients(corners, source)
    warped = Image.fromarray(rgb).transform(
        (width, height), Image.Transform.PERSPECTIVE, coefficients, Image.Resampling.BILINEAR
    )
    mask = Image.new("L", (width, height), 0)
    ImageDraw.Draw(mask).polygon([tuple(map(float, c)) for c in corners], fill=255)
    canvas = Image.new("RGB", (width, height), (0, 0, 0))
    canvas.paste(warped, (0, 0), mask)
    return np.asarray(canvas), np.asarray(mask)


def _perspective_coefficients(target, source) -> list[float]:
    """Return Pillow's 8 coefficients mapping output (target) points to input (source) points."""
    rows = []
    for (x, y), (u, v) in zip(target, source, strict=True):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
    rhs = np.array([c for point in source for c in point], dtype=np.float64)
    return np.linalg.solve(np.array(rows, dtype=np.float64), rhs).tolist()


def _place(item, scene: np.ndarray, *, height_share: float | None, rng: np.random.Generator) -> np.ndarray:
    """Return `scene` with `item` (an RGB array, or (RGB, mask)) pasted at a random place near the middle.

    `height_share`: scale the item to this share of the scene's height first (None: paste as it is).
    """
    rgb, mask = item if isinstance(item, tuple) else (item, None)
    scene_h, scene_w = scene.shape[:2]
    image = Image.fromarray(rgb)
    paste_mask = None if mask is None else Image.fromarray(mask)
    if height_share is not None:
        scale = min(height_share * scene_h / rgb.shape[0], 0.95 * scene_w / rgb.shape[1])
        size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
        image = image.resize(size, Image.Resampling.LANCZOS)
        paste_mask = None if paste_mask is None else paste_mask.resize(size, Image.Resampling.BILINEAR)
    left = int(rng.uniform(0.3, 0.7) * max(0, scene_w - image.width))
    top = int(rng.uniform(0.3, 0.7) * max(0, scene_h - image.height))
    canvas = Image.fromarray(scene)
    canvas.paste(image, (left, top), paste_mask)
    return np.asarray(canvas)


ATTACKS: dict[str, Callable[..., np.ndarray]] = {
    "halftone_print": halftone,
    "printed_photo_border": printed_photo,
    "lcd_screen": lcd_screen,
    "lcd_screen_close": lambda rgb, *, seed: lcd_screen(rgb, seed=seed, subpixels=6, close=True),
    "jpeg_chain": jpeg_chain,
    "rescale_blur": rescale_blur,
    "flat_perspective": flat_perspective,
}
