"""Seeded splits and subsets, and choosing among data sources (``load_available``, ``load_study96``)."""

from __future__ import annotations

import os

import numpy as np

from .natural96 import load_natural96
from .stl10 import load_stl10


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
# Data sources: whichever loads, and the 96x96 study's
# --------------------------------------------------------------------------------------
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
