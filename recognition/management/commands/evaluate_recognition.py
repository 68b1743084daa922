"""Measure the face engine on a folder-per-person dataset and print (and optionally save) the figures."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recognition import services
from recognition.ml.evaluation import MIN_GALLERY_PHOTOS, format_report
from recognition.ml.pipeline import FACE_CHOICES

# The options that ask for identification and the open set (with --pairs alone, only pairs run).
IDENTIFICATION_OPTIONS = ("probes", "gallery_size", "strangers", "stranger_share")


def progress_bar(items, description: str, total: int):
    """Return `items` wrapped in a progress bar on stderr (shown only on a terminal)."""
    return tqdm(
        items, desc=description, total=total, unit="photo", file=sys.stderr, disable=None, leave=False
    )


class Command(BaseCommand):
    help = (
        "Evaluate recognition on DIR/<person>/<image> with the recogniser the kiosk runs (trained on the "
        "gallery as the training worker trains it): rank-1 identification, open-set false-accept and "
        "false-reject rates, LFW-style verification with --pairs, detection failures and timings. "
        "The JSON keys are listed in recognition/ml/evaluation.py."
    )

    def add_arguments(self, parser):
        parser.add_argument("dir", type=Path, help="the gallery: one folder of photos per person")
        parser.add_argument(
            "--probes",
            type=Path,
            metavar="DIR",
            help="probe photos, one folder per person (e.g. DIR=train, --probes val); "
            "without it, each person's photos after the first --gallery-size probe",
        )
        parser.add_argument(
            "--gallery-size",
            type=int,
            metavar="N",
            help="enrol each person's first N photos, at least 2 (default: all with --probes, 2 without)",
        )
        parser.add_argument(
            "--strangers", type=Path, metavar="DIR", help="people never enrolled, to be rejected"
        )
        parser.add_argument(
            "--stranger-share",
            type=float,
            metavar="SHARE",
            help="share of DIR's people (0 to 1) kept out of the gallery as strangers (default 0)",
        )
        parser.add_argument(
            "--pairs", type=Path, metavar="FILE", help="LFW pairs.txt naming images under DIR"
        )
        parser.add_argument(
            "--target-far",
            type=float,
            metavar="RATE",
            help="false-accept rate the open-set threshold is calibrated for "
            "(default: the RECOGNISER_TARGET_FAR setting, as the training worker)",
        )
        parser.add_argument(
            "--threshold",
            type=float,
            help="use this distance threshold instead of calibrating one on the gallery",
        )
        parser.add_argument(
            "--min-face-size",
            type=int,
            metavar="PX",
            help="smallest face to look for, in pixels (default: the RECOGNITION_MIN_FACE_SIZE setting, 40)",
        )
        parser.add_argument(
            "--identify",
            action="store_true",
            help="also measure identification and the open set when --pairs is given "
            "(implied by --probes, --gallery-size, --strangers and --stranger-share, and without --pairs)",
        )
        parser.add_argument(
            "--face",
            choices=FACE_CHOICES,
            default="largest",
            help="which face of a photo with several to use: the kiosk's 'largest' (default) or "
            "'centre', the face nearest the middle (LFW's convention: the subject is centred)",
        )
        parser.add_argument(
            "--json", type=Path, metavar="PATH", help="also write the figures as JSON to PATH"
        )

    def handle(self, *args, **options):
        root, probes = options["dir"], options["probes"]
        for label, path in (("DIR", root), ("--probes", probes), ("--strangers", options["strangers"])):
            if path is not None and not path.is_dir():
                raise CommandError(f"{label} {path} is not a folder")
        if options["pairs"] is not None and not options["pairs"].is_file():
            raise CommandError(f"--pairs {options['pairs']} is not a file")
        identification = (
            options["identify"]
            or options["pairs"] is None
            or any(options[name] is not None for name in IDENTIFICATION_OPTIONS)
        )
        stranger_share = options["stranger_share"] or 0.0
        if not 0.0 <= stranger_share < 1.0:
            raise CommandError("--stranger-share must be at least 0 and below 1")
        if options["target_far"] is not None and not 0.0 < options["target_far"] < 1.0:
            raise CommandError("--target-far must be between 0 and 1")
        gallery_size = options["gallery_size"]
        if gallery_size is None and probes is None:
            gallery_size = MIN_GALLERY_PHOTOS
        if options["min_face_size"] is not None and options["min_face_size"] < 12:
            raise CommandError("--min-face-size must be at least 12 pixels")
        if gallery_size is not None and gallery_size < MIN_GALLERY_PHOTOS:
            raise CommandError(
                f"--gallery-size must be at least {MIN_GALLERY_PHOTOS}: the recogniser is trained on "
                f"{MIN_GALLERY_PHOTOS} or more photos of each person"
            )
        try:
            report = services.engine_evaluate(
                plan=services.EvaluationPlan(
                    root=root,
                    probes_root=probes,
                    strangers_root=options["strangers"],
                    gallery_size=gallery_size,
                    stranger_share=stranger_share,
                    pairs_file=options["pairs"],
                    identification=identification,
                    face=options["face"],
                ),
                progress=progress_bar,
                target_far=options["target_far"],
                threshold=options["threshold"],
                min_face_size=options["min_face_size"],
            )
        except services.WeightsError as exc:
            raise CommandError(str(exc)) from exc
        except ValueError as exc:
            raise CommandError(str(exc)) from exc

        self.stdout.write(format_report(report))
        if options["json"] is not None:
            options["json"].parent.mkdir(parents=True, exist_ok=True)
            options["json"].write_text(json.dumps(report, indent=2) + "\n")
            self.stdout.write(f"Figures written to {options['json']}")
