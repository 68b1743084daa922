"""fetch_facenet_weights: install from the cached archive or a given file; refuse bad files, keep the old."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from recognition import services
from recognition.ml import weights
from tests.support.weights import install_fake_old_weights, leftovers


def test_wrong_checksum_is_refused_and_old_file_kept(settings, tmp_path):
    """--from-file with a file that is not the published one is refused with both sha256s; nothing changes."""
    settings.MODELS_DIR = tmp_path / "models"
    old = install_fake_old_weights(settings.MODELS_DIR)
    impostor = tmp_path / "facenet_keras.h5"
    impostor.write_bytes(b"not the published weights")
    actual = weights.sha256_file(impostor)
    with pytest.raises(CommandError) as error:
        call_command("fetch_facenet_weights", "--from-file", str(impostor))
    assert weights.SOURCE_SHA256 in str(error.value) and actual in str(error.value)
    assert "--trust" in str(error.value)
    assert weights.weights_path(settings.MODELS_DIR).read_bytes() == old
    assert leftovers(settings.MODELS_DIR) == []


def test_corrupt_file_with_trust_fails_conversion_and_old_file_kept(settings, tmp_path):
    """A trusted but corrupt file fails conversion loudly; the installed weights stay as they were."""
    settings.MODELS_DIR = tmp_path / "models"
    old = install_fake_old_weights(settings.MODELS_DIR)
    corrupt = tmp_path / "facenet_keras.h5"
    corrupt.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\x00" * 4096)
    with pytest.raises(CommandError, match="cannot be converted"):
        call_command("fetch_facenet_weights", "--from-file", str(corrupt), "--trust")
    assert weights.weights_path(settings.MODELS_DIR).read_bytes() == old
    assert leftovers(settings.MODELS_DIR) == []


def test_fetch_from_cached_archive_installs_then_does_nothing(settings, tmp_path, facenet_weights):
    """The command converts from the cached archive without downloading, and a second run changes nothing."""
    settings.MODELS_DIR = tmp_path / "models"
    out = io.StringIO()
    call_command("fetch_facenet_weights", stdout=out)
    assert "FaceNet weights installed" in out.getvalue()
    manifest = weights.read_manifest(settings.MODELS_DIR)
    assert manifest["source_sha256"] == weights.SOURCE_SHA256
    assert manifest["parameter_count"] == 22_808_144
    assert manifest["sha256"] == weights.sha256_file(weights.weights_path(settings.MODELS_DIR))
    stamp = weights.weights_path(settings.MODELS_DIR).stat().st_mtime_ns

    out = io.StringIO()
    call_command("fetch_facenet_weights", stdout=out)
    assert "already installed" in out.getvalue()
    assert weights.weights_path(settings.MODELS_DIR).stat().st_mtime_ns == stamp
    assert services.weights_status()["ok"] is True


def test_trust_without_from_file_is_refused():
    """--trust alone is a usage error: it only applies to a file the user supplies."""
    with pytest.raises(CommandError, match="--from-file"):
        call_command("fetch_facenet_weights", "--trust")
