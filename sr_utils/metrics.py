"""Image-quality metrics: per-image PSNR, SSIM, MAE and MSE in two conventions, and Keras metrics.

Scoring models against baselines under a protocol is ``evaluation``'s job; this module only measures.

Two modes, one code path for models and baselines alike:

* ``rgb`` — the original studies' convention: RGB in [0, 1], whole image, data range 1.
* ``y`` — the SR field's convention (as in published tables and BasicSR): images are clipped
  and rounded to uint8 first, converted to the MATLAB studio-range luma
  ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` (R, G, B in [0, 1], so Y in [16, 235]),
  ``scale`` pixels are cropped from each border, and the data range is 255.

SSIM is the Gaussian-window SSIM of Wang et al. (2004): 11x11 window, sigma 1.5, K1 = 0.01,
K2 = 0.03, computed over the valid region (no padding) in float64 NumPy. In ``rgb`` mode it is
averaged over the three channels, which equals ``tf.image.ssim``; in ``y`` mode it equals
MATLAB's ``ssim`` / ``skimage.metrics.structural_similarity(gaussian_weights=True,
use_sample_covariance=False, data_range=255)``. The tests check both agreements.

Every metric is computed per image in float64 and then averaged: the mean PSNR of a set is the
mean of per-image PSNRs, not the PSNR of the mean MSE.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops
from scipy.ndimage import correlate1d

from .images import to_float, to_uint8

MODES = ("rgb", "y")
METRICS = ("psnr", "ssim", "mae", "mse")
SSIM_IMPLEMENTATION = "Gaussian SSIM (Wang et al. 2004; 11x11, sigma 1.5, valid region), float64 NumPy"

_SSIM_RADIUS = 5
_SSIM_SIGMA = 1.5


def rgb_to_y(images) -> np.ndarray:
    """MATLAB (ITU-R BT.601 studio range) luma of RGB images.

    Args:
        images: ``(..., 3)`` RGB, uint8 in [0, 255] or float in [0, 1].

    Returns:
        ``(...)`` float64 Y in [16, 235] (on the 0-255 scale).
    """
    x = np.asarray(images)
    if x.shape[-1:] != (3,):
        raise ValueError(f"rgb_to_y needs 3 channels in the last axis, got shape {x.shape}.")
    x = x.astype(np.float64) / 255.0 if x.dtype == np.uint8 else x.astype(np.float64)
    return 16.0 + x @ np.array([65.481, 128.553, 24.966])


def prepare(images, mode: str = "rgb", scale: int | None = None) -> tuple[np.ndarray, float]:
    """Turn an image batch into the array the metrics are computed on, for a mode.

    Args:
        images: ``(N, H, W, 3)`` float in [0, 1] or uint8.
        mode: ``"rgb"`` or ``"y"`` (see the module docstring).
        scale: for ``y`` mode, pixels cropped from each border (the SR factor); required there.

    Returns:
        ``(array, data_range)``: rgb -> ``(N, H, W, 3)`` float64 in [0, 1], range 1;
        y -> ``(N, H - 2 * scale, W - 2 * scale, 1)`` float64 Y in [16, 235], range 255.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}.")
    x = to_float(images, "images")
    if mode == "rgb":
        return x.astype(np.float64), 1.0
    if scale is None or isinstance(scale, bool) or not isinstance(scale, (int, np.integer)) or scale < 1:
        raise ValueError(f"y mode needs the integer scale (>= 1) to crop the border, got {scale!r}.")
    if min(x.shape[1:3]) <= 2 * scale:
        raise ValueError(f"images of {x.shape[1]}x{x.shape[2]} are too small to crop {scale} pixels per border.")
    y = rgb_to_y(to_uint8(x))[:, scale:-scale, scale:-scale, None]
    return y, 255.0


def _gaussian_window() -> np.ndarray:
    t = np.arange(-_SSIM_RADIUS, _SSIM_RADIUS + 1, dtype=np.float64)
    g = np.exp(-(t**2) / (2 * _SSIM_SIGMA**2))
    return g / g.sum()


def _blur_valid(x: np.ndarray) -> np.ndarray:
    """Separable Gaussian filter over axes 1 and 2, keeping only fully covered pixels."""
    g = _gaussian_window()
    r = _SSIM_RADIUS
    out = correlate1d(correlate1d(x, g, axis=1, mode="reflect"), g, axis=2, mode="reflect")
    return out[:, r:-r, r:-r, :]


def _check_pair(sr: np.ndarray, hr: np.ndarray) -> None:
    if sr.shape != hr.shape:
        raise ValueError(f"prediction and reference shapes differ: {sr.shape} vs {hr.shape}.")


def mse_per_image(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """Mean squared error of each image pair; arrays ``(N, H, W, C)`` -> ``(N,)`` float64."""
    _check_pair(sr, hr)
    d = np.asarray(sr, np.float64) - np.asarray(hr, np.float64)
    return np.mean(d * d, axis=(1, 2, 3))


def mae_per_image(sr: np.ndarray, hr: np.ndarray) -> np.ndarray:
    """Mean absolute error of each image pair; ``(N, H, W, C)`` -> ``(N,)`` float64."""
    _check_pair(sr, hr)
    return np.mean(np.abs(np.asarray(sr, np.float64) - np.asarray(hr, np.float64)), axis=(1, 2, 3))


def psnr_per_image(sr: np.ndarray, hr: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """PSNR in dB of each image pair, ``10 log10(data_range^2 / MSE)``; inf for identical images.

    Args:
        sr, hr: ``(N, H, W, C)`` arrays on the same scale (e.g. float in [0, 1] with range 1).
        data_range: the peak value range (1 for [0, 1] data, 255 for the 0-255 scale).

    Returns:
        ``(N,)`` float64.
    """
    mse = mse_per_image(sr, hr)
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(data_range**2 / mse)


def ssim_per_image(sr: np.ndarray, hr: np.ndarray, data_range: float = 1.0) -> np.ndarray:
    """Gaussian-window SSIM of each image pair, averaged over the valid region and channels.

    Args:
        sr, hr: ``(N, H, W, C)`` arrays on the same scale, H and W at least 11.
        data_range: the peak value range (1 or 255).

    Returns:
        ``(N,)`` float64 in [-1, 1]; exactly 1 for identical images.
    """
    _check_pair(sr, hr)
    if min(sr.shape[1:3]) < 2 * _SSIM_RADIUS + 1:
        raise ValueError(f"SSIM needs images of at least 11x11 pixels, got {sr.shape[1]}x{sr.shape[2]}.")
    x, y = np.asarray(sr, np.float64), np.asarray(hr, np.float64)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = _blur_valid(x), _blur_valid(y)
    var_x = _blur_valid(x * x) - mu_x**2
    var_y = _blur_valid(y * y) - mu_y**2
    cov = _blur_valid(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
    return ssim_map.mean(axis=(1, 2, 3))


def evaluate(sr, hr, mode: str = "rgb", scale: int | None = None) -> dict[str, np.ndarray]:
    """Per-image PSNR, SSIM, MAE and MSE of predictions against references in one mode.

    Args:
        sr: predictions ``(N, H, W, 3)`` float in [0, 1] (values outside are rejected; clip
            model outputs first) or uint8.
        hr: references of the same shape.
        mode: ``"rgb"`` or ``"y"`` (module docstring); ``y`` needs ``scale``.
        scale: the SR factor, cropped from each border in ``y`` mode.

    Returns:
        ``{"psnr", "ssim", "mae", "mse"}`` -> ``(N,)`` float64 arrays. MAE and MSE are on the
        mode's scale ([0, 1] for rgb, 0-255 for y).
    """
    a, data_range = prepare(sr, mode, scale)
    b, _ = prepare(hr, mode, scale)
    _check_pair(a, b)
    return {
        "psnr": psnr_per_image(a, b, data_range),
        "ssim": ssim_per_image(a, b, data_range),
        "mae": mae_per_image(a, b),
        "mse": mse_per_image(a, b),
    }


# --------------------------------------------------------------------------------------
# Keras training metrics (per image, averaged by Keras over the images of each batch)
# --------------------------------------------------------------------------------------
@keras.saving.register_keras_serializable(package="sr_utils")
def psnr(y_true, y_pred):
    """Keras metric: PSNR in dB of each image of a batch, for images in [0, 1]; shape ``(batch,)``."""
    mse = ops.mean(ops.square(ops.cast(y_true, "float32") - ops.cast(y_pred, "float32")), axis=(1, 2, 3))
    return 10.0 * ops.log(1.0 / ops.maximum(mse, 1e-10)) / ops.log(10.0)


@keras.saving.register_keras_serializable(package="sr_utils")
def ssim(y_true, y_pred):
    """Keras metric: ``tf.image.ssim`` of each image of a batch in [0, 1]; shape ``(batch,)``."""
    return tf.image.ssim(tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32), max_val=1.0)
