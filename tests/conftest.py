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

    from sr_utils.downloads import is_loopback

    connect, connect_ex, getaddrinfo = socket.socket.connect, socket.socket.connect_ex, socket.getaddrinfo

    def check(address):
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host.startswith("/"):
            return  # a Unix socket: this machine
        if not is_loopback(host):
            raise OSError(f"tests must not reach {host!r}: only 127.0.0.1 is allowed")

    def guarded(method):
        def call(self, address, *args):
            check(address)
            return method(self, address, *args)
        return call

    def resolve_loopback_only(host, *args, **kwargs):
        check(host)
        return getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded(connect))
    monkeypatch.setattr(socket.socket, "connect_ex", guarded(connect_ex))
    monkeypatch.setattr(socket, "getaddrinfo", resolve_loopback_only)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Serves ``server.root``; ``server.cut`` maps a URL path to a byte count at which the body
    stops (the full length is still announced), as a dropped connection does."""

    def do_GET(self):
        self.server.requests.append(self.path)  # before answering: the client may check it at once
        path = Path(self.server.root) / urllib.parse.unquote(self.path).lstrip("/")
        if not path.is_file():
            self.send_error(404, "not found")
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: self.server.cut.get(self.path, len(body))])

    def log_message(self, *args):
        pass


@pytest.fixture
def http_server(tmp_path):
    """A web server on 127.0.0.1 (a free port) serving ``server.root`` (``tmp_path/www``).

    Yields the server: ``server.url`` is its base URL (ending in ``/``), ``server.requests`` the
    paths asked for (404s included), ``server.cut`` truncations to apply. Stopped after the test.
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
