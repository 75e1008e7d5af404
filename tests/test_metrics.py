"""Tests of sr_utils/metrics.py: per-image PSNR / SSIM / MAE / MSE, the y-mode convention and the
Keras metrics, against golden values and the reference implementations (tf.image.ssim, skimage)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import tensorflow as tf
from skimage.metrics import structural_similarity

from sr_utils import metrics
from sr_utils.metrics import (
    evaluate,
    mae_per_image,
    mse_per_image,
    prepare,
    psnr_per_image,
    rgb_to_y,
    ssim_per_image,
)

from synthetic import smooth_images

# MATLAB / BT.601 studio-range luma coefficients (for R, G, B in [0, 1])
KR, KG, KB = 65.481, 128.553, 24.966


# --------------------------------------------------------------------------------------
# PSNR, MSE, MAE
# --------------------------------------------------------------------------------------
def test_uniform_error_of_0_1_is_20_db():
    hr = np.full((1, 8, 8, 3), 0.5)
    sr = hr + 0.1  # MSE 0.01 -> 10 log10(1 / 0.01) = 20 dB
    np.testing.assert_allclose(mse_per_image(sr, hr), [0.01], rtol=1e-12)
    np.testing.assert_allclose(psnr_per_image(sr, hr), [20.0], rtol=1e-12)
    np.testing.assert_allclose(psnr_per_image(hr - 0.1, hr), [20.0], rtol=1e-12)  # sign does not matter


def test_psnr_with_data_range_255():
    hr = np.full((1, 8, 8, 1), 100.0)
    sr = hr + 10.0  # MSE 100 -> 10 log10(255^2 / 100) = 20 log10(25.5)
    np.testing.assert_allclose(psnr_per_image(sr, hr, data_range=255.0), [20 * math.log10(25.5)], rtol=1e-12)
    np.testing.assert_allclose(psnr_per_image(sr, hr, data_range=255.0), [28.130803608679106], rtol=1e-12)


def test_identical_images_give_infinite_psnr_and_ssim_exactly_one():
    x = smooth_images(2, 16, 16, seed=0)
    psnr = psnr_per_image(x, x.copy())
    assert psnr.shape == (2,) and np.all(np.isposinf(psnr))
    ssim = ssim_per_image(x, x.copy())
    assert ssim.shape == (2,) and np.all(ssim == 1.0)


def test_metrics_are_per_image_not_a_batch_mean():
    hr = np.full((2, 8, 8, 3), 0.5)
    sr = hr.copy()
    sr[0] += 0.1   # MSE 0.01   -> 20 dB
    sr[1] += 0.01  # MSE 0.0001 -> 40 dB
    psnr = psnr_per_image(sr, hr)
    assert psnr.shape == (2,)
    np.testing.assert_allclose(psnr, [20.0, 40.0], rtol=1e-9)
    np.testing.assert_allclose(mse_per_image(sr, hr), [0.01, 0.0001], rtol=1e-9)
    # mean of per-image PSNRs (30 dB) is not the PSNR of the mean MSE (10 log10(1 / 0.00505))
    assert psnr.mean() == pytest.approx(30.0)
    psnr_of_mean_mse = 10 * math.log10(1 / mse_per_image(sr, hr).mean())
    assert psnr_of_mean_mse == pytest.approx(22.967, abs=1e-3)
    assert abs(psnr.mean() - psnr_of_mean_mse) > 7


def test_mae_golden_value():
    hr = np.zeros((2, 4, 4, 3))
    sr = hr.copy()
    sr[0, ::2] = 0.2     # half of the pixels off by +0.2
    sr[0, 1::2] = -0.2   # the other half by -0.2 -> MAE 0.2 (the signed mean would be 0)
    sr[1, 0, 0, 0] = 0.48  # one value in 48 -> MAE 0.01
    np.testing.assert_allclose(mae_per_image(sr, hr), [0.2, 0.01], rtol=1e-12)
    np.testing.assert_allclose(mse_per_image(sr, hr), [0.04, 0.48**2 / 48], rtol=1e-12)


def test_uint8_inputs_are_not_wrapped_around():
    # 10 - 20 in uint8 would wrap to 246: the metrics must compute in float
    a = np.full((1, 4, 4, 1), 10, np.uint8)
    b = np.full((1, 4, 4, 1), 20, np.uint8)
    np.testing.assert_allclose(mae_per_image(a, b), [10.0])
    np.testing.assert_allclose(mse_per_image(a, b), [100.0])


@pytest.mark.parametrize("fn", [mse_per_image, mae_per_image, psnr_per_image, ssim_per_image])
def test_shape_mismatch(fn):
    with pytest.raises(ValueError, match=r"shapes differ: \(1, 16, 16, 3\) vs \(1, 16, 12, 3\)"):
        fn(np.zeros((1, 16, 16, 3)), np.zeros((1, 16, 12, 3)))


# --------------------------------------------------------------------------------------
# SSIM
# --------------------------------------------------------------------------------------
def test_ssim_equals_tf_image_ssim_on_rgb():
    hr = smooth_images(3, 32, 32, seed=1)
    sr = np.clip(hr + np.random.default_rng(2).normal(0, 0.05, hr.shape), 0, 1).astype(np.float32)
    ours = ssim_per_image(sr, hr, data_range=1.0)
    ref = tf.image.ssim(tf.constant(sr), tf.constant(hr), max_val=1.0).numpy()
    assert ours.shape == (3,) and ours.dtype == np.float64
    assert np.all((ours > 0.3) & (ours < 0.99))  # a real, non-trivial comparison
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_ssim_equals_skimage_on_the_y_channel():
    rng = np.random.default_rng(3)
    hr = rgb_to_y(smooth_images(2, 32, 40, seed=4))[..., None]  # Y in [16, 235], 255 scale
    sr = np.clip(hr + rng.normal(0, 6, hr.shape), 0, 255)
    ours = ssim_per_image(sr, hr, data_range=255.0)
    ref = [structural_similarity(sr[i, :, :, 0], hr[i, :, :, 0], gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=255) for i in range(2)]
    assert np.all((ours > 0.3) & (ours < 0.99))
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5)


def test_evaluate_y_mode_ssim_equals_skimage_on_rounded_cropped_y():
    hr = smooth_images(1, 24, 24, seed=5)
    sr = np.clip(hr + np.random.default_rng(6).normal(0, 0.04, hr.shape), 0, 1)
    got = evaluate(sr, hr, mode="y", scale=2)["ssim"]
    y = [rgb_to_y(np.round(np.clip(a, 0, 1) * 255).astype(np.uint8))[0, 2:-2, 2:-2] for a in (sr, hr)]
    ref = structural_similarity(y[0], y[1], gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False, data_range=255)
    np.testing.assert_allclose(got, [ref], rtol=0, atol=1e-5)


def test_ssim_range_and_order():
    hr = smooth_images(1, 24, 24, seed=7)
    rng = np.random.default_rng(8)
    small = np.clip(hr + rng.normal(0, 0.02, hr.shape), 0, 1)
    large = np.clip(hr + rng.normal(0, 0.2, hr.shape), 0, 1)
    s_small, s_large = ssim_per_image(small, hr)[0], ssim_per_image(large, hr)[0]
    assert -1.0 <= s_large < s_small < 1.0
    np.testing.assert_allclose(ssim_per_image(1.0 - hr, hr), ssim_per_image(hr, 1.0 - hr))  # symmetric
    assert ssim_per_image(1.0 - hr, hr)[0] < 0  # an inverted image is anti-correlated


@pytest.mark.parametrize("size", [(10, 32), (32, 10), (5, 5)])
def test_ssim_needs_11_pixels(size):
    x = np.zeros((1, *size, 3))
    with pytest.raises(ValueError, match=rf"at least 11x11 pixels, got {size[0]}x{size[1]}"):
        ssim_per_image(x, x)


def test_ssim_at_exactly_11_pixels_works():
    x = smooth_images(1, 11, 11, seed=9)
    assert ssim_per_image(x, x)[0] == 1.0


# --------------------------------------------------------------------------------------
# Y channel and prepare
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("rgb, y", [
    ((0, 0, 0), 16.0),
    ((255, 255, 255), 16.0 + KR + KG + KB),
    ((255, 0, 0), 16.0 + KR),
    ((0, 255, 0), 16.0 + KG),
    ((0, 0, 255), 16.0 + KB),
])
def test_rgb_to_y_on_known_pixels(rgb, y):
    u8 = np.array(rgb, np.uint8)
    assert rgb_to_y(u8) == pytest.approx(y, abs=1e-9)
    assert rgb_to_y(u8.astype(np.float64) / 255.0) == pytest.approx(y, abs=1e-9)


def test_white_is_235():
    assert rgb_to_y(np.array([1.0, 1.0, 1.0])) == pytest.approx(235.0, abs=1e-9)


def test_rgb_to_y_uint8_and_float_agree_on_a_batch():
    u8 = np.random.default_rng(10).integers(0, 256, (2, 5, 6, 3), dtype=np.uint8)
    y = rgb_to_y(u8)
    assert y.shape == (2, 5, 6) and y.dtype == np.float64
    np.testing.assert_allclose(y, rgb_to_y(u8 / 255.0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(y, rgb_to_y(u8.astype(np.float32) / np.float32(255)), rtol=0, atol=1e-4)
    assert y.min() >= 16.0 and y.max() <= 235.0


def test_rgb_to_y_needs_three_channels():
    with pytest.raises(ValueError, match=r"needs 3 channels in the last axis, got shape \(2, 2, 4\)"):
        rgb_to_y(np.zeros((2, 2, 4)))


def test_prepare_rgb_mode():
    u8 = np.random.default_rng(11).integers(0, 256, (2, 6, 7, 3), dtype=np.uint8)
    x, data_range = prepare(u8, "rgb")
    assert data_range == 1.0 and x.shape == (2, 6, 7, 3) and x.dtype == np.float64
    np.testing.assert_allclose(x, u8 / 255.0, atol=1e-7)


@pytest.mark.parametrize("scale", [1, 2, 3, 4])
def test_prepare_y_mode_crops_scale_pixels_per_border(scale):
    u8 = np.random.default_rng(12).integers(0, 256, (2, 20, 24, 3), dtype=np.uint8)
    y, data_range = prepare(u8, "y", scale=scale)
    assert data_range == 255.0 and y.dtype == np.float64
    assert y.shape == (2, 20 - 2 * scale, 24 - 2 * scale, 1)
    np.testing.assert_allclose(y[..., 0], rgb_to_y(u8)[:, scale:-scale, scale:-scale], atol=1e-9)


def test_y_mode_rounds_to_uint8_first():
    hr = np.random.default_rng(13).integers(0, 255, (2, 16, 16, 3)).astype(np.float64) / 255.0  # levels 0..254
    sr = hr + 0.4 / 255.0  # less than half a grey level: rounds back to the same uint8 image
    assert np.all(np.isposinf(evaluate(sr, hr, mode="y", scale=2)["psnr"]))
    assert np.all(evaluate(sr, hr, mode="y", scale=2)["ssim"] == 1.0)
    rgb = evaluate(sr, hr, mode="rgb")["psnr"]
    np.testing.assert_allclose(rgb, 20 * math.log10(255 / 0.4), rtol=1e-6)  # rgb mode sees it
    sr_more = hr + 0.6 / 255.0  # more than half a level: every pixel moves by one grey level
    assert np.all(np.isfinite(evaluate(sr_more, hr, mode="y", scale=2)["psnr"]))


def test_y_mode_ignores_the_cropped_border():
    hr = smooth_images(1, 20, 20, seed=14)
    sr = hr.copy()
    sr[:, :3, :, :] = 1.0 - sr[:, :3, :, :]  # damage only the top 3 rows
    assert np.isposinf(evaluate(sr, hr, mode="y", scale=3)["psnr"][0])
    assert np.isfinite(evaluate(sr, hr, mode="y", scale=2)["psnr"][0])


def test_prepare_bad_mode():
    with pytest.raises(ValueError, match=r"mode must be one of \('rgb', 'y'\), got 'ycbcr'"):
        prepare(np.zeros((1, 16, 16, 3)), "ycbcr")


@pytest.mark.parametrize("scale", [None, 0, -1, 2.0, True])
def test_y_mode_needs_an_integer_scale(scale):
    with pytest.raises(ValueError, match=r"y mode needs the integer scale"):
        prepare(np.zeros((1, 16, 16, 3)), "y", scale=scale)


def test_y_mode_image_too_small_to_crop():
    with pytest.raises(ValueError, match=r"images of 8x16 are too small to crop 4 pixels per border"):
        prepare(np.zeros((1, 8, 16, 3)), "y", scale=4)


# --------------------------------------------------------------------------------------
# evaluate, summarize, results_table
# --------------------------------------------------------------------------------------
def test_evaluate_rgb_golden_values():
    hr = np.full((2, 16, 16, 3), 0.5)
    sr = hr.copy()
    sr[0] += 0.1
    sr[1] -= 0.01
    res = evaluate(sr, hr, mode="rgb")
    assert set(res) == set(metrics.METRICS)
    assert all(v.shape == (2,) and v.dtype == np.float64 for v in res.values())
    # evaluate() works on float32 inputs (images.to_float), hence the 1e-5 tolerance
    np.testing.assert_allclose(res["psnr"], [20.0, 40.0], rtol=1e-5)
    np.testing.assert_allclose(res["mae"], [0.1, 0.01], rtol=1e-5)
    np.testing.assert_allclose(res["mse"], [0.01, 0.0001], rtol=1e-5)


def test_evaluate_y_mode_errors_are_on_the_255_scale():
    hr = np.full((1, 16, 16, 3), 100, np.uint8)
    sr = hr + np.uint8(10)  # Y moves by 10/255 * (KR + KG + KB) = 8.588 levels
    res = evaluate(sr, hr, mode="y", scale=2)
    dy = 10 / 255 * (KR + KG + KB)
    np.testing.assert_allclose(res["mae"], [dy], rtol=1e-9)
    np.testing.assert_allclose(res["psnr"], [20 * math.log10(255 / dy)], rtol=1e-9)


def test_evaluate_uint8_and_float_agree():
    u8 = [np.random.default_rng(s).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8) for s in (15, 16)]
    for mode in metrics.MODES:
        a = evaluate(u8[0], u8[1], mode=mode, scale=2)
        b = evaluate(u8[0] / 255.0, u8[1] / 255.0, mode=mode, scale=2)
        for k in metrics.METRICS:
            np.testing.assert_allclose(a[k], b[k], rtol=1e-6)


def test_evaluate_rejects_out_of_range_predictions():
    hr = np.full((1, 16, 16, 3), 0.5)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        evaluate(hr + 0.6, hr)


def test_evaluate_shape_mismatch():
    with pytest.raises(ValueError, match=r"shapes differ"):
        evaluate(np.zeros((1, 16, 16, 3)), np.zeros((2, 16, 16, 3)))


# --------------------------------------------------------------------------------------
# Keras metrics
# --------------------------------------------------------------------------------------
def test_keras_psnr_is_per_image_and_matches_numpy():
    hr = smooth_images(3, 16, 16, seed=17)
    sr = np.clip(hr + np.random.default_rng(18).normal(0, [[[[0.01]]], [[[0.05]]], [[[0.1]]]], hr.shape), 0, 1)
    sr = sr.astype(np.float32)
    got = metrics.psnr(tf.constant(hr), tf.constant(sr))
    assert tuple(got.shape) == (3,)
    np.testing.assert_allclose(np.asarray(got), psnr_per_image(sr, hr), rtol=0, atol=1e-3)
    assert len(set(np.round(np.asarray(got), 1))) == 3  # three different values, not one batch mean


def test_keras_psnr_is_finite_for_identical_images():
    x = tf.constant(smooth_images(2, 16, 16, seed=19))
    got = np.asarray(metrics.psnr(x, x))
    assert got.shape == (2,) and np.all(np.isfinite(got)) and np.all(got > 60)


def test_keras_ssim_is_per_image_and_matches_numpy():
    hr = smooth_images(3, 16, 16, seed=20)
    sr = np.clip(hr + np.random.default_rng(21).normal(0, [[[[0.01]]], [[[0.05]]], [[[0.1]]]], hr.shape), 0, 1)
    sr = sr.astype(np.float32)
    got = metrics.ssim(tf.constant(hr), tf.constant(sr))
    assert tuple(got.shape) == (3,)
    np.testing.assert_allclose(np.asarray(got), ssim_per_image(sr, hr), rtol=0, atol=1e-5)
    assert np.all(np.diff(np.asarray(got)) < 0)  # more noise, lower SSIM, image by image


def test_keras_psnr_accepts_float64_tensors():
    hr = smooth_images(2, 16, 16, seed=22).astype(np.float64)
    sr = np.clip(hr + 0.05, 0, 1)
    np.testing.assert_allclose(np.asarray(metrics.psnr(tf.constant(hr), tf.constant(sr))),
                               psnr_per_image(sr, hr), atol=1e-3)
