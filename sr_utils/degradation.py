"""The degradation (HR -> LR by bicubic downscaling) and interpolation baselines (LR -> HR).

``downscale`` is the single function that makes every LR input in this project. Two
conventions exist and each model card says which one its model was trained and scored on:

* ``antialias=False``: the original studies' ``tf.image.resize(..., "bicubic")``,
  which samples the bicubic kernel at the LR grid without widening it (aliasing).
* ``antialias=True``: the kernel is widened by the scale, like MATLAB ``imresize``; this is
  the degradation of published SR benchmarks (Set5, Set14, BSD100, ...).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .images import check_int, to_float

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3")
_CHUNK = 512  # images resized per call: bounds memory on large sets


def _check_scale(scale) -> int:
    return check_int(scale, "scale", 2)


def _resize(x: np.ndarray, size: tuple[int, int], method: str, antialias: bool) -> np.ndarray:
    out = np.empty((len(x), *size, x.shape[-1]), np.float32)
    for start in range(0, len(x), _CHUNK):
        part = tf.image.resize(x[start:start + _CHUNK], size, method=method, antialias=antialias)
        out[start:start + _CHUNK] = part.numpy()
    return np.clip(out, 0.0, 1.0, out=out)


def downscale(images, scale: int, *, antialias: bool) -> np.ndarray:
    """Make low-resolution inputs from high-resolution images by bicubic downscaling.

    Args:
        images: HR images ``(N, H, W, 3)``, float in [0, 1] (or uint8 in [0, 255]); H and W
            must be divisible by ``scale``.
        scale: integer factor >= 2.
        antialias: False for the original studies' TF bicubic (no antialiasing); True for the
            MATLAB-``imresize``-style degradation of published SR benchmarks.

    Returns:
        LR images ``(N, H // scale, W // scale, 3)`` float32, clipped to [0, 1] (bicubic
        overshoot near edges is clipped; values are not quantized).

    Raises:
        ValueError: wrong rank or channels, non-finite or out-of-range values, a scale that is
            not an integer >= 2, or a size not divisible by the scale.
    """
    scale = _check_scale(scale)
    x = to_float(images, "images")
    h, w = x.shape[1:3]
    if h % scale or w % scale:
        raise ValueError(
            f"image size {h}x{w} is not divisible by scale {scale}; crop the images to a "
            f"multiple of the scale first (e.g. {h - h % scale}x{w - w % scale})."
        )
    return _resize(x, (h // scale, w // scale), "bicubic", antialias)


def make_pair(image, scale: int, *, antialias: bool, quantize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """One (LR, HR) pair from a single image of any size, the way SR benchmarks make theirs.

    The image is cropped at the bottom/right to a multiple of ``scale`` (the HR target), then
    downscaled with ``downscale``; with ``quantize`` the LR image is rounded to uint8 levels,
    as a saved LR image would be.

    Args:
        image: ``(H, W, 3)`` uint8 in [0, 255] or float in [0, 1], at least ``scale`` pixels a side.
        scale: integer factor >= 2.
        antialias: True for the benchmark degradation; False for the original studies'.
        quantize: round the LR image to multiples of 1/255.

    Returns:
        ``(lr, hr)``: ``(H // scale, W // scale, 3)`` and ``(H // scale * scale, W // scale * scale, 3)``
        float32 in [0, 1].
    """
    scale = _check_scale(scale)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}; convert grayscale or RGBA images to RGB first.")
    hr = to_float(image[None], "image")
    h, w = hr.shape[1:3]
    if h < scale or w < scale:
        raise ValueError(f"image of {h}x{w} pixels is smaller than the scale {scale}.")
    hr = hr[:, : h - h % scale, : w - w % scale]
    lr = downscale(hr, scale, antialias=antialias)
    if quantize:
        lr = np.round(lr * 255.0) / np.float32(255.0)
    return lr[0].astype(np.float32), hr[0]


def interpolate(images, scale: int, method: str = "bicubic") -> np.ndarray:
    """Upscale LR images by plain interpolation: the baselines every model is compared with.

    Args:
        images: LR images ``(N, h, w, 3)`` float in [0, 1] (or uint8).
        scale: integer factor >= 2.
        method: one of ``INTERPOLATIONS`` (``nearest``, ``bilinear``, ``bicubic``, ``lanczos3``),
            computed with ``tf.image.resize``.

    Returns:
        ``(N, h * scale, w * scale, 3)`` float32 clipped to [0, 1].
    """
    scale = _check_scale(scale)
    if method not in INTERPOLATIONS:
        raise ValueError(f"method must be one of {INTERPOLATIONS}, got {method!r}.")
    x = to_float(images, "images")
    h, w = x.shape[1:3]
    return _resize(x, (h * scale, w * scale), method, antialias=False)


def describe(scale: int, *, antialias: bool, quantize: bool = False) -> str:
    """The degradation as a call a reader can repeat, for training records: ``downscale`` of a
    batch, or with ``quantize`` ``make_pair`` of a whole photo (LR rounded to uint8)."""
    kind = "MATLAB-style bicubic" if antialias else "TF bicubic, no antialiasing"
    if quantize:
        return f"sr_utils.degradation.make_pair(photo, {scale}, antialias={antialias}) ({kind}, LR rounded to uint8)"
    return f"sr_utils.degradation.downscale(hr, {scale}, antialias={antialias}) ({kind})"
