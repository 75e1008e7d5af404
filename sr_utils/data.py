"""Datasets: finding a local copy, the Keras cache or a download, and seeded splits.

Every loader looks in the same places, in this order, and says which ones it tried when
none works:

1. a local copy in the folder named by the ``SR_DATA_DIR`` environment variable (or the
   ``data_dir`` argument), e.g. ``SR_DATA_DIR=/path/to/data`` holding ``cifar10.npz``;
2. the standard Keras cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``);
3. the normal download into that cache (skipped with ``download=False``).

Images are returned as uint8 arrays in ``(N, H, W, 3)`` layout with values in [0, 255].
"""

from __future__ import annotations

import hashlib
import os
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np

from . import downloads, photo_sets
from .locations import DATA_DIR_ENV, find_local_file, keras_cache_dir, local_data_dir, not_found
from .photo_sets import SR_TRAIN_FOLDERS


CIFAR10_LABELS = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


# --------------------------------------------------------------------------------------
# CIFAR-10
# --------------------------------------------------------------------------------------
def _check_images(x: np.ndarray, shape: tuple[int, int, int], where: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != shape:
        raise ValueError(
            f"{where}: expected uint8 images of shape (N, {shape[0]}, {shape[1]}, {shape[2]}), "
            f"got {x.dtype} {x.shape}. The file is not in the expected format; re-create or re-download it."
        )
    return x


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


def _npz_arrays(path: Path, names: tuple[str, ...], what: str, optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """The arrays ``names`` of the ``.npz`` file ``path``, read in full, and those of
    ``optional`` that the file holds.

    Raises:
        ValueError: the file is not a readable ``.npz`` (empty, truncated, corrupt, or it holds
            pickled objects), or it lacks one of ``names``; the message names the file and the fix.
    """
    try:
        with np.load(path, allow_pickle=False) as d:
            arrays = {name: d[name] for name in names + optional if name in d.files}
    except (OSError, EOFError, ValueError, TypeError, AttributeError, zipfile.BadZipFile) as e:  # empty, cut short, not a zip
        raise ValueError(f"{path} is not a readable .npz file ({type(e).__name__}: {e}); it is empty, truncated or "
                         f"corrupt. Replace it with a complete copy of {what} (see data/README.md).") from None
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the arrays {missing}; {what} needs {', '.join(names)}.")
    return arrays


def _load_cifar10_npz(path: Path):
    """``((x_train, y_train), (x_test, y_test)), (train_index, test_index)`` from a CIFAR-10 .npz;
    the indexes (positions in the official order) are None when the file has none and is not
    the whole dataset."""
    d = _npz_arrays(path, ("x_train", "y_train", "x_test", "y_test"), "a CIFAR-10 .npz (uint8, images (N, 32, 32, 3))",
                    optional=("train_index", "test_index"))
    x_train = _check_images(d["x_train"], (32, 32, 3), f"{path}: x_train")
    x_test = _check_images(d["x_test"], (32, 32, 3), f"{path}: x_test")
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
    skipped = downloads.skip_reason(download, CIFAR10_URL)
    if skipped:
        tried.append(skipped)
    else:
        try:
            import keras

            (x_train, y_train), (x_test, y_test) = keras.datasets.cifar10.load_data()
            arrays = (x_train, y_train.astype(np.uint8)), (x_test, y_test.astype(np.uint8))
            return (arrays, (np.arange(len(x_train)), np.arange(len(x_test)))), "the CIFAR-10 download"
        except Exception as e:  # network, disk or checksum errors all end here
            tried.append(f"download: keras.datasets.cifar10.load_data() failed: {type(e).__name__}: {e}")
    raise not_found(
        "CIFAR-10",
        tried,
        f"put cifar10.npz (uint8 x_train, y_train, x_test, y_test) in a folder and set "
        f"{DATA_DIR_ENV} to it, or run with internet access once so that Keras caches the "
        f"dataset in {keras_cache_dir()}.",
    )


# --------------------------------------------------------------------------------------
# Local-only image sets (no public download exists for these exact files)
# --------------------------------------------------------------------------------------
def load_natural96(data_dir: str | os.PathLike | None = None, download: bool = True):
    """Load the 96x96 natural-photo crops (T91 + BSDS), the project's stand-in for STL-10.

    Looks for ``natural96.npz`` in ``data_dir`` / ``$SR_DATA_DIR``, then the Keras cache; else
    rebuilds it into the Keras cache from the ``sr_train/`` photos and the committed crop index
    (``photo_sets.rebuild_natural96``; the photos are downloaded, about 46 MB, unless ``download=False``).
    The rebuilt crops equal the original file's byte for byte.

    Returns:
        ``(x_train, x_val)``: ``(2523, 96, 96, 3)`` and ``(272, 96, 96, 3)`` uint8 in [0, 255];
        the validation crops come from whole images that give no training crop.
    """
    what = "natural96 (96x96 natural-photo crops)"
    try:
        path = find_local_file("natural96.npz", data_dir, what)
    except FileNotFoundError as missing:
        try:
            path = photo_sets.rebuild_natural96(data_dir, download=download)
        except FileNotFoundError as no_photos:
            raise FileNotFoundError(f"{missing}\nIt can be rebuilt from the sr_train/ photos, but: {no_photos}") from None
    d = _npz_arrays(path, ("x_train", "x_val"), "natural96.npz (uint8, images (N, 96, 96, 3))")
    x_train = _check_images(d["x_train"], (96, 96, 3), f"{path}: x_train")
    x_val = _check_images(d["x_val"], (96, 96, 3), f"{path}: x_val")
    return x_train, x_val


def load_stl10_subset(data_dir: str | os.PathLike | None = None, download: bool = True) -> np.ndarray:
    """Load the 256 real STL-10 images kept for checks (``stl10_subset.npz``, array ``x``).

    Looks in ``data_dir`` / ``$SR_DATA_DIR``, then the Keras cache; else downloads the 256 PNGs
    (about 6 MB, ``photo_sets.download_stl10_subset``) into the Keras cache unless ``download=False``.

    Returns:
        ``(256, 96, 96, 3)`` uint8 in [0, 255]. Too few to train on: an evaluation set only.
    """
    what = "STL-10 subset (256 images)"
    try:
        path = find_local_file("stl10_subset.npz", data_dir, what)
    except FileNotFoundError as missing:
        skipped = downloads.skip_reason(download, photo_sets.GITHUB)
        if skipped:
            raise FileNotFoundError(f"{missing}\n  - {skipped}") from None
        try:
            path = photo_sets.download_stl10_subset()
        except (OSError, ValueError) as e:
            raise FileNotFoundError(f"{missing}\n  - download failed: {e}") from None
    x = _npz_arrays(path, ("x",), "stl10_subset.npz (uint8, images (N, 96, 96, 3))")["x"]
    return _check_images(x, (96, 96, 3), f"{path}: x")


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def sr_train_dir(data_dir: str | os.PathLike | None = None, download: bool = False) -> Path:
    """The ``sr_train/`` folder of whole training photos: in ``data_dir`` / ``$SR_DATA_DIR``,
    else in the Keras cache, else downloaded there when ``download`` is True
    (``photo_sets.find_sr_train``). Raises FileNotFoundError naming what was tried."""
    return photo_sets.find_sr_train(data_dir, download=download)


def load_sr_images(split: str = "train", data_dir: str | os.PathLike | None = None, limit: int | None = None,
                   download: bool = True):
    """Whole natural photos (T91 + BSDS) for training SR models on random patches.

    The split is by whole image and is the one ``natural96`` uses: the 46 photos whose crops
    form natural96's validation crops (named in the committed crop index,
    ``photo_sets.held_out_photos``) are the ``"val"`` split, the others are ``"train"``. So
    validation photos never give a training patch.

    Args:
        split: ``"train"`` or ``"val"``.
        data_dir: folder holding ``sr_train/`` (default ``$SR_DATA_DIR``, then the Keras cache).
        limit: keep only the first ``limit`` images (sorted by name), e.g. for quick runs.
        download: download the photos (about 46 MB) into the Keras cache when no copy is found.

    Returns:
        ``(images, names)``: a list of ``(H, W, 3)`` uint8 arrays of varying sizes (78-508 px a
        side) and their names as in ``natural96`` (``"T91/t1"``, ``"BSDS300train/100075"``, ...).
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
    root = sr_train_dir(data_dir, download=download)
    held_out = photo_sets.held_out_photos()
    files = []
    for prefix, folder in SR_TRAIN_FOLDERS.items():
        if not (root / folder).is_dir():
            raise FileNotFoundError(f"{root / folder} is missing: sr_train/ must hold {sorted(SR_TRAIN_FOLDERS.values())}.")
        files += [(f"{prefix}/{f.stem}", f) for f in sorted((root / folder).iterdir()) if f.suffix.lower() in _IMAGE_SUFFIXES]
    unknown = held_out - {name for name, _ in files}
    if unknown:
        raise ValueError(f"{root} lacks {len(unknown)} of the held-out photos (e.g. {sorted(unknown)[0]}); "
                         "it is not a complete sr_train/ folder: delete it and download it again (see data/README.md).")
    files = [(name, f) for name, f in files if (name in held_out) == (split == "val")][:limit]
    return [photo_sets.read_photo(f) for _, f in files], [name for name, _ in files]


def load_available(loaders: dict) -> tuple[dict, dict]:
    """Run each loader; keep what loads and say why the rest did not.

    Args:
        loaders: name -> a function of no argument that returns the data, raising
            FileNotFoundError (no copy, no download) or ValueError (a damaged copy).

    Returns:
        ``(loaded, skipped)``: name -> data for the loaders that worked, and name -> the first
        line of the error for the others (both in ``loaders``' order).
    """
    loaded, skipped = {}, {}
    for name, load in loaders.items():
        try:
            loaded[name] = load()
        except (FileNotFoundError, ValueError) as e:
            skipped[name] = str(e).splitlines()[0]
    return loaded, skipped


# --------------------------------------------------------------------------------------
# Splits and subsets
# --------------------------------------------------------------------------------------
def train_val_split(x: np.ndarray, y: np.ndarray | None = None, val_fraction: float = 0.1, seed: int = 42):
    """Split arrays into training and validation parts with a seeded random permutation.

    The same ``seed`` and array length always give the same split (NumPy ``default_rng``).
    ``round(val_fraction * N)`` items go to validation, the rest to training.

    Args:
        x: array of N items (e.g. images ``(N, H, W, 3)``).
        y: optional array of N labels, split the same way.
        val_fraction: share of items for validation, strictly between 0 and 1.
        seed: seed of the permutation.

    Returns:
        ``(x_train, y_train), (x_val, y_val)``, with ``y_*`` None when ``y`` is None.
    """
    x = np.asarray(x)
    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}.")
    if y is not None and len(y) != len(x):
        raise ValueError(f"x has {len(x)} items but y has {len(y)}; they must match.")
    n_val = int(round(val_fraction * len(x)))
    if n_val < 1 or n_val >= len(x):
        raise ValueError(
            f"val_fraction={val_fraction} of {len(x)} items leaves an empty split; use more items "
            "or another fraction."
        )
    order = np.random.default_rng(seed).permutation(len(x))
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    y_train = None if y is None else np.asarray(y)[train_idx]
    y_val = None if y is None else np.asarray(y)[val_idx]
    return (x[train_idx], y_train), (x[val_idx], y_val)


def take(n: int | None, *arrays: np.ndarray, seed: int = 0):
    """The same seeded random ``n`` items of each array, kept in their original order.

    Used for the quick profile's small subsets. ``n=None`` (or ``n >= N``) returns the arrays
    unchanged. Returns one array when one is given, else a tuple.
    """
    if not arrays:
        raise ValueError("take() needs at least one array.")
    length = len(arrays[0])
    if any(len(a) != length for a in arrays):
        raise ValueError(f"take() needs arrays of equal length, got {[len(a) for a in arrays]}.")
    if n is not None and n < 1:
        raise ValueError(f"n must be at least 1 or None, got {n}.")
    if n is None or n >= length:
        out = arrays
    else:
        idx = np.sort(np.random.default_rng(seed).choice(length, n, replace=False))
        out = tuple(a[idx] for a in arrays)
    return out[0] if len(out) == 1 else tuple(out)


# --------------------------------------------------------------------------------------
# STL-10 (the official binary release)
# --------------------------------------------------------------------------------------
STL10_URL = "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz"
STL10_ARCHIVE_SIZE = 2_640_397_119  # bytes of stl10_binary.tar.gz
STL10_MD5 = "91f7769df0f17e558f3565bffb0c7dfb"
STL10_FOLDER = "stl10_binary"
STL10_COUNTS = {"train": 5000, "test": 8000, "unlabeled": 100000}  # images per split
STL10_LABELS = ("airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck")
_STL10_IMAGE_BYTES = 3 * 96 * 96


def _stl10_count(path: Path, expected_count: int, item_bytes: int, limit: int | None) -> int:
    """Checks the file size against ``expected_count`` items; returns how many to read."""
    expected = expected_count * item_bytes
    size = path.stat().st_size
    if size != expected:
        what = f"{expected_count:,} images of 96x96x3" if item_bytes > 1 else f"{expected_count:,} labels"
        raise ValueError(
            f"{path} has {size:,} bytes, expected {expected:,} ({what}): the file is truncated "
            "or corrupt; delete it and download again."
        )
    return expected_count if limit is None else min(limit, expected_count)


def _read_stl10_images(path: Path, expected_count: int, limit: int | None = None, memmap: bool = False):
    """Decode an STL-10 ``*_X.bin`` file (each image 3x96x96 uint8, column-major).

    Returns:
        ``(N, 96, 96, 3)`` uint8 in [0, 255] (RGB, rows first), the first ``limit`` images when
        given. With ``memmap=True`` a read-only view of an ``np.memmap`` (nothing is read until
        used); otherwise an in-memory array.
    """
    n = _stl10_count(path, expected_count, _STL10_IMAGE_BYTES, limit)
    if memmap:
        raw = np.memmap(path, dtype=np.uint8, mode="r", shape=(n, 3, 96, 96))
        return np.asarray(raw.transpose(0, 3, 2, 1))  # plain ndarray whose base is the memmap
    raw = np.fromfile(path, dtype=np.uint8, count=n * _STL10_IMAGE_BYTES)
    return np.ascontiguousarray(raw.reshape(-1, 3, 96, 96).transpose(0, 3, 2, 1))


def _read_stl10_labels(path: Path, expected_count: int, limit: int | None = None) -> np.ndarray:
    """Decode an STL-10 ``*_y.bin`` file (one byte 1..10 per image) to ``(N,)`` uint8 ids 0-9."""
    n = _stl10_count(path, expected_count, 1, limit)
    y = np.fromfile(path, dtype=np.uint8, count=n)
    if y.size and (y.min() < 1 or y.max() > 10):
        raise ValueError(
            f"{path} holds labels from {y.min()} to {y.max()}, expected 1..10: the file is not "
            "an STL-10 label file; delete it and download again."
        )
    return y - 1


def download_stl10(cache_dir: str | os.PathLike | None = None) -> Path:
    """Download ``STL10_URL`` (2.6 GB), verify its size and md5 and extract it into ``cache_dir``.

    ``cache_dir`` defaults to the Keras cache (``keras_cache_dir()``). The archive is written to a
    ``.part`` file, renamed only once verified (``downloads.fetch``), extracted safely
    (``downloads.safe_extract``) and deleted.

    Returns:
        The extracted folder, ``<cache_dir>/stl10_binary``.

    Raises:
        ValueError: the download has the wrong size or md5, or the archive is unsafe (no partial
            file is left behind).
        OSError: the network or the disk failed.
    """
    cache = keras_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()
    archive = downloads.fetch(STL10_URL, cache / "stl10_binary.tar.gz", size=STL10_ARCHIVE_SIZE, md5=STL10_MD5)
    try:
        downloads.safe_extract(archive, cache)
    finally:
        archive.unlink(missing_ok=True)
    return cache / STL10_FOLDER


def load_stl10(
    split: str = "train",
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    limit: int | None = None,
):
    """Load one STL-10 split (96x96 colour photos) from a local copy, the Keras cache or a download.

    Lookup order: ``<data_dir or $SR_DATA_DIR>/stl10_binary/``, then the Keras cache's
    ``stl10_binary/``, then ``download_stl10()`` (a 2.6 GB download) unless ``download=False``.

    Args:
        split: ``"train"`` (5,000 labelled images), ``"test"`` (8,000 labelled) or
            ``"unlabeled"`` (100,000).
        limit: keep only the first ``limit`` images (at least 1); None keeps all.

    Returns:
        For "train" and "test": ``(x, y)``, images ``(N, 96, 96, 3)`` uint8 in [0, 255] in memory
        and labels ``(N,)`` uint8 class ids 0-9 (names in ``STL10_LABELS``).
        For "unlabeled": ``x`` only, ``(N, 96, 96, 3)`` uint8 in [0, 255], a read-only view of an
        ``np.memmap`` (the file is 2.76 GB; images are read from disk when used).

    Raises:
        ValueError: bad ``split`` or ``limit``, or a file of the wrong size or content.
        FileNotFoundError: no source worked; the message lists what was tried and the fix.
    """
    if split not in STL10_COUNTS:
        raise ValueError(f"split must be one of {sorted(STL10_COUNTS)}, got {split!r}.")
    is_int = isinstance(limit, (int, np.integer)) and not isinstance(limit, bool)
    if limit is not None and (not is_int or limit < 1):
        raise ValueError(f"limit must be an integer of at least 1 or None, got {limit!r}.")
    names = [f"{split}_X.bin"] + ([] if split == "unlabeled" else [f"{split}_y.bin"])

    def load(folder: Path):
        count = STL10_COUNTS[split]
        if split == "unlabeled":
            return _read_stl10_images(folder / names[0], count, limit, memmap=True)
        x = _read_stl10_images(folder / names[0], count, limit)
        return x, _read_stl10_labels(folder / names[1], count, limit)

    def missing(folder: Path) -> list[str]:
        return [n for n in names if not (folder / n).is_file()]

    tried, candidates = [], []
    local = local_data_dir(data_dir)
    if local is None:
        tried.append(f"local copy: {DATA_DIR_ENV} is not set")
    else:
        candidates.append(("local copy", local / STL10_FOLDER))
    candidates.append(("Keras cache", keras_cache_dir() / STL10_FOLDER))
    for where, folder in candidates:
        lacking = missing(folder)
        if not lacking:
            return load(folder)
        tried.append(f"{where}: {folder} has no {', '.join(lacking)}")
    skipped = downloads.skip_reason(download, STL10_URL)
    if skipped:
        tried.append(skipped)
    else:
        try:
            folder = download_stl10()
        except Exception as e:  # network, disk, checksum or archive errors all end here
            tried.append(f"download: {STL10_URL} failed: {type(e).__name__}: {e}")
        else:
            if not missing(folder):
                return load(folder)
            tried.append(f"download: the archive did not give {folder / names[0]}")
    raise not_found(
        f"STL-10 ({split})",
        tried,
        f"set {DATA_DIR_ENV} to a folder that contains {STL10_FOLDER}/ (with {', '.join(names)}), "
        f"or download {STL10_URL} by hand and extract it into {keras_cache_dir()} so that "
        f"{keras_cache_dir() / STL10_FOLDER} holds the .bin files.",
    )


# --------------------------------------------------------------------------------------
# The 96x96 study's data source
# --------------------------------------------------------------------------------------
STUDY96_SOURCES = ("auto", "stl10", "natural96")


def load_study96(source: str = "auto", data_dir: str | os.PathLike | None = None, download: bool = True):
    """Training and test images for the 96x96 (STL-10) study, from a named source.

    * ``"stl10"``: STL-10 ``train`` (5,000) for training and ``test`` (8,000) for testing
      (``load_stl10``; downloads 2.6 GB when no local copy exists and ``download`` is True).
    * ``"natural96"``: the project's stand-in, ``natural96.npz`` (2,523 training crops; the 272
      ``x_val`` crops from held-out whole photos serve as the test set).
    * ``"auto"``: STL-10 when a local copy exists, else natural96 (a local copy, or rebuilt from the
      training photos, downloaded when ``download`` is True: about 46 MB, the data of the committed
      96x96 models). It never starts the 2.6 GB STL-10 download: ask for ``"stl10"`` for that.

    Returns:
        ``(source, x_train, x_test)``: the source used and images ``(N, 96, 96, 3)`` uint8.
    """
    if source not in STUDY96_SOURCES:
        raise ValueError(f"source must be one of {STUDY96_SOURCES}, got {source!r}.")
    if source == "auto":
        try:
            return ("stl10", *_stl10_train_test(data_dir, download=False))
        except FileNotFoundError:
            pass
        try:
            return ("natural96", *load_natural96(data_dir, download=download))
        except FileNotFoundError as e:
            raise FileNotFoundError(f"{e}\nSTL-10 has no local copy either; load_study96('stl10') downloads it "
                                    "(2.6 GB).") from None
    if source == "natural96":
        return ("natural96", *load_natural96(data_dir, download=download))
    return ("stl10", *_stl10_train_test(data_dir, download=download))


def _stl10_train_test(data_dir, download: bool):
    x_train, _ = load_stl10("train", data_dir, download=download)
    x_test, _ = load_stl10("test", data_dir, download=False)  # the first call fetched everything
    return x_train, x_test
