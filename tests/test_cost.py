"""Tests of sr_utils.cost: MAC counting, timing in turns, and the upscaler's peak memory."""

import os

import keras
import numpy as np
import pytest
from keras import layers

from sr_utils import cost, degradation, models


def tiny_model():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same")(inputs)                 # 8*8 * 9*3*4   = 6,912
    x = layers.Conv2DTranspose(2, 3, strides=2, padding="same")(x)  # 8*8 * 9*4*2   = 4,608
    x = layers.Dense(5)(x)                                           # 16*16 * 2*5   = 2,560
    return keras.Model(inputs, x)


def test_count_macs_of_a_tiny_model_by_hand():
    assert cost.count_macs(tiny_model()) == 6_912 + 4_608 + 2_560


def test_count_macs_of_the_original_cifar_model_by_hand():
    # conv 3->64 and 64->64 at 16x16, transposed conv 64->128 per 16x16 input position,
    # then convs 128->64, 64->64 and 64->3 at 32x32, all 3x3
    expected = 16 * 16 * 9 * (3 * 64 + 64 * 64 + 64 * 128) + 32 * 32 * 9 * (128 * 64 + 64 * 64 + 64 * 3)
    assert cost.count_macs(models.build_cifar10_x2()) == expected == 143_769_600


def test_macs_per_output_megapixel_divides_by_output_pixels():
    model = models.build_cifar10_x2()
    assert cost.macs_per_output_megapixel(model) == pytest.approx(143_769_600 / (32 * 32) * 1e6)


def test_count_macs_of_a_fully_convolutional_model_needs_a_size():
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, layers.Conv2D(2, 3, padding="same")(inputs))
    with pytest.raises(ValueError, match="unknown spatial size"):
        cost.count_macs(model)
    assert cost.count_macs(model, input_shape=(10, 20, 3)) == 10 * 20 * 9 * 3 * 2
    assert cost.macs_per_output_megapixel(model, input_shape=(10, 20, 3)) == pytest.approx(9 * 3 * 2 * 1e6)


def test_inference_throughput_reports_consistent_numbers():
    model = tiny_model()
    r = cost.inference_throughput(model, batch_size=4, batches=2, warmup=1, repeats=2)
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
    r = cost.compare_throughput({"small": (small, None), "big": (big, (6, 5, 3))}, batch_size=2, batches=1, warmup=1, repeats=3)
    assert set(r) == {"small", "big"}
    assert calls[4:] == ["small", "big"] * 3           # after 2 + 2 warm-up calls: alternating rounds
    assert r["big"]["ms_per_output_megapixel"] == pytest.approx(r["big"]["seconds"] * 1e3 / (2 * 12 * 10 / 1e6))


def test_compare_throughput_errors():
    with pytest.raises(ValueError, match="batch_size, batches, repeats >= 1"):
        cost.compare_throughput({"m": (tiny_model(), None)}, repeats=0)
    with pytest.raises(ValueError, match="give the input shape"):
        cost.compare_throughput({"bicubic": (lambda x: x, None)}, repeats=1)


def test_compare_throughput_times_any_upscaler_beside_models():
    """Interpolation (or an OpenCV peer) is timed like a model: called on the batch, no training flag."""
    bicubic = lambda x: degradation.interpolate(x, 2, "bicubic")  # noqa: E731
    model = models.build_residual_subpixel(2, filters=4, blocks=1)
    r = cost.compare_throughput({"bicubic": (bicubic, (6, 5, 3)), "model": (model, (6, 5, 3))},
                                batch_size=2, batches=1, warmup=0, repeats=2)
    assert r["bicubic"]["ms_per_output_megapixel"] == pytest.approx(r["bicubic"]["seconds"] * 1e3 / (2 * 12 * 10 / 1e6))
    assert r["model"]["seconds"] > 0


def test_model_costs_ratios_to_the_original_and_the_reference():
    a = models.build_residual_subpixel(2, filters=4, blocks=1)
    b = models.build_residual_subpixel(2, filters=8, blocks=1)
    c = models.build_residual_subpixel(3, filters=4, blocks=0)
    entries = {"a": (a, (8, 8, 3)), "b": (b, (8, 8, 3)), "c": (c, (6, 6, 3))}
    costs = cost.model_costs(entries, {"a": "a", "b": "a", "c": "c"}, "a", batch_size=2, batches=1, warmup=0, repeats=1)
    assert list(costs) == ["a", "b", "c"]
    for name, (model, shape) in entries.items():
        assert costs[name]["params"] == model.count_params() and costs[name]["lr_shape"] == list(shape)
        assert costs[name]["macs_per_image"] == cost.count_macs(model, shape)
    assert costs["a"]["time_ratio_to_original"] == costs["a"]["macs_ratio_to_original"] == 1.0
    assert costs["b"]["original_of_scale"] == "a" and costs["c"]["original_of_scale"] == "c"
    assert costs["b"]["macs_ratio_to_original"] == pytest.approx(costs["b"]["macs_per_output_mp"] / costs["a"]["macs_per_output_mp"])
    assert costs["b"]["macs_ratio_to_original"] > 1  # twice the filters
    assert costs["c"]["time_ratio_to_reference"] == pytest.approx(costs["c"]["ms_per_output_mp"] / costs["a"]["ms_per_output_mp"])
    with pytest.raises(ValueError, match=r"missing: \['z'\]"):
        cost.model_costs(entries, {"a": "a", "b": "a", "c": "z"}, "a")
    with pytest.raises(ValueError, match=r"missing: \['q'\]"):
        cost.model_costs(entries, {"a": "a", "b": "a", "c": "c"}, "q")


def test_training_throughput_is_positive():
    rate = cost.training_throughput(models.build_cifar10_x2, (16, 16, 3), (32, 32, 3),
                                         jit_compile=False, batch_size=4, steps=2, warmup_steps=1)
    assert rate > 0


# ---- peak memory of the upscaling command --------------------------------------------------
def test_synthetic_photo_is_photo_like_and_seeded():
    photo = cost.synthetic_photo(300, 450)
    assert photo.shape == (300, 450, 3) and photo.dtype == np.uint8
    assert 20 < photo.std() < 100 and photo.min() < 30 and photo.max() > 225
    np.testing.assert_array_equal(photo, cost.synthetic_photo(300, 450))
    assert not np.array_equal(photo, cost.synthetic_photo(300, 450, seed=1))


def test_peak_memory_is_the_childs_own(tmp_path):
    """The parent (this test process, with TensorFlow loaded) is far larger than the child: the
    child's figure must not include it."""
    (tmp_path / "alloc.py").write_text("import sys\nimport numpy as np\n"
                                        "a = np.ones(int(sys.argv[1]) * 1_000_000 // 8)\nsys.exit(int(a.sum() > 0) * 3)\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    small, _, code_small = cost.peak_rss_mb("alloc", ["0"], env=env)
    big, _, code_big = cost.peak_rss_mb("alloc", ["200"], env=env)
    assert code_small == 0 and code_big == 3
    assert small < 100 and 195 < big - small < 215, (small, big)
    (tmp_path / "vanish.py").write_text("import os\nos._exit(5)\n")  # exits without running finally blocks
    with pytest.raises(RuntimeError, match=r"python -m vanish reported no peak memory \(exit code 5\)"):
        cost.peak_rss_mb("vanish", [], env=env)


def test_upscale_memory_table():
    rows = [{"input": "16x16", "output_mp": 0.001024, "peak_mb": 669.2, "output_mb": 0.003, "seconds": 3.4},
            {"input": "6000x4000", "output_mp": 96.0, "peak_mb": 1234.6, "output_mb": 288.0, "seconds": 101.25}]
    table = cost.upscale_memory_table(rows, scale=2, tile=256)
    lines = table.splitlines()
    assert lines[0].startswith("| input | output megapixels |")
    assert lines[2] == "| 16x16 | 0.00 | 0 | 669 | 669 | 3.4 |"
    assert lines[3] == "| 6000x4000 | 96.00 | 288 | 1235 | 947 | 101.2 |"
    assert "`--scale 2 --tile 256`" in table


def test_cost_table_reads_the_costs():
    costs = {"a": {"params": 10, "lr_shape": [8, 8, 3], "macs_per_image": 5, "macs_per_output_mp": 2e9, "images_per_s": 3.0,
                   "ms_per_output_mp": 4.0, "original_of_scale": "a", "macs_ratio_to_original": 1.0, "time_ratio_to_original": 1.0,
                   "time_ratio_to_reference": 1.0, "macs_ratio_to_reference": 1.0}}
    table = cost.cost_table(costs)
    assert list(table.columns) == ["params", "GMACs / output MP", "images_per_s", "ms_per_output_mp", "macs_ratio_to_original",
                                   "time_ratio_to_original", "time_ratio_to_reference"]
    assert table.loc["a", "GMACs / output MP"] == 2.0 and table.loc["a", "params"] == 10


def test_time_methods_times_models_peers_and_interpolations_on_one_image():
    calls = []

    def peer(x):  # an OpenCV peer takes batches too
        calls.append(x.shape)
        return np.repeat(np.repeat(x, 2, axis=1), 2, axis=2)

    model = models.build_residual_subpixel(2, filters=4, blocks=1)
    ms = cost.time_methods({"model": model, "peer": peer, "bicubic": "bicubic"}, (10, 8), 2, batches=1, warmup=0, repeats=2, batch_size=64)
    assert list(ms) == ["model", "peer", "bicubic"] and all(v > 0 for v in ms.values())
    assert calls == [(1, 10, 8, 3)] * 3  # batch_size is always one image: one to size the output, two timed rounds
    with pytest.raises(ValueError, match="method must be one of"):
        cost.time_methods({"cubic": "cubic-spline"}, (10, 8), 2, repeats=1)
