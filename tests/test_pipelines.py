"""Tests of sr_utils/pipelines.py: paired and patch streams, exact pairs, the eight symmetries, errors."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic import nearest_pairs

from sr_utils import degradation, pipelines


def _pairs(n=6, size=8, scale=2, seed=0):
    hr = np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)
    return degradation.downscale(hr, scale, antialias=False), hr


def test_paired_dataset_is_repeatable_and_keeps_exact_pairs():
    lr, hr = _pairs()
    first = [(a.numpy(), b.numpy()) for a, b in pipelines.paired_dataset(lr, hr, 3, seed=7).take(4)]
    again = [(a.numpy(), b.numpy()) for a, b in pipelines.paired_dataset(lr, hr, 3, seed=7).take(4)]
    other = [(a.numpy(), b.numpy()) for a, b in pipelines.paired_dataset(lr, hr, 3, seed=8).take(4)]
    assert all(x[0].shape == (3, 4, 4, 3) and x[1].shape == (3, 8, 8, 3) for x in first)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(first, again))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(first, other))
    for lr_batch, hr_batch in first:  # flips and rotations commute with the degradation
        np.testing.assert_allclose(degradation.downscale(hr_batch, 2, antialias=False), lr_batch, atol=1e-6)


def test_paired_dataset_augments_with_the_eight_symmetries():
    lr, hr = _pairs(n=1)
    seen = {b.numpy()[0].tobytes() for _, b in pipelines.paired_dataset(lr, hr, 1, seed=0).take(200)}
    variants = {np.ascontiguousarray(np.rot90(f, k)).tobytes() for f in (hr[0], hr[0][:, ::-1]) for k in range(4)}
    assert seen == variants
    plain = {b.numpy()[0].tobytes() for _, b in pipelines.paired_dataset(lr, hr, 1, augment=False).take(20)}
    assert plain == {hr[0].tobytes()}


def test_paired_dataset_errors():
    lr, hr = _pairs()
    with pytest.raises(ValueError, match="same number of images"):
        pipelines.paired_dataset(lr[:2], hr, 2)
    with pytest.raises(ValueError, match="not an integer multiple"):
        pipelines.paired_dataset(lr, hr[:, :7], 2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        pipelines.paired_dataset(lr, hr, 0)


# --------------------------------------------------------------------------------------
# Random patches of images of any size
# --------------------------------------------------------------------------------------
def _upscale_nearest(x, scale=2):
    return np.repeat(np.repeat(x, scale, 1), scale, 2)


def test_random_patches_are_aligned_and_shaped():
    lrs, hrs = nearest_pairs([(10, 7), (6, 12), (20, 20)], scale=3)
    lr, hr = pipelines.random_patches(lrs, hrs, 5, 40, np.random.default_rng(0))
    assert lr.shape == (40, 5, 5, 3) and hr.shape == (40, 15, 15, 3)
    assert lr.dtype == hr.dtype == np.float32
    np.testing.assert_array_equal(_upscale_nearest(lr, 3), hr)


def test_random_patches_come_from_the_images_and_skip_small_ones():
    lrs, hrs = nearest_pairs([(3, 3), (8, 8)])
    lr, _ = pipelines.random_patches(lrs, hrs, 4, 30, np.random.default_rng(1), augment=False)
    big = lrs[1]
    windows = {big[y:y + 4, x:x + 4].tobytes() for y in range(5) for x in range(5)}
    assert all(p.tobytes() in windows for p in lr)    # never the 3x3 image, never outside the 8x8 one


def test_random_patches_augment_with_the_eight_symmetries():
    lrs, hrs = nearest_pairs([(4, 4)])
    lr, _ = pipelines.random_patches(lrs, hrs, 4, 200, np.random.default_rng(2))
    variants = {np.ascontiguousarray(np.rot90(f, k)).tobytes() for f in (lrs[0], lrs[0][:, ::-1]) for k in range(4)}
    assert {p.tobytes() for p in lr} == variants


def test_random_patches_errors():
    lrs, hrs = nearest_pairs([(6, 6), (6, 6)])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same non-zero number"):
        pipelines.random_patches(lrs[:1], hrs, 4, 2, rng)
    with pytest.raises(ValueError, match="no LR image is at least 7x7"):
        pipelines.random_patches(lrs, hrs, 7, 2, rng)
    with pytest.raises(ValueError, match="not an integer multiple"):
        pipelines.random_patches(lrs, [hrs[0], hrs[1][:11]], 4, 2, rng)
    _, hr3 = nearest_pairs([(6, 6)], scale=3)
    with pytest.raises(ValueError, match="has scale 3"):
        pipelines.random_patches(lrs, [hrs[0], hr3[0]], 4, 2, rng)


def test_patch_dataset_is_repeatable_and_exact():
    lrs, hrs = nearest_pairs([(9, 11), (16, 8)])
    take = lambda seed: [(a.numpy(), b.numpy()) for a, b in pipelines.patch_dataset(lrs, hrs, 4, 3, seed=seed).take(3)]  # noqa: E731
    first, again, other = take(5), take(5), take(6)
    assert all(a.shape == (3, 4, 4, 3) and b.shape == (3, 8, 8, 3) for a, b in first)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(first, again))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(first, other))
    for a, b in first:
        np.testing.assert_array_equal(_upscale_nearest(a), b)


def test_patch_dataset_fails_early():
    lrs, hrs = nearest_pairs([(5, 5)])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        pipelines.patch_dataset(lrs, hrs, 4, 0)
    with pytest.raises(ValueError, match="no LR image is at least 6x6"):
        pipelines.patch_dataset(lrs, hrs, 6, 2)

