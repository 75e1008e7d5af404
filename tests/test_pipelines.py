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



# ---- patches degraded on the fly ---------------------------------------------------------------
def _photos():
    rng = np.random.default_rng(0)
    big = (rng.random((70, 90, 3)) * 255).round().astype(np.uint8)
    return [big, np.zeros((20, 20, 3), np.uint8)]  # the second is smaller than any window: never drawn


def test_degraded_patches_are_the_degradation_of_their_hr_patch():
    """Area resize has no reach beyond its block: the LR patch is the rounded block mean of the HR patch
    (to within one level: its ties)."""
    lr, hr = pipelines.degraded_patches(_photos(), 2, 8, 6, degradation.Degradation("cv2_area"), np.random.default_rng(1))
    assert lr.shape == (6, 8, 8, 3) and hr.shape == (6, 16, 16, 3) and lr.dtype == hr.dtype == np.float32
    blocks = hr.astype(np.float64).reshape(6, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    diff = np.abs(lr - np.round(blocks * 255) / 255)
    assert diff.max() < 1.01 / 255 and (diff < 1e-6).mean() > 0.75  # ties (x.5 levels) may round either way
    assert hr.max() > 0.5  # from the big photo, never the black one


def test_degraded_patches_margin_hides_the_window_border():
    """With a margin, the LR patch is what the degradation gives inside the whole image: the
    same window degraded with a wider margin has the same centre."""
    photo = _photos()[0]
    bench = degradation.Degradation("benchmark")
    lr4, hr4 = pipelines.degraded_patches([photo[:48, :48]], 3, 8, 1, bench, np.random.default_rng(0), augment=False, margin=4)
    lr_whole, _ = bench.apply(photo[:48, :48], 3)
    np.testing.assert_array_equal(lr4[0], lr_whole[4:12, 4:12])
    np.testing.assert_array_equal(hr4[0], photo[12:36, 12:36] / np.float32(255))


def test_degraded_patches_with_a_mix_differ_per_patch_and_repeat_per_seed():
    mix = degradation.DegradationMix(resizers=("cv2_area", "cv2_cubic"), blur_probability=0, noise_probability=0, jpeg_probability=0)
    a = pipelines.degraded_patches(_photos(), 2, 8, 40, mix, np.random.default_rng(3))
    b = pipelines.degraded_patches(_photos(), 2, 8, 40, mix, np.random.default_rng(3))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    area = np.round(a[1].astype(np.float64).reshape(40, 8, 2, 8, 2, 3).mean(axis=(2, 4)) * 255) / 255
    is_area = np.all(np.abs(a[0] - area) < 1.01 / 255, axis=(1, 2, 3))
    assert 5 < is_area.sum() < 35  # both resizers were drawn


def test_degraded_patch_dataset_batches_and_errors():
    stream = pipelines.degraded_patch_dataset(_photos(), 2, 8, 4, degradation.Degradation("cv2_linear"), seed=5)
    (lr1, hr1), (lr2, _) = list(stream.take(2))
    assert lr1.shape == (4, 8, 8, 3) and hr1.shape == (4, 16, 16, 3)
    again = next(iter(pipelines.degraded_patch_dataset(_photos(), 2, 8, 4, degradation.Degradation("cv2_linear"), seed=5)))
    np.testing.assert_array_equal(again[0], lr1)
    assert not np.array_equal(lr1, lr2)
    with pytest.raises(ValueError, match="no image is at least 96x96"):
        pipelines.degraded_patch_dataset(_photos(), 4, 16, 4, degradation.Degradation("cv2_area"))
    with pytest.raises(ValueError, match="must be a Degradation or a DegradationMix"):
        pipelines.degraded_patch_dataset(_photos(), 2, 8, 4, "cv2_area")
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        pipelines.degraded_patch_dataset(_photos(), 2, 8, 0, degradation.Degradation("cv2_area"))
