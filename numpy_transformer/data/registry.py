"""The files the library knows (files/known_files.tsv): where each lives in a data folder, its sha256
and where to download it."""
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KnownFile", "REGISTRY", "register", "known_files"]


@dataclass(frozen=True)
class KnownFile:
    """One file: `path` inside a data folder, its `sha256`, and a download `url` (None: fetch by hand from `source`)."""
    path: str
    sha256: str
    url: str | None
    source: str = ""


REGISTRY: dict[str, KnownFile] = {}


def register(path: str, sha256: str, url: str | None, source: str = "") -> KnownFile:
    """Add (or replace) a known file; tests use it to point a file at a local server."""
    REGISTRY[path] = KnownFile(path, sha256, url, source)
    return REGISTRY[path]


def known_files(prefix: str = "") -> list[str]:
    """Paths of the known files that start with `prefix` (e.g. "mnist/"), sorted."""
    return sorted(p for p in REGISTRY if p.startswith(prefix))


KNOWN_FILES_TABLE = Path(__file__).parent / "files" / "known_files.tsv"


def _read_table(path: Path) -> None:
    """Register every row of the tab-separated table: path, sha256, url ("-": none), source."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, sha256, url, *source = line.split("\t")
            register(name, sha256, None if url == "-" else url, *source)


_read_table(KNOWN_FILES_TABLE)
