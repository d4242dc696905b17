"""`fetch`: a known file's local path, downloaded into the data folder and checked by sha256 when missing.

A download goes to a temporary file beside its destination and is renamed into place only after its
sha256 matched, so an interrupted or corrupted download never leaves a file behind. Files already
present are checked too; the result is remembered by (size, mtime) in memory and, in a folder the
library has downloaded into, in its `.sha256-verified.json`, so big files are hashed once. A local
folder of ready files is only read: nothing is ever written into a folder that lacks that JSON.
"""
import hashlib
import http.client
import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from . import locations
from .locations import DATA_DIR_ENV
from .registry import REGISTRY, KnownFile

__all__ = ["fetch", "sha256_file", "ChecksumError", "DownloadError"]

VERIFIED_JSON = ".sha256-verified.json"
_CHUNK = 1 << 20
_verified: dict[tuple[str, int, int], str] = {}  # (resolved path, size, mtime_ns) -> sha256 this process checked


class ChecksumError(ValueError):
    """A file's sha256 is not the one the registry expects."""


class DownloadError(OSError):
    """A missing file could not be downloaded (offline, unreachable, interrupted, or no known address)."""


def sha256_file(path) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(name: str, data_dir=None, *, url: str | None = None, timeout: float = 60.0) -> Path:
    """Local path of the known file `name` (e.g. "mnist/train-images-idx3-ubyte.gz"), checked by sha256.

    Looks in `data_dir(data_dir)`; a missing file is downloaded from `url` (default: the registry's).
    """
    known = _known(name)
    root = locations.data_dir(data_dir)
    path = root / known.path
    if path.exists():
        _verify_present(path, root, known)
        return path
    if data_dir is not None or os.environ.get(DATA_DIR_ENV):
        _refuse_a_folder_one_level_off(root, known)
    url = url or known.url
    if url is None:
        raise DownloadError(f"{known.path} is not in {root} and has no download address; get it from "
                            f"{known.source} and save it as {path}, or set {DATA_DIR_ENV} "
                            f"(or data_dir=) to a folder that holds {known.path}")
    _download(url, path, root, known, timeout)
    return path


def _refuse_a_folder_one_level_off(root: Path, known: KnownFile) -> None:
    """A data folder given one level too high or too low: say where the file was expected and
    which folder to give instead (rather than download beside it)."""
    first, _, rest = known.path.partition("/")
    candidates = [(root.parent, root.parent / known.path)]
    if root.name == first:
        candidates.append((root.parent, root / rest))
    if root.is_dir():
        subfolders = sorted(p for p in root.iterdir() if p.is_dir())[:100]
        candidates += [(sub, sub / known.path) for sub in subfolders]
    for folder, found in candidates:
        if found.is_file():
            raise DownloadError(f"{known.path} was expected at {root / known.path}, but it is at "
                                f"{found}: give {folder} as the data folder (--data-dir or "
                                f"{DATA_DIR_ENV})")


def _known(name: str) -> KnownFile:
    if name not in REGISTRY:
        folder = name.split("/")[0] + "/"
        similar = [p for p in REGISTRY if p.startswith(folder)] or sorted({p.split("/")[0] for p in REGISTRY})
        raise KeyError(f"unknown data file {name!r}; known: {', '.join(sorted(similar))}")
    return REGISTRY[name]


def _verify_present(path: Path, root: Path, known: KnownFile) -> None:
    """Hash a file already in the data folder unless its (size, mtime) was verified before."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    if _verified.get(key) == known.sha256:
        return
    record = _read_records(root).get(known.path)
    if record != {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": known.sha256}:
        actual = sha256_file(path)
        if actual != known.sha256:
            hint = f"; delete it to download it again from {known.url}" if known.url else ""
            raise ChecksumError(f"{path} is corrupted or not the expected file: sha256 {actual}, "
                                f"expected {known.sha256}{hint}")
        _write_record(root, known.path, stat, known.sha256, create=False)
    _verified[key] = known.sha256


def _download(url: str, path: Path, root: Path, known: KnownFile, timeout: float) -> None:
    """Stream `url` into a temporary file beside `path`, check size and sha256, then rename into place."""
    advice = (f"download {url} yourself and save it as {path}, or set {DATA_DIR_ENV} (or data_dir=) "
              f"to a folder that holds {known.path}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise DownloadError(f"{known.path} is not in {root}, which cannot be written to ({error}); "
                            f"{advice}") from error
    try:
        print(f"numpy_transformer: downloading {known.path} from {url}", file=sys.stderr)
        digest, size, expected_size = _stream(url, fd, timeout)
        if expected_size is not None and size != expected_size:
            raise DownloadError(f"the download of {known.path} from {url} was interrupted after "
                                f"{size} of {expected_size} bytes; nothing was saved. Try again, or {advice}")
        if digest != known.sha256:
            raise ChecksumError(f"the file downloaded from {url} has sha256 {digest}, expected "
                                f"{known.sha256} for {known.path}; nothing was saved")
        os.replace(tmp, path)
    except (ChecksumError, DownloadError):
        _remove(tmp)
        raise
    except (OSError, http.client.HTTPException) as error:
        _remove(tmp)
        raise DownloadError(f"{known.path} is not in {root} and could not be downloaded from {url} "
                            f"({error}); {advice}") from error
    except BaseException:  # KeyboardInterrupt included: never leave a partial file
        _remove(tmp)
        raise
    stat = path.stat()
    _verified[(str(path.resolve()), stat.st_size, stat.st_mtime_ns)] = known.sha256
    _write_record(root, known.path, stat, known.sha256, create=True)


def _stream(url: str, fd: int, timeout: float) -> tuple[str, int, int | None]:
    """Copy the response body into the open file `fd`: (sha256, bytes read, Content-Length or None)."""
    digest, size = hashlib.sha256(), 0
    with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        while chunk := response.read(_CHUNK):
            out.write(chunk)
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, int(length) if length is not None else None


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


def _read_records(root: Path) -> dict:
    try:
        with open(root / VERIFIED_JSON, encoding="utf-8") as f:
            records = json.load(f)
        return records if isinstance(records, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_record(root: Path, name: str, stat, sha256: str, create: bool) -> None:
    """Remember a verified file in the folder's JSON (made by the first download; never in a user's folder)."""
    if not create and not (root / VERIFIED_JSON).is_file():
        return
    records = _read_records(root)
    records[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    try:
        fd, tmp = tempfile.mkstemp(dir=root, prefix=f".{VERIFIED_JSON}.", suffix=".part")
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(records, f, indent=1, sort_keys=True)
        os.replace(tmp, root / VERIFIED_JSON)
    except OSError:
        _remove(tmp)
