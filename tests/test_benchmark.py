"""Tests of sr_utils.benchmark (MAC counting, timing) and sr_utils.metrics.benchmark (the SR benchmark protocol)."""

import os
import sys

import keras
import numpy as np
import pytest
from keras import layers

from sr_utils import benchmark, metrics, models


def tiny_model():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)                 # 8*8 * 9*3*4   = 6,912
    x = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x)  # 8*8 * 9*4*2   = 4,608
    x = layers.Dense(5)(x)                                           # 16*16 * 2*5   = 2,560
    return keras.Model(inputs, x)


def test_count_macs_of_a_tiny_model_by_hand():
    assert benchmark.count_macs(tiny_model()) == 6_912 + 4_608 + 2_560


def test_count_macs_of_the_original_cifar_model_by_hand():
    # conv 3->64 and 64->64 at 16x16, transposed conv 64->128 per 16x16 input position,
    # then convs 128->64, 64->64 and 64->3 at 32x32, all 3x3
    expected = 16 * 16 * 9 * (3 * 64 + 64 * 64 + 64 * 128) + 32 * 32 * 9 * (128 * 64 + 64 * 64 + 64 * 3)
    assert benchmark.count_macs(models.build_cifar10_x2()) == expected == 143_769_600


def test_macs_per_output_megapixel_divides_by_output_pixels():
    model = models.build_cifar10_x2()
    assert benchmark.macs_per_output_megapixel(model) == pytest.approx(143_769_600 / (32 * 32) * 1e6)


def test_count_macs_of_a_fully_convolutional_model_needs_a_size():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(2, 3, padding="same")(inputs))
    with pytest.raises(ValueError, match="unknown spatial size"):
        benchmark.count_macs(model)
    assert benchmark.count_macs(model, input_shape=(10, 20, 3)) == 10 * 20 * 9 * 3 * 2
    assert benchmark.macs_per_output_megapixel(model, input_shape=(10, 20, 3)) == pytest.approx(9 * 3 * 2 * 1e6)


def test_inference_throughput_reports_consistent_numbers():
    model = tiny_model()
    r = benchmark.inference_throughput(model, batch_size=4, batches=2, warmup=1, repeats=2)
    assert r["images_per_s"] > 0 and r["seconds"] > 0 and r["batch_size"] == 4
    # 8 images of 16x16 output pixels in r["seconds"]
    assert r["ms_per_output_megapixel"] == pytest.approx(r["seconds"] * 1e3 / (8 * 256 / 1e6))


def test_compare_throughput_times_every_model_in_turns():
    calls = []

    class Recorded:  # a model that notes each call
        def __init__(self, name, model):
            self.name, self.model, self.input_shape = name, model, model.input_shape

        def __call__(self, x, training=False):
            calls.append(self.name)
            return self.model(x, training=training)

    small, big = Recorded("small", tiny_model()), Recorded("big", models.build_residual_subpixel(2, filters=4, blocks=1))
    r = benchmark.compare_throughput({"small": (small, None), "big": (big, (6, 5, 3))}, batch_size=2, batches=1, warmup=1, repeats=3)
    assert set(r) == {"small", "big"}
    assert calls[4:] == ["small", "big"] * 3           # after 2 + 2 warm-up calls: alternating rounds
    assert r["big"]["ms_per_output_megapixel"] == pytest.approx(r["big"]["seconds"] * 1e3 / (2 * 12 * 10 / 1e6))


def test_compare_throughput_errors():
    with pytest.raises(ValueError, match="batch_size, batches, repeats >= 1"):
        benchmark.compare_throughput({"m": (tiny_model(), None)}, repeats=0)


def test_training_throughput_is_positive():
    rate = benchmark.training_throughput(models.build_cifar10_x2, (16, 16, 3), (32, 32, 3),
                                         jit_compile=False, batch_size=4, steps=2, warmup_steps=1)
    assert rate > 0


# ---- the benchmark protocol -------------------------------------------------------------
def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(3 * xx + p) * np.cos(2 * yy + p) for p in rng.random(3) * 6], axis=-1)
    return np.round((base * 0.4 + 0.5) * 255).astype(np.uint8)


def test_benchmark_with_a_perfect_upscaler_gives_infinite_psnr_and_ssim_one():
    images = [smooth_image(37, 41), smooth_image(30, 24, seed=1)]
    crops = [img[: 37 - 37 % 3, : 41 - 41 % 3] for img in images[:1]] + [images[1]]
    it = iter(crops)
    result = metrics.benchmark(images, 3, upscaler=lambda lr: next(it)[None] / np.float32(255))
    assert np.all(np.isinf(result["psnr"]))
    np.testing.assert_allclose(result["ssim"], 1.0)


def test_benchmark_golden_value_for_a_constant_error():
    # the "upscaler" returns the HR crop plus 10 grey levels on every channel: Y moves by
    # (65.481 + 128.553 + 24.966) * 10 / 255 = 8.588... levels, so PSNR = 20 log10(255 / 8.588...)
    img = smooth_image(24, 24) // 2  # room for +10 without clipping
    result = metrics.benchmark([img], 2, upscaler=lambda lr: (img[None] + 10) / np.float32(255))
    dy = (65.481 + 128.553 + 24.966) * 10 / 255
    assert result["psnr"][0] == pytest.approx(20 * np.log10(255 / dy), abs=1e-9)


def test_benchmark_bicubic_beats_nearest_on_smooth_images_and_accepts_models():
    images = [smooth_image(48, 48, seed=s) for s in range(3)]
    bicubic = metrics.benchmark(images, 2, "bicubic")
    nearest = metrics.benchmark(images, 2, "nearest")
    assert bicubic["psnr"].shape == (3,) and np.all(bicubic["psnr"] > nearest["psnr"])
    inputs = keras.Input((None, None, 3))
    upsample = keras.Model(inputs, layers.UpSampling2D(2)(inputs))  # a Keras model doing nearest
    np.testing.assert_allclose(metrics.benchmark(images, 2, upsample)["psnr"], nearest["psnr"], atol=1e-6)


def test_benchmark_errors():
    img = smooth_image(24, 24)
    with pytest.raises(ValueError, match="returned"):
        metrics.benchmark([img], 2, upscaler=lambda lr: lr)
    with pytest.raises(ValueError, match="upscaler must be"):
        metrics.benchmark([img], 2, upscaler=42)
    with pytest.raises(ValueError, match="method must be one of"):
        metrics.benchmark([img], 2, upscaler="cubic-spline")


# ---- peak memory of the upscaling command --------------------------------------------------
def test_synthetic_photo_is_photo_like_and_seeded():
    photo = benchmark.synthetic_photo(300, 450)
    assert photo.shape == (300, 450, 3) and photo.dtype == np.uint8
    assert 20 < photo.std() < 100 and photo.min() < 30 and photo.max() > 225
    np.testing.assert_array_equal(photo, benchmark.synthetic_photo(300, 450))
    assert not np.array_equal(photo, benchmark.synthetic_photo(300, 450, seed=1))


def test_peak_memory_is_the_childs_own(tmp_path):
    """The parent (this test process, with TensorFlow loaded) is far larger than the child: the
    child's figure must not include it."""
    (tmp_path / "alloc.py").write_text("import sys\nimport numpy as np\n"
                                        "a = np.ones(int(sys.argv[1]) * 1_000_000 // 8)\nsys.exit(int(a.sum() > 0) * 3)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    small, _, code_small = benchmark.peak_rss_mb("alloc", ["0"], env=env)
    big, _, code_big = benchmark.peak_rss_mb("alloc", ["200"], env=env)
    assert code_small == 0 and code_big == 3
    assert small < 100 and 195 < big - small < 215, (small, big)
    (tmp_path / "vanish.py").write_text("import os\nos._exit(5)\n")  # exits without running finally blocks
    with pytest.raises(RuntimeError, match=r"python -m vanish reported no peak memory \(exit code 5\)"):
        benchmark.peak_rss_mb("vanish", [], env=env)


def test_upscale_memory_table():
    rows = [{"input": "16x16", "output_mp": 0.001024, "peak_mb": 669.2, "output_mb": 0.003, "seconds": 3.4},
            {"input": "6000x4000", "output_mp": 96.0, "peak_mb": 1234.6, "output_mb": 288.0, "seconds": 101.25}]
    table = benchmark.upscale_memory_table(rows, scale=2, tile=256)
    lines = table.splitlines()
    assert lines[0].startswith("| input | output megapixels |")
    assert lines[2] == "| 16x16 | 0.00 | 0 | 669 | 669 | 3.4 |"
    assert lines[3] == "| 6000x4000 | 96.00 | 288 | 1235 | 947 | 101.2 |"
    assert "`--scale 2 --tile 256`" in table
