"""sr_utils.peers: finding OpenCV's dnn_superres weight files (temporary folders and a server on 127.0.0.1
holding fake files whose md5s are patched into ``PEER_FILES``), the errors without OpenCV, and, when
the real files (``<repo>/../shared/peers`` or ``$SR_DATA_DIR/../peers``) and OpenCV are there, each peer
upscaling a smooth picture."""

import dataclasses
import hashlib
import os
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import sr_utils
from sr_utils import data, degradation, peers


def real_peers_dir() -> Path | None:
    named = os.environ.get(data.DATA_DIR_ENV)
    folder = (Path(named) if named else Path(sr_utils.__file__).resolve().parents[1].parent / "shared" / "data").resolve()
    return folder.parent / "peers" if (folder.parent / "peers").is_dir() else None


REAL_PEERS = real_peers_dir()


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    for name in (data.DATA_DIR_ENV, peers.PEERS_DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SR_OFFLINE", "1")  # only 127.0.0.1 may be reached here


def fake(peer: peers.PeerFile) -> bytes:
    return f"not a graph: {peer.name} x{peer.scale}".encode()


@pytest.fixture
def site(http_server, monkeypatch):
    """The server holds a fake file for every peer; ``PEER_FILES`` points at them, with their md5s."""
    table = []
    for peer in peers.PEER_FILES:
        (http_server.root / peer.file).write_bytes(fake(peer))
        table.append(dataclasses.replace(peer, url=http_server.url + peer.file, md5=hashlib.md5(fake(peer)).hexdigest()))
    monkeypatch.setattr(peers, "PEER_FILES", tuple(table))
    return http_server


def put(folder: Path, name="FSRCNN", scale=2, content=None) -> Path:
    peer = peers.peer_file(name, scale)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / peer.file).write_bytes(fake(peer) if content is None else content)
    return folder / peer.file


def test_pinned_table_and_scales():
    assert len(peers.PEER_FILES) == 10 and len({p.file for p in peers.PEER_FILES}) == 10
    for p in peers.PEER_FILES:
        assert p.file == f"{p.name}_x{p.scale}.pb" and len(p.md5) == 32
        assert p.url.startswith("https://raw.githubusercontent.com/") and p.algorithm in ("fsrcnn", "espcn", "lapsrn")
    assert peers.peer_file("FSRCNN-small", 3).url == ("https://raw.githubusercontent.com/Saafke/FSRCNN_Tensorflow/"
                                                      "6a4812c4ef1c4f5947d79beafa32a05a6eb4a94d/models/FSRCNN-small_x3.pb")
    assert peers.peers_for_scale(2) == ["FSRCNN", "FSRCNN-small", "ESPCN", "LapSRN"]
    assert peers.peers_for_scale(3) == ["FSRCNN", "FSRCNN-small", "ESPCN"]
    assert peers.peers_for_scale(4) == ["FSRCNN", "ESPCN", "LapSRN"]
    with pytest.raises(ValueError, match=r"scale must be an integer >= 2, got 1"):
        peers.peers_for_scale(1)


def test_unknown_peer_or_scale_lists_what_exists():
    known = r"the OpenCV peers are FSRCNN \(x2, x3, x4\), FSRCNN-small \(x2, x3\), ESPCN \(x2, x3, x4\), LapSRN \(x2, x4\)\."
    with pytest.raises(ValueError, match=r"^LapSRN has no x3 model: " + known):
        peers.find_peer_file("LapSRN", 3)
    with pytest.raises(ValueError, match=r"^unknown peer 'EDSR': " + known):
        peers.OpenCVPeer("EDSR", 2)


def test_lookup_order(site, tmp_path, monkeypatch):
    found = lambda **kw: peers.find_peer_file("FSRCNN", 2, **kw)  # noqa: E731
    cached = put(data.keras_cache_dir() / "peers")
    assert found() == cached
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "shared" / "data"))
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert found() == cached
    side_by_side = put(tmp_path / "shared" / "peers")  # data/ and peers/ side by side
    assert found() == side_by_side
    inside = put(tmp_path / "shared" / "data" / "peers")
    assert found() == inside
    monkeypatch.setenv(peers.PEERS_DIR_ENV, str(tmp_path / "env"))
    (tmp_path / "env").mkdir()
    assert found() == inside  # an empty named folder: the next places are looked in
    from_env = put(tmp_path / "env")
    assert found() == from_env
    assert found(peers_dir=put(tmp_path / "arg").parent) == tmp_path / "arg" / "FSRCNN_x2.pb"
    assert site.requests == []


def test_bad_local_copies_and_folders(site, tmp_path, monkeypatch):
    monkeypatch.setenv(peers.PEERS_DIR_ENV, str(tmp_path / "env"))
    with pytest.raises(FileNotFoundError, match=r"environment variable SR_PEERS_DIR points to '.*env', which is not a "
                                                r"directory\. Point it at the folder that holds the \.pb files"):
        peers.find_peer_file("ESPCN", 3)
    with pytest.raises(FileNotFoundError, match=r"peers_dir argument points to '.*nowhere', which is not a directory"):
        peers.find_peer_file("ESPCN", 3, peers_dir=tmp_path / "nowhere")
    bad = put(tmp_path / "env", "ESPCN", 3, b"another file")
    with pytest.raises(ValueError, match=rf"{bad} has md5 [0-9a-f]{{32}}, expected [0-9a-f]{{32}}: a corrupt copy or "
                                         r"another version\. Delete it"):
        peers.find_peer_file("ESPCN", 3)
    assert site.requests == []


def test_download_into_the_cache(site):
    path = peers.find_peer_file("LapSRN", 4)
    assert path == data.keras_cache_dir() / "peers" / "LapSRN_x4.pb"
    assert path.read_bytes() == fake(peers.peer_file("LapSRN", 4))
    assert sorted(p.name for p in path.parent.iterdir()) == ["LapSRN_x4.pb"]
    assert peers.find_peer_file("LapSRN", 4) == path and site.requests == ["/LapSRN_x4.pb"]


def test_download_with_another_md5_leaves_nothing(site):
    (site.root / "FSRCNN_x3.pb").write_bytes(b"a changed file")
    with pytest.raises(FileNotFoundError) as e:
        peers.find_peer_file("FSRCNN", 3)
    msg = str(e.value)
    assert "download: http://127.0.0.1" in msg and "FSRCNN_x3.pb failed: ValueError:" in msg
    assert "FSRCNN_x3.pb has md5 " in msg and "the file is corrupt or not the pinned one" in msg
    assert not [p for p in data.keras_cache_dir().rglob("*") if p.is_file()]
    with pytest.raises(FileNotFoundError, match=r"download: skipped \(download=False\)"):
        peers.find_peer_file("FSRCNN", 3, download=False)


def test_offline_says_what_to_do():
    with pytest.raises(FileNotFoundError) as e:
        peers.find_peer_file("FSRCNN", 2)
    msg = str(e.value)
    assert msg.startswith("OpenCV's FSRCNN x2 weights (FSRCNN_x2.pb) could not be loaded. Tried, in order:")
    assert "local copy: SR_PEERS_DIR and SR_DATA_DIR are not set" in msg and "download: skipped (SR_OFFLINE=1" in msg
    assert "FSRCNN_x2.pb into a folder and set SR_PEERS_DIR to it" in msg


def test_without_opencv(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)  # import cv2 fails
    assert not peers.opencv_available()
    with pytest.raises(ModuleNotFoundError, match=r"OpenCV could not be imported .* Install it with "
                                                  r"`pip install opencv-contrib-python-headless`"):
        peers.OpenCVPeer("FSRCNN", 2)
    monkeypatch.setitem(sys.modules, "cv2", types.SimpleNamespace(__version__="4.13.0"))  # not the contrib build
    with pytest.raises(ModuleNotFoundError, match=r"OpenCV 4\.13\.0 has no dnn_superres module \(it is in the contrib "
                                                  r"build\): uninstall opencv-python"):
        peers.OpenCVPeer("FSRCNN", 2)


needs_opencv = pytest.mark.skipif(not peers.opencv_available(), reason="OpenCV with dnn_superres is not installed")
needs_real = pytest.mark.skipif(REAL_PEERS is None, reason="no real peers folder: provide <repo>/../shared/peers "
                                                           "or $SR_DATA_DIR/../peers")


@needs_opencv
def test_a_given_path_must_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"FSRCNN_x2\.pb does not exist: pass the path of FSRCNN_x2\.pb"):
        peers.OpenCVPeer("FSRCNN", 2, tmp_path / "FSRCNN_x2.pb")


def smooth_picture(h: int = 24, w: int = 20) -> np.ndarray:
    """A smooth ``(h, w, 3)`` uint8 RGB picture with a different pattern in each channel."""
    y, x = np.mgrid[0:h, 0:w] / np.array([h, w]).reshape(2, 1, 1)
    rgb = np.stack([0.2 + 0.6 * y, 0.3 + 0.5 * x, 0.5 + 0.3 * np.sin(4 * y + 3 * x)], axis=-1)
    return np.round(rgb * 255).astype(np.uint8)


@needs_opencv
@needs_real
@pytest.mark.parametrize("peer", peers.PEER_FILES, ids=lambda p: f"{p.name}_x{p.scale}")
def test_real_peers_upscale(peer, monkeypatch):
    monkeypatch.setenv(peers.PEERS_DIR_ENV, str(REAL_PEERS))
    model = peers.OpenCVPeer(peer.name, peer.scale)  # found there and checked against its md5
    assert model.path == REAL_PEERS / peer.file and model.name == f"OpenCV {peer.name} x{peer.scale}"
    lr = smooth_picture()
    sr = model(np.stack([lr, lr[::-1]]).astype(np.float32) / 255)
    assert sr.shape == (2, 24 * peer.scale, 20 * peer.scale, 3) and sr.dtype == np.float32
    assert 0 <= sr.min() and sr.max() <= 1
    np.testing.assert_array_equal(model(lr), sr[:1])  # one uint8 picture: a batch of one


@needs_opencv
@needs_real
def test_real_fsrcnn_keeps_the_colours():
    import cv2

    model = peers.OpenCVPeer("FSRCNN", 2, REAL_PEERS / "FSRCNN_x2.pb")
    lr = smooth_picture()
    sr = model(lr)
    assert np.abs(sr - degradation.interpolate(lr[None], 2)).mean() < 0.02  # close to bicubic on a smooth picture
    swapped = model(lr[..., ::-1])[..., ::-1]  # channels swapped in: swapped out (up to the Y-channel model)
    assert np.abs(swapped - sr).mean() < 0.01
    direct = cv2.dnn_superres.DnnSuperResImpl_create()  # OpenCV's documented use, on BGR
    direct.readModel(str(REAL_PEERS / "FSRCNN_x2.pb"))
    direct.setModel("fsrcnn", 2)
    bgr = direct.upsample(cv2.cvtColor(lr, cv2.COLOR_RGB2BGR))
    np.testing.assert_array_equal(sr[0], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB) / np.float32(255))


def test_peers_at_lists_the_runnable_peers_and_why_the_others_are_skipped(monkeypatch, tmp_path):
    monkeypatch.setattr(peers, "opencv_available", lambda: False)
    found, skipped = peers.peers_at(4)
    assert found == {} and list(skipped) == ["FSRCNN", "ESPCN", "LapSRN"] and "opencv-contrib-python-headless" in skipped["ESPCN"]
    monkeypatch.setattr(peers, "opencv_available", lambda: True)
    monkeypatch.setenv("SR_PEERS_DIR", str(tmp_path))
    monkeypatch.delenv("SR_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    found, skipped = peers.peers_at(3, download=False)
    assert found == {} and list(skipped) == ["FSRCNN", "FSRCNN-small", "ESPCN"]
    assert all("could not be loaded" in why for why in skipped.values())


@pytest.mark.skipif(REAL_PEERS is None or not peers.opencv_available(), reason="needs ../shared/peers and OpenCV's contrib build")
def test_peers_at_finds_every_real_peer(monkeypatch):
    monkeypatch.setenv(peers.PEERS_DIR_ENV, str(REAL_PEERS))
    found, skipped = peers.peers_at(2)
    assert list(found) == ["OpenCV FSRCNN x2", "OpenCV FSRCNN-small x2", "OpenCV ESPCN x2", "OpenCV LapSRN x2"] and skipped == {}
