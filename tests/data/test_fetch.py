"""Data locations, the registry, and fetch: local folders, downloads, checksums, failures."""
import hashlib
import io
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from numpy_transformer.data import download
from numpy_transformer.data import (REGISTRY, ChecksumError, DownloadError, data_dir, fetch,
                                    known_files, register)

CONTENT = b"hello numpy_transformer\n" * 1000
NAME = "test/hello.txt"


@pytest.fixture
def known(monkeypatch, http_server):
    """A registered test file, served at `http_server.url/hello.txt`; the registry is restored after."""
    monkeypatch.setitem(REGISTRY, NAME, REGISTRY.get(NAME))  # restored (removed) afterwards
    (http_server.root / "hello.txt").write_bytes(CONTENT)
    download._verified.clear()
    return register(NAME, hashlib.sha256(CONTENT).hexdigest(), f"{http_server.url}/hello.txt")


@pytest.fixture
def cache(tmp_path) -> Path:
    return tmp_path / "cache"


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_data_dir_prefers_explicit_then_env_then_home_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("NT_DATA_DIR", str(tmp_path / "env"))
    assert data_dir(tmp_path / "explicit") == tmp_path / "explicit"
    assert data_dir() == tmp_path / "env"
    monkeypatch.delenv("NT_DATA_DIR")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home" / ".cache" / "numpy_transformer"


def test_registry_checksums_equal_the_shared_sha256sums(shared_data):
    sums = {}
    for line in (shared_data / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split(maxsplit=1)
        sums[path.removeprefix("./")] = digest
    data_files = {p for p in sums if "LICENSE" not in p and "COPYRIGHT" not in p}
    assert data_files == set(REGISTRY) - {NAME}
    assert all(REGISTRY[p].sha256 == sums[p] for p in data_files)
    assert all(f.url is None or f.url.startswith("https://") for f in REGISTRY.values())
    assert all(f.url or f.source for f in REGISTRY.values())
    assert len(known_files("mnist/")) == 4 and len(known_files("text/fortunes/")) == 43


def test_fetch_uses_a_local_folder_as_is_without_network_or_writes(shared_data, tmp_path, unreachable_url):
    local = tmp_path / "local"
    shutil.copytree(shared_data / "text", local / "text")
    before = listing(local)
    download._verified.clear()
    path = fetch("text/tinyshakespeare.txt", local, url=unreachable_url)
    assert path == local / "text" / "tinyshakespeare.txt"
    assert listing(local) == before  # nothing written into a user's folder


def test_fetch_downloads_verifies_and_renames_into_place(known, http_server, cache, capsys):
    path = fetch(NAME, cache)
    assert path == cache / NAME and path.read_bytes() == CONTENT
    assert listing(cache) == [".sha256-verified.json", "test", NAME]
    assert http_server.requests == ["/hello.txt"]
    assert "downloading test/hello.txt" in capsys.readouterr().err


def test_fetch_downloads_a_real_file_from_an_overridden_url(shared_data, http_server, tmp_path):
    shutil.copy(shared_data / "text" / "tinyshakespeare.txt", http_server.root / "input.txt")
    path = fetch("text/tinyshakespeare.txt", tmp_path, url=f"{http_server.url}/input.txt")
    assert path.read_bytes() == (shared_data / "text" / "tinyshakespeare.txt").read_bytes()


def test_fetch_does_not_download_or_rehash_a_verified_file(known, http_server, cache, monkeypatch):
    fetch(NAME, cache)
    download._verified.clear()  # as in a new process: only the JSON record remains
    real_sha256_file, hashed = download.sha256_file, []
    monkeypatch.setattr(download, "sha256_file", lambda p: hashed.append(Path(p)) or real_sha256_file(p))
    assert fetch(NAME, cache).read_bytes() == CONTENT
    assert hashed == [] and http_server.requests == ["/hello.txt"]  # downloaded and hashed once
    os.utime(cache / NAME, ns=(1, 1))  # a changed mtime: hashed again
    fetch(NAME, cache)
    assert hashed == [cache / NAME]


def test_fetch_rejects_a_corrupted_download_and_caches_nothing(known, http_server, cache):
    (http_server.root / "hello.txt").write_bytes(CONTENT[:-1] + b"?")
    with pytest.raises(ChecksumError, match=f"expected {known.sha256} for {NAME}; nothing was saved"):
        fetch(NAME, cache)
    assert listing(cache) == ["test"]  # the folder was made, no file or temporary left in it


def test_fetch_leaves_no_partial_file_when_the_connection_drops(known, http_server, cache):
    with pytest.raises(DownloadError, match=rf"interrupted after {len(CONTENT) // 2} of {len(CONTENT)} bytes"):
        fetch(NAME, cache, url=f"{http_server.url}/truncated/hello.txt")
    assert listing(cache) == ["test"]


def test_fetch_leaves_no_partial_file_when_interrupted_by_the_user(known, cache, monkeypatch):
    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(CONTENT))}

        def read(self, size=-1):
            if self.tell():
                raise KeyboardInterrupt
            return super().read(100)
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(CONTENT))
    with pytest.raises(KeyboardInterrupt):
        fetch(NAME, cache)
    assert listing(cache) == ["test"]


def test_fetch_offline_says_which_file_to_put_where(known, cache, unreachable_url):
    with pytest.raises(DownloadError) as error:
        fetch(NAME, cache, url=unreachable_url)
    message = str(error.value)
    assert f"{NAME} is not in {cache}" in message
    assert f"download {unreachable_url} yourself and save it as {cache / NAME}" in message
    assert "NT_DATA_DIR" in message
    assert listing(cache) == ["test"]


def test_fetch_of_a_missing_file_without_address_names_its_source(tmp_path):
    with pytest.raises(DownloadError, match=r"text/fortunes/tao is not in .* get it from the Debian packages"):
        fetch("text/fortunes/tao", tmp_path)


def test_fetch_reports_a_corrupted_local_file(known, cache):
    fetch(NAME, cache)
    (cache / NAME).write_bytes(b"garbage")
    with pytest.raises(ChecksumError, match=rf"{cache / NAME} is corrupted .* delete it to download it again"):
        fetch(NAME, cache)


def test_fetch_of_an_unknown_name_lists_the_known_ones(tmp_path):
    with pytest.raises(KeyError, match="mnist/t10k-images-idx3-ubyte.gz"):
        fetch("mnist/typo.gz", tmp_path)
