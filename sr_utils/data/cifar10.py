"""CIFAR-10 in the Keras layout, from a local ``.npz``, the Keras cache or a download; the committed subset.

Images are ``(N, 32, 32, 3)`` uint8 in [0, 255], labels ``(N, 1)`` uint8 class ids 0-9.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np

from .. import downloads
from .arrays import check_images, npz_arrays
from .locations import DATA_DIR_ENV, keras_cache_dir, local_data_dir, not_found

CIFAR10_LABELS = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

# The CIFAR-10 images the committed models saw (the real, partial copy on the build machine; see
# data/README.md), as [start, stop) ranges of positions in the official order: images 0-1101 of
# data_batch_1 and 0-1016 of data_batch_2 ... data_batch_5; images 0-1016 of test_batch.
CIFAR10_SIZES = (50_000, 10_000)
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"  # where keras.datasets.cifar10 downloads from
CIFAR10_COMMITTED_RANGES = {
    "train": ((0, 1102), (10000, 11017), (20000, 21017), (30000, 31017), (40000, 41017)),
    "test": ((0, 1017),),
}
CIFAR10_SUBSETS = ("all", "committed")


def _labels(y, n: int, where: str) -> np.ndarray:
    """Class ids 0-9 as ``(n, 1)`` uint8; ValueError for a wrong count, non-integers or ids out of range
    (a silent cast would wrap 300 to 44 and -1 to 255, and truncate 2.7 to 2)."""
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != n:
        raise ValueError(f"{where}: {y.shape[0]} labels for {n} images; the file is inconsistent.")
    if not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{where}: labels must be integers (class ids 0-9), got dtype {y.dtype}. "
                         "The file is not in the expected format; re-create or re-download it.")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise ValueError(f"{where}: labels must be class ids 0-9, got values from {y.min()} to {y.max()}. "
                         "The file is not in the expected format; re-create or re-download it.")
    return y.astype(np.uint8).reshape(-1, 1)


def _load_cifar10_npz(path: Path):
    """``((x_train, y_train), (x_test, y_test)), (train_index, test_index)`` from a CIFAR-10 .npz;
    the indexes (positions in the official order) are None when the file has none and is not
    the whole dataset."""
    d = npz_arrays(path, ("x_train", "y_train", "x_test", "y_test"), "a CIFAR-10 .npz (uint8, images (N, 32, 32, 3))",
                   optional=("train_index", "test_index"))
    x_train = check_images(d["x_train"], (32, 32, 3), f"{path}: x_train")
    x_test = check_images(d["x_test"], (32, 32, 3), f"{path}: x_test")
    y_train = _labels(d["y_train"], len(x_train), f"{path}: y_train")
    y_test = _labels(d["y_test"], len(x_test), f"{path}: y_test")
    index = []
    for name, n, total in (("train_index", len(x_train), CIFAR10_SIZES[0]), ("test_index", len(x_test), CIFAR10_SIZES[1])):
        if name in d:
            idx = np.asarray(d[name]).astype(np.int64).ravel()
            if len(idx) != n or (n and (idx.min() < 0 or idx.max() >= total)):
                raise ValueError(f"{path}: {name} must hold {n} positions in 0..{total - 1}, one per image.")
            index.append(idx)
        else:
            index.append(np.arange(n) if n == total else None)
    return ((x_train, y_train), (x_test, y_test)), tuple(index)


class _RefusedPickle(pickle.UnpicklingError):
    """A batch file asked for something other than NumPy arrays."""


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles CIFAR batch files while refusing anything but NumPy arrays and builtins."""

    _allowed = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) in self._allowed:
            return super().find_class(module, name)
        raise _RefusedPickle(f"refusing to load {module}.{name} from a CIFAR batch file")


def _read_cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with open(path, "rb") as f:
        try:
            d = _ArrayUnpickler(f, encoding="bytes").load()
        except _RefusedPickle as e:
            raise ValueError(
                f"{path} is not a CIFAR-10 batch this loader accepts ({e}); only the official "
                "batch files are read. Delete the cifar-10-batches-py folder so that it is downloaded again."
            ) from e
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise ValueError(
                f"{path} is not a readable CIFAR-10 batch ({e}); it is probably truncated. "
                "Delete the cifar-10-batches-py folder so that it is downloaded again."
            ) from e
    if not isinstance(d, dict):
        raise ValueError(f"{path} is not a CIFAR-10 batch (it holds a {type(d).__name__}, not a dict). "
                         "Delete the cifar-10-batches-py folder so that it is downloaded again.")
    d = {k.decode() if isinstance(k, bytes) else k: v for k, v in d.items()}
    missing = {"data", "labels"} - set(d)
    if missing:
        raise ValueError(f"{path} is not a complete CIFAR-10 batch: it lacks {sorted(missing)}. "
                         "Delete the cifar-10-batches-py folder so that it is downloaded again.")
    data = np.asarray(d["data"])
    if data.dtype != np.uint8:
        raise ValueError(f"{path}: 'data' has dtype {data.dtype}, expected uint8. "
                         "Delete the cifar-10-batches-py folder so that it is downloaded again.")
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: 'data' has shape {data.shape}, expected (N, 3072).")
    x = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(x), _labels(d["labels"], len(x), str(path))


def _load_cifar10_batches(folder: Path):
    parts = [_read_cifar_batch(folder / f"data_batch_{i}") for i in range(1, 6)]
    x_train = np.concatenate([p[0] for p in parts])
    y_train = np.concatenate([p[1] for p in parts])
    test = _read_cifar_batch(folder / "test_batch")
    train_index = np.concatenate([b * 10000 + np.arange(len(p[0])) for b, p in enumerate(parts)])
    return ((x_train, y_train), test), (train_index, np.arange(len(test[0])))


def cifar10_committed_index() -> tuple[np.ndarray, np.ndarray]:
    """Positions in the official CIFAR-10 order of the 5,170 training and 1,017 test images the
    committed models saw: ``(train_index, test_index)``, int64, ascending."""
    return tuple(np.concatenate([np.arange(a, b) for a, b in CIFAR10_COMMITTED_RANGES[split]])
                 for split in ("train", "test"))


def _select(x, y, have, want, split: str, where: str):
    if have is None:
        raise ValueError(f"{where} does not say which official CIFAR-10 images it holds (no {split}_index) "
                         "and is not the whole dataset, so subset='committed' cannot pick them; use subset='all'.")
    position = {int(p): i for i, p in enumerate(have)}
    missing = [int(p) for p in want if int(p) not in position]
    if missing:
        raise ValueError(f"{where} lacks {len(missing):,} of the {len(want):,} {split} images of the committed "
                         f"subset (e.g. official position {missing[0]}); use subset='all', or the full dataset.")
    rows = np.array([position[int(p)] for p in want])
    return x[rows], y[rows]


def cifar10_note(n_train: int, n_test: int, subset: str = "all") -> str:
    """One line saying how the loaded CIFAR-10 relates to the committed results, for the
    notebooks to print beside their numbers."""
    committed = tuple(len(i) for i in cifar10_committed_index())
    if (n_train, n_test) == committed:
        return (f"CIFAR-10: {n_train:,} training and {n_test:,} test images, exactly those behind the committed "
                f"results (subset={subset!r}): the numbers are comparable with them.")
    return (f"CIFAR-10: {n_train:,} training and {n_test:,} test images. The committed results used "
            f"{committed[0]:,} and {committed[1]:,} (the partial copy of the build machine), so numbers here differ "
            "from them; load_cifar10(subset='committed') reproduces that subset exactly.")


def cifar10_cache_candidates() -> list[Path]:
    """Folders of the Keras cache where ``cifar-10-batches-py`` is extracted (Keras 3, then 2)."""
    cache = keras_cache_dir()
    return [
        cache / "cifar-10-batches-py-target" / "cifar-10-batches-py",
        cache / "cifar-10-batches-py",
    ]


def load_cifar10(data_dir: str | os.PathLike | None = None, download: bool = True, subset: str = "all"):
    """Load CIFAR-10 in the Keras layout, from a local copy, the Keras cache or a download.

    Lookup order: ``<data_dir or $SR_DATA_DIR>/cifar10.npz`` (arrays ``x_train, y_train,
    x_test, y_test``, optionally ``train_index, test_index``: positions in the official order),
    then the Keras cache's extracted ``cifar-10-batches-py`` folder, then
    ``keras.datasets.cifar10.load_data()`` (a 163 MB download) unless ``download=False``.

    Args:
        data_dir: folder holding ``cifar10.npz`` (default ``$SR_DATA_DIR``).
        download: allow the download.
        subset: ``"all"`` (every image found: 50,000 / 10,000 for the real dataset) or
            ``"committed"`` (exactly the 5,170 / 1,017 images behind the committed results,
            ``cifar10_committed_index``, in the official order).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: images ``(N, 32, 32, 3)`` uint8 in [0, 255],
        labels ``(N, 1)`` uint8 class ids 0-9 (names in ``CIFAR10_LABELS``).

    Raises:
        FileNotFoundError: no source worked; the message lists what was tried and the fix.
        ValueError: a file was found but is not in the expected format, or it lacks images of
            the committed subset.
    """
    if subset not in CIFAR10_SUBSETS:
        raise ValueError(f"subset must be one of {CIFAR10_SUBSETS}, got {subset!r}.")
    loaded, where = _find_cifar10(data_dir, download)
    (arrays, index) = loaded
    if subset == "all":
        return arrays
    want = cifar10_committed_index()
    return tuple(_select(x, y, have, w, split, where)
                 for (x, y), have, w, split in zip(arrays, index, want, ("train", "test")))


def keras_cifar10():
    """``keras.datasets.cifar10.load_data()`` (a download into the Keras cache), labels as uint8."""
    import keras  # only for the download: reading local copies needs no Keras

    (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
    return (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))


def _find_cifar10(data_dir, download: bool):
    tried = []
    folder = local_data_dir(data_dir)
    if folder is None:
        tried.append(f"local copy: {DATA_DIR_ENV} is not set")
    else:
        path = folder / "cifar10.npz"
        if path.is_file():
            return _load_cifar10_npz(path), str(path)
        tried.append(f"local copy: {path} does not exist")
    for candidate in cifar10_cache_candidates():
        if (candidate / "data_batch_1").is_file():
            return _load_cifar10_batches(candidate), str(candidate)
        tried.append(f"Keras cache: {candidate} has no data_batch_1")
    arrays = downloads.attempt(download, CIFAR10_URL, keras_cifar10, tried, "keras.datasets.cifar10.load_data()")
    if arrays is not None:
        return (arrays, (np.arange(len(arrays[0][0])), np.arange(len(arrays[1][0])))), "the CIFAR-10 download"
    raise not_found(
        "CIFAR-10",
        tried,
        f"put cifar10.npz (uint8 x_train, y_train, x_test, y_test) in a folder and set "
        f"{DATA_DIR_ENV} to it, or run with internet access once so that Keras caches the "
        f"dataset in {keras_cache_dir()}.",
    )
