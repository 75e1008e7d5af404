"""The degradation (HR -> LR) and interpolation baselines (LR -> HR).

``downscale`` makes every LR input of the original studies and of the benchmark protocol. Two
conventions exist and each model card says which one its model was trained and scored on:

* ``antialias=False``: the original studies' ``tf.image.resize(..., "bicubic")``,
  which samples the bicubic kernel at the LR grid without widening it (aliasing).
* ``antialias=True``: the kernel is widened by the scale, like MATLAB ``imresize``; this is
  the degradation of published SR benchmarks (Set5, Set14, BSD100, ...).

Users make small images with other tools, whose kernels differ. ``RESIZERS`` names the ones
people use (TensorFlow, Pillow, OpenCV), and ``resize_down`` imitates each at integer scales: a
separable filter with that library's kernel, width and border rule, equal to the library's own
result to within uint8 rounding (tested where the library is installed). ``Degradation`` adds a
Gaussian pre-blur, mild noise and JPEG compression to a resizer, and ``DegradationMix`` draws
them at random, seeded, for training models that work on any of them.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass

import numpy as np
import tensorflow as tf
from PIL import Image
from scipy.ndimage import gaussian_filter

from .images import check_int, to_float

INTERPOLATIONS = ("nearest", "bilinear", "bicubic", "lanczos3")
_CHUNK = 512  # images resized per call: bounds memory on large sets


def _check_scale(scale) -> int:
    return check_int(scale, "scale", 2)


def _divisible_batch(images, scale) -> tuple[np.ndarray, int]:
    """``images`` as float32 in [0, 1] (``to_float``) and ``scale`` checked, H and W divisible by it."""
    scale = _check_scale(scale)
    x = to_float(images, "images")
    _check_divisible(*x.shape[1:3], scale)
    return x, scale


def _check_divisible(h: int, w: int, scale: int) -> None:
    if h % scale or w % scale:
        raise ValueError(
            f"image size {h}x{w} is not divisible by scale {scale}; crop the images to a "
            f"multiple of the scale first (e.g. {h - h % scale}x{w - w % scale})."
        )


def _whole_image(image, scale) -> tuple[np.ndarray, int]:
    """One ``(H, W, 3)`` image of any size, checked, as float32 in [0, 1] cropped at the bottom/right
    to a multiple of ``scale`` (the HR target of a pair), and ``scale`` checked."""
    scale = _check_scale(scale)
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[-1] != 3:
        raise ValueError(f"image must have shape (H, W, 3), got {image.shape}; convert grayscale or RGBA images to RGB first.")
    hr = to_float(image[None], "image")[0]
    h, w = hr.shape[:2]
    if h < scale or w < scale:
        raise ValueError(f"image of {h}x{w} pixels is smaller than the scale {scale}.")
    return hr[: h - h % scale, : w - w % scale], scale


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
    x, scale = _divisible_batch(images, scale)
    h, w = x.shape[1:3]
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
    hr, scale = _whole_image(image, scale)
    lr = downscale(hr[None], scale, antialias=antialias)
    if quantize:
        lr = np.round(lr * 255.0) / np.float32(255.0)
    return lr[0].astype(np.float32), hr


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


# --------------------------------------------------------------------------------------
# The resizers people make LR images with, imitated at integer scales
# --------------------------------------------------------------------------------------
def _keys(a: float):
    def kernel(x):
        x = np.abs(x)
        near = ((a + 2) * x - (a + 3)) * x * x + 1
        far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
        return np.where(x <= 1, near, np.where(x < 2, far, 0.0))
    return kernel


_KERNELS = {  # name -> (function, support in input pixels at width 1)
    "cubic-0.5": (_keys(-0.5), 2.0),    # Keys' cubic: MATLAB, TensorFlow, Pillow
    "cubic-0.75": (_keys(-0.75), 2.0),  # OpenCV's cubic
    "triangle": (lambda x: np.maximum(0.0, 1.0 - np.abs(x)), 1.0),
    "box": (lambda x: (np.abs(x) <= 0.5).astype(np.float64), 0.5),
}


@dataclass(frozen=True)
class Resizer:
    """How one library shrinks an image by an integer factor.

    Attributes:
        name: short key in ``RESIZERS``.
        call: the library call it imitates, for tables and records.
        kernel: ``"cubic-0.5"``, ``"cubic-0.75"``, ``"triangle"`` or ``"box"``.
        antialias: the kernel is widened by the scale (it averages all the pixels it replaces).
        border: ``"renormalize"`` (taps outside the image dropped, weights rescaled to sum 1) or
            ``"replicate"`` (the edge pixel repeated).
    """

    name: str
    call: str
    kernel: str
    antialias: bool
    border: str


RESIZERS = {r.name: r for r in (
    Resizer("benchmark", "MATLAB-style imresize: tf.image.resize(bicubic, antialias=True)", "cubic-0.5", True, "renormalize"),
    Resizer("tf_bicubic", "tf.image.resize(bicubic), no antialiasing", "cubic-0.5", False, "renormalize"),
    Resizer("pil_bicubic", "PIL.Image.resize(BICUBIC)", "cubic-0.5", True, "renormalize"),
    Resizer("cv2_cubic", "cv2.resize(INTER_CUBIC)", "cubic-0.75", False, "replicate"),
    Resizer("cv2_area", "cv2.resize(INTER_AREA)", "box", True, "replicate"),
    Resizer("cv2_linear", "cv2.resize(INTER_LINEAR)", "triangle", False, "replicate"),
)}


_TF_RESIZERS = ("benchmark", "tf_bicubic")  # computed by tf.image.resize (downscale), unless numpy_only


def _taps(n: int, scale: int, resizer: Resizer) -> tuple[np.ndarray, np.ndarray]:
    """Input indices ``(n // scale, L)`` int and weights ``(n // scale, L)`` float64 of each output pixel."""
    kernel, support = _KERNELS[resizer.kernel]
    width = scale if resizer.antialias else 1
    centre = (scale - 1) / 2  # of output pixel 0, in input pixels (pixel centres at half-integers)
    offsets = np.arange(int(np.floor(centre - support * width)), int(np.ceil(centre + support * width)) + 1)
    index = np.arange(n // scale)[:, None] * scale + offsets
    weight = np.broadcast_to(kernel((offsets - centre) / width), index.shape).copy()
    if resizer.border == "renormalize":
        weight[(index < 0) | (index >= n)] = 0.0
    keep = weight.any(axis=0)
    index, weight = np.clip(index[:, keep], 0, n - 1), weight[:, keep]
    return index, weight / weight.sum(axis=1, keepdims=True)


def same_resize(a: str, b: str, scale: int) -> bool:
    """Whether the resizers ``a`` and ``b`` (keys of ``RESIZERS``) compute the same LR pixels at
    ``scale``: the same taps and weights (to 1e-12) at every output pixel, borders included."""
    n = 16 * _check_scale(scale)
    (ia, wa), (ib, wb) = _taps(n, scale, RESIZERS[a]), _taps(n, scale, RESIZERS[b])
    def spread(index, weight):  # (outputs, n): each output pixel's weight on each input pixel
        dense = np.zeros((len(index), n))
        np.add.at(dense, (np.arange(len(index))[:, None], index), weight)
        return dense
    return bool(np.allclose(spread(ia, wa), spread(ib, wb), rtol=0, atol=1e-12))


def resize_down(images, scale: int, resizer: str, numpy_only: bool = False) -> np.ndarray:
    """Shrink images by an integer factor the way ``RESIZERS[resizer]`` does.

    ``"benchmark"`` and ``"tf_bicubic"`` are ``downscale(antialias=True / False)`` themselves; the
    others are computed here (a separable filter, in float64) and match their library's uint8
    result to within one level once rounded. Pillow and OpenCV are not needed.

    ``numpy_only=True`` computes the TensorFlow resizers here too (in float32, equal to
    TensorFlow's result to within float rounding): for threads that must not call TensorFlow,
    such as those feeding a ``tf.data`` pipeline (``streaming``).

    Args:
        images: ``(N, H, W, 3)`` float in [0, 1] or uint8; H and W divisible by ``scale``.
        scale: integer factor >= 2.
        resizer: a key of ``RESIZERS``.

    Returns:
        ``(N, H // scale, W // scale, 3)`` float32 in [0, 1], not quantized.
    """
    if resizer not in RESIZERS:
        raise ValueError(f"resizer must be one of {sorted(RESIZERS)}, got {resizer!r}.")
    if resizer in _TF_RESIZERS and not numpy_only:
        return downscale(images, scale, antialias=resizer == "benchmark")
    x, scale = _divisible_batch(images, scale)
    dtype = np.float32 if resizer in _TF_RESIZERS else np.float64  # float32: as TensorFlow computes
    return np.clip(_separable(x.astype(dtype, copy=False), scale, RESIZERS[resizer]), 0.0, 1.0).astype(np.float32, copy=False)


def _separable(x: np.ndarray, scale: int, resizer: Resizer, opencv: bool = True) -> np.ndarray:
    """``(N, H, W, C)`` filtered and subsampled along H then W, unclipped, in ``x``'s float dtype
    (float32 for uint8, on the same [0, 255] scale).

    Away from the borders every output pixel has the same taps at a stride of ``scale``: those
    are computed on strided views, one multiply-add per tap; only the few border pixels whose
    taps are clipped or renormalized are gathered one by one. Images of ``_CV2_MIN_PIXELS`` or
    more are filtered by OpenCV where it is installed (``_separable_opencv``; faster, measured by
    ``streaming.visit_costs``): the same taps and weights, so the same result to float rounding.
    ``opencv=False``: numpy for every image.
    """
    large = opencv and x.ndim == 4 and x.shape[3] <= 4 and x.shape[1] * x.shape[2] >= _CV2_MIN_PIXELS
    cv2 = _opencv() if large and x.dtype in (np.uint8, np.float32, np.float64) else None
    if cv2 is not None:
        out = [_separable_opencv(cv2, image, scale, resizer) for image in x]
        return out[0][None] if len(out) == 1 else np.stack(out)
    for axis in (1, 2):
        x = _filter_axis(x, axis, scale, resizer)
    return x


_CV2_MIN_PIXELS = 1 << 16  # images of this many pixels or more are filtered by OpenCV, when it is installed
_CV2 = []  # the cv2 module, or None, once looked for


def _opencv():
    """The ``cv2`` module, or None where OpenCV is not installed (numpy then filters every image)."""
    if not _CV2:
        try:
            import cv2
        except ImportError:
            cv2 = None
        _CV2.append(cv2)
    return _CV2[0]


def _regular_taps(index: np.ndarray, weight: np.ndarray, scale: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The taps every output pixel away from the borders shares, from ``_taps``: ``(offsets,
    weights, regular)``: output pixel ``i`` is ``sum_k weights[k] * input[scale * i + offsets[k]]``
    where ``regular[i]``; the others (borders: taps clipped or renormalized) differ."""
    mid = len(index) // 2
    offsets, w = index[mid] - mid * scale, weight[mid]
    return offsets, w, _has_taps(index, weight, scale, offsets, w)


def _has_taps(index: np.ndarray, weight: np.ndarray, scale: int, offsets: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Which output pixels' taps (``_taps``: ``index``, ``weight``) are ``(offsets, w)``: a bool per pixel."""
    if index.shape[1] != len(offsets):
        return np.zeros(len(index), bool)
    return np.all(index == np.arange(len(index))[:, None] * scale + offsets, axis=1) & np.all(np.abs(weight - w) < 1e-12, axis=1)


_SCRATCH = threading.local()


def _scratch(shape: tuple[int, ...], dtype) -> np.ndarray:
    """This thread's scratch array of ``shape`` and ``dtype`` (uninitialised), kept for its next
    call: OpenCV's full-size filtered image (33 MB for a DIV2K photo), which would otherwise be
    fresh memory, faulted in page by page, at every call."""
    array = getattr(_SCRATCH, "array", None)
    if array is None or array.shape != tuple(shape) or array.dtype != dtype:
        array = _SCRATCH.array = np.empty(shape, dtype)
    return array


def _shared_taps(scale: int, resizer: Resizer) -> tuple[np.ndarray, np.ndarray]:
    """``(offsets, weights)`` of an output pixel far from both borders, whatever the image size
    (taken from a side of ``64 * scale`` pixels, where the middle pixel's taps are all inside)."""
    offsets, w, _ = _regular_taps(*_taps(64 * scale, scale, resizer), scale)
    return offsets, w


def _separable_opencv(cv2, image: np.ndarray, scale: int, resizer: Resizer) -> np.ndarray:
    """``_separable`` of one ``(H, W, C)`` image (C <= 4) by ``cv2.sepFilter2D``: the shared taps
    (``_shared_taps``) filter the whole image (edge pixels repeated beyond it, which is the
    ``replicate`` border rule) and every ``scale``-th pixel is kept; output rows and columns whose
    taps differ from the shared ones (the ``renormalize`` rule's borders; every row of a side too
    short to have an interior) are then computed by numpy."""
    dtype = image.dtype if image.dtype.kind == "f" else np.dtype(np.float32)
    offsets, w = _shared_taps(scale, resizer)
    first = min(int(offsets.min()), 0)  # the kernel spans tap 0, its anchor: output pixel i is the
    kernel = np.zeros(max(int(offsets.max()), 0) - first + 1, dtype)  # filter's value at input pixel scale * i
    kernel[offsets - first] = w
    filtered = cv2.sepFilter2D(np.ascontiguousarray(image), cv2.CV_32F if dtype == np.float32 else cv2.CV_64F, kernel, kernel,
                               dst=_scratch(image.shape, dtype), anchor=(-first, -first), borderType=cv2.BORDER_REPLICATE)
    h, w_out = image.shape[0] // scale, image.shape[1] // scale
    out = np.ascontiguousarray(filtered.reshape(image.shape)[:h * scale:scale, :w_out * scale:scale])  # cv2 drops a channel axis of 1
    if resizer.border != "replicate":
        (rows, row_w), (cols, col_w) = (_taps(n, scale, resizer) for n in image.shape[:2])
        fix = np.flatnonzero(~_has_taps(rows, row_w, scale, offsets, w))  # rows along H, then filtered along W
        if len(fix):
            lines = np.einsum("rk,rkwc->rwc", row_w[fix].astype(dtype), image[rows[fix]].astype(dtype, copy=False))
            out[fix] = _filter_axis(lines[None], 2, scale, resizer)[0]
        fix = np.flatnonzero(~_has_taps(cols, col_w, scale, offsets, w))  # columns along W, then filtered along H
        if len(fix):
            lines = np.einsum("ck,hckd->hcd", col_w[fix].astype(dtype), image[:, cols[fix]].astype(dtype, copy=False))
            out[:, fix] = _filter_axis(lines[None], 1, scale, resizer)[0]
    return out


def _filter_axis(x: np.ndarray, axis: int, scale: int, resizer: Resizer) -> np.ndarray:
    """``_separable`` along one axis of ``x``, by numpy."""
    index, weight = _taps(x.shape[axis], scale, resizer)
    n = len(index)
    shape = list(x.shape)
    shape[axis] = n
    dtype = x.dtype if x.dtype.kind == "f" else np.dtype(np.float32)  # uint8 in: float32 out, on the same [0, 255] scale
    out = np.empty(shape, dtype)

    def along(i):  # an index of `axis`, whole along the others
        return (slice(None),) * axis + (i,)

    offsets, w, regular = _regular_taps(index, weight, scale)
    rows = np.flatnonzero(regular)
    a, b = (int(rows[0]), int(rows[-1]) + 1) if len(rows) and np.all(regular[rows[0]:rows[-1] + 1]) else (0, 0)
    if b > a:
        acc = out[along(slice(a, b))]
        tmp = np.empty_like(acc)
        for k, (o, wk) in enumerate(zip(offsets, w.astype(dtype))):
            view = x[along(slice(a * scale + o, (b - 1) * scale + o + 1, scale))]
            if k == 0:
                np.multiply(view, wk, out=acc)
            else:
                np.multiply(view, wk, out=tmp)
                acc += tmp
    for i in [*range(a), *range(b, n)]:
        out[along(i)] = np.tensordot(weight[i].astype(dtype), np.take(x, index[i], axis=axis).astype(dtype, copy=False), axes=([0], [axis]))
    return out


@dataclass(frozen=True)
class Degradation:
    """One way a small image gets made: optional blur, a resizer, optional noise, uint8, optional JPEG.

    Applied in that order (``apply``): a Gaussian blur of the HR image (``blur_sigma`` HR pixels,
    0: none), ``resize_down`` with ``resizer``, Gaussian noise of standard deviation
    ``noise_sigma`` (in uint8 levels, per pixel and channel, 0: none), rounding to uint8, and a
    JPEG round trip at ``jpeg_quality`` (Pillow, 4:2:0 chroma; None: none).
    """

    resizer: str
    blur_sigma: float = 0.0
    noise_sigma: float = 0.0
    jpeg_quality: int | None = None

    def __post_init__(self):
        if self.resizer not in RESIZERS:
            raise ValueError(f"resizer must be one of {sorted(RESIZERS)}, got {self.resizer!r}.")
        if not (0 <= self.blur_sigma <= 10 and 0 <= self.noise_sigma <= 50):
            raise ValueError(f"blur_sigma must lie in [0, 10] and noise_sigma in [0, 50], got {self.blur_sigma}, {self.noise_sigma}.")
        if self.jpeg_quality is not None and not 1 <= self.jpeg_quality <= 100:
            raise ValueError(f"jpeg_quality must be None or an integer in [1, 100], got {self.jpeg_quality!r}.")

    def describe(self) -> str:
        """A short label: ``"cv2_cubic"``, ``"blur 1.2 + cv2_area + noise 2 + JPEG 80"``."""
        parts = ([f"blur {self.blur_sigma:g}"] if self.blur_sigma else []) + [self.resizer] \
            + ([f"noise {self.noise_sigma:g}"] if self.noise_sigma else []) \
            + ([f"JPEG {self.jpeg_quality}"] if self.jpeg_quality is not None else [])
        return " + ".join(parts)

    def apply(self, image, scale: int, rng: np.random.Generator | None = None,
              numpy_only: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """An (LR, HR) pair from one image of any size (cropped at the bottom/right to a multiple
        of ``scale``), as ``make_pair`` does for the benchmark degradation.

        Args:
            image: ``(H, W, 3)`` uint8 in [0, 255] or float in [0, 1].
            scale: integer factor >= 2.
            rng: draws the noise; needed only when ``noise_sigma`` > 0.
            numpy_only: no TensorFlow call (``resize_down``); the LR image may then differ from
                TensorFlow's by one uint8 level where a value lies on a rounding boundary.

        Returns:
            ``(lr, hr)``: ``(H // scale, W // scale, 3)`` float32 in [0, 1] on uint8 levels, and
            ``(H // scale * scale, W // scale * scale, 3)`` float32 in [0, 1].
        """
        hr, scale = _whole_image(image, scale)
        return self.lr_uint8(hr, scale, rng, numpy_only).astype(np.float32) / np.float32(255.0), hr

    def lr_uint8(self, hr: np.ndarray, scale: int, rng: np.random.Generator | None = None, numpy_only: bool = False) -> np.ndarray:
        """The LR image of ``apply`` as ``(H // scale, W // scale, 3)`` uint8, from an HR image whose sides
        are multiples of ``scale``: ``(H, W, 3)`` float32 in [0, 1], or uint8 (then, with ``numpy_only``,
        a TensorFlow resizer and no blur, filtered as it is, without a float copy of the whole image)."""
        if self.blur_sigma or hr.dtype != np.uint8 or not (numpy_only and self.resizer in _TF_RESIZERS):
            x = hr.astype(np.float32) / np.float32(255.0) if hr.dtype == np.uint8 else hr
            if self.blur_sigma:
                x = gaussian_filter(x, (self.blur_sigma, self.blur_sigma, 0), mode="reflect", truncate=3.0)
            lr = resize_down(np.clip(x, 0, 1)[None], scale, self.resizer, numpy_only)[0] * 255.0
        else:
            _check_divisible(*hr.shape[:2], scale)
            lr = _separable(hr[None], scale, RESIZERS[self.resizer])[0]  # float32, as TensorFlow computes
        if self.noise_sigma:
            if rng is None:
                raise ValueError("this degradation adds noise: pass rng (a numpy.random.Generator).")
            lr = lr + rng.normal(0.0, self.noise_sigma, lr.shape)
        lr = np.rint(np.clip(lr, 0, 255, out=lr), out=lr).astype(np.uint8)  # lr is ours: in place, no new memory
        if self.jpeg_quality is not None:
            buffer = io.BytesIO()
            Image.fromarray(lr).save(buffer, format="JPEG", quality=int(self.jpeg_quality))
            lr = np.asarray(Image.open(buffer).convert("RGB"))
        return lr


@dataclass(frozen=True)
class DegradationMix:
    """A random ``Degradation`` per image: how users make small images, for robust training.

    ``draw`` picks a resizer uniformly from ``resizers``; with probability ``blur_probability``
    a blur of ``blur_sigma`` (range, in HR pixels per unit of scale: x4 blurs twice as wide as
    x2); with ``noise_probability`` noise of ``noise_sigma`` uint8 levels; with
    ``jpeg_probability`` a JPEG quality in ``jpeg_quality`` (inclusive). Ranges are drawn
    uniformly. The same generator state gives the same draws.
    """

    resizers: tuple[str, ...] = tuple(RESIZERS)
    blur_probability: float = 0.3
    blur_sigma: tuple[float, float] = (0.2, 0.6)
    noise_probability: float = 0.3
    noise_sigma: tuple[float, float] = (1.0, 4.0)
    jpeg_probability: float = 0.3
    jpeg_quality: tuple[int, int] = (70, 95)

    def __post_init__(self):
        unknown = [r for r in self.resizers if r not in RESIZERS]
        if not self.resizers or unknown:
            raise ValueError(f"resizers must be a non-empty tuple of names from {sorted(RESIZERS)}, got {self.resizers!r}.")
        for name in ("blur_probability", "noise_probability", "jpeg_probability"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}.")

    def describe(self, per: str = "patch") -> str:
        """The mix in one line, for training records and model cards; ``per``: what each draw
        degrades (``"patch"`` for ``pipelines.degraded_patches``, ``"photo visit"`` for
        ``streaming.photo_patch_dataset``, which degrades a whole photo each time it reads it)."""
        return (f"per {per}, at random: one of {', '.join(self.resizers)} (sr_utils.degradation.RESIZERS); "
                f"with p={self.blur_probability:g} a Gaussian pre-blur of sigma "
                f"{self.blur_sigma[0]:g}-{self.blur_sigma[1]:g} x scale HR pixels; "
                f"with p={self.noise_probability:g} Gaussian noise of sigma {self.noise_sigma[0]:g}-{self.noise_sigma[1]:g} levels; "
                f"LR rounded to uint8; with p={self.jpeg_probability:g} JPEG at quality {self.jpeg_quality[0]}-{self.jpeg_quality[1]}")

    def draw(self, rng: np.random.Generator, scale: int) -> Degradation:
        """One random degradation for an image at ``scale``."""
        resizer = self.resizers[rng.integers(len(self.resizers))]
        blur = round(float(rng.uniform(*self.blur_sigma)) * scale, 3) if rng.random() < self.blur_probability else 0.0
        noise = round(float(rng.uniform(*self.noise_sigma)), 3) if rng.random() < self.noise_probability else 0.0
        jpeg = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)) if rng.random() < self.jpeg_probability else None
        return Degradation(resizer, blur, noise, jpeg)

    def apply(self, image, scale: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``draw`` then ``Degradation.apply``: an (LR, HR) pair, as ``Degradation.apply`` returns."""
        return self.draw(rng, scale).apply(image, scale, rng)
