"""Passive anti-spoofing: the weight reader, the Keras rebuild, the crop, and scores on real photos.

Real weights (the vendored MiniFASNet files) and real photos (the 5-celebrity set through the real
engine). The "fake" inputs are simulated recaptures (recognition/ml/recapture.py), so the tests only
assert orderings that hold with a wide margin, never field error rates (benchmarks/antispoof.py
prints those figures).
"""

from __future__ import annotations

import os
import pickle
import shutil
import struct
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from recognition.ml import antispoof, recapture
from recognition.ml.images import load_image
from recognition.ml.weights import ChecksumError, WeightsMissingError
from tests.recognition.ml import minifasnet_numpy

REPO = Path(__file__).resolve().parents[3]
MAGIC = 0x1950A86A20F9469CFC6C


# --- a tiny writer of PyTorch's legacy format, opcode by opcode (no torch needed) -----------------


def _global(module: str, name: str) -> bytes:
    return b"c" + f"{module}\n{name}\n".encode()


def _str(text: str) -> bytes:
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _ints(values) -> bytes:
    return b"(" + b"".join(_int(v) for v in values) + b"t"


def legacy_file(
    tensors: dict[str, tuple[str, int, tuple, tuple]],
    storages: dict[str, np.ndarray],
    *,
    rebuild=("torch._utils", "_rebuild_tensor_v2"),
) -> bytes:
    """Return a legacy PyTorch file: {name: (storage key, offset, size, stride)} over float32 storages."""
    head = b"".join(
        pickle.dumps(part, protocol=2)
        for part in (MAGIC, 1001, {"protocol_version": 1001, "little_endian": True, "type_sizes": {}})
    )
    ordered_dict = _global("collections", "OrderedDict") + b")R"
    body = b"\x80\x02" + ordered_dict + b"("
    for name, (key, offset, size, stride) in tensors.items():
        storage = (
            b"(" + _str("storage") + _global("torch", "FloatStorage") + _str(key) + _str("cpu")
            + _int(storages[key].size) + b"Nt" + b"Q"
        )  # fmt: skip
        args = b"(" + storage + _int(offset) + _ints(size) + _ints(stride) + b"\x89" + ordered_dict + b"t"
        body += _str(name) + _global(*rebuild) + args + b"R"
    body += b"u."
    tail = pickle.dumps(list(storages), protocol=2)
    for array in storages.values():
        tail += struct.pack("<q", array.size) + array.astype("<f4").tobytes()
    return head + body + tail


def test_legacy_reader_follows_offset_and_strides():
    """A tensor stored transposed at an offset in its storage reads back as the right array."""
    storage = np.arange(7, dtype=np.float32)
    data = legacy_file({"t": ("0", 1, (2, 3), (1, 2)), "v": ("0", 0, (7,), (1,))}, {"0": storage})
    arrays = antispoof.parse_torch_state_dict(data)
    assert list(arrays) == ["t", "v"]
    np.testing.assert_array_equal(arrays["t"], [[1, 3, 5], [2, 4, 6]])
    np.testing.assert_array_equal(arrays["v"], storage)


def test_legacy_reader_refuses_tensor_past_its_storage():
    """A tensor whose strides reach past the end of its storage is refused, not read out of bounds."""
    data = legacy_file({"t": ("0", 4, (2, 3), (1, 2))}, {"0": np.arange(7, dtype=np.float32)})
    with pytest.raises(ValueError, match="past the end of its storage"):
        antispoof.parse_torch_state_dict(data)


def test_legacy_reader_refuses_forbidden_global(tmp_path):
    """A file that names any other global (here os.system) is refused before anything runs."""
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    head = b"".join(pickle.dumps(part, protocol=2) for part in (MAGIC, 1001, {"little_endian": True}))
    data = head + pickle.dumps(OrderedDict(weight=Exploit()), protocol=2) + pickle.dumps([], protocol=2)
    with pytest.raises(ValueError, match=r"forbidden global (posix|os|nt)\.system"):
        antispoof.parse_torch_state_dict(data)
    assert not marker.exists()

    # Through the file reader, even with a matching checksum, the message names the file.
    path = tmp_path / "evil.pth"
    evil = legacy_file({"t": ("0", 0, (1,), (1,))}, {"0": np.zeros(1)}, rebuild=("builtins", "eval"))
    path.write_bytes(evil)
    with pytest.raises(antispoof.AntispoofWeightsError, match=r"evil\.pth.*forbidden global builtins\.eval"):
        antispoof.read_torch_state_dict(path, sha256=antispoof.sha256_bytes(path.read_bytes()))


def test_reader_refuses_tampered_missing_and_truncated_files(tmp_path):
    """A changed byte fails the sha256 check, a missing file and a cut file each name the file."""
    spec = antispoof.NETWORKS[0]
    source = antispoof.ASSETS_DIR / spec.filename
    tampered = tmp_path / spec.filename
    data = bytearray(source.read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    with pytest.raises(ChecksumError, match=spec.filename) as caught:
        antispoof.read_torch_state_dict(tampered, sha256=spec.sha256)
    assert caught.value.expected == spec.sha256
    assert "git checkout" in str(caught.value)

    with pytest.raises(WeightsMissingError, match=r"nothing-here\.pth is missing"):
        antispoof.read_torch_state_dict(tmp_path / "nothing-here.pth", sha256=spec.sha256)

    cut = tmp_path / "cut.pth"
    cut.write_bytes(source.read_bytes()[:-1000])
    with pytest.raises(antispoof.AntispoofWeightsError, match=r"cut\.pth.*the file ends"):
        antispoof.read_torch_state_dict(cut, sha256=None)


def test_load_fails_fast_when_a_weight_file_is_missing(tmp_path):
    """A models folder lacking one file fails with a message naming that file (before any TensorFlow work)."""
    shutil.copy(antispoof.ASSETS_DIR / antispoof.NETWORKS[0].filename, tmp_path)
    with pytest.raises(WeightsMissingError, match=antispoof.NETWORKS[1].filename):
        antispoof.load_passive_model(tmp_path)


def test_published_weights_read_without_torch():
    """Both vendored files read completely: 334 and 370 arrays, float32 kernels of the expected shapes."""
    weights = dict(antispoof.read_network_weights())
    v2, v1se = (weights[spec] for spec in antispoof.NETWORKS)
    assert (len(v2), len(v1se)) == (334, 370)
    assert v2["module.conv1.conv.weight"].shape == (32, 3, 3, 3)
    assert v1se["module.conv_3.model.3.se_module.fc1.weight"].shape == (16, 64, 1, 1)
    assert v2["module.prob.weight"].dtype == np.float32
    assert v2["module.conv1.bn.num_batches_tracked"].dtype == np.int64


def test_vendored_assets_carry_licence_and_notice():
    """The LICENSE is Apache-2.0 and the NOTICE names the source and both files' sha256s."""
    licence = (antispoof.ASSETS_DIR / "LICENSE").read_text()
    notice = (antispoof.ASSETS_DIR / "NOTICE.md").read_text()
    assert "Apache License" in licence and "Version 2.0" in licence
    assert "minivision-ai/Silent-Face-Anti-Spoofing" in notice
    for spec in antispoof.NETWORKS:
        assert spec.filename in notice and spec.sha256 in notice


def test_importing_the_module_does_not_import_tensorflow():
    """Importing recognition.ml.antispoof (as the web process may) loads no TensorFlow."""
    code = "import sys, recognition.ml.antispoof; print('tensorflow' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


# --- the crop -------------------------------------------------------------------------------------


def test_patch_is_shifted_inside_the_frame_not_clipped():
    """A box near an edge gives a patch of full scaled size moved inside the frame."""
    left, top, right, bottom = antispoof.patch_box(
        (5, 300, 100, 120), scale=2.7, frame_width=640, frame_height=480
    )
    assert (left, bottom) == (0, 479)
    assert right - left == int(2.7 * 100) and bottom - top == pytest.approx(2.7 * 120, abs=1)


def test_patch_scale_shrinks_to_fit_a_large_face():
    """A face too big for the full scale gets the largest scale that fits the frame."""
    left, top, right, bottom = antispoof.patch_box(
        (220, 90, 200, 300), scale=4.0, frame_width=640, frame_height=480
    )
    assert (top, bottom) == (0, 479)
    assert right - left == pytest.approx(200 * 479 / 300, abs=1)


def test_resize_samples_without_antialiasing():
    """A 4x downscale samples pixels 1 and 2 of each group of 4: bright pixels 0 and 3 vanish entirely."""
    image = np.zeros((320, 320, 3), dtype=np.uint8)
    image[:, 0::4] = 255
    image[:, 3::4] = 255
    assert antispoof.resize_bilinear(image, 80).max() == 0
    # An antialiased resize would have kept half their light; the middle pixels do show:
    image[:, 1::4] = 200
    np.testing.assert_array_equal(antispoof.resize_bilinear(image, 80), 100)


def test_bad_frames_and_boxes_are_refused(passive):
    """A float frame, a grey frame and an empty box each raise ValueError saying what was expected."""
    frame = np.zeros((480, 640, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="RGB uint8"):
        passive.score(frame.astype(np.float32), [(10, 10, 50, 50)])
    with pytest.raises(ValueError, match="RGB uint8"):
        passive.score(frame[..., 0], [(10, 10, 50, 50)])
    with pytest.raises(ValueError, match="positive width and height"):
        passive.score(frame, [(10, 10, 0, 50)])
    assert passive.score(frame, []).shape == (0,)


# --- the networks ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def passive():
    return antispoof.get_passive_model()


def test_model_is_built_once_per_process(passive):
    """get_passive_model returns the same model every time in one process."""
    assert antispoof.get_passive_model() is passive


def test_model_built_before_a_fork_is_refused_in_the_child(monkeypatch):
    """A passive model built by another process (a parent before fork) is refused with an explanation."""
    monkeypatch.setattr(antispoof, "_models", {antispoof.ASSETS_DIR.resolve(): (1, object())})
    with pytest.raises(
        RuntimeError, match="passive liveness model was built in process 1 before this process"
    ):
        antispoof.get_passive_model()


def test_weight_copy_fails_loudly_on_a_mismatch():
    """A missing array, a wrong shape and an extra array each stop the load, naming the layer or key."""
    from recognition.ml import minifasnet

    state = dict(dict(antispoof.read_network_weights())[antispoof.NETWORKS[0]])
    missing = {k: v for k, v in state.items() if k != "module.conv_4.model.2.project.bn.running_var"}
    with pytest.raises(
        minifasnet.ConversionError, match=r"conv_4\.model\.2\.project\.bn\.running_var is missing"
    ):
        minifasnet.load_minifasnet("MiniFASNetV2", missing, source="test")
    reshaped = {**state, "module.conv_5.model.1.conv.conv.weight": np.zeros((27, 128, 1, 1), np.float32)}
    with pytest.raises(minifasnet.ConversionError, match=r"layer conv_5\.model\.1\.conv\.conv: .* shape"):
        minifasnet.load_minifasnet("MiniFASNetV2", reshaped, source="test")
    extra = {**state, "module.conv_7.weight": np.zeros(3, np.float32)}
    with pytest.raises(minifasnet.ConversionError, match=r"arrays the network lacks: \['conv_7\.weight'\]"):
        minifasnet.load_minifasnet("MiniFASNetV2", extra, source="test")
    # V1SE's SE gates are not in V2's file: building the wrong variant fails too.
    with pytest.raises(minifasnet.ConversionError):
        minifasnet.load_minifasnet("MiniFASNetV1SE", state, source="test")


@pytest.mark.slow
def test_keras_matches_an_independent_numpy_forward_pass(passive, celebrity_analyses):
    """Both Keras networks, plain and fused, match the numpy reference's logits to 1e-4 on real patches."""
    from recognition.ml import minifasnet

    photos = celebrity_analyses["val"][:6]
    patches = np.concatenate(
        [
            passive.patches(load_image(p.path.read_bytes(), max_pixels=50_000_000), [p.faces[0].box])
            for p in photos
        ]
    )
    noise = np.random.default_rng(0).integers(0, 256, (2, len(antispoof.NETWORKS), 80, 80, 3), dtype=np.uint8)
    patches = np.concatenate([patches, noise])
    for index, (spec, state) in enumerate(antispoof.read_network_weights()):
        numpy_logits = minifasnet_numpy.forward(state, patches[:, index])
        for fused in (False, True):  # as published, and with the batch norms folded (the default)
            network = minifasnet.load_minifasnet(spec.name, state, source=spec.filename, fused=fused)
            keras_logits = np.asarray(network(patches[:, index].astype(np.float32), training=False))
            # Measured: 2e-6 at most (float32 against float64), on logits of magnitude up to about 8.
            assert np.abs(keras_logits - numpy_logits).max() < 1e-4, (spec.name, fused)
    # And the compiled model's probabilities are these networks' softmaxes, class 1 averaged.
    probabilities = passive.probabilities_of_patches(patches)
    expected = np.stack(
        [minifasnet_numpy.softmax(minifasnet_numpy.forward(state, patches[:, i])) for i, (_, state) in
         enumerate(antispoof.read_network_weights())],
        axis=1,
    )  # fmt: skip
    np.testing.assert_allclose(probabilities, expected, atol=1e-5)
    np.testing.assert_allclose(passive.score_patches(patches), expected[:, :, 1].mean(axis=1), atol=1e-5)


# --- scores on real photos and simulated recaptures -----------------------------------------------


def _largest_faces(celebrity_analyses):
    """Return [(rgb, box, photo)] for every 5-celebrity photo with a face, its largest face."""
    return [
        (load_image(photo.path.read_bytes(), max_pixels=50_000_000), photo.faces[0].box, photo)
        for split in ("train", "val")
        for photo in celebrity_analyses[split]
        if photo.faces
    ]


@pytest.mark.slow
def test_batched_scores_equal_one_by_one_scores(passive, celebrity_analyses):
    """Scoring faces of several frames in one call gives each face the score it gets alone."""
    faces = _largest_faces(celebrity_analyses)[:5]
    frames = [(rgb, [box, (box[0] + 3, box[1], box[2], box[3])]) for rgb, box, _ in faces]
    together = passive.score_frames(frames)
    assert [len(scores) for scores in together] == [2] * len(frames)
    for (rgb, boxes), scores in zip(frames, together, strict=True):
        np.testing.assert_allclose(scores, [passive.score(rgb, [box])[0] for box in boxes], atol=1e-5)


@pytest.fixture(scope="module")
def real_scores(passive, celebrity_analyses) -> np.ndarray:
    faces = _largest_faces(celebrity_analyses)
    assert len(faces) >= 100  # the engine finds a face in nearly all 118 photos
    return np.concatenate(passive.score_frames([(rgb, [box]) for rgb, box, _ in faces]))


@pytest.mark.slow
def test_real_photos_score_high(real_scores):
    """Real 5-celebrity photos score high: median above 0.9, mean above 0.7 (measured 0.98 and 0.80).

    Not all of them: some of these web photos are themselves shots of posters and magazine covers.
    """
    assert np.median(real_scores) > 0.9
    assert real_scores.mean() > 0.7
    # The default threshold turns few of them away (measured 5%).
    assert (real_scores < antispoof.DEFAULT_THRESHOLD).mean() < 0.1


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["halftone_print", "lcd_screen"])
def test_simulated_recaptures_score_lower(kind, passive, engine, celebrity_analyses, real_scores):
    """The same photos as a simulated halftone print or LCD screen score far lower than the originals."""
    # Every third photo: 38, enough for these margins at a third of the time (making a halftone print
    # is most of it). Measured on them, medians: real 0.94, halftone 0.29, LCD 0.02 (limit 0.54);
    # means 0.75, 0.38, 0.10 (limit 0.50).
    photos = _largest_faces(celebrity_analyses)[::3]
    real = real_scores[::3]
    scores = []
    for index, (rgb, _, _) in enumerate(photos):
        attacked = recapture.ATTACKS[kind](rgb, seed=index)
        faces = engine.detect(attacked)
        if faces:
            scores.append(passive.score(attacked, [faces[0].box])[0])
    assert len(scores) >= 0.6 * len(photos)  # the face is still found in most of them
    scores = np.asarray(scores)
    # Measured on all photos, medians: real 0.98, halftone 0.40, LCD 0.03; means 0.80, 0.41, 0.17.
    assert np.median(scores) < np.median(real) - 0.4
    assert scores.mean() < real.mean() - 0.25


def test_burst_score_is_the_median_of_its_frames():
    """A burst's score ignores a few low (blurred) frames, stays low when most are low, needs a score."""
    assert antispoof.burst_score([0.95, 0.9, 0.02, 0.97, 0.05]) == pytest.approx(0.9)
    assert antispoof.burst_score([0.02, 0.9, 0.01, 0.03]) == pytest.approx(0.025)
    assert antispoof.burst_score(np.array([0.4])) == pytest.approx(0.4)
    for bad in ([], [0.5, float("nan")]):
        with pytest.raises(ValueError, match="finite frame score"):
            antispoof.burst_score(bad)
