"""Shared test set-up: a headless Matplotlib backend, chosen before anything imports pyplot.

Synthetic image helpers live in ``synthetic.py`` (a plain module: a second ``conftest`` at the
repository root makes ``from conftest import ...`` ambiguous).
"""

import matplotlib

matplotlib.use("Agg")


import http.server
import threading
import urllib.parse
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """No test reaches beyond this machine: connections to anything but the loopback fail."""
    import socket

    connect, getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def check(host):
        if isinstance(host, str) and not (host.startswith("127.") or host in ("localhost", "::1") or host.startswith("/")):
            raise OSError(f"tests must not reach {host}: only 127.0.0.1 is allowed")

    def loopback_only(self, address):
        check(address[0] if isinstance(address, tuple) else address)
        return connect(self, address)

    def resolve_loopback_only(host, *args, **kwargs):
        check(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", loopback_only)
    monkeypatch.setattr(socket, "getaddrinfo", resolve_loopback_only)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``server.root``; ``server.cut`` maps a URL path to a byte count at which the body
    stops (the full length is still announced), as a dropped connection does."""

    def do_GET(self):
        path = Path(self.server.root) / urllib.parse.unquote(self.path).lstrip("/")
        if not path.is_file():
            self.send_error(404, "not found")
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: self.server.cut.get(self.path, len(body))])
        self.server.requests.append(self.path)

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """A web server on 127.0.0.1 (a free port) serving ``server.root`` (``tmp_path/www``).

    Yields the server: ``server.url`` is its base URL (ending in ``/``), ``server.requests`` the
    paths served, ``server.cut`` truncations to apply. Stopped after the test.
    """
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.root, server.cut, server.requests = root, {}, []
    server.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
