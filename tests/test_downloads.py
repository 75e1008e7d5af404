"""downloads.fetch and downloads.safe_extract (tar and zip) against a web server on 127.0.0.1 (never the internet)."""

import hashlib
import http.client
import io
import re
import ssl
import stat
import tarfile
import zipfile

import pytest

from sr_utils import downloads

PAYLOAD = bytes(range(256)) * 40  # 10,240 bytes


@pytest.fixture
def served(http_server):
    (http_server.root / "file.bin").write_bytes(PAYLOAD)
    return http_server


def test_fetch_writes_the_verified_file(served, tmp_path):
    dest = tmp_path / "cache" / "sub" / "file.bin"
    out = downloads.fetch(served.url + "file.bin", dest, size=len(PAYLOAD),
                          sha256=hashlib.sha256(PAYLOAD).hexdigest(), md5=hashlib.md5(PAYLOAD).hexdigest())
    assert out == dest and dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["file.bin"]  # no .part left
    assert served.requests == ["/file.bin"]


@pytest.mark.parametrize("kwargs, match", [
    ({"size": len(PAYLOAD) + 1}, r"gave 10,240 bytes, expected 10,241"),
    ({"sha256": "0" * 64}, r"has sha256 [0-9a-f]{64}, expected 0{64}: the file is corrupt"),
    ({"md5": "f" * 32}, r"has md5 [0-9a-f]{32}, expected f{32}"),
])
def test_wrong_size_or_checksum_leaves_nothing(served, tmp_path, kwargs, match):
    dest = tmp_path / "cache" / "file.bin"
    dest.parent.mkdir()
    with pytest.raises(ValueError, match=match):
        downloads.fetch(served.url + "file.bin", dest, **kwargs)
    assert list(dest.parent.iterdir()) == []


def test_cut_short_download_is_refused(served, tmp_path):
    served.cut["/file.bin"] = 3000
    dest = tmp_path / "file.bin"
    with pytest.raises(ValueError, match=r"the download of http://127\.0\.0\.1:\d+/file\.bin was cut short: 3,000 of 10,240 bytes"):
        downloads.fetch(served.url + "file.bin", dest)
    assert list(tmp_path.iterdir()) == [served.root]


def test_an_earlier_file_is_kept_when_a_new_download_fails(served, tmp_path):
    dest = tmp_path / "file.bin"
    dest.write_bytes(b"the old, good copy")
    with pytest.raises(ValueError):
        downloads.fetch(served.url + "file.bin", dest, sha256="0" * 64)
    assert dest.read_bytes() == b"the old, good copy"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.bin", "www"]


def test_http_error_and_unreachable_server(served, tmp_path):
    with pytest.raises(OSError, match=r"could not download http://127\.0\.0\.1:\d+/missing\.bin: HTTP 404"):
        downloads.fetch(served.url + "missing.bin", tmp_path / "x.bin")
    with pytest.raises(OSError, match=r"could not download http://127\.0\.0\.1:9/x: .*Check the connection"):
        downloads.fetch("http://127.0.0.1:9/x", tmp_path / "x.bin", timeout=5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["www"]


def test_offline_refuses_remote_urls_only(served, tmp_path, monkeypatch):
    monkeypatch.setenv("SR_OFFLINE", "1")
    with pytest.raises(OSError, match=r"not downloading https://example\.org/a\.bin: downloads are off \(SR_OFFLINE=1"):
        downloads.fetch("https://example.org/a.bin", tmp_path / "a.bin")
    assert downloads.fetch(served.url + "file.bin", tmp_path / "ok.bin").read_bytes() == PAYLOAD
    monkeypatch.setenv("SR_OFFLINE", "0")
    assert not downloads.offline()


def make_tar(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, payload, kind in members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            else:
                info.type = tarfile.SYMTYPE
                info.linkname = payload
                tar.addfile(info)
    return path


def test_safe_extract(tmp_path):
    archive = make_tar(tmp_path / "ok.tar.gz", [("top", b"", "dir"), ("top/a.txt", b"A", "file"),
                                                 ("top/sub/b.txt", b"BB", "file")])
    files = downloads.safe_extract(archive, tmp_path / "out")
    assert files == [tmp_path / "out" / "top" / "a.txt", tmp_path / "out" / "top" / "sub" / "b.txt"]
    assert (tmp_path / "out" / "top" / "sub" / "b.txt").read_bytes() == b"BB"


@pytest.mark.parametrize("member", [
    ("../escaped.txt", b"x", "file"),
    ("/tmp/absolute.txt", b"x", "file"),
    ("top/link", "/etc/passwd", "symlink"),
    ("top/../../escaped.txt", b"x", "file"),
    ("top/../inside.txt", b"x", "file"),  # no ".." at all, as for zip archives
])
def test_safe_extract_refuses_unsafe_members_before_writing(tmp_path, member):
    archive = make_tar(tmp_path / "bad.tar.gz", [("top/fine.txt", b"ok", "file"), member])
    with pytest.raises(ValueError, match="refusing to extract the member"):
        downloads.safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escaped.txt").exists()


def test_safe_extract_of_a_damaged_archive(tmp_path):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(ValueError, match="is not a readable tar archive"):
        downloads.safe_extract(bad, tmp_path / "out")


def make_zip(path, members):
    """A zip of ``(name, payload, kind)`` members: a file, a folder, or a symbolic link to ``payload``."""
    with zipfile.ZipFile(path, "w") as z:
        for name, payload, kind in members:
            if kind == "symlink":
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                z.writestr(info, payload)
            else:
                z.writestr(name, payload)
    return path


def test_safe_extract_zip(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", [("top/", b"", "dir"), ("top/a.png", b"A", "file"),
                                             ("top/sub/b.png", b"BB", "file")])
    files = downloads.safe_extract(archive, tmp_path / "out")
    assert files == [tmp_path / "out" / "top" / "a.png", tmp_path / "out" / "top" / "sub" / "b.png"]
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*")) == [
        "top", "top/a.png", "top/sub", "top/sub/b.png"]
    assert (tmp_path / "out" / "top" / "sub" / "b.png").read_bytes() == b"BB"


@pytest.mark.parametrize("member", [
    ("../evil.png", b"x", "file"),
    ("/tmp/absolute.png", b"x", "file"),
    ("top/../../evil.png", b"x", "file"),
    ("top/../evil.png", b"x", "file"),  # inside the target, but zipfile would write it elsewhere than named
    ("top/link", "/etc/passwd", "symlink"),
])
def test_safe_extract_zip_refuses_unsafe_members_before_writing(tmp_path, member):
    archive = make_zip(tmp_path / "bad.zip", [("top/fine.png", b"ok", "file"), member])
    with pytest.raises(ValueError, match=f"bad\\.zip: refusing to extract the member {re.escape(repr(member[0]))}"):
        downloads.safe_extract(archive, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.zip"]  # no out/, no evil.png beside it


def test_safe_extract_of_a_damaged_zip(tmp_path):
    archive = make_zip(tmp_path / "ok.zip", [("a.png", b"A" * 100, "file"), ("b.png", b"B" * 100, "file")])
    raw = archive.read_bytes()
    (tmp_path / "cut.zip").write_bytes(raw[:120])  # no central directory
    with pytest.raises(ValueError, match=r"cut\.zip is not a readable zip archive \(File is not a zip file\)"):
        downloads.safe_extract(tmp_path / "cut.zip", tmp_path / "out")
    (tmp_path / "flipped.zip").write_bytes(raw.replace(b"B" * 100, b"B" * 99 + b"C"))
    with pytest.raises(ValueError, match=r"flipped\.zip is not a readable zip archive "
                                         r"\(Bad CRC-32 for file 'b\.png'\): delete it and download again"):
        downloads.safe_extract(tmp_path / "flipped.zip", tmp_path / "out")


def test_the_suite_cannot_reach_the_internet(tmp_path, monkeypatch):
    # tests/conftest.py refuses every address but the loopback, even with downloads switched on
    monkeypatch.delenv("SR_OFFLINE", raising=False)
    with pytest.raises(OSError, match=r"could not download https://example\.org/x\.bin: .*only 127\.0\.0\.1 is allowed"):
        downloads.fetch("https://example.org/x.bin", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("host, local", [
    ("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True), ("[::1]", True), (b"127.0.0.1", True),
    ("127.evil.example", False), ("127.0.0.1.nip.io", False), ("example.org", False), ("10.0.0.1", False), (None, False),
])
def test_is_loopback(host, local):
    assert downloads.is_loopback(host) is local


def test_offline_refuses_names_that_only_look_local(tmp_path, monkeypatch):
    monkeypatch.setenv("SR_OFFLINE", "1")
    with pytest.raises(OSError, match="downloads are off"):
        downloads.fetch("http://127.0.0.1.nip.io/x.bin", tmp_path / "x.bin")


class _Broken:
    """A response without a length whose stream fails after one chunk."""

    def __init__(self, error):
        self.error, self.headers, self.calls = error, {}, 0

    def read(self, n=-1):
        self.calls += 1
        if self.calls == 1:
            return b"x" * 10
        raise self.error

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("error, kind, match", [
    (http.client.IncompleteRead(b"", 5), ValueError, r"was cut short after 10 bytes"),
    (ssl.SSLError("bad record mac"), OSError, r"broke off after 10 bytes \(SSLError"),
    (http.client.RemoteDisconnected("closed"), OSError, r"broke off after 10 bytes \(RemoteDisconnected"),
])
def test_stream_errors_get_clear_messages_and_leave_nothing(tmp_path, monkeypatch, error, kind, match):
    import urllib.request

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout=None: _Broken(error))
    with pytest.raises(kind, match=match):
        downloads.fetch("http://127.0.0.1:1/x.bin", tmp_path / "x.bin")
    assert list(tmp_path.iterdir()) == []


def test_attempt_runs_the_download_or_says_why_not(monkeypatch):
    tried = []
    monkeypatch.setenv("SR_OFFLINE", "1")
    assert downloads.attempt(True, "https://example.org/x.npz", lambda: 1 / 0, tried) is None
    assert tried == ["download: skipped (SR_OFFLINE=1, as under the test suite)"]  # fetch never ran
    monkeypatch.delenv("SR_OFFLINE")
    assert downloads.attempt(True, "http://127.0.0.1/x.npz", lambda: "arrays", tried) == "arrays"

    def broken():
        raise OSError("disk full")

    assert downloads.attempt(True, "http://127.0.0.1/x.npz", broken, tried, "load_x()") is None
    assert tried[-1] == "download: load_x() failed: OSError: disk full"
    assert downloads.attempt(False, "http://127.0.0.1/x.npz", broken, tried) is None
    assert tried[-1] == "download: skipped (download=False)"
