"""Checks and conversions for image batches: (N, H, W, 3) float32 in [0, 1] or uint8 in [0, 255]."""

from __future__ import annotations

import numpy as np
import pandas as pd


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as a plain Python int, if it is an integer (Python or NumPy, not bool) of at least
    ``minimum``; otherwise a ValueError naming ``name``. Plain ints keep Keras layer configs serializable."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_symmetry(k) -> None:
    if not 0 <= k < 8:
        raise ValueError(f"k must be 0-7 (one of the 8 symmetries), got {k!r}.")


def symmetry(images: np.ndarray, k: int) -> np.ndarray:
    """Symmetry ``k`` (0-7) of the dihedral group of a rectangle's pixel grid, applied to the
    height and width axes of ``images`` (``(..., H, W, C)``, any dtype), as a view: ``k`` quarter
    turns (counter-clockwise) for ``k < 4``, then ``k - 4`` quarter turns of the left-right mirror.
    ``k`` odd swaps height and width."""
    _check_symmetry(k)
    return np.rot90(images[..., ::-1, :] if k >= 4 else images, k % 4, axes=(-3, -2))


def inverse_symmetry(images: np.ndarray, k: int) -> np.ndarray:
    """The inverse of ``symmetry(., k)``: ``inverse_symmetry(symmetry(x, k), k)`` equals ``x``."""
    _check_symmetry(k)
    back = np.rot90(images, -(k % 4), axes=(-3, -2))
    return back[..., ::-1, :] if k >= 4 else back


def to_float(images, name: str = "images", channels: int = 3) -> np.ndarray:
    """Validate an image batch and return it as float32 in [0, 1].

    Args:
        images: ``(N, H, W, channels)`` array, either uint8 in [0, 255] (divided by 255) or
            floating point in [0, 1].
        name: how the argument is called in error messages.
        channels: required number of channels.

    Returns:
        ``(N, H, W, channels)`` float32 in [0, 1].

    Raises:
        ValueError: wrong rank or channel count, empty batch, non-finite values, values outside
            [0, 1] for float input, or an unsupported dtype.
    """
    x = np.asarray(images)
    if x.ndim != 4:
        hint = " (add a batch axis with x[None])" if x.ndim == 3 else ""
        raise ValueError(f"{name} must have shape (N, H, W, {channels}), got shape {x.shape}{hint}.")
    if x.shape[-1] != channels:
        raise ValueError(f"{name} must have {channels} channels in the last axis, got shape {x.shape}.")
    if min(x.shape[:3]) == 0:
        raise ValueError(f"{name} is empty: shape {x.shape}.")
    if x.dtype == np.uint8:
        return x.astype(np.float32) / np.float32(255.0)
    if not np.issubdtype(x.dtype, np.floating):
        raise ValueError(f"{name} must be uint8 in [0, 255] or float in [0, 1], got dtype {x.dtype}.")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or infinite values.")
    lo, hi = float(x.min()), float(x.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"{name} must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]"
            + (" (divide uint8-range data by 255)" if hi > 1.0 else "")
            + "."
        )
    return x.astype(np.float32, copy=False)


def to_uint8(images) -> np.ndarray:
    """Clip float images to [0, 1], scale to [0, 255] and round to uint8 (the field's convention).

    Args:
        images: any-shaped float array (values outside [0, 1] are clipped) or uint8 (returned as is).

    Returns:
        uint8 array of the same shape in [0, 255].
    """
    x = np.asarray(images)
    if x.dtype == np.uint8:
        return x
    if not np.all(np.isfinite(x)):
        raise ValueError("images contain NaN or infinite values.")
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def channel_stats(images: dict[str, np.ndarray]):
    """Mean and standard deviation of each colour channel of each image set.

    Args:
        images: label -> ``(N, H, W, 3)`` float in [0, 1].

    Returns:
        ``pandas.DataFrame`` with one row per ``"<label> <R|G|B>"`` and columns ``mean``, ``std``.
    """
    return pd.DataFrame({f"{name} {c}": [float(x[..., i].mean()), float(x[..., i].std())]
                         for name, x in images.items() for i, c in enumerate("RGB")}, index=["mean", "std"]).T
