"""Tests of the STL-10 loader (sr_utils.data.stl10), on tiny synthetic files (no network)."""

from __future__ import annotations

import hashlib
import io
import tarfile
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from sr_utils import data
from sr_utils.data import stl10

COUNTS = {"train": 4, "test": 3, "unlabeled": 6}
IMAGE_BYTES = 96 * 96 * 3


def make_images(n: int, seed: int = 0) -> np.ndarray:
    """Random HWC images with a marker at (row=1, col=5, channel=2) and another value at (5, 1, 2)."""
    x = np.random.default_rng(seed).integers(0, 256, size=(n, 96, 96, 3), dtype=np.uint8)
    x[:, 1, 5, 2] = 200 + np.arange(n)
    x[:, 5, 1, 2] = 7
    return x


def write_split(folder: Path, split: str, x: np.ndarray, y: np.ndarray | None = None) -> None:
    """Write images (and labels 1..10) in the STL-10 binary layout: 3x96x96, column-major."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}_X.bin").write_bytes(x.transpose(0, 3, 2, 1).tobytes())
    if y is not None:
        (folder / f"{split}_y.bin").write_bytes(np.asarray(y, dtype=np.uint8).tobytes())


def memmap_backed(a: np.ndarray) -> bool:
    while a is not None:
        if isinstance(a, np.memmap):
            return True
        a = a.base if isinstance(a, np.ndarray) else None
    return False


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """Tiny expected counts, a private Keras cache, no SR_DATA_DIR and a download URL that fails."""
    monkeypatch.setattr(stl10, "STL10_COUNTS", dict(COUNTS))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setattr(stl10, "STL10_URL", (tmp_path / "no_such_archive.tar.gz").as_uri())


@pytest.fixture
def cache() -> Path:
    return data.keras_cache_dir() / "stl10_binary"


# --------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------
def test_decode_follows_the_column_major_layout(tmp_path):
    # Byte layout of one image: channel, then column, then row (index c*96*96 + col*96 + row).
    raw = np.zeros(2 * IMAGE_BYTES, dtype=np.uint8)
    raw[IMAGE_BYTES + 2 * 96 * 96 + 5 * 96 + 1] = 99  # image 1, row 1, col 5, channel 2
    path = tmp_path / "x.bin"
    raw.tofile(path)
    x = stl10._read_stl10_images(path, 2)
    assert x.shape == (2, 96, 96, 3) and x.dtype == np.uint8
    assert x[1, 1, 5, 2] == 99
    assert x.sum() == 99  # nowhere else, in particular not at (row 5, col 1)


def test_train_images_and_labels_round_trip(tmp_path, monkeypatch):
    x_true, y_file = make_images(4), np.array([1, 10, 5, 3])
    write_split(tmp_path / "stl10_binary", "train", x_true, y_file)
    x, y = data.load_stl10("train", data_dir=tmp_path, download=False)
    assert x.shape == (4, 96, 96, 3) and x.dtype == np.uint8
    assert y.shape == (4,) and y.dtype == np.uint8
    np.testing.assert_array_equal(x, x_true)
    np.testing.assert_array_equal(x[:, 1, 5, 2], [200, 201, 202, 203])
    np.testing.assert_array_equal(x[:, 5, 1, 2], [7, 7, 7, 7])
    np.testing.assert_array_equal(y, [0, 9, 4, 2])
    assert not memmap_backed(x) and x.flags.c_contiguous


def test_test_split_with_limit(tmp_path):
    x_true = make_images(3, seed=1)
    write_split(tmp_path / "stl10_binary", "test", x_true, [2, 4, 6])
    x, y = data.load_stl10("test", data_dir=tmp_path, download=False, limit=2)
    np.testing.assert_array_equal(x, x_true[:2])
    np.testing.assert_array_equal(y, [1, 3])
    x_all, _ = data.load_stl10("test", data_dir=tmp_path, download=False, limit=100)
    assert len(x_all) == 3  # a limit above the split size keeps everything


def test_labels_outside_1_to_10_are_rejected(tmp_path):
    write_split(tmp_path / "stl10_binary", "train", make_images(4), [1, 2, 0, 3])
    with pytest.raises(ValueError, match=r"train_y\.bin.*1\.\.10"):
        data.load_stl10("train", data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------------------
# Unlabeled split: memory-mapped
# --------------------------------------------------------------------------------------
def test_unlabeled_is_a_read_only_memmap_view(tmp_path, monkeypatch):
    x_true = make_images(6, seed=2)
    write_split(tmp_path / "stl10_binary", "unlabeled", x_true)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    x = data.load_stl10("unlabeled", download=False)
    assert memmap_backed(x) and not memmap_backed(np.array(x))
    assert not x.flags.writeable
    assert x.shape == (6, 96, 96, 3) and x.dtype == np.uint8
    np.testing.assert_array_equal(x, x_true)

    first = data.load_stl10("unlabeled", download=False, limit=2)
    assert memmap_backed(first) and first.shape == (2, 96, 96, 3)
    np.testing.assert_array_equal(first, x_true[:2])
    np.testing.assert_array_equal(first[:, 1, 5, 2], [200, 201])


# --------------------------------------------------------------------------------------
# Lookup order
# --------------------------------------------------------------------------------------
def test_local_copy_wins_over_keras_cache(tmp_path, monkeypatch, cache):
    local = tmp_path / "local"
    write_split(local / "stl10_binary", "train", make_images(4, seed=3), [1, 1, 1, 1])
    write_split(cache, "train", make_images(4, seed=4), [2, 2, 2, 2])
    monkeypatch.setenv(data.DATA_DIR_ENV, str(local))
    x, y = data.load_stl10("train", download=False)
    np.testing.assert_array_equal(x, make_images(4, seed=3))
    np.testing.assert_array_equal(y, [0, 0, 0, 0])
    # the data_dir argument works the same way
    _, y = data.load_stl10("train", data_dir=local, download=False)
    np.testing.assert_array_equal(y, [0, 0, 0, 0])


def test_keras_cache_is_used_without_a_local_copy(tmp_path, monkeypatch, cache):
    write_split(cache, "train", make_images(4, seed=4), [2, 2, 2, 2])
    x, y = data.load_stl10("train", download=False)
    np.testing.assert_array_equal(x, make_images(4, seed=4))
    np.testing.assert_array_equal(y, [1, 1, 1, 1])
    # a local folder lacking the split falls through to the cache too
    (tmp_path / "empty" / "stl10_binary").mkdir(parents=True)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "empty"))
    _, y = data.load_stl10("train", download=False)
    np.testing.assert_array_equal(y, [1, 1, 1, 1])


def test_nothing_found_lists_what_was_tried(tmp_path, monkeypatch, cache):
    with pytest.raises(FileNotFoundError) as e:
        data.load_stl10("test", download=False)
    msg = str(e.value)
    assert f"{data.DATA_DIR_ENV} is not set" in msg
    assert str(cache) in msg and "test_X.bin" in msg
    assert "download=False" in msg
    assert stl10.STL10_URL in msg  # the fix names the archive to download by hand

    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError) as e:
        data.load_stl10("unlabeled", download=False)
    assert str(tmp_path / "stl10_binary") in str(e.value) and "unlabeled_X.bin" in str(e.value)


def test_failed_download_is_listed(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"download: .*failed"):
        data.load_stl10("train")  # STL10_URL points to a missing file (see the env fixture)
    assert not list(data.keras_cache_dir().glob("*.part"))


# --------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name, split", [("train_X.bin", "train"), ("train_y.bin", "train"),
                                         ("unlabeled_X.bin", "unlabeled")])
def test_truncated_file_names_file_and_expected_size(tmp_path, name, split):
    folder = tmp_path / "stl10_binary"
    write_split(folder, "train", make_images(4), [1, 2, 3, 4])
    write_split(folder, "unlabeled", make_images(6))
    path = folder / name
    path.write_bytes(path.read_bytes()[:-1])
    expected = COUNTS[split] * (1 if name.endswith("_y.bin") else IMAGE_BYTES)
    with pytest.raises(ValueError) as e:
        data.load_stl10(split, data_dir=tmp_path, download=False)
    msg = str(e.value)
    assert name in msg and f"has {expected - 1:,} bytes, expected {expected:,}" in msg


def test_bad_split_names_the_valid_ones():
    with pytest.raises(ValueError, match="train.*test.*unlabeled|test.*train.*unlabeled"):
        data.load_stl10("validation", download=False)


@pytest.mark.parametrize("limit", [0, -3, 1.5, "2", True])
def test_bad_limit(limit):
    with pytest.raises(ValueError, match="limit"):
        data.load_stl10("train", download=False, limit=limit)


# --------------------------------------------------------------------------------------
# download_stl10 with a tiny fake archive
# --------------------------------------------------------------------------------------
@pytest.fixture
def fake_archive(tmp_path, monkeypatch) -> Path:
    """A tiny stl10_binary.tar.gz; the module's URL, size and md5 are pointed at it."""
    src = tmp_path / "src"
    write_split(src / "stl10_binary", "train", make_images(4, seed=5), [3, 3, 9, 10])
    write_split(src / "stl10_binary", "unlabeled", make_images(6, seed=6))
    archive = tmp_path / "fake.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "stl10_binary", arcname="stl10_binary")
    monkeypatch.setattr(stl10, "STL10_URL", archive.as_uri())
    monkeypatch.setattr(stl10, "STL10_ARCHIVE_SIZE", archive.stat().st_size)
    monkeypatch.setattr(stl10, "STL10_MD5", hashlib.md5(archive.read_bytes()).hexdigest())
    return archive


def serve(monkeypatch, payload: bytes, fail_after: int | None = None):
    """Replace urllib's opener by one serving ``payload`` (optionally failing mid-stream)."""

    class Response(io.BytesIO):
        def read(self, n=-1):
            if fail_after is not None and self.tell() >= fail_after:
                raise ConnectionResetError("connection reset by peer")
            return super().read(n if fail_after is None else min(n, fail_after))

    opened = []

    def urlopen(url, timeout=None):
        opened.append(url)
        return Response(payload)

    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    return opened


def test_download_extracts_and_loads(tmp_path, fake_archive, cache):
    folder = data.download_stl10()  # real urllib on the file:// URL
    assert folder == cache and (folder / "train_X.bin").is_file()
    assert sorted(p.name for p in cache.parent.iterdir()) == ["stl10_binary"]  # no archive, no .part
    x, y = data.load_stl10("train", download=False)
    np.testing.assert_array_equal(x, make_images(4, seed=5))
    np.testing.assert_array_equal(y, [2, 2, 8, 9])


def test_load_downloads_when_nothing_is_present(tmp_path, monkeypatch, fake_archive, cache):
    opened = serve(monkeypatch, fake_archive.read_bytes())
    x = data.load_stl10("unlabeled", limit=3)
    assert opened == [stl10.STL10_URL]
    np.testing.assert_array_equal(x, make_images(6, seed=6)[:3])
    data.load_stl10("unlabeled")  # now found in the cache: no second download
    assert len(opened) == 1


def test_download_into_a_given_folder(tmp_path, monkeypatch, fake_archive):
    serve(monkeypatch, fake_archive.read_bytes())
    folder = data.download_stl10(tmp_path / "elsewhere")
    assert folder == tmp_path / "elsewhere" / "stl10_binary" and (folder / "unlabeled_X.bin").is_file()
    assert not data.keras_cache_dir().exists()


@pytest.mark.parametrize("break_it, match", [
    ("size", "expected"),
    ("md5", "md5"),
    ("truncated", "expected"),
])
def test_bad_download_leaves_nothing_behind(tmp_path, monkeypatch, fake_archive, break_it, match):
    payload = fake_archive.read_bytes()
    if break_it == "size":
        monkeypatch.setattr(stl10, "STL10_ARCHIVE_SIZE", len(payload) + 1)
    elif break_it == "md5":
        monkeypatch.setattr(stl10, "STL10_MD5", "0" * 32)
    else:
        payload = payload[: len(payload) // 2]
    serve(monkeypatch, payload)
    with pytest.raises(ValueError, match=match):
        data.download_stl10()
    assert list(data.keras_cache_dir().iterdir()) == []


def test_connection_error_leaves_nothing_behind(tmp_path, monkeypatch, fake_archive):
    serve(monkeypatch, fake_archive.read_bytes(), fail_after=100)
    with pytest.raises(OSError, match=r"broke off after 100 bytes \(ConnectionResetError: connection reset by peer\)"):
        data.download_stl10()
    assert list(data.keras_cache_dir().iterdir()) == []
    with pytest.raises(FileNotFoundError, match="ConnectionResetError"):
        data.load_stl10("train")  # load_stl10 reports the failed download among what it tried


def test_archive_escaping_the_cache_is_refused(tmp_path, monkeypatch):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    monkeypatch.setattr(stl10, "STL10_URL", evil.as_uri())
    monkeypatch.setattr(stl10, "STL10_ARCHIVE_SIZE", evil.stat().st_size)
    monkeypatch.setattr(stl10, "STL10_MD5", hashlib.md5(evil.read_bytes()).hexdigest())
    with pytest.raises((tarfile.TarError, ValueError)):
        data.download_stl10(tmp_path / "cache")
    assert not (tmp_path / "escaped.txt").exists()
    assert not (tmp_path / "cache" / "stl10_binary.tar.gz").exists()
