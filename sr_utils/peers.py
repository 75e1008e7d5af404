"""OpenCV's ``dnn_superres`` models (FSRCNN, FSRCNN-small, ESPCN, LapSRN): the peers users compare with.

The weight files (TensorFlow graphs, ``.pb``, Apache-2.0) are those OpenCV's documentation points
to, pinned by commit with their md5s in ``PEER_FILES``. ``find_peer_file`` looks for one in
``peers_dir`` / ``$SR_PEERS_DIR``, then ``$SR_DATA_DIR/peers`` and ``$SR_DATA_DIR/../peers``, then
the Keras cache's ``peers/``, and else downloads it there. ``OpenCVPeer("FSRCNN", 2)(lr)`` upscales
like a model. OpenCV is optional (``pip install opencv-contrib-python-headless``;
``opencv_available`` says whether it is there). The models work on the Y channel and were trained
on another degradation than ours: compare them on the same LR images, per degradation.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import downloads
from .data.benchmarks import check_md5
from .data.locations import keras_cache_dir, local_data_dir, not_found
from .data.photos import GITHUB
from .images import check_int, to_float, to_uint8

PEERS_DIR_ENV = "SR_PEERS_DIR"
OPENCV_FIX = "pip install opencv-contrib-python-headless"


@dataclass(frozen=True)
class PeerFile:
    """One weight file of a peer.

    Attributes:
        name: the peer (``"FSRCNN"``, ``"FSRCNN-small"``, ``"ESPCN"``, ``"LapSRN"``).
        scale: its upscaling factor.
        algorithm: the name ``DnnSuperResImpl.setModel`` takes (``"fsrcnn"``, ``"espcn"``, ``"lapsrn"``).
        url: the raw file at its pinned commit; ``file`` is its name (``"FSRCNN_x2.pb"``).
        md5: hex digest of the file.
    """

    name: str
    scale: int
    algorithm: str
    url: str
    md5: str

    @property
    def file(self) -> str:
        return self.url.rsplit("/", 1)[1]


_FSRCNN = f"{GITHUB}/Saafke/FSRCNN_Tensorflow/6a4812c4ef1c4f5947d79beafa32a05a6eb4a94d/models"
_ESPCN = f"{GITHUB}/fannymonori/TF-ESPCN/5c628eca82028161a53e1265cc3a5b571ab8625f/export"
_LAPSRN = f"{GITHUB}/fannymonori/TF-LapSRN/fc51c90af1b5801a357abc919160d7ff4f24b997/export"
PEER_FILES = (
    PeerFile("FSRCNN", 2, "fsrcnn", f"{_FSRCNN}/FSRCNN_x2.pb", "3108a8fa4c6ea8a914c1449fcc087d7a"),
    PeerFile("FSRCNN", 3, "fsrcnn", f"{_FSRCNN}/FSRCNN_x3.pb", "62d6ffe989ab71da2be8096198143f7b"),
    PeerFile("FSRCNN", 4, "fsrcnn", f"{_FSRCNN}/FSRCNN_x4.pb", "3fe7ca3119e7eddb1a0effcf40987b63"),
    PeerFile("FSRCNN-small", 2, "fsrcnn", f"{_FSRCNN}/FSRCNN-small_x2.pb", "4e3c894c83aaf791ffbb054b859d9670"),
    PeerFile("FSRCNN-small", 3, "fsrcnn", f"{_FSRCNN}/FSRCNN-small_x3.pb", "8ca901ebf7527464867a37b5f3ea27f6"),
    PeerFile("ESPCN", 2, "espcn", f"{_ESPCN}/ESPCN_x2.pb", "8ef77ecd2768495793aff700fed16803"),
    PeerFile("ESPCN", 3, "espcn", f"{_ESPCN}/ESPCN_x3.pb", "eb9ebf1ebc8d2c2889db5264c23888b3"),
    PeerFile("ESPCN", 4, "espcn", f"{_ESPCN}/ESPCN_x4.pb", "329b4555b1b782d143d2f54fa23e1a67"),
    PeerFile("LapSRN", 2, "lapsrn", f"{_LAPSRN}/LapSRN_x2.pb", "dc03877e8e003516a9372a5fed467a90"),
    PeerFile("LapSRN", 4, "lapsrn", f"{_LAPSRN}/LapSRN_x4.pb", "ca91f69ed47c6c37b8ff1a33add3c7b2"),
)


def peer_file(name: str, scale: int) -> PeerFile:
    """The pinned weight file of the peer ``name`` at ``scale``.

    Raises:
        ValueError: an unknown peer, or a scale it has no model for; the message lists what exists.
    """
    for peer in PEER_FILES:
        if peer.name == name and peer.scale == scale:
            return peer
    names = list(dict.fromkeys(p.name for p in PEER_FILES))
    known = ", ".join(f"{n} ({', '.join(f'x{p.scale}' for p in PEER_FILES if p.name == n)})" for n in names)
    problem = f"{name} has no x{scale} model" if name in names else f"unknown peer {name!r}"
    raise ValueError(f"{problem}: the OpenCV peers are {known}.")


def peers_for_scale(scale: int) -> list[str]:
    """The names of the peers with a model for ``scale`` (an integer >= 2), in ``PEER_FILES`` order."""
    scale = check_int(scale, "scale", 2)
    return [p.name for p in PEER_FILES if p.scale == scale]


def find_peer_file(name: str, scale: int, peers_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The ``.pb`` file of the peer ``name`` at ``scale``, checked against its md5.

    Looks in ``peers_dir`` (default ``$SR_PEERS_DIR``), then ``$SR_DATA_DIR/peers`` and
    ``$SR_DATA_DIR/../peers`` (data/ and peers/ side by side), then the Keras cache's ``peers/``;
    else downloads the file there unless ``download=False``.

    Raises:
        ValueError: an unknown peer or scale, or a local copy with another md5 (named, with the fix).
        FileNotFoundError: ``peers_dir`` / ``$SR_PEERS_DIR`` is not a folder; or no source worked:
            the message lists what was tried and the fix.
    """
    peer = peer_file(name, scale)
    source, named = "peers_dir argument", peers_dir
    if named is None:
        source, named = f"environment variable {PEERS_DIR_ENV}", os.environ.get(PEERS_DIR_ENV) or None
    folders = [] if named is None else [Path(named).expanduser()]
    if folders and not folders[0].is_dir():
        raise FileNotFoundError(f"{source} points to {str(folders[0])!r}, which is not a directory. Point it at "
                                f"the folder that holds the .pb files (e.g. {peer.file}), or unset it.")
    data = local_data_dir()
    folders += [] if data is None else [data / "peers", data.resolve().parent / "peers"]
    tried = [] if folders else [f"local copy: {PEERS_DIR_ENV} and SR_DATA_DIR are not set"]
    cache = keras_cache_dir() / "peers"
    for path in [folder / peer.file for folder in folders + [cache]]:
        if path.is_file():
            check_md5(path, peer.md5)
            return path
        tried.append(f"{path} does not exist")
    path = downloads.attempt(download, peer.url, lambda: downloads.fetch(peer.url, cache / peer.file, md5=peer.md5),
                             tried)
    if path is not None:
        return path
    raise not_found(f"OpenCV's {name} x{scale} weights ({peer.file})", tried,
                    f"run once with internet access (the file goes to {cache}), or download {peer.url} "
                    f"into a folder and set {PEERS_DIR_ENV} to it.")


def _dnn_superres():
    """OpenCV's ``cv2.dnn_superres`` module.

    Raises:
        ModuleNotFoundError: OpenCV, or its contrib module ``dnn_superres``, is missing; the
            message gives the fix.
    """
    try:
        import cv2
    except ImportError as e:
        raise ModuleNotFoundError(f"OpenCV could not be imported ({e}); the peers run in its contrib module "
                                  f"dnn_superres. Install it with `{OPENCV_FIX}`.") from None
    if not hasattr(cv2, "dnn_superres"):
        raise ModuleNotFoundError(f"OpenCV {cv2.__version__} has no dnn_superres module (it is in the contrib "
                                  f"build): uninstall opencv-python and opencv-python-headless, then `{OPENCV_FIX}`.")
    return cv2.dnn_superres


def opencv_available() -> bool:
    """Whether OpenCV with its ``dnn_superres`` module can be imported (the peers can run)."""
    try:
        _dnn_superres()
    except ModuleNotFoundError:
        return False
    return True


class OpenCVPeer:
    """One OpenCV ``dnn_superres`` model as an upscaler: ``OpenCVPeer("FSRCNN", 2)(lr)``.

    Args:
        name: a peer of ``PEER_FILES`` (``"FSRCNN"``, ``"FSRCNN-small"``, ``"ESPCN"``, ``"LapSRN"``).
        scale: its factor (``peers_for_scale`` lists the peers of a scale).
        path: its ``.pb`` file; default ``find_peer_file(name, scale)`` (a local copy, else a download).

    Attributes:
        name: for tables and plots, e.g. ``"OpenCV FSRCNN x2"``.
        scale, path, peer (its ``PeerFile``).

    Raises:
        ValueError: an unknown peer or scale. ModuleNotFoundError: OpenCV's contrib build is
        missing. FileNotFoundError: no such ``path``, or no weight file found (``find_peer_file``).
    """

    def __init__(self, name: str, scale: int, path: str | os.PathLike | None = None):
        self.peer = peer_file(name, scale)
        _dnn_superres()  # before any download: say now that OpenCV is missing
        self.path = find_peer_file(name, scale) if path is None else Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"{self.path} does not exist: pass the path of {self.peer.file}, "
                                    "or no path to find or download it.")
        self.name, self.scale = f"OpenCV {name} x{scale}", scale
        self._model = None  # the DnnSuperResImpl, created on first use

    def __call__(self, images) -> np.ndarray:
        """Upscale LR images.

        Args:
            images: ``(N, h, w, 3)`` RGB, float in [0, 1] or uint8 in [0, 255]; or one ``(h, w, 3)``
                image (then N = 1). Float input is rounded to uint8 first: the models read 8-bit images.

        Returns:
            ``(N, h * scale, w * scale, 3)`` float32 RGB in [0, 1] (multiples of 1/255).
        """
        x = np.asarray(images)
        lr = to_uint8(to_float(x[None] if x.ndim == 3 else x, "images"))
        if self._model is None:
            self._model = _dnn_superres().DnnSuperResImpl_create()
            self._model.readModel(str(self.path))
            self._model.setModel(self.peer.algorithm, self.scale)
        sr = np.stack([self._model.upsample(np.ascontiguousarray(im[..., ::-1]))[..., ::-1] for im in lr])  # OpenCV is BGR
        return sr.astype(np.float32) / np.float32(255)


def peers_at(scale: int, download: bool = True) -> tuple[dict[str, OpenCVPeer], dict[str, str]]:
    """Every peer with a model for ``scale`` that can run here, and why the others cannot.

    Returns:
        ``(peers, skipped)``: ``peer.name`` (``"OpenCV FSRCNN x2"``) -> ``OpenCVPeer``, and peer name
        -> the first line of the reason it is skipped (OpenCV missing, no weight file and no download).
    """
    if not opencv_available():
        return {}, {name: f"OpenCV's contrib build is missing ({OPENCV_FIX})" for name in peers_for_scale(scale)}
    found, skipped = {}, {}
    for name in peers_for_scale(scale):
        try:
            peer = OpenCVPeer(name, scale, find_peer_file(name, scale, download=download))
            found[peer.name] = peer
        except (FileNotFoundError, ValueError) as e:
            skipped[name] = str(e).splitlines()[0]
    return found, skipped
