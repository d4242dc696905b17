"""Fixtures for the data tests: the shared data folder and a local HTTP server."""
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real data sets: $NT_SHARED_DATA, else <repo>/../shared/data; skips when absent."""
    folder = Path(os.environ.get("NT_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (folder / "SHA256SUMS").is_file():
        pytest.skip(f"shared data folder not found at {folder} (set NT_SHARED_DATA to it)")
    return folder


class _FileHandler(BaseHTTPRequestHandler):
    """GET /<path> serves server.root/<path>; GET /truncated/<path> sends the headers and half the body, then hangs up."""

    def do_GET(self):
        self.server.requests.append(self.path)  # before replying: the client may finish first
        name = self.path.lstrip("/")
        truncated = name.startswith("truncated/")
        file = self.server.root / name.removeprefix("truncated/")
        if not file.is_file():
            self.send_error(404)
            return
        body = file.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:len(body) // 2] if truncated else body)
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """A server on 127.0.0.1 in a thread: `.root` (a folder to put files in), `.url`, `.requests`."""
    root = tmp_path / "served"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FileHandler)
    server.root, server.requests = root, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def unreachable_url():
    """An address nothing listens on (a port bound then released)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing-here"
