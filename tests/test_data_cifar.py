"""Tests of the CIFAR-10 and local-file loaders and the splits in the sr_utils.data package, on tiny
synthetic files in the real formats (no network)."""

from __future__ import annotations

import io
import os
import pickle
import re
import struct
from pathlib import Path

import keras
import numpy as np
import pytest

from sr_utils import data
from sr_utils.data import cifar10, natural96, stl10


def make_images(n: int, size: int = 32, seed: int = 0) -> np.ndarray:
    """Random HWC images with a marker at (row=1, col=5, channel=2) and another value at (5, 1, 2)."""
    x = np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)
    x[:, 1, 5, 2] = 200 + np.arange(n)
    x[:, 5, 1, 2] = 7
    return x


class Py2Pickler(pickle._Pickler):
    """Writes protocol-2 pickles as Python 2's cPickle did for the official CIFAR-10 batches:
    ``str`` and ``bytes`` both as (SHORT_)BINSTRING, which ``encoding="bytes"`` reads as bytes."""

    dispatch = pickle._Pickler.dispatch.copy()

    def save_bytes(self, obj):
        n = len(obj)
        if n < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([n]) + obj)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", n) + obj)
        self.memoize(obj)

    def save_str(self, obj):
        self.save_bytes(obj.encode("latin1"))

    dispatch[bytes] = save_bytes
    dispatch[str] = save_str


def py2_pickle(obj, numpy_module: str = "numpy.core.multiarray") -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    raw = buf.getvalue()
    # the official files name numpy's old module path; NumPy 2 writes numpy._core
    return raw.replace(b"cnumpy._core.multiarray\n", f"c{numpy_module}\n".encode())


def batch_dict(x: np.ndarray, labels, label: str = "training batch 1 of 5") -> dict:
    """A CIFAR batch: ``data`` (N, 3072) uint8, row-major R, G and B planes of 32x32."""
    return {
        b"batch_label": label.encode(),
        b"labels": [int(v) for v in labels],
        b"data": np.ascontiguousarray(x.transpose(0, 3, 1, 2).reshape(len(x), 3072)),
        b"filenames": [f"img_{i}.png".encode() for i in range(len(x))],
    }


def write_batches(folder: Path, train: list[np.ndarray], test: np.ndarray, **kw) -> None:
    """data_batch_1..5 (one array each) and test_batch; labels i % 10."""
    folder.mkdir(parents=True, exist_ok=True)
    for k, x in enumerate(train, start=1):
        (folder / f"data_batch_{k}").write_bytes(py2_pickle(batch_dict(x, np.arange(len(x)) % 10 + k - 1), **kw))
    (folder / "test_batch").write_bytes(py2_pickle(batch_dict(test, np.arange(len(test)) % 10, "testing batch 1 of 1"), **kw))


def write_npz(path: Path, n_train: int = 5, n_test: int = 3, seed: int = 0, **overrides) -> dict:
    arrays = {
        "x_train": make_images(n_train, seed=seed),
        "y_train": np.arange(n_train) % 10,
        "x_test": make_images(n_test, seed=seed + 1),
        "y_test": (np.arange(n_test) + 3) % 10,
    }
    arrays.update(overrides)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    """A private Keras cache, no SR_DATA_DIR, and a CIFAR-10 download that fails (and is counted)."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    calls = []

    def no_download():
        calls.append(1)
        raise OSError("no network in tests")

    monkeypatch.setattr(keras.datasets.cifar10, "load_data", no_download)
    return calls


@pytest.fixture
def online(monkeypatch):
    """Downloads allowed: only for tests whose download is a stand-in (keras' load_data above)."""
    monkeypatch.delenv("SR_OFFLINE", raising=False)


@pytest.fixture
def keras3_cache() -> Path:
    return data.keras_cache_dir() / "cifar-10-batches-py-target" / "cifar-10-batches-py"


@pytest.fixture
def keras2_cache() -> Path:
    return data.keras_cache_dir() / "cifar-10-batches-py"


def some_batches(seed: int = 0):
    train = [make_images(n, seed=seed + k) for k, n in enumerate([4, 3, 2, 2, 1])]
    return train, make_images(3, seed=seed + 10)


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------
def test_keras_cache_dir(tmp_path, monkeypatch):
    assert data.keras_cache_dir() == tmp_path / "keras_home" / "datasets"
    monkeypatch.delenv("KERAS_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.keras_cache_dir() == tmp_path / "home" / ".keras" / "datasets"
    monkeypatch.setenv("KERAS_HOME", "")  # empty counts as unset
    assert data.keras_cache_dir() == tmp_path / "home" / ".keras" / "datasets"


def test_cifar10_cache_candidates_keras3_then_keras2(keras3_cache, keras2_cache):
    assert data.cifar10_cache_candidates() == [keras3_cache, keras2_cache]


def test_local_data_dir(tmp_path, monkeypatch):
    assert data.local_data_dir() is None
    monkeypatch.setenv(data.DATA_DIR_ENV, "")
    assert data.local_data_dir() is None  # empty counts as unset
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "a"))
    assert data.local_data_dir() == tmp_path / "a"
    assert data.local_data_dir(tmp_path / "b") == tmp_path / "b"  # the argument wins


def test_local_data_dir_missing_folder(tmp_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "nope"))
    with pytest.raises(FileNotFoundError, match=r"environment variable SR_DATA_DIR points to .*nope.*not a directory"):
        data.local_data_dir()
    with pytest.raises(FileNotFoundError, match=r"data_dir argument points to .*gone.*not a directory"):
        data.local_data_dir(tmp_path / "gone")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileNotFoundError, match=r"not a directory"):
        data.local_data_dir(tmp_path / "file")


# --------------------------------------------------------------------------------------
# CIFAR-10 from an .npz
# --------------------------------------------------------------------------------------
def test_npz_round_trip(tmp_path):
    arrays = write_npz(tmp_path / "cifar10.npz")
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(data_dir=tmp_path, download=False)
    np.testing.assert_array_equal(x_train, arrays["x_train"])
    np.testing.assert_array_equal(x_test, arrays["x_test"])
    assert x_train.dtype == np.uint8 and x_train.shape == (5, 32, 32, 3)
    assert y_train.shape == (5, 1) and y_train.dtype == np.uint8  # the Keras layout
    np.testing.assert_array_equal(y_train[:, 0], [0, 1, 2, 3, 4])
    np.testing.assert_array_equal(y_test[:, 0], [3, 4, 5])


def test_npz_from_sr_data_dir(tmp_path, monkeypatch, env):
    write_npz(tmp_path / "local" / "cifar10.npz", y_train=np.arange(5).reshape(5, 1))  # (N, 1) labels work too
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "local"))
    (x_train, y_train), _ = data.load_cifar10()
    assert y_train.shape == (5, 1) and x_train.shape == (5, 32, 32, 3)
    assert env == []  # no download attempted


def test_npz_wins_over_the_cache(tmp_path, monkeypatch, keras3_cache, keras2_cache):
    arrays = write_npz(tmp_path / "local" / "cifar10.npz", seed=5)
    write_batches(keras3_cache, *some_batches(seed=20))
    write_batches(keras2_cache, *some_batches(seed=30))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "local"))
    (x_train, _), _ = data.load_cifar10()
    np.testing.assert_array_equal(x_train, arrays["x_train"])


@pytest.mark.parametrize("drop", ["x_train", "y_test"])
def test_npz_missing_arrays(tmp_path, drop):
    write_npz(tmp_path / "cifar10.npz", **{drop: None})
    with pytest.raises(ValueError, match=rf"cifar10\.npz lacks the arrays \['{drop}'\]"):
        data.load_cifar10(data_dir=tmp_path, download=False)


@pytest.mark.parametrize("override, name", [
    ({"x_train": np.zeros((5, 28, 28, 3), np.uint8)}, "x_train"),
    ({"x_test": np.zeros((3, 32, 32), np.uint8)}, "x_test"),
    ({"x_train": np.zeros((5, 32, 32, 3), np.float32)}, "x_train"),
    ({"x_test": np.zeros((3, 3, 32, 32), np.uint8)}, "x_test"),  # channels first
])
def test_npz_wrong_shape_or_dtype(tmp_path, override, name):
    write_npz(tmp_path / "cifar10.npz", **override)
    with pytest.raises(ValueError, match=rf"cifar10\.npz: {name}: expected uint8 images of shape \(N, 32, 32, 3\)"):
        data.load_cifar10(data_dir=tmp_path, download=False)


def test_npz_label_count_mismatch(tmp_path):
    write_npz(tmp_path / "cifar10.npz", y_train=np.zeros(4))
    with pytest.raises(ValueError, match=r"cifar10\.npz: y_train: 4 labels for 5 images"):
        data.load_cifar10(data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------------------
# CIFAR-10 from the Keras cache (the official pickled batches)
# --------------------------------------------------------------------------------------
def test_batch_layout_puts_pixels_in_hwc_place(tmp_path):
    # data row: 1024 red values, then 1024 green, then 1024 blue, each plane row-major 32x32
    raw = np.zeros((2, 3072), np.uint8)
    raw[1, 2 * 1024 + 1 * 32 + 5] = 99  # image 1, blue, row 1, col 5
    raw[0, 0 * 1024 + 31 * 32 + 0] = 11  # image 0, red, row 31, col 0
    d = {b"batch_label": b"testing batch 1 of 1", b"labels": [3, 8], b"data": raw}
    (tmp_path / "test_batch").write_bytes(py2_pickle(d))
    x, y = cifar10._read_cifar_batch(tmp_path / "test_batch")
    assert x.shape == (2, 32, 32, 3) and x.dtype == np.uint8 and x.flags.c_contiguous
    assert x[1, 1, 5, 2] == 99 and x[0, 31, 0, 0] == 11
    assert x.sum() == 110  # nowhere else (in particular not at row 5, col 1)
    assert y.shape == (2, 1) and y.dtype == np.uint8 and list(y[:, 0]) == [3, 8]


@pytest.mark.parametrize("numpy_module", ["numpy.core.multiarray", "numpy._core.multiarray"])
def test_keras3_cache_round_trip(keras3_cache, numpy_module):
    train, test = some_batches()
    write_batches(keras3_cache, train, test, numpy_module=numpy_module)
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(download=False)
    np.testing.assert_array_equal(x_train, np.concatenate(train))  # batches 1..5 in order
    np.testing.assert_array_equal(x_test, test)
    np.testing.assert_array_equal(x_train[:4, 1, 5, 2], [200, 201, 202, 203])
    np.testing.assert_array_equal(y_train[:, 0], [0, 1, 2, 3, 1, 2, 3, 2, 3, 3, 4, 4])
    np.testing.assert_array_equal(y_test[:, 0], [0, 1, 2])
    assert y_train.dtype == np.uint8 and y_train.shape == (12, 1)


def test_keras2_cache_is_used_too(keras2_cache, env):
    train, test = some_batches(seed=3)
    write_batches(keras2_cache, train, test)
    (x_train, _), (x_test, _) = data.load_cifar10()
    np.testing.assert_array_equal(x_train, np.concatenate(train))
    np.testing.assert_array_equal(x_test, test)
    assert env == []  # found: no download attempted


def test_keras3_cache_wins_over_keras2(keras3_cache, keras2_cache):
    write_batches(keras3_cache, *some_batches(seed=40))
    write_batches(keras2_cache, *some_batches(seed=50))
    (x_train, _), _ = data.load_cifar10(download=False)
    np.testing.assert_array_equal(x_train, np.concatenate(some_batches(seed=40)[0]))


def test_sr_data_dir_without_npz_falls_through_to_the_cache(tmp_path, monkeypatch, keras2_cache):
    write_batches(keras2_cache, *some_batches(seed=60))
    (tmp_path / "local").mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "local"))
    _, (x_test, _) = data.load_cifar10(download=False)
    np.testing.assert_array_equal(x_test, some_batches(seed=60)[1])


def test_pickled_code_is_refused(tmp_path, keras3_cache):
    marker = tmp_path / "pwned"

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    write_batches(keras3_cache, *some_batches())
    (keras3_cache / "data_batch_3").write_bytes(py2_pickle({b"labels": [], b"data": Evil()}))
    with pytest.raises(ValueError, match=r"data_batch_3 is not a CIFAR-10 batch this loader accepts \(refusing to load posix\.system"):
        data.load_cifar10(download=False)
    assert not marker.exists()


def test_pickled_class_reference_is_refused(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle({b"labels": [1], b"data": os.system}))
    with pytest.raises(ValueError, match=r"refusing to load posix\.system"):
        cifar10._read_cifar_batch(path)


def test_truncated_batch(keras3_cache):
    write_batches(keras3_cache, *some_batches())
    path = keras3_cache / "test_batch"
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match=r"test_batch is not a readable CIFAR-10 batch.*truncated"):
        data.load_cifar10(download=False)


def test_batch_with_wrong_data_width(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle({b"labels": [1, 2], b"data": np.zeros((2, 1024), np.uint8)}))
    with pytest.raises(ValueError, match=r"'data' has shape \(2, 1024\), expected \(N, 3072\)"):
        cifar10._read_cifar_batch(path)


@pytest.mark.parametrize("present, lacking", [({b"labels": [1, 2]}, "['data']"), ({}, "['data', 'labels']")])
def test_batch_without_data_or_labels(tmp_path, present, lacking):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle({b"batch_label": b"x", **present}))
    with pytest.raises(ValueError, match=r"data_batch_1 is not a complete CIFAR-10 batch: it lacks " + re.escape(lacking)):
        cifar10._read_cifar_batch(path)


def test_batch_that_is_not_a_dict(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle([1, 2, 3]))
    with pytest.raises(ValueError, match="data_batch_1 is not a CIFAR-10 batch \\(it holds a list"):
        cifar10._read_cifar_batch(path)


@pytest.mark.parametrize("labels, match", [
    ([300, 1], r"labels must be class ids 0-9, got values from 1 to 300"),
    ([-1, 1], r"labels must be class ids 0-9, got values from -1 to 1"),
    (np.array([2.7, 1.0]), r"labels must be integers \(class ids 0-9\), got dtype float64"),
])
def test_labels_out_of_range_or_not_integers_are_refused(tmp_path, labels, match):
    """A silent cast would turn 300 into 44, -1 into 255 and 2.7 into 2."""
    path = tmp_path / "data_batch_1"
    path.write_bytes(py2_pickle({b"labels": labels, b"data": np.zeros((2, 3072), np.uint8)}))
    with pytest.raises(ValueError, match=match):
        cifar10._read_cifar_batch(path)
    write_npz(tmp_path / "cifar10.npz", n_test=2, y_test=np.asarray(labels))
    with pytest.raises(ValueError, match=r"cifar10\.npz: y_test: " + match):
        data.load_cifar10(data_dir=tmp_path, download=False)


@pytest.mark.parametrize("damage", ["empty", "truncated", "not a zip", "pickled objects"])
def test_unreadable_npz_names_the_file(tmp_path, damage):
    path = tmp_path / "cifar10.npz"
    write_npz(path)
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "truncated":
        path.write_bytes(path.read_bytes()[:300])
    elif damage == "not a zip":
        path.write_text("x_train,y_train\n1,2\n")
    else:
        np.savez(path, x_train=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"cifar10\.npz is not a readable \.npz file .*Replace it with a complete copy"):
        data.load_cifar10(data_dir=tmp_path, download=False)


# --------------------------------------------------------------------------------------
# CIFAR-10 download step
# --------------------------------------------------------------------------------------
def test_failed_download_lists_every_place_tried(tmp_path, env, online, keras3_cache, keras2_cache):
    with pytest.raises(FileNotFoundError) as e:
        data.load_cifar10()
    msg = str(e.value)
    assert env == [1]  # the download was attempted once
    assert "SR_DATA_DIR is not set" in msg
    assert f"Keras cache: {keras3_cache} has no data_batch_1" in msg
    assert f"Keras cache: {keras2_cache} has no data_batch_1" in msg
    assert "download: keras.datasets.cifar10.load_data() failed: OSError: no network in tests" in msg
    assert "set SR_DATA_DIR" in msg and str(data.keras_cache_dir()) in msg


def test_failed_download_with_sr_data_dir_names_the_npz(tmp_path, monkeypatch, env):
    (tmp_path / "local").mkdir()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "local"))
    with pytest.raises(FileNotFoundError, match=r"local copy: .*local/cifar10\.npz does not exist"):
        data.load_cifar10()


def test_download_false_never_downloads(env):
    with pytest.raises(FileNotFoundError, match=r"download: skipped \(download=False\)"):
        data.load_cifar10(download=False)
    assert env == []


def test_offline_never_downloads(monkeypatch, env):
    monkeypatch.setenv("SR_OFFLINE", "1")
    with pytest.raises(FileNotFoundError, match=r"download: skipped \(SR_OFFLINE=1, as under the test suite\)"):
        data.load_cifar10()
    assert env == []


def test_successful_download_gives_uint8_labels(monkeypatch, online):
    x = make_images(2)
    monkeypatch.setattr(keras.datasets.cifar10, "load_data",
                        lambda: ((x, np.array([[1], [2]], np.int64)), (x[:1], np.array([[9]], np.int64))))
    (x_train, y_train), (x_test, y_test) = data.load_cifar10()
    np.testing.assert_array_equal(x_train, x)
    assert y_train.dtype == np.uint8 and y_test.dtype == np.uint8 and y_test[0, 0] == 9


def test_sr_data_dir_pointing_nowhere(tmp_path, monkeypatch, env):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "missing"))
    with pytest.raises(FileNotFoundError, match=r"SR_DATA_DIR points to .*missing.*not a directory"):
        data.load_cifar10()
    assert env == []  # a wrong setting is reported, not papered over by a download


# --------------------------------------------------------------------------------------
# natural96 and the STL-10 subset (local files only)
# --------------------------------------------------------------------------------------
def test_load_natural96(tmp_path):
    x_train, x_val = make_images(3, 96, seed=1), make_images(2, 96, seed=2)
    np.savez(tmp_path / "natural96.npz", x_train=x_train, x_val=x_val)
    a, b = data.load_natural96(tmp_path)
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(b, x_val)
    assert a.dtype == np.uint8 and a.shape == (3, 96, 96, 3)


def test_load_natural96_from_env_then_cache(tmp_path, monkeypatch):
    cached = make_images(1, 96, seed=3)
    data.keras_cache_dir().mkdir(parents=True)
    np.savez(data.keras_cache_dir() / "natural96.npz", x_train=cached, x_val=cached)
    np.testing.assert_array_equal(data.load_natural96()[0], cached)  # no SR_DATA_DIR: the cache
    local = make_images(2, 96, seed=4)
    (tmp_path / "local").mkdir()
    np.savez(tmp_path / "local" / "natural96.npz", x_train=local, x_val=local[:1])
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "local"))
    np.testing.assert_array_equal(data.load_natural96()[0], local)  # the local copy wins


def test_load_natural96_wrong_shape(tmp_path):
    np.savez(tmp_path / "natural96.npz", x_train=make_images(1, 32), x_val=make_images(1, 96))
    with pytest.raises(ValueError, match=r"natural96\.npz: x_train: expected uint8 images of shape \(N, 96, 96, 3\)"):
        data.load_natural96(tmp_path)


def test_load_natural96_not_found(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as e:
        data.load_natural96()
    msg = str(e.value)
    assert msg.startswith("natural96 (96x96 natural-photo crops) could not be loaded")
    assert "SR_DATA_DIR is not set" in msg and str(data.keras_cache_dir() / "natural96.npz") in msg
    assert "copy natural96.npz into a folder and set SR_DATA_DIR" in msg
    (tmp_path / "local").mkdir()
    with pytest.raises(FileNotFoundError, match=r"local/natural96\.npz does not exist"):
        data.load_natural96(tmp_path / "local")


def test_load_stl10_subset(tmp_path, monkeypatch):
    x = make_images(4, 96, seed=5)
    np.savez(tmp_path / "stl10_subset.npz", x=x)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    out = data.load_stl10_subset()
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(out[:, 1, 5, 2], [200, 201, 202, 203])


def test_load_stl10_subset_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"(?s)STL-10 subset \(256 images\) could not be loaded.*stl10_subset\.npz does not exist"):
        data.load_stl10_subset(tmp_path)
    np.savez(tmp_path / "stl10_subset.npz", x=make_images(2, 96).astype(np.float32))
    with pytest.raises(ValueError, match=r"stl10_subset\.npz: x: expected uint8"):
        data.load_stl10_subset(tmp_path)


# --------------------------------------------------------------------------------------
# load_study96
# --------------------------------------------------------------------------------------
def write_stl10(folder: Path, n_train: int = 2, n_test: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """STL-10 binaries (column-major 3x96x96) for tiny train / test splits."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for split, n in (("train", n_train), ("test", n_test)):
        x = make_images(n, 96, seed=seed + n)
        (folder / f"{split}_X.bin").write_bytes(x.transpose(0, 3, 2, 1).tobytes())
        (folder / f"{split}_y.bin").write_bytes(np.ones(n, np.uint8).tobytes())
        out.append(x)
    return tuple(out)


@pytest.fixture
def stl10_counts(monkeypatch):
    monkeypatch.setattr(stl10, "STL10_COUNTS", {"train": 2, "test": 3, "unlabeled": 1})
    monkeypatch.setattr(stl10, "download_stl10", lambda *a, **k: (_ for _ in ()).throw(OSError("no network in tests")))


def test_study96_natural96(tmp_path, stl10_counts):
    x_train, x_val = make_images(3, 96, seed=6), make_images(2, 96, seed=7)
    np.savez(tmp_path / "natural96.npz", x_train=x_train, x_val=x_val)
    source, a, b = data.load_study96("natural96", tmp_path)
    assert source == "natural96"
    np.testing.assert_array_equal(a, x_train)
    np.testing.assert_array_equal(b, x_val)  # the held-out crops are the test set
    assert data.load_study96("auto", tmp_path)[0] == "natural96"  # no STL-10 copy: the stand-in


def test_study96_auto_prefers_a_local_stl10(tmp_path, stl10_counts):
    train, test = write_stl10(tmp_path / "stl10_binary")
    np.savez(tmp_path / "natural96.npz", x_train=make_images(1, 96), x_val=make_images(1, 96))
    source, a, b = data.load_study96(data_dir=tmp_path)
    assert source == "stl10"
    np.testing.assert_array_equal(a, train)
    np.testing.assert_array_equal(b, test)
    assert data.load_study96("natural96", tmp_path)[0] == "natural96"  # a named source is obeyed


def test_study96_auto_rebuilds_natural96_before_downloading_stl10(tmp_path, stl10_counts, monkeypatch):
    crops = (make_images(2, 96, seed=8), make_images(1, 96, seed=9))
    calls = []

    def rebuild(data_dir=None, download=True):
        calls.append(download)
        if not download:
            raise FileNotFoundError("sr_train could not be loaded")
        path = data.keras_cache_dir() / "natural96.npz"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez(path, x_train=crops[0], x_val=crops[1])
        return path

    monkeypatch.setattr(natural96, "rebuild_natural96", rebuild)
    with pytest.raises(FileNotFoundError, match="STL-10 has no local copy either"):
        data.load_study96("auto", tmp_path, download=False)  # no photos, no download: nothing
    source, a, b = data.load_study96("auto", tmp_path)  # the photos, not the 2.6 GB STL-10
    assert source == "natural96" and calls == [False, True]
    np.testing.assert_array_equal(a, crops[0])


def test_study96_auto_with_nothing_never_downloads_stl10(tmp_path, stl10_counts):
    with pytest.raises(FileNotFoundError, match=r"(?s)natural96 .*could not be loaded.*SR_OFFLINE=1.*"
                                                r"STL-10 has no local copy either; load_study96\('stl10'\) downloads it"):
        data.load_study96("auto", tmp_path)
    with pytest.raises(FileNotFoundError, match=r"(?s)STL-10 \(train\) could not be loaded.*download: skipped \(SR_OFFLINE=1"):
        data.load_study96("stl10", tmp_path)  # asked for by name: only the test suite's offline switch stops it
    with pytest.raises(FileNotFoundError, match=r"download: skipped"):
        data.load_study96("stl10", tmp_path, download=False)


def test_study96_bad_source():
    with pytest.raises(ValueError, match=r"source must be one of \('auto', 'stl10', 'natural96'\), got 'cifar'"):
        data.load_study96("cifar")


# --------------------------------------------------------------------------------------
# train_val_split
# --------------------------------------------------------------------------------------
def test_split_sizes_and_partition():
    x = np.arange(47)
    (x_train, y_train), (x_val, y_val) = data.train_val_split(x)
    assert len(x_val) == 5 and len(x_train) == 42  # round(0.1 * 47) = 5
    assert y_train is None and y_val is None
    assert not set(x_train) & set(x_val)
    assert sorted(set(x_train) | set(x_val)) == list(range(47))
    assert np.all(np.diff(x_train) > 0) and np.all(np.diff(x_val) > 0)  # original order kept


@pytest.mark.parametrize("n, fraction, n_val", [(100, 0.1, 10), (50, 0.25, 12), (7, 0.5, 4), (11, 0.9, 10)])
def test_split_uses_rounded_fraction(n, fraction, n_val):
    _, (x_val, _) = data.train_val_split(np.arange(n), val_fraction=fraction)
    assert len(x_val) == n_val == int(round(fraction * n))


def test_split_is_seeded():
    x = np.arange(200)
    a = data.train_val_split(x, seed=1)[1][0]
    b = data.train_val_split(x, seed=1)[1][0]
    c = data.train_val_split(x, seed=2)[1][0]
    d = data.train_val_split(x)[1][0]  # the default seed is fixed too
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    np.testing.assert_array_equal(d, data.train_val_split(x, seed=42)[1][0])


def test_split_labels_follow_their_images():
    x = make_images(30, 8, seed=8)
    y = np.arange(30) * 3
    (x_train, y_train), (x_val, y_val) = data.train_val_split(x, y, val_fraction=0.2, seed=3)
    assert x_train.shape == (24, 8, 8, 3) and x_val.shape == (6, 8, 8, 3)
    for xs, ys in ((x_train, y_train), (x_val, y_val)):
        for image, label in zip(xs, ys):
            np.testing.assert_array_equal(image, x[label // 3])


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match=r"val_fraction must be strictly between 0 and 1"):
        data.train_val_split(np.arange(10), val_fraction=fraction)


def test_split_length_mismatch():
    with pytest.raises(ValueError, match=r"x has 10 items but y has 9"):
        data.train_val_split(np.arange(10), np.arange(9))


@pytest.mark.parametrize("n, fraction", [(3, 0.1), (2, 0.9), (1, 0.5)])
def test_split_empty_part(n, fraction):
    with pytest.raises(ValueError, match=r"leaves an empty split"):
        data.train_val_split(np.arange(n), val_fraction=fraction)


# --------------------------------------------------------------------------------------
# take
# --------------------------------------------------------------------------------------
def test_take_same_items_of_each_array_in_order():
    a, b = np.arange(100), np.arange(100) * 10
    sa, sb = data.take(7, a, b, seed=3)
    assert len(sa) == 7 and len(set(sa)) == 7
    np.testing.assert_array_equal(sb, sa * 10)
    assert np.all(np.diff(sa) > 0)
    again = data.take(7, a, b, seed=3)
    np.testing.assert_array_equal(again[0], sa)
    assert not np.array_equal(data.take(7, a, seed=4), sa)


def test_take_one_array_returns_an_array():
    out = data.take(3, np.arange(10))
    assert isinstance(out, np.ndarray) and out.shape == (3,)


@pytest.mark.parametrize("n", [None, 10, 50])
def test_take_everything_returns_the_input(n):
    a, b = np.arange(10), np.arange(10.0)
    assert data.take(n, a) is a
    out = data.take(n, a, b)
    assert out[0] is a and out[1] is b


def test_take_errors():
    with pytest.raises(ValueError, match=r"at least one array"):
        data.take(3)
    with pytest.raises(ValueError, match=r"equal length, got \[10, 9\]"):
        data.take(3, np.arange(10), np.arange(9))
    for n in (0, -1):
        with pytest.raises(ValueError, match=rf"n must be at least 1 or None, got {n}"):
            data.take(n, np.arange(10))


# --------------------------------------------------------------------------------------
# The committed subset
# --------------------------------------------------------------------------------------
def test_committed_index_golden_values():
    train, test = data.cifar10_committed_index()
    assert len(train) == 5170 and len(test) == 1017
    assert train[:2].tolist() == [0, 1] and train[1101:1104].tolist() == [1101, 10000, 10001]
    assert train[-1] == 41016 and test[-1] == 1016
    assert (np.diff(train) > 0).all()


def full_cifar(n_train=50000, n_test=10000):
    """A stand-in for the whole dataset: image i of the official order is filled with i % 251."""
    x_train = (np.arange(n_train) % 251).astype(np.uint8)[:, None, None, None] * np.ones((1, 32, 32, 3), np.uint8)
    x_test = (np.arange(n_test) % 251).astype(np.uint8)[:, None, None, None] * np.ones((1, 32, 32, 3), np.uint8)
    y_train = (np.arange(n_train) % 10).astype(np.uint8)[:, None]
    y_test = (np.arange(n_test) % 10).astype(np.uint8)[:, None]
    return (x_train, y_train), (x_test, y_test)


def test_full_download_gives_all_and_the_committed_subset(monkeypatch, online):
    monkeypatch.setattr(keras.datasets.cifar10, "load_data", full_cifar)
    (x_train, _), (x_test, _) = data.load_cifar10()
    assert len(x_train) == 50000 and len(x_test) == 10000
    (x_train, y_train), (x_test, y_test) = data.load_cifar10(subset="committed")
    train, test = data.cifar10_committed_index()
    assert x_train.shape == (5170, 32, 32, 3) and x_test.shape == (1017, 32, 32, 3)
    np.testing.assert_array_equal(x_train[:, 0, 0, 0], train % 251)
    np.testing.assert_array_equal(y_train[:, 0], train % 10)
    np.testing.assert_array_equal(x_test[:, 0, 0, 0], test % 251)


def test_committed_subset_from_an_indexed_npz(tmp_path):
    (x_train, y_train), (x_test, y_test) = full_cifar()
    train, test = data.cifar10_committed_index()
    keep = np.concatenate([train[::-1], [7, 20001]])  # any order, extra images
    np.savez(tmp_path / "cifar10.npz", x_train=x_train[keep], y_train=y_train[keep], x_test=x_test[test],
             y_test=y_test[test], train_index=keep, test_index=test)
    (a, ya), (b, yb) = data.load_cifar10(tmp_path, subset="committed")
    np.testing.assert_array_equal(a, x_train[train])  # the official order, extras left out
    np.testing.assert_array_equal(ya, y_train[train])
    np.testing.assert_array_equal(b, x_test[test])
    assert len(data.load_cifar10(tmp_path)[0][0]) == 5172  # "all" keeps everything in the file


def test_committed_subset_errors(tmp_path):
    (x_train, y_train), (x_test, y_test) = full_cifar(100, 50)
    np.savez(tmp_path / "cifar10.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    with pytest.raises(ValueError, match="no train_index.*use subset='all'"):
        data.load_cifar10(tmp_path, subset="committed")
    np.savez(tmp_path / "cifar10.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             train_index=np.arange(100), test_index=np.arange(50))
    with pytest.raises(ValueError, match=r"lacks 5,070 of the 5,170 train images .*position 100\)"):
        data.load_cifar10(tmp_path, subset="committed")
    np.savez(tmp_path / "cifar10.npz", x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test,
             train_index=np.arange(99), test_index=np.arange(50))
    with pytest.raises(ValueError, match=r"train_index must hold 100 positions in 0\.\.49999"):
        data.load_cifar10(tmp_path)
    with pytest.raises(ValueError, match="subset must be one of"):
        data.load_cifar10(tmp_path, subset="partial")


def test_cifar10_note():
    assert "exactly those behind the committed results" in data.cifar10_note(5170, 1017, "committed")
    note = data.cifar10_note(50000, 10000)
    assert note.startswith("CIFAR-10: 50,000 training and 10,000 test images.")
    assert "used 5,170 and 1,017" in note and "subset='committed'" in note


def test_load_available_keeps_what_loads_and_says_why_not():
    def missing():
        raise FileNotFoundError("CIFAR-10 could not be loaded. Tried, in order:\n  - nothing")

    def damaged():
        raise ValueError("x.npz is not a readable .npz file")

    loaded, skipped = data.load_available({"a": lambda: 1, "b": missing, "c": damaged, "d": lambda: [2]})
    assert loaded == {"a": 1, "d": [2]}
    assert skipped == {"b": "CIFAR-10 could not be loaded. Tried, in order:", "c": "x.npz is not a readable .npz file"}

    def bug():
        raise KeyError("a bug is not a missing data set")

    with pytest.raises(KeyError):
        data.load_available({"e": bug})
