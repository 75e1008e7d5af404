"""Training data pipelines: endless, seeded ``tf.data`` streams of (LR, HR) batches, from whole
image pairs or from random patches of images of any size, with flips and 90-degree rotations.
``degraded_patch_dataset`` makes each LR patch on the fly from an HR patch, with a fixed or a
random degradation (``degradation.Degradation`` / ``DegradationMix``)."""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from .degradation import Degradation, DegradationMix
from .images import check_int


def _flip_rotate(lr, hr, seed):
    """The same random 90-degree rotation and horizontal flip for an LR/HR pair (8 variants).

    Both commute with the degradation (a symmetric kernel on a symmetric grid), so the
    augmented pair is still an exact (LR, HR) pair.
    """
    k = tf.random.stateless_uniform([], seed, 0, 4, dtype=tf.int32)
    flip = tf.random.stateless_uniform([], seed + 1, 0, 2, dtype=tf.int32)
    lr, hr = tf.image.rot90(lr, k), tf.image.rot90(hr, k)
    return tf.cond(flip > 0, lambda: (tf.image.flip_left_right(lr), tf.image.flip_left_right(hr)), lambda: (lr, hr))


def paired_dataset(lr, hr, batch_size: int, seed: int = 42, augment: bool = True):
    """An endless, shuffled ``tf.data`` stream of (LR, HR) batches, optionally with random flips
    and 90-degree rotations (the same for both images of a pair), reproducible for a seed.

    Args:
        lr: ``(N, h, w, 3)`` float32 in [0, 1]; hr: ``(N, h * s, w * s, 3)`` float32 in [0, 1].
        batch_size: pairs per batch.

    Returns:
        ``tf.data.Dataset`` of ``(lr_batch, hr_batch)``; pass ``steps_per_epoch`` to ``fit``.
    """
    if len(lr) != len(hr):
        raise ValueError(f"lr and hr must hold the same number of images, got {len(lr)} and {len(hr)}.")
    if hr.shape[1] % lr.shape[1] or hr.shape[1] // lr.shape[1] != hr.shape[2] // lr.shape[2]:
        raise ValueError(f"hr {hr.shape[1:3]} is not an integer multiple of lr {lr.shape[1:3]}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    pairs = tf.data.Dataset.from_tensor_slices((lr, hr)).shuffle(len(lr), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment:
        seeds = tf.data.Dataset.counter().map(lambda i: tf.stack([tf.cast(seed, tf.int64), i]))
        pairs = tf.data.Dataset.zip((pairs, seeds)).map(lambda p, s: _flip_rotate(p[0], p[1], s),
                                                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pairs.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _as_pairs(lr_images, hr_images):
    if len(lr_images) != len(hr_images) or len(lr_images) == 0:
        raise ValueError(f"need the same non-zero number of LR and HR images, got {len(lr_images)} and {len(hr_images)}.")
    scale = None
    for i, (lr, hr) in enumerate(zip(lr_images, hr_images)):
        if lr.ndim != 3 or hr.ndim != 3 or hr.shape[0] % lr.shape[0] or hr.shape[1] % lr.shape[1] \
                or hr.shape[0] // lr.shape[0] != hr.shape[1] // lr.shape[1]:
            raise ValueError(f"pair {i}: HR {hr.shape} is not an integer multiple of LR {lr.shape} (both (H, W, 3)).")
        s = hr.shape[0] // lr.shape[0]
        if scale not in (None, s):
            raise ValueError(f"pair {i} has scale {s}, the pairs before it {scale}.")
        scale = s
    return scale


def _usable(lr_images, lr_patch: int) -> list[int]:
    usable = [i for i, lr in enumerate(lr_images) if lr.shape[0] >= lr_patch and lr.shape[1] >= lr_patch]
    if lr_patch < 1 or not usable:
        raise ValueError(f"no LR image is at least {lr_patch}x{lr_patch}; use a smaller lr_patch.")
    return usable


def _draw_patches(lr_images, hr_images, s: int, usable: list[int], lr_patch: int, n: int,
                  rng: np.random.Generator, augment: bool):
    """The drawing behind ``random_patches``, for pairs already checked by ``_as_pairs`` / ``_usable``."""
    p = lr_patch * s
    lr_out = np.empty((n, lr_patch, lr_patch, 3), np.float32)
    hr_out = np.empty((n, p, p, 3), np.float32)
    for k, i in enumerate(rng.choice(usable, size=n)):
        lr, hr = lr_images[i], hr_images[i]
        y = rng.integers(0, lr.shape[0] - lr_patch + 1)
        x = rng.integers(0, lr.shape[1] - lr_patch + 1)
        a, b = lr[y:y + lr_patch, x:x + lr_patch], hr[y * s:y * s + p, x * s:x * s + p]
        if augment:
            turns, flip = rng.integers(0, 4), rng.integers(0, 2)
            a, b = np.rot90(a, turns), np.rot90(b, turns)
            if flip:
                a, b = a[:, ::-1], b[:, ::-1]
        lr_out[k], hr_out[k] = a, b
    return lr_out, hr_out


def random_patches(lr_images, hr_images, lr_patch: int, n: int, rng: np.random.Generator, augment: bool = True):
    """``n`` aligned random patch pairs: an image, then a position in it, uniformly at random.

    Args:
        lr_images, hr_images: sequences (lists or arrays) of ``(h, w, 3)`` and ``(h * s, w * s, 3)``
            float32 in [0, 1]; sizes may differ between pairs, the scale ``s`` may not.
        lr_patch: LR patch side; the HR patch side is ``lr_patch * s``. Pairs smaller than a
            patch are never drawn.
        n: number of patches.
        rng: the NumPy generator to draw from (reproducible for a seed).
        augment: apply one of the 8 flips/90-degree rotations to both patches of a pair (exact
            for a symmetric degradation kernel, see ``_flip_rotate``).

    Returns:
        ``(lr, hr)``: ``(n, lr_patch, lr_patch, 3)`` and ``(n, lr_patch * s, lr_patch * s, 3)`` float32.
    """
    s = _as_pairs(lr_images, hr_images)
    return _draw_patches(lr_images, hr_images, s, _usable(lr_images, lr_patch), lr_patch, n, rng, augment)


def patch_dataset(lr_images, hr_images, lr_patch: int, batch_size: int, seed: int = 42, augment: bool = True):
    """An endless ``tf.data`` stream of random aligned patch batches (see ``random_patches``),
    reproducible for a seed. Training on patches of whole images of any size is how SR
    networks are trained; the LR images are made once, from whole images, beforehand.
    The pairs are checked once, here, not on every batch.

    Returns:
        ``tf.data.Dataset`` of ``(lr_batch, hr_batch)`` float32 ``(batch_size, lr_patch, lr_patch, 3)``
        and ``(batch_size, lr_patch * s, lr_patch * s, 3)``; pass ``steps_per_epoch`` to ``fit``.
    """
    s = _as_pairs(lr_images, hr_images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    usable = _usable(lr_images, lr_patch)

    def batches():
        rng = np.random.default_rng(seed)
        while True:
            yield _draw_patches(lr_images, hr_images, s, usable, lr_patch, batch_size, rng, augment)

    p = lr_patch * s
    signature = (tf.TensorSpec((batch_size, lr_patch, lr_patch, 3), tf.float32), tf.TensorSpec((batch_size, p, p, 3), tf.float32))
    return tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2)


def degraded_patches(hr_images, scale: int, lr_patch: int, n: int, degradation: Degradation | DegradationMix,
                     rng: np.random.Generator, augment: bool = True, margin: int = 4):
    """``n`` random (LR, HR) patch pairs whose LR patches are made now, each by ``degradation``
    (a ``DegradationMix`` draws a new degradation for every patch).

    An HR window of ``(lr_patch + 2 * margin) * scale`` pixels a side is cut at a random place
    of a random image, flipped/rotated (``augment``), degraded as a whole, and its centre kept:
    ``margin`` LR pixels on each side absorb the blur and resize kernels' borders, so every LR
    pixel is what the degradation gives inside a whole image.

    Args:
        hr_images: sequence of ``(H, W, 3)`` uint8 (or float in [0, 1]) images of any sizes;
            those smaller than the window are never drawn.
        scale: integer factor >= 2.
        lr_patch: LR patch side (HR: ``lr_patch * scale``).
        n: number of pairs.
        degradation: a ``Degradation`` or a ``DegradationMix``.
        rng: the NumPy generator everything is drawn from (reproducible for a seed).
        augment: one of the 8 flips/90-degree rotations of the HR window, before degrading.
        margin: LR pixels cut away on each side after degrading.

    Returns:
        ``(lr, hr)``: ``(n, lr_patch, lr_patch, 3)`` float32 on uint8 levels, and
        ``(n, lr_patch * scale, lr_patch * scale, 3)`` float32, both in [0, 1].
    """
    scale, lr_patch, margin = check_int(scale, "scale", 2), check_int(lr_patch, "lr_patch", 1), check_int(margin, "margin", 0)
    if not isinstance(degradation, (Degradation, DegradationMix)):
        raise ValueError(f"degradation must be a Degradation or a DegradationMix, got {degradation!r}.")
    window = (lr_patch + 2 * margin) * scale
    usable = [i for i, im in enumerate(hr_images) if im.shape[0] >= window and im.shape[1] >= window]
    if not usable:
        raise ValueError(f"no image is at least {window}x{window} pixels (an LR patch of {lr_patch} plus a margin of {margin} "
                         f"at x{scale}); use a smaller lr_patch or margin, or larger images.")
    p, m = lr_patch * scale, margin
    lr_out = np.empty((n, lr_patch, lr_patch, 3), np.float32)
    hr_out = np.empty((n, p, p, 3), np.float32)
    for k, i in enumerate(rng.choice(usable, size=n)):
        image = hr_images[i]
        y, x = rng.integers(0, image.shape[0] - window + 1), rng.integers(0, image.shape[1] - window + 1)
        crop = image[y:y + window, x:x + window]
        if augment:
            crop = np.rot90(crop, rng.integers(0, 4))
            crop = crop[:, ::-1] if rng.integers(0, 2) else crop
        deg = degradation.draw(rng, scale) if isinstance(degradation, DegradationMix) else degradation
        lr, hr = deg.apply(np.ascontiguousarray(crop), scale, rng)
        lr_out[k], hr_out[k] = lr[m:m + lr_patch, m:m + lr_patch], hr[m * scale:m * scale + p, m * scale:m * scale + p]
    return lr_out, hr_out


def degraded_patch_dataset(hr_images, scale: int, lr_patch: int, batch_size: int, degradation: Degradation | DegradationMix,
                           seed: int = 42, augment: bool = True):
    """An endless ``tf.data`` stream of ``degraded_patches`` batches, reproducible for a seed.

    Returns:
        ``tf.data.Dataset`` of ``(lr_batch, hr_batch)`` float32 ``(batch_size, lr_patch, lr_patch, 3)``
        and ``(batch_size, lr_patch * scale, lr_patch * scale, 3)``; pass ``steps_per_epoch`` to ``fit``.
    """
    batch_size = check_int(batch_size, "batch_size", 1)
    degraded_patches(hr_images, scale, lr_patch, 1, degradation, np.random.default_rng(seed))  # checks the arguments now

    def batches():
        rng = np.random.default_rng(seed)
        while True:
            yield degraded_patches(hr_images, scale, lr_patch, batch_size, degradation, rng, augment)

    p = lr_patch * scale
    signature = (tf.TensorSpec((batch_size, lr_patch, lr_patch, 3), tf.float32), tf.TensorSpec((batch_size, p, p, 3), tf.float32))
    return tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2)
