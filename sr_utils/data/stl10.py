"""STL-10: the official binary release (96x96 photos, 2.6 GB) and the 256-picture subset kept for evaluation.

The full release is read from ``stl10_binary/`` (a local copy, the Keras cache, or
``download_stl10``), the unlabeled split memory-mapped. ``stl10_subset.npz`` (256 real STL-10
pictures, for evaluation only) is downloaded picture by picture from its pinned commits
(``STL10_SUBSET_COMMITS``) and checked against ``assets/stl10_subset_manifest.csv``.
Images are ``(N, 96, 96, 3)`` uint8 in [0, 255].
"""

from __future__ import annotations

import csv
import os
import shutil
import urllib.parse
from pathlib import Path

import numpy as np

from .. import downloads
from ..files import atomic_write
from .arrays import check_images, npz_arrays
from .locations import ASSETS, DATA_DIR_ENV, cache_folder, find_local_file, keras_cache_dir, local_data_dir, not_found
from .photos import GITHUB, already_kept, fetch_checked, read_photo


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
    cache = cache_folder(cache_dir)
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
    folder = downloads.attempt(download, STL10_URL, download_stl10, tried)
    if folder is not None:
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
# The STL-10 subset: 256 real STL-10 pictures published as PNG examples
# --------------------------------------------------------------------------------------
STL10_SUBSET_MANIFEST = ASSETS / "stl10_subset_manifest.csv"
# The repositories the 256 PNGs come from, and the full commit each ``source`` abbreviates.
STL10_SUBSET_COMMITS = {
    "semihyagli/STL10-Labeled": "6f9f01c52c80253cd533b0240e56bac493cf77b5",
    "semihyagli/STL10_Segmentation": "8f852c8e1a1253719fa8f8030c304071639b8c06",
}


def _subset_url(source: str, base: str) -> str:
    """``owner/repo@commit12:path`` -> the raw file's URL under ``base`` (pinned to the full commit)."""
    repo, _, rest = source.partition("@")
    short, _, path = rest.partition(":")
    commit = STL10_SUBSET_COMMITS.get(repo, "")
    if not commit.startswith(short) or not short or not path or ".." in path.split("/"):
        raise ValueError(f"bad STL-10 subset source {source!r}: expected owner/repo@commit:path of "
                         f"{sorted(STL10_SUBSET_COMMITS)}.")
    return f"{base.rstrip('/')}/{repo}/{commit}/{urllib.parse.quote(path)}"


def download_stl10_subset(cache_dir: str | os.PathLike | None = None, *, manifest: str | os.PathLike | None = None,
                          base_url: str = GITHUB, progress: bool = True) -> Path:
    """Download the 256 STL-10 pictures of ``stl10_subset.npz`` and write that file into
    ``cache_dir`` (default: the Keras cache).

    Each PNG is fetched from its pinned commit (``STL10_SUBSET_COMMITS``) and its RGB pixels (the
    alpha channel, 255 everywhere where present, dropped) are checked against the committed
    manifest before they are kept; an interrupted run keeps the checked PNGs in
    ``stl10_subset.part/`` and fetches only the rest next time.

    Returns:
        ``<cache_dir>/stl10_subset.npz``: ``x`` ``(256, 96, 96, 3)`` uint8 in [0, 255] and
        ``source`` ``(256,)`` str (``owner/repo@commit12:path`` of each picture).

    Raises:
        OSError: a picture could not be downloaded. ValueError: one does not match its checksum.
    """
    from tqdm.auto import tqdm

    cache = cache_folder(cache_dir)
    with open(manifest or STL10_SUBSET_MANIFEST, newline="") as f:
        rows = [(row["source"], row["sha256"]) for row in csv.DictReader(f)]
    part = cache / "stl10_subset.part"
    for i, (source, expected) in enumerate(tqdm(rows, desc="STL-10 subset", unit="picture", disable=not progress)):
        kept = part / f"{i:03d}.png"
        if not already_kept(kept, "pixels", expected):
            fetch_checked(_subset_url(source, base_url), kept, "pixels", expected, source)
    x = np.stack([read_photo(part / f"{i:03d}.png") for i in range(len(rows))])
    path = cache / "stl10_subset.npz"
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, x=x, source=np.array([s for s, _ in rows]))
    shutil.rmtree(part)
    return path


def load_stl10_subset(data_dir: str | os.PathLike | None = None, download: bool = True) -> np.ndarray:
    """Load the 256 real STL-10 images kept for checks (``stl10_subset.npz``, array ``x``).

    Looks in ``data_dir`` / ``$SR_DATA_DIR``, then the Keras cache; else downloads the 256 PNGs
    (about 6 MB, ``download_stl10_subset``) into the Keras cache unless ``download=False``.

    Returns:
        ``(256, 96, 96, 3)`` uint8 in [0, 255]. Too few to train on: an evaluation set only.
    """
    what = "STL-10 subset (256 images)"
    try:
        path = find_local_file("stl10_subset.npz", data_dir, what)
    except FileNotFoundError as missing:
        skipped = downloads.skip_reason(download, GITHUB)
        if skipped:
            raise FileNotFoundError(f"{missing}\n  - {skipped}") from None
        try:
            path = download_stl10_subset()
        except (OSError, ValueError) as e:
            raise FileNotFoundError(f"{missing}\n  - download failed: {e}") from None
    x = npz_arrays(path, ("x",), "stl10_subset.npz (uint8, images (N, 96, 96, 3))")["x"]
    return check_images(x, (96, 96, 3), f"{path}: x")
