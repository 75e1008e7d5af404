"""Tests of sr_utils/degradation.py: bicubic downscaling (HR -> LR) and interpolation (LR -> HR)."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from sr_utils.degradation import INTERPOLATIONS, downscale, interpolate, make_pair

from synthetic import smooth_images


def checkerboard(n: int, size: int) -> np.ndarray:
    """``(n, size, size, 3)`` float32 with pixel (i, j) = (i + j) % 2: the highest frequency there is."""
    i, j = np.mgrid[0:size, 0:size]
    board = ((i + j) % 2).astype(np.float32)
    return np.broadcast_to(board[None, :, :, None], (n, size, size, 3)).copy()


# --------------------------------------------------------------------------------------
# downscale
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("antialias", [False, True])
@pytest.mark.parametrize("shape, scale, expected", [
    ((2, 8, 12, 3), 2, (2, 4, 6, 3)),
    ((1, 12, 6, 3), 3, (1, 4, 2, 3)),
    ((3, 16, 16, 3), 4, (3, 4, 4, 3)),
])
def test_downscale_shape_dtype_and_range(shape, scale, expected, antialias):
    x = smooth_images(shape[0], shape[1], shape[2], seed=1, noise=0.2)  # noisy: bicubic overshoots
    out = downscale(x, scale, antialias=antialias)
    assert out.shape == expected and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_downscale_uint8_equals_float_over_255():
    u8 = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3), dtype=np.uint8)
    np.testing.assert_allclose(downscale(u8, 2, antialias=False), downscale(u8.astype(np.float64) / 255.0, 2, antialias=False), rtol=0, atol=1e-6)
    np.testing.assert_allclose(downscale(u8, 2, antialias=True),
                               downscale(u8.astype(np.float32) / 255.0, 2, antialias=True), rtol=0, atol=1e-6)


@pytest.mark.parametrize("antialias", [False, True])
def test_constant_image_stays_constant(antialias):
    x = np.full((2, 12, 12, 3), 0.3, np.float32)
    x[1] = 0.8
    out = downscale(x, 3, antialias=antialias)  # bicubic weights sum to 1, also at the borders
    np.testing.assert_allclose(out[0], 0.3, atol=1e-6)
    np.testing.assert_allclose(out[1], 0.8, atol=1e-6)


def test_without_antialias_a_checkerboard_aliases_to_full_contrast():
    # x3: each LR pixel centre falls exactly on HR pixel 3o + 1, where the (interpolating)
    # bicubic kernel has weight 1 and every other tap weight 0: the LR image is a point
    # sample, i.e. a checkerboard again, with full contrast: pure aliasing.
    out = downscale(checkerboard(1, 12), 3, antialias=False)
    expected = checkerboard(1, 4)
    np.testing.assert_allclose(out, expected, atol=1e-6)


def test_with_antialias_a_checkerboard_averages_to_grey():
    out = downscale(checkerboard(1, 12), 3, antialias=True)
    # away from the border the widened kernel covers whole periods: mid-grey
    np.testing.assert_allclose(out[:, 1:3, 1:3], 0.5, atol=0.01)
    assert np.abs(out - 0.5).max() < 0.2  # even at the border nothing like full contrast
    assert out.std() < 0.05 < downscale(checkerboard(1, 12), 3, antialias=False).std()


@pytest.mark.parametrize("antialias", [False, True])
def test_downscale_equals_tf_bicubic_clipped(antialias):
    x = np.random.default_rng(2).integers(0, 2, (3, 16, 24, 3)).astype(np.float32)  # black/white noise
    ref = tf.image.resize(x, (8, 12), method="bicubic", antialias=antialias).numpy()
    assert ref.min() < 0.0 or ref.max() > 1.0  # the reference overshoots, so clipping matters
    np.testing.assert_allclose(downscale(x, 2, antialias=antialias), np.clip(ref, 0.0, 1.0), rtol=0, atol=1e-6)


def test_downscale_works_in_chunks(monkeypatch):
    from sr_utils import degradation

    x = smooth_images(5, 8, 8, seed=3)
    whole = downscale(x, 2, antialias=False)
    monkeypatch.setattr(degradation, "_CHUNK", 2)  # 5 images -> chunks of 2, 2, 1
    np.testing.assert_array_equal(downscale(x, 2, antialias=False), whole)


def test_downscale_accepts_numpy_integer_scale():
    assert downscale(np.zeros((1, 4, 4, 3), np.float32), np.int64(2), antialias=False).shape == (1, 2, 2, 3)


def test_downscale_wrong_rank():
    with pytest.raises(ValueError, match=r"add a batch axis"):
        downscale(np.zeros((8, 8, 3), np.float32), 2, antialias=False)


def test_downscale_wrong_channels():
    with pytest.raises(ValueError, match=r"3 channels"):
        downscale(np.zeros((1, 8, 8, 1), np.float32), 2, antialias=False)


@pytest.mark.parametrize("shape, scale, fix", [((1, 9, 8, 3), 2, "8x8"), ((1, 12, 14, 3), 3, "12x12"),
                                               ((1, 10, 10, 3), 4, "8x8")])
def test_downscale_size_not_divisible(shape, scale, fix):
    h, w = shape[1:3]
    with pytest.raises(ValueError, match=rf"image size {h}x{w} is not divisible by scale {scale}.*{fix}"):
        downscale(np.zeros(shape, np.float32), scale, antialias=False)


def test_downscale_nan():
    x = np.zeros((1, 8, 8, 3), np.float32)
    x[0, 3, 3, 1] = np.nan
    with pytest.raises(ValueError, match=r"NaN"):
        downscale(x, 2, antialias=False)


def test_downscale_out_of_range_float():
    with pytest.raises(ValueError, match=r"\[0, 1\].*divide uint8-range data by 255"):
        downscale(np.full((1, 8, 8, 3), 200.0, np.float32), 2, antialias=False)


@pytest.mark.parametrize("scale", [1, 0, -2, 2.5, 2.0, True, "2", None])
def test_downscale_bad_scale(scale):
    with pytest.raises(ValueError, match=r"scale must be an integer >= 2, got"):
        downscale(np.zeros((1, 8, 8, 3), np.float32), scale, antialias=False)


# --------------------------------------------------------------------------------------
# interpolate
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", INTERPOLATIONS)
@pytest.mark.parametrize("scale", [2, 3])
def test_interpolate_shape_dtype_range(method, scale):
    x = smooth_images(2, 5, 7, seed=4, noise=0.3)
    out = interpolate(x, scale, method)
    assert out.shape == (2, 5 * scale, 7 * scale, 3) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0


def test_interpolations_are_the_four_tf_methods():
    assert set(INTERPOLATIONS) == {"nearest", "bilinear", "bicubic", "lanczos3"}


@pytest.mark.parametrize("scale", [2, 3])
def test_nearest_repeats_pixels(scale):
    x = np.random.default_rng(5).integers(0, 256, (2, 4, 5, 3), dtype=np.uint8)
    out = interpolate(x, scale, "nearest")
    expected = x.astype(np.float32).repeat(scale, axis=1).repeat(scale, axis=2) / 255.0
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("method", ["bicubic", "lanczos3"])
def test_interpolate_is_clipped_tf_resize(method):
    x = np.zeros((1, 6, 6, 3), np.float32)
    x[:, :, 3:] = 1.0  # a hard edge: bicubic and Lanczos ring past 0 and 1
    ref = tf.image.resize(x, (12, 12), method=method).numpy()
    assert ref.min() < 0.0 and ref.max() > 1.0
    np.testing.assert_allclose(interpolate(x, 2, method), np.clip(ref, 0, 1), rtol=0, atol=1e-6)


def test_interpolate_bad_method():
    with pytest.raises(ValueError, match=r"method must be one of .*'nearest'.*got 'area'"):
        interpolate(np.zeros((1, 4, 4, 3), np.float32), 2, "area")


def test_interpolate_bad_scale_and_input():
    with pytest.raises(ValueError, match=r"scale must be an integer >= 2"):
        interpolate(np.zeros((1, 4, 4, 3), np.float32), 1)
    with pytest.raises(ValueError, match=r"add a batch axis"):
        interpolate(np.zeros((4, 4, 3), np.float32), 2)


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_antialias_equals_pil_bicubic(scale):
    # PIL's BICUBIC (Keys a = -0.5) widens its kernel by the scale when reducing, like MATLAB
    # imresize: an independent implementation of the benchmark degradation.
    from PIL import Image

    x = smooth_images(2, 12 * scale // 2 * 2, 8 * scale, seed=6, noise=0.1)
    h, w = x.shape[1] // scale, x.shape[2] // scale
    ref = np.stack([np.stack([np.asarray(Image.fromarray(img[..., c]).resize((w, h), Image.BICUBIC))
                              for c in range(3)], axis=-1) for img in x])
    np.testing.assert_allclose(downscale(x, scale, antialias=True), np.clip(ref, 0, 1), rtol=0, atol=1e-5)
    assert np.abs(downscale(x, scale, antialias=False) - np.clip(ref, 0, 1)).max() > 0.01  # the other convention


# --------------------------------------------------------------------------------------
# make_pair: one benchmark-style pair from an image of any size
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("antialias", [True, False])
def test_make_pair_crops_to_the_scale_then_downscales(antialias):
    image = smooth_images(1, 31, 20, seed=3)[0]
    lr, hr = make_pair(image, 3, antialias=antialias, quantize=False)
    assert hr.shape == (30, 18, 3) and lr.shape == (10, 6, 3)
    np.testing.assert_array_equal(hr, image[:30, :18])
    np.testing.assert_allclose(lr, downscale(image[None, :30, :18], 3, antialias=antialias)[0], atol=1e-7)


def test_make_pair_quantizes_lr_like_a_saved_image():
    image = (smooth_images(1, 24, 24, seed=4)[0] * 255).round().astype(np.uint8)
    lr, hr = make_pair(image, 2, antialias=True)
    assert lr.dtype == hr.dtype == np.float32
    np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)
    exact = downscale(image[None], 2, antialias=True)[0]
    assert np.abs(lr - exact).max() <= 0.5 / 255 + 1e-6
    np.testing.assert_array_equal(hr, image / np.float32(255))


def test_make_pair_errors():
    with pytest.raises(ValueError, match="smaller than the scale 4"):
        make_pair(np.zeros((3, 10, 3), np.uint8), 4, antialias=True)
    with pytest.raises(ValueError, match="scale must be an integer"):
        make_pair(np.zeros((8, 8, 3), np.uint8), 1.5, antialias=True)
    with pytest.raises(ValueError, match=r"shape \(H, W, 3\), got \(8, 8\)"):
        make_pair(np.zeros((8, 8), np.uint8), 2, antialias=True)


def test_antialias_is_a_required_keyword():
    # two degradations exist and neither is a safe default: every caller says which one it makes
    hr = np.zeros((1, 8, 8, 3), np.float32)
    with pytest.raises(TypeError, match="antialias"):
        downscale(hr, 2)
    with pytest.raises(TypeError):
        downscale(hr, 2, False)
    with pytest.raises(TypeError, match="antialias"):
        make_pair(hr[0], 2)


def test_describe_names_the_call_that_makes_the_lr_images():
    from sr_utils.degradation import describe

    assert describe(3, antialias=False) == "sr_utils.degradation.downscale(hr, 3, antialias=False) (TF bicubic, no antialiasing)"
    assert describe(2, antialias=True, quantize=True) == (
        "sr_utils.degradation.make_pair(photo, 2, antialias=True) (MATLAB-style bicubic, LR rounded to uint8)")
