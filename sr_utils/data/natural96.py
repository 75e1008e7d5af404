"""natural96 (96x96 crops of T91 + BSDS photos, the stand-in for STL-10): loaded, or rebuilt from the photos.

``build_natural96`` cuts the crops out of the ``sr_train/`` photos (``photos``) at the corners of
the committed crop index (``crop_index``); they equal the original ``natural96.npz``'s byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..files import atomic_write
from .arrays import check_images, npz_arrays
from .crop_index import read_crop_index
from .locations import cache_folder, find_local_file
from .photos import find_sr_train, photo_path, read_photo

CROP = 96  # natural96 crops are 96x96


def load_natural96(data_dir: str | os.PathLike | None = None, download: bool = True):
    """Load the 96x96 natural-photo crops (T91 + BSDS), the project's stand-in for STL-10.

    Looks for ``natural96.npz`` in ``data_dir`` / ``$SR_DATA_DIR``, then the Keras cache; else
    rebuilds it into the Keras cache from the ``sr_train/`` photos and the committed crop index
    (``rebuild_natural96``; the photos are downloaded, about 46 MB, unless ``download=False``).
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
            path = rebuild_natural96(data_dir, download=download)
        except FileNotFoundError as no_photos:
            raise FileNotFoundError(f"{missing}\nIt can be rebuilt from the sr_train/ photos, but: {no_photos}") from None
    d = npz_arrays(path, ("x_train", "x_val"), "natural96.npz (uint8, images (N, 96, 96, 3))")
    x_train = check_images(d["x_train"], (96, 96, 3), f"{path}: x_train")
    x_val = check_images(d["x_val"], (96, 96, 3), f"{path}: x_val")
    return x_train, x_val


def build_natural96(root: str | os.PathLike, index: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Cut natural96's crops out of the photos in ``root`` (an ``sr_train/`` folder).

    Returns:
        The arrays of ``natural96.npz``: ``x_train`` ``(2523, 96, 96, 3)`` and ``x_val``
        ``(272, 96, 96, 3)`` uint8 in [0, 255], ``source`` / ``val_source`` (str) and ``pos`` /
        ``val_pos`` (``(N, 2)`` int16, ``(y, x)``).

    Raises:
        FileNotFoundError: a photo of the index is missing from ``root``.
        ValueError: a crop lies outside its photo (the photos are not the indexed ones).
    """
    root = Path(root)
    crops, cache = {}, {}
    for split, (sources, positions) in read_crop_index(index).items():
        out = np.empty((len(sources), CROP, CROP, 3), np.uint8)
        for i, (name, (y, x)) in enumerate(zip(sources, positions)):
            name = str(name)
            if name not in cache:
                path = photo_path(root, name)
                if not path.is_file():
                    raise FileNotFoundError(f"{path} is missing: natural96 is cut from the sr_train/ photos; "
                                            "download them again (photos.download_sr_train).")
                cache = {name: read_photo(path)}  # crops of one photo are consecutive in the index
            photo = cache[name]
            if y < 0 or x < 0 or y + CROP > photo.shape[0] or x + CROP > photo.shape[1]:
                raise ValueError(f"the crop at {(int(y), int(x))} lies outside {name} ({photo.shape[1]}x{photo.shape[0]}): "
                                 "these photos are not the ones natural96 was cut from.")
            out[i] = photo[y:y + CROP, x:x + CROP]
        prefix = "" if split == "train" else "val_"
        crops[f"x_{split}"] = out
        crops[f"{prefix}source"] = sources
        crops[f"{prefix}pos"] = positions
    return crops


def rebuild_natural96(data_dir: str | os.PathLike | None = None, download: bool = True,
                      cache_dir: str | os.PathLike | None = None) -> Path:
    """Write ``natural96.npz`` into ``cache_dir`` (default: the Keras cache), cut from the
    ``sr_train/`` photos (found or downloaded by ``find_sr_train``). Returns its path."""
    root = find_sr_train(data_dir, download=download)
    arrays = build_natural96(root)
    path = cache_folder(cache_dir) / "natural96.npz"
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path
