"""recognition.engine: this process's engine from the settings, and its doors (decode, analyse, weights)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recognition import engine, services
from recognition.ml import weights
from recognition.ml.synthetic import jpeg_bytes
from tests.support.images import plain_jpeg
from tests.support.weights import FETCH

REPO = Path(__file__).resolve().parents[2]


def test_photo_of_two_people_gives_two_faces_each_recognised(celebrity_analyses, two_people_jpeg):
    """A photo of Ben Affleck and Mindy Kaling side by side gives two faces, each nearest the right person."""
    faces = services.image_analyse(data=two_people_jpeg)
    assert len(faces) == 2
    left, right = sorted(faces, key=lambda face: face.box[0])
    enrolled = [p for p in celebrity_analyses["train"] if p.faces]
    gallery_people, gallery = [p.person for p in enrolled], np.stack([p.faces[0].embedding for p in enrolled])
    for face, person in ((left, "ben_afflek"), (right, "mindy_kaling")):
        nearest = int(np.linalg.norm(gallery - face.embedding, axis=1).argmin())
        assert gallery_people[nearest] == person


def test_image_analyse_refuses_bad_bytes_with_image_error(engine):
    """The engine's door turns non-image bytes and truncated JPEGs into ImageError, never anything else."""
    noise = np.random.default_rng(1).integers(0, 256, (120, 160, 3), dtype=np.uint8)
    truncated = jpeg_bytes(noise)[:500]
    for data in (b"GIF89a? no", truncated, b""):
        with pytest.raises(services.ImageError):
            services.image_analyse(data=data)


def test_image_analyse_without_weights_names_the_command(settings, tmp_path, two_people_jpeg):
    """The engine's door refuses to work without weights and says which command fetches them."""
    settings.MODELS_DIR = tmp_path / "empty"
    with pytest.raises(services.WeightsMissingError, match=FETCH):
        services.image_analyse(data=two_people_jpeg)
    with pytest.raises(services.WeightsMissingError, match=FETCH):
        services.engine_warm_up()


def test_weights_status_reports_missing_weights(settings, tmp_path):
    """weights_status says not ok, and how to fix it, when nothing is installed."""
    settings.MODELS_DIR = tmp_path
    status = services.weights_status()
    assert status["ok"] is False and status["present"] is False
    assert FETCH in status["reason"]


def test_weights_status_reports_installed_weights(facenet_weights):
    """weights_status gives the path and the sha256 recorded when the weights were converted."""
    status = services.weights_status()
    manifest = weights.read_manifest(facenet_weights.parent)
    assert status["ok"] is True
    assert status["path"] == str(facenet_weights)
    assert status["sha256"] == manifest["sha256"] == weights.sha256_file(facenet_weights)
    assert status["embedder_version"] == services.embedder_version()


def test_web_process_imports_never_load_tensorflow(facenet_weights):
    """Django start-up, importing recognition.services and weights_status() leave TensorFlow unimported."""
    code = (
        "import sys, django; django.setup();"
        "from recognition import services; import recognition.ml.pipeline;"
        "assert services.weights_status()['ok'];"
        "heavy = sorted(m for m in ('tensorflow', 'keras', 'mtcnn') if m in sys.modules);"
        "print('HEAVY', heavy)"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "attendance_site.settings",
        "MODELS_DIR": str(facenet_weights.parent),
    }
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_image_decode_limits_pixels_by_the_setting_unless_given(settings):
    """Decoding refuses more pixels than RECOGNITION_MAX_IMAGE_PIXELS, or than the caller's own limit."""
    data = plain_jpeg((100, 80))
    settings.RECOGNITION_MAX_IMAGE_PIXELS = 7_999
    with pytest.raises(services.ImageError, match="8,000 pixels"):
        services.image_decode(data=data)
    assert services.image_decode(data=data, max_pixels=8_000).shape == (80, 100, 3)
    settings.RECOGNITION_MAX_IMAGE_PIXELS = 8_000
    with pytest.raises(services.ImageError):
        services.image_decode(data=data, max_pixels=100)


def test_engine_config_and_recogniser_options_follow_the_settings(settings, tmp_path):
    """The engine is configured from RECOGNITION_* and MODELS_DIR, training from the RECOGNISER_* settings."""
    settings.MODELS_DIR = tmp_path
    settings.RECOGNITION_MIN_FACE_SIZE = 64
    settings.RECOGNISER_TARGET_FAR = 0.02
    settings.RECOGNISER_MAX_THRESHOLD = 0.9
    settings.RECOGNISER_TRAINING_JOBS = 2
    config = engine.engine_config()
    assert config.weights_path == weights.weights_path(tmp_path) and config.min_face_size == 64
    assert engine.recogniser_options() == {"target_far": 0.02, "max_threshold": 0.9, "n_jobs": 2}


def test_celebrity_photos_come_from_the_cached_archive(celebrity_dir):
    """The 5-celebrity photos are extracted once into VAR_DIR/cache: 5 people in train/ and in val/."""
    assert services.celebrity_photos_dir() == celebrity_dir
    for split in ("train", "val"):
        assert len([p for p in (celebrity_dir / split).iterdir() if p.is_dir()]) == 5
