"""Checks of what the loaders read: the arrays of a ``.npz`` file, uint8 image batches of a given shape."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np


def check_images(x: np.ndarray, shape: tuple[int, int, int], where: str) -> np.ndarray:
    """``x`` as an array, checked to be uint8 images ``(N, *shape)``; ValueError naming ``where`` otherwise."""
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != shape:
        raise ValueError(
            f"{where}: expected uint8 images of shape (N, {shape[0]}, {shape[1]}, {shape[2]}), "
            f"got {x.dtype} {x.shape}. The file is not in the expected format; re-create or re-download it."
        )
    return x


def npz_arrays(path: Path, names: tuple[str, ...], what: str, optional: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
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
