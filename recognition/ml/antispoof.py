"""Passive liveness: does a face in a frame look live, or like a recapture (a print, a screen)?

Two small published networks, MiniFASNetV2 and MiniFASNetV1SE (minivision-ai/Silent-Face-Anti-Spoofing,
Apache-2.0, vendored with their LICENSE and NOTICE in `assets/minifasnet/`), each look at an 80x80
patch around the face box at their own scale and answer three classes; class 1 is "real". Following
upstream, the two softmaxes are added and the real score is the summed class-1 probability over 2,
a number in 0..1.

Reading the weights needs no PyTorch: the files are PyTorch's legacy serialisation (pickles, then the
raw storages). `read_torch_state_dict` checks the file's sha256 first, then unpickles it with a
restricted unpickler that knows only OrderedDict, the tensor-rebuild function and the storage type
names; anything else refuses the file, so a tampered file can never run code. The networks are
rebuilt in Keras (minifasnet.py) and the arrays copied into them by name.

Known limits (upstream's issues, NOTICE): clean prints and some high-resolution screens fool it,
blurry real faces score low, scores depend on the camera. It is one signal to combine with the active
head-turn challenge (liveness.py), not a replacement, and it knows nothing of images injected through
a virtual camera.

Importing this module costs nothing: TensorFlow is imported inside `load_passive_model` only, and
`get_passive_model` builds the model once per process, lazily (never before a fork: see pipeline.py).
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recognition.ml.per_process import build_once
from recognition.ml.weights import ChecksumError, WeightsError, WeightsMissingError

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parent / "assets" / "minifasnet"
INPUT_SIZE = 80
REAL_CLASS = 1
ASSETS_HINT = (
    "the anti-spoofing weights ship with the code in recognition/ml/assets/minifasnet/: "
    "restore that folder from git (git checkout -- recognition/ml/assets/minifasnet)"
)

Box = tuple[float, float, float, float]  # x, y, width, height in the frame's pixels

# A starting threshold for a burst's score (burst_score), until a site has measured its own camera:
# a face scoring below it is not live. Measured per photo (benchmarks/antispoof.py, MTCNN boxes): it
# turned away 5% of the real 5-celebrity photos and 4% of 300 LFW photos (web photos, some of them
# of posters; live kiosk faces were not measurable here), and caught 31-42% of simulated halftone
# prints and printed photos, 60-80% of a simulated LCD screen with its bezel in view, 13-22% of one
# filling the frame. At 0.3 it turned away 12% and 6% of those real photos. A site should log scores
# of genuine check-ins first and set it near their 1st percentile; the active challenge stays.
DEFAULT_THRESHOLD = 0.1


@dataclass(frozen=True)
class NetworkSpec:
    """One of the two networks: its weight file, the file's sha256 and how far its patch reaches.

    box_scale: the face box is scaled about its centre by this much before the 80x80 resize (upstream's
    file name prefix: "2.7_..." and "4_0_0_...").
    """

    name: str
    filename: str
    sha256: str
    box_scale: float


NETWORKS: tuple[NetworkSpec, ...] = (
    NetworkSpec(
        "MiniFASNetV2",
        "2.7_80x80_MiniFASNetV2.pth",
        "a5eb02e1843f19b5386b953cc4c9f011c3f985d0ee2bb9819eea9a142099bec0",
        2.7,
    ),
    NetworkSpec(
        "MiniFASNetV1SE",
        "4_0_0_80x80_MiniFASNetV1SE.pth",
        "84ee1d37d96894d5e82de5a57df044ef80a58be2b218b5ed7cdfd875ec2f5990",
        4.0,
    ),
)


class AntispoofWeightsError(WeightsError):
    """A weight file is not a readable PyTorch state dict, or holds something it must not."""


# ---------------------------------------------------------------------------------------------------
# Reading PyTorch's legacy serialisation with numpy only
# ---------------------------------------------------------------------------------------------------

# The legacy (pre-1.6) format: pickle(magic), pickle(protocol), pickle(sys info), pickle(the object,
# whose storages are persistent ids), pickle(list of storage keys), then per key an int64 element
# count and the raw little-endian elements.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL = 1001
_STORAGE_DTYPES = {"FloatStorage": np.dtype("<f4"), "LongStorage": np.dtype("<i8")}


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype


@dataclass(frozen=True)
class _StorageRef:
    key: str
    dtype: np.dtype
    numel: int


@dataclass(frozen=True)
class _TensorRef:
    storage: _StorageRef
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]


def _rebuild_tensor(storage, storage_offset, size, stride, requires_grad=False, backward_hooks=None, *extra):
    """Stand in for torch._utils._rebuild_tensor_v2: record where the tensor lies, build nothing."""
    if not isinstance(storage, _StorageRef):
        raise pickle.UnpicklingError("a tensor refers to something that is not a storage")
    ints = (storage_offset, *size, *stride)
    if not all(isinstance(v, int) and v >= 0 for v in ints) or len(size) != len(stride):
        raise pickle.UnpicklingError(
            f"bad tensor geometry: offset {storage_offset}, size {size}, stride {stride}"
        )
    return _TensorRef(storage, storage_offset, tuple(size), tuple(stride))


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickle a legacy state dict, refusing every global but the three kinds a state dict needs."""

    def find_class(self, module: str, name: str):
        if (module, name) == ("collections", "OrderedDict"):
            return OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise pickle.UnpicklingError(f"forbidden global {module}.{name}")

    def persistent_load(self, pid):
        # ("storage", type, key, device, element count, view): storage views are not used by state dicts.
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage" and pid[5] is None):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, _view = pid
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and isinstance(numel, int)):
            raise pickle.UnpicklingError(f"unexpected storage reference {pid!r:.80}")
        return _StorageRef(key, storage_type.dtype, numel)


def _tensor_refs(obj) -> OrderedDict[str, _TensorRef]:
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, _TensorRef) for k, v in obj.items()
    ):
        raise pickle.UnpicklingError("the file's object is not a mapping of names to tensors")
    return OrderedDict(obj)


def parse_torch_state_dict(data: bytes) -> OrderedDict[str, np.ndarray]:
    """Return {name: array} from the bytes of a legacy PyTorch state dict; raise ValueError if malformed.

    No checksum here (see `read_torch_state_dict`); only OrderedDict, tensors and float/int64 storages
    are accepted, so a crafted file fails with "forbidden global" instead of running anything.
    """
    stream = io.BytesIO(data)
    try:
        magic = _RestrictedUnpickler(stream).load()
        protocol = _RestrictedUnpickler(stream).load()
        if magic != _LEGACY_MAGIC or protocol != _LEGACY_PROTOCOL:
            raise ValueError("not PyTorch's legacy serialisation (wrong magic number or protocol)")
        sys_info = _RestrictedUnpickler(stream).load()
        if not isinstance(sys_info, dict) or not sys_info.get("little_endian", False):
            raise ValueError("not a little-endian PyTorch file")
        refs = _tensor_refs(_RestrictedUnpickler(stream).load())
        keys = _RestrictedUnpickler(stream).load()
    except Exception as exc:  # whatever malformed bytes make the unpickler raise: "not a state dict"
        raise ValueError(str(exc) or type(exc).__name__) from exc
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError("the storage key list is malformed")

    declared = {ref.storage.key: ref.storage for ref in refs.values()}
    storages: dict[str, np.ndarray] = {}
    for key in keys:
        storage = declared.get(key)
        if storage is None:
            raise ValueError(f"storage {key} is stored but no tensor uses it")
        header = stream.read(8)
        if len(header) != 8:
            raise ValueError(f"the file ends before storage {key}")
        (numel,) = struct.unpack("<q", header)
        if numel != storage.numel:
            raise ValueError(f"storage {key} holds {numel} elements, its tensors expect {storage.numel}")
        raw = stream.read(numel * storage.dtype.itemsize)
        if len(raw) != numel * storage.dtype.itemsize:
            raise ValueError(f"the file ends inside storage {key}")
        storages[key] = np.frombuffer(raw, dtype=storage.dtype)
    if stream.read(1):
        raise ValueError("unexpected bytes after the last storage")

    arrays: OrderedDict[str, np.ndarray] = OrderedDict()
    for name, ref in refs.items():
        flat = storages.get(ref.storage.key)
        if flat is None:
            raise ValueError(f"tensor {name} refers to storage {ref.storage.key}, which is not in the file")
        last = ref.offset + sum((n - 1) * s for n, s in zip(ref.shape, ref.stride, strict=True) if n > 0)
        if any(n == 0 for n in ref.shape):
            arrays[name] = np.zeros(ref.shape, dtype=flat.dtype)
            continue
        if last >= flat.size:
            raise ValueError(f"tensor {name} reaches past the end of its storage")
        view = np.lib.stride_tricks.as_strided(
            flat[ref.offset :], shape=ref.shape, strides=[s * flat.itemsize for s in ref.stride]
        )
        arrays[name] = np.array(view, dtype=flat.dtype.newbyteorder("="))
    return arrays


def sha256_bytes(data: bytes) -> str:
    """Return the hex sha256 of `data`."""
    return hashlib.sha256(data).hexdigest()


def read_torch_state_dict(path: Path, *, sha256: str | None) -> OrderedDict[str, np.ndarray]:
    """Return {name: array} from a legacy PyTorch state-dict file, checking its sha256 first.

    Raises WeightsMissingError (no such file), ChecksumError (other bytes than expected: nothing is
    unpickled) or AntispoofWeightsError (not a readable state dict, or a forbidden global), each naming
    the file. `sha256=None` skips the check: only for files the caller trusts otherwise.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise WeightsMissingError(f"{path} is missing: {ASSETS_HINT}") from None
    except OSError as exc:
        raise AntispoofWeightsError(f"{path} cannot be read ({exc}): {ASSETS_HINT}") from exc
    if sha256 is not None:
        actual = sha256_bytes(data)
        if actual != sha256:
            raise ChecksumError(
                path, expected=sha256, actual=actual, advice=f"damaged or replaced: {ASSETS_HINT}"
            )
    try:
        return parse_torch_state_dict(data)
    except ValueError as exc:
        raise AntispoofWeightsError(f"{path} is not a readable PyTorch state dict: {exc}") from exc


# ---------------------------------------------------------------------------------------------------
# The input patch
# ---------------------------------------------------------------------------------------------------


def patch_box(box: Box, *, scale: float, frame_width: int, frame_height: int) -> tuple[int, int, int, int]:
    """Return the patch (left, top, right, bottom), inclusive pixel indices, for one network.

    As upstream (CropImage): the scale is first lowered so the patch fits the frame, the box is scaled
    about its centre, and a patch that crosses an edge is shifted back inside, not clipped, so it keeps
    its size and the face's place in it changes instead.
    """
    x, y, width, height = (float(v) for v in box)
    if not (width > 0 and height > 0):
        raise ValueError(f"a face box needs a positive width and height, got {box}")
    scale = min((frame_height - 1) / height, (frame_width - 1) / width, scale)
    new_width, new_height = width * scale, height * scale
    centre_x, centre_y = x + width / 2, y + height / 2
    left, right = centre_x - new_width / 2, centre_x + new_width / 2
    top, bottom = centre_y - new_height / 2, centre_y + new_height / 2
    if left < 0:
        right, left = right - left, 0.0
    if top < 0:
        bottom, top = bottom - top, 0.0
    if right > frame_width - 1:
        left, right = left - (right - frame_width + 1), frame_width - 1.0
    if bottom > frame_height - 1:
        top, bottom = top - (bottom - frame_height + 1), frame_height - 1.0
    return int(left), int(top), int(right), int(bottom)


_COEF_BITS = 11  # OpenCV's INTER_RESIZE_COEF_BITS: bilinear weights as integers out of 2048


def _linear_taps(source: int, target: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return (index, next index, weight, next weight) to resize `source` samples to `target`.

    Half-pixel centres; past either edge the edge sample is repeated; the weights are integers out of
    2048, computed in float32 as OpenCV does.
    """
    position = ((np.arange(target) + 0.5) * (source / target) - 0.5).astype(np.float32)
    low = np.floor(position)
    weight = position - low
    low = low.astype(np.int64)
    weight[low < 0] = 0.0
    low = np.clip(low, 0, source - 1)
    high = np.minimum(low + 1, source - 1)
    scale = np.float32(1 << _COEF_BITS)
    return low, high, np.rint((1 - weight) * scale).astype(np.int64), np.rint(weight * scale).astype(np.int64)


def resize_bilinear(image: np.ndarray, size: int) -> np.ndarray:
    """Return `image` (H, W, C uint8) resized to size x size with plain bilinear sampling, no antialiasing.

    Each output pixel mixes its four nearest source pixels, in the integer arithmetic of OpenCV's
    `cv2.resize(..., INTER_LINEAR)` on 8-bit images, which upstream trained and evaluated with:
    checked against opencv-python-headless 5.0.0, equal on every patch of the 5-celebrity photos and
    on 99.99% of values of random images, the rest off by one (float arithmetic was off by one in 12%
    of values and moved real scores by up to 0.03). An antialiased resize (PIL's, or TensorFlow's with
    antialias=True) averages over the whole footprint and moves these networks' scores a lot (NOTICE).
    """
    rows, rows_next, row_w, row_w_next = _linear_taps(image.shape[0], size)
    cols, cols_next, col_w, col_w_next = _linear_taps(image.shape[1], size)
    # Gather first, so only size x size pixels are ever widened to integers.
    pixels = {
        (r, c): image[np.ix_(ri, ci)].astype(np.int64)
        for r, ri in enumerate((rows, rows_next))
        for c, ci in enumerate((cols, cols_next))
    }
    col_w, col_w_next = col_w[None, :, None], col_w_next[None, :, None]
    upper = pixels[0, 0] * col_w + pixels[0, 1] * col_w_next  # horizontal pass: 2048 x the value
    lower = pixels[1, 0] * col_w + pixels[1, 1] * col_w_next
    # Vertical pass as OpenCV's vectorised one: drop 4 bits, multiply, keep the high 16, round off 2.
    mixed = (((upper >> 4) * row_w[:, None, None]) >> 16) + (((lower >> 4) * row_w_next[:, None, None]) >> 16)
    return np.clip((mixed + 2) >> 2, 0, 255).astype(np.uint8)


def face_patch(rgb: np.ndarray, box: Box, *, scale: float, size: int = INPUT_SIZE) -> np.ndarray:
    """Return the network input for one face: the scaled-box patch resized to size x size, BGR uint8."""
    height, width = rgb.shape[:2]
    left, top, right, bottom = patch_box(box, scale=scale, frame_width=width, frame_height=height)
    patch = rgb[top : bottom + 1, left : right + 1]
    return resize_bilinear(patch, size)[:, :, ::-1]


def _check_frame(rgb: np.ndarray) -> np.ndarray:
    rgb = np.asarray(rgb)
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 frame of shape (H, W, 3), got {rgb.dtype} {rgb.shape}")
    if rgb.shape[0] < 2 or rgb.shape[1] < 2:
        raise ValueError(f"the frame is too small: {rgb.shape}")
    return rgb


# ---------------------------------------------------------------------------------------------------
# The model
# ---------------------------------------------------------------------------------------------------


class PassiveLivenessModel:
    """Both networks behind one compiled call: real scores 0..1 for face boxes of RGB frames.

    Safe to call from several threads. Build it with `load_passive_model` (or this process's shared
    one with `get_passive_model`).
    """

    def __init__(self, networks: Sequence[tuple[NetworkSpec, keras.Model]], *, batch_size: int = 64):
        import tensorflow as tf

        self.specs = tuple(spec for spec, _ in networks)
        self.batch_size = int(batch_size)
        models = [model for _, model in networks]
        count = len(models)

        # One compiled graph for both networks and a whole batch: small networks called eagerly pay
        # mostly per-call overhead (pipeline-facts: FaceNet 157 ms eager, 25 ms compiled), and a batch
        # shares it (measured: 17 ms for one face, 10 ms a face in batches of 32, load average 6-7).
        @tf.function(input_signature=[tf.TensorSpec([None, count, INPUT_SIZE, INPUT_SIZE, 3], tf.uint8)])
        def probabilities(patches):
            pixels = tf.cast(patches, tf.float32)  # BGR, 0..255, not rescaled: how upstream trained
            return tf.stack(
                [tf.nn.softmax(model(pixels[:, i], training=False)) for i, model in enumerate(models)], axis=1
            )

        self._probabilities = probabilities

    def patches(self, rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
        """Return the network inputs for `boxes` in `rgb`: (N, networks, 80, 80, 3) BGR uint8."""
        rgb = _check_frame(rgb)
        if not boxes:
            return np.empty((0, len(self.specs), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8)
        return np.stack(
            [np.stack([face_patch(rgb, box, scale=spec.box_scale) for spec in self.specs]) for box in boxes]
        )

    def probabilities_of_patches(self, patches: np.ndarray) -> np.ndarray:
        """Return each network's softmax for prepared patches: (N, networks, 3) float32."""
        patches = np.asarray(patches, dtype=np.uint8)
        expected = (len(self.specs), INPUT_SIZE, INPUT_SIZE, 3)
        if patches.ndim != 5 or patches.shape[1:] != expected:
            raise ValueError(
                f"expected patches of shape (N, {', '.join(map(str, expected))}), got {patches.shape}"
            )
        if len(patches) == 0:
            return np.empty((0, len(self.specs), 3), dtype=np.float32)
        import tensorflow as tf

        return np.concatenate(
            [
                self._probabilities(tf.constant(patches[start : start + self.batch_size])).numpy()
                for start in range(0, len(patches), self.batch_size)
            ]
        ).astype(np.float32, copy=False)

    def score_patches(self, patches: np.ndarray) -> np.ndarray:
        """Return the real score 0..1 of prepared patches: the mean of the networks' class-1 probabilities."""
        return self.probabilities_of_patches(patches)[:, :, REAL_CLASS].mean(axis=1)

    def score(self, rgb: np.ndarray, boxes: Sequence[Box]) -> np.ndarray:
        """Return the real score 0..1 of each face box (x, y, w, h) of an RGB uint8 frame: shape (N,)."""
        return self.score_patches(self.patches(rgb, boxes))

    def score_frames(self, frames: Sequence[tuple[np.ndarray, Sequence[Box]]]) -> list[np.ndarray]:
        """Return, for each (RGB frame, boxes) pair, its faces' real scores, in one batched call."""
        per_frame = [self.patches(rgb, boxes) for rgb, boxes in frames]
        if not per_frame:
            return []
        scores = self.score_patches(np.concatenate(per_frame))
        bounds = np.cumsum([0] + [len(p) for p in per_frame])
        return [scores[start:end] for start, end in zip(bounds[:-1], bounds[1:], strict=True)]

    def warm_up(self) -> None:
        """Trace the compiled call now, so the first real face does not pay for it."""
        self.score_patches(np.zeros((1, len(self.specs), INPUT_SIZE, INPUT_SIZE, 3), dtype=np.uint8))


def burst_score(frame_scores: Sequence[float]) -> float:
    """Return the score of a burst of frames of one face: the median of its per-frame scores.

    The median ignores a few frames blurred by motion (upstream: blurry real faces score low), while
    a print or screen shown for the whole burst stays low in most frames. Raises ValueError when no
    frame has a score.
    """
    scores = np.asarray(frame_scores, dtype=np.float64).ravel()
    if scores.size == 0 or not np.all(np.isfinite(scores)):
        raise ValueError(f"a burst score needs at least one finite frame score, got {frame_scores!r:.80}")
    return float(np.median(scores))


def read_network_weights(
    assets_dir: Path = ASSETS_DIR,
) -> list[tuple[NetworkSpec, OrderedDict[str, np.ndarray]]]:
    """Return each network's spec and checked state dict from `assets_dir` (no TensorFlow needed)."""
    return [
        (spec, read_torch_state_dict(Path(assets_dir) / spec.filename, sha256=spec.sha256))
        for spec in NETWORKS
    ]


def load_passive_model(assets_dir: Path = ASSETS_DIR, *, batch_size: int = 64) -> PassiveLivenessModel:
    """Return a new PassiveLivenessModel from the weight files in `assets_dir` (slow: about 5 s).

    The files are checked before TensorFlow is imported, so missing or damaged weights fail fast with
    a message naming the file.
    """
    started = time.perf_counter()
    state_dicts = read_network_weights(assets_dir)
    from recognition.ml import minifasnet  # imports Keras and TensorFlow

    networks = [
        (spec, minifasnet.load_minifasnet(spec.name, state, source=spec.filename))
        for spec, state in state_dicts
    ]
    model = PassiveLivenessModel(networks, batch_size=batch_size)
    log.info("passive liveness model built in %.1f s (pid %s)", time.perf_counter() - started, os.getpid())
    return model


_models: dict[Path, tuple[int, PassiveLivenessModel]] = {}
_lock = threading.Lock()


def get_passive_model(assets_dir: Path = ASSETS_DIR) -> PassiveLivenessModel:
    """Return this process's PassiveLivenessModel for `assets_dir`, building it on first use (thread-safe)."""
    key = Path(assets_dir).resolve()
    return build_once(_models, _lock, key, lambda: load_passive_model(key), what="the passive liveness model")
