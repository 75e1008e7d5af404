"""Checks on the real data folder (``$SR_DATA_DIR``, else ``<repo>/../shared/data``); skipped
when it is absent. Reference numbers come from the folder's README and from the field's
bicubic baselines, not from this code's own output."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path

import numpy as np
import pytest

import sr_utils
from sr_utils import data, degradation, evaluation, metrics
from sr_utils.data import photos, stl10
from sr_utils.data.natural96 import build_natural96


def real_data_dir() -> Path | None:
    named = os.environ.get(data.DATA_DIR_ENV)
    folder = Path(named) if named else Path(sr_utils.__file__).resolve().parents[1].parent / "shared" / "data"
    return folder if folder.is_dir() else None


DATA = real_data_dir()
if DATA is None:
    pytest.skip("no real data folder: set SR_DATA_DIR or provide <repo>/../shared/data", allow_module_level=True)


def need(name: str) -> Path:
    path = DATA / name
    if not path.is_file():
        pytest.skip(f"{path} is not there")
    return path


@pytest.fixture(scope="module")
def cifar():
    need("cifar10.npz")
    return data.load_cifar10(data_dir=DATA, download=False)


@pytest.fixture(scope="module")
def natural96():
    need("natural96.npz")
    return data.load_natural96(DATA)


def test_cifar10_partial_copy(cifar):
    (x_train, y_train), (x_test, y_test) = cifar
    assert x_train.shape == (5170, 32, 32, 3) and x_test.shape == (1017, 32, 32, 3)
    assert x_train.dtype == np.uint8 and x_test.dtype == np.uint8
    assert y_train.shape == (5170, 1) and y_test.shape == (1017, 1)
    assert y_train.min() == 0 and y_train.max() == 9 and y_test.min() == 0 and y_test.max() == 9
    # figures from shared/data/README.md (official order and per-class counts)
    np.testing.assert_array_equal(y_train[:10, 0], [6, 9, 9, 4, 1, 1, 2, 7, 8, 3])
    np.testing.assert_array_equal(y_test[:10, 0], [3, 8, 8, 0, 6, 6, 1, 6, 3, 1])
    np.testing.assert_array_equal(np.bincount(y_train[:, 0]), [521, 534, 497, 505, 540, 484, 515, 524, 537, 513])
    np.testing.assert_array_equal(np.bincount(y_test[:, 0]), [105, 93, 100, 104, 92, 87, 114, 102, 110, 110])
    assert 110 < x_train.mean() < 132 and 55 < x_train.std() < 73  # README: mean about 121, std about 64


def test_cifar10_bicubic_x2_baseline(cifar):
    _, (x_test, _) = cifar
    sr = degradation.interpolate(degradation.downscale(x_test, 2, antialias=False), 2, "bicubic")
    psnr = metrics.evaluate(sr, x_test, mode="rgb")["psnr"]
    assert psnr.shape == (1017,)
    print(f"CIFAR-10 test, TF bicubic x2 (no antialias), mean RGB PSNR: {psnr.mean():.3f} dB")
    assert 26.5 < psnr.mean() < 27.1  # reference value about 26.8 dB


def test_natural96_shapes(natural96):
    x_train, x_val = natural96
    assert x_train.shape == (2523, 96, 96, 3) and x_val.shape == (272, 96, 96, 3)
    assert x_train.dtype == np.uint8 and x_val.dtype == np.uint8


def test_stl10_subset_shape():
    need("stl10_subset.npz")
    x = data.load_stl10_subset(DATA)
    assert x.shape == (256, 96, 96, 3) and x.dtype == np.uint8


def bicubic_y_psnr(hr: np.ndarray, scale: int, antialias: bool) -> np.ndarray:
    lr = degradation.downscale(hr, scale, antialias=antialias)
    return metrics.evaluate(degradation.interpolate(lr, scale, "bicubic"), hr, mode="y", scale=scale)["psnr"]


def test_antialias_degradation_changes_the_bicubic_baseline(natural96):
    # At x3 TF's non-antialiased bicubic samples each LR pixel exactly on an HR pixel centre (a
    # point sample: pure aliasing, which bicubic cannot undo), so the antialiased (MATLAB
    # imresize) degradation is clearly easier to invert. At x2 the LR centres fall between
    # pixels and the unwidened kernel is itself a gentle low-pass, [-1, 9, 9, -1] / 16: it
    # removes less detail than the widened antialiasing kernel, so bicubic recovers more.
    _, x_val = natural96
    x2 = {aa: bicubic_y_psnr(x_val, 2, aa).mean() for aa in (False, True)}
    x3 = {aa: bicubic_y_psnr(x_val, 3, aa).mean() for aa in (False, True)}
    print(f"natural96 x_val bicubic Y-PSNR x2: antialias {x2[True]:.3f} dB, none {x2[False]:.3f} dB; "
          f"x3: antialias {x3[True]:.3f} dB, none {x3[False]:.3f} dB")
    assert x3[True] > x3[False] + 0.5
    assert x2[False] > x2[True] + 0.2
    assert all(25 < v < 40 for v in (*x2.values(), *x3.values()))


def test_benchmark_protocol_bicubic_behaves_like_the_published_bicubic_rows():
    """BSD100 bicubic in published tables: x2 29.56 dB / 0.8431, x3 27.21 dB / 0.7385. Our crops
    are other natural photos (T91 / BSDS, not BSD100), so PSNR may differ by an image-set offset,
    but SSIM, the x2-x3 gap and the order of the interpolations should match."""
    need("natural96.npz")
    _, x_val = data.load_natural96(DATA)
    x2, x3 = (evaluation.score({}, x_val[:100], s, protocols=("benchmark",), antialias=True, baselines=("bicubic", "nearest")) for s in (2, 3))
    assert 28.5 < x2.mean("bicubic", "benchmark") < 32.5
    assert abs(x2.mean("bicubic", "benchmark", "ssim") - 0.8431) < 0.03 and abs(x3.mean("bicubic", "benchmark", "ssim") - 0.7385) < 0.03
    assert 1.5 < x2.mean("bicubic", "benchmark") - x3.mean("bicubic", "benchmark") < 3.2   # published gap: 2.35 dB
    assert x2.mean("nearest", "benchmark") < x2.mean("bicubic", "benchmark") - 1.0


def test_sr_train_photos_split_by_photo():
    if not (DATA / "sr_train").is_dir():
        pytest.skip(f"{DATA / 'sr_train'} is not there")
    need("natural96.npz")
    train, train_names = data.load_sr_images("train", data_dir=DATA, download=False)
    val, val_names = data.load_sr_images("val", data_dir=DATA, download=False)
    # README: 91 T91 + 200 + 200 BSDS photos; natural96's validation crops come from 46 whole photos
    assert len(train) + len(val) == 491 and len(val) == 46
    assert not set(train_names) & set(val_names)
    with np.load(DATA / "natural96.npz") as d:
        assert set(val_names) == set(d["val_source"].tolist())
        assert set(d["source"].tolist()) <= set(train_names)
    sides = [s for im in train + val for s in im.shape[:2]]
    assert min(sides) >= 78 and max(sides) <= 508   # README: 78-508 px per side
    assert all(im.dtype == np.uint8 and im.shape[2] == 3 for im in train + val)


def test_cifar10_committed_subset_is_the_partial_copy(cifar):
    need("cifar10.npz")
    with np.load(DATA / "cifar10.npz") as d:
        train, test = data.cifar10_committed_index()
        np.testing.assert_array_equal(d["train_index"], train)  # the committed index is the file's
        np.testing.assert_array_equal(d["test_index"], test)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(data_dir=DATA, download=False, subset="committed")
    (a, ya), (b, yb) = cifar
    for got, want in ((x_train, a), (y_train, ya), (x_test, b), (y_test, yb)):
        np.testing.assert_array_equal(got, want)


def test_natural96_rebuilds_byte_for_byte_from_the_photos(natural96):
    if not (DATA / "sr_train").is_dir():
        pytest.skip(f"{DATA / 'sr_train'} is not there")
    rebuilt = build_natural96(DATA / "sr_train")
    with np.load(DATA / "natural96.npz") as d:
        assert sorted(rebuilt) == sorted(d.files)
        for key in d.files:
            assert rebuilt[key].dtype == d[key].dtype, key
            np.testing.assert_array_equal(rebuilt[key], d[key])


def test_sr_train_matches_the_committed_manifest():
    if not (DATA / "sr_train").is_dir():
        pytest.skip(f"{DATA / 'sr_train'} is not there")
    import hashlib

    rows = photos.read_manifest()
    assert len(rows) == 491
    for name, digest in rows:
        path = photos.photo_path(DATA / "sr_train", name)
        source = photos.SR_TRAIN_SOURCES[name.split("/")[0]]
        actual = (hashlib.sha256(path.read_bytes()).hexdigest() if source.checksum == "file"
                  else photos.pixel_sha256(photos.read_photo(path)))
        assert actual == digest, name


def test_stl10_subset_matches_the_committed_manifest():
    import csv

    need("stl10_subset.npz")
    with open(stl10.STL10_SUBSET_MANIFEST, newline="") as f:
        rows = list(csv.DictReader(f))
    with np.load(DATA / "stl10_subset.npz") as d:
        assert [r["source"] for r in rows] == d["source"].tolist()
        assert [r["sha256"] for r in rows] == [photos.pixel_sha256(x) for x in d["x"]]


def test_real_manifests_download_end_to_end_from_a_local_mirror(http_server, tmp_path, monkeypatch):
    """The real manifests, URLs and crop index, served from 127.0.0.1: the T91 photos as BMPs (as
    published), the BSDS JPEGs byte for byte, the STL-10 pictures as PNGs; what comes out must be
    the data folder's sr_train/, natural96.npz and stl10_subset.npz."""
    if not (DATA / "sr_train").is_dir():
        pytest.skip(f"{DATA / 'sr_train'} is not there")
    need("natural96.npz")
    need("stl10_subset.npz")
    from PIL import Image

    github = "https://raw.githubusercontent.com/"
    for name, _ in photos.read_manifest():
        source = photos.SR_TRAIN_SOURCES[name.split("/")[0]]
        served = http_server.root / (source.url[len(github):] + name.split("/")[1] + source.remote_suffix)
        served.parent.mkdir(parents=True, exist_ok=True)
        local = photos.photo_path(DATA / "sr_train", name)
        if source.remote_suffix == source.local_suffix:
            served.write_bytes(local.read_bytes())
        else:
            Image.open(local).save(served)  # PNG -> BMP, the published format
    with np.load(DATA / "stl10_subset.npz") as d:
        for source, x in zip(d["source"], d["x"]):
            url = stl10._subset_url(str(source), http_server.url)
            served = http_server.root / urllib.parse.unquote(url[len(http_server.url):])
            served.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(x).save(served)
        subset_x = d["x"]
    mirror = {p: photos.PhotoSource(s.folder, http_server.url + s.url[len(github):], s.remote_suffix,
                                    s.local_suffix, s.checksum) for p, s in photos.SR_TRAIN_SOURCES.items()}
    monkeypatch.setattr(photos, "SR_TRAIN_SOURCES", mirror)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.setenv("SR_OFFLINE", "1")  # 127.0.0.1 only

    (tmp_path / "empty").mkdir()
    x_train, x_val = data.load_natural96(tmp_path / "empty", download=True)  # downloads sr_train, then cuts
    with np.load(DATA / "natural96.npz") as d:
        np.testing.assert_array_equal(x_train, d["x_train"])
        np.testing.assert_array_equal(x_val, d["x_val"])
    cache = data.keras_cache_dir()
    assert len(http_server.requests) == 491
    for name, _ in photos.read_manifest():
        if not name.startswith("T91/"):
            assert photos.photo_path(cache / "sr_train", name).read_bytes() == \
                photos.photo_path(DATA / "sr_train", name).read_bytes()
    path = stl10.download_stl10_subset(base_url=http_server.url, progress=False)
    with np.load(path) as d:
        np.testing.assert_array_equal(d["x"], subset_x)
    assert sorted(p.name for p in cache.iterdir()) == ["natural96.npz", "sr_train", "stl10_subset.npz"]
