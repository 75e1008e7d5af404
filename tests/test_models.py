"""Tests of sr_utils/models.py: the original CIFAR-10 x2 and STL-10 x3 / x6 architectures, and the
residual sub-pixel family with its serializable layers."""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers

import sr_utils
from sr_utils import models

from synthetic import smooth_images


def conv_params(k: int, c_in: int, c_out: int) -> int:
    return k * k * c_in * c_out + c_out


def body(model: keras.Model) -> list:
    return [layer for layer in model.layers if not isinstance(layer, layers.InputLayer)]


@pytest.fixture(scope="module")
def cifar_model():
    return models.build_cifar10_x2()


# --------------------------------------------------------------------------------------
# CIFAR-10 x2
# --------------------------------------------------------------------------------------
def test_cifar_model_has_225027_parameters(cifar_model):
    by_hand = (conv_params(3, 3, 64) + conv_params(3, 64, 64) + conv_params(3, 64, 128)  # transpose: same count
               + conv_params(3, 128, 64) + conv_params(3, 64, 64) + conv_params(3, 64, 3))
    assert by_hand == 225_027
    assert cifar_model.count_params() == by_hand == models.CIFAR10_X2_PARAMS


def test_cifar_model_maps_16_to_32_in_unit_range(cifar_model):
    x = smooth_images(2, 16, 16, seed=0)
    y = cifar_model.predict(x, verbose=0)
    assert y.shape == (2, 32, 32, 3) and y.dtype == np.float32
    assert y.min() >= 0.0 and y.max() <= 1.0
    assert tuple(cifar_model.input_shape) == (None, 16, 16, 3)
    assert tuple(cifar_model.output_shape) == (None, 32, 32, 3)


def test_cifar_model_layer_sequence(cifar_model):
    layer_list = body(cifar_model)
    assert [type(layer) for layer in layer_list] == [
        layers.Conv2D, layers.Conv2D, layers.Conv2DTranspose, layers.Conv2D, layers.Conv2D, layers.Conv2D]
    configs = [layer.get_config() for layer in layer_list]
    assert [c["filters"] for c in configs] == [64, 64, 128, 64, 64, 3]
    assert [c["activation"] for c in configs] == ["relu"] * 5 + ["sigmoid"]
    assert all(tuple(c["kernel_size"]) == (3, 3) and c["padding"] == "same" for c in configs)
    assert [tuple(c["strides"]) for c in configs] == [(1, 1), (1, 1), (2, 2), (1, 1), (1, 1), (1, 1)]


# --------------------------------------------------------------------------------------
# STL-10
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", [2, 3, 4, 6])
def test_upsampling_factors_multiply_to_the_scale(scale):
    factors = models.stl10_upsampling_factors(scale)
    assert len(factors) == 4 and math.prod(factors) == scale
    assert factors[2:] == (1, 1)  # the last two blocks refine at the output resolution


@pytest.mark.parametrize("scale, lr_size", [(6, 16), (3, 32)])
def test_stl10_model_maps_lr_to_96(scale, lr_size):
    model = models.build_stl10(scale)
    assert tuple(model.input_shape) == (None, lr_size, lr_size, 3)
    assert tuple(model.output_shape) == (None, 96, 96, 3)
    y = model.predict(smooth_images(1, lr_size, lr_size, seed=1), verbose=0)
    assert y.shape == (1, 96, 96, 3) and y.min() >= 0.0 and y.max() <= 1.0
    layer_list = body(model)
    assert sum(isinstance(layer, layers.BatchNormalization) for layer in layer_list) == 4
    ups = [tuple(layer.size) for layer in layer_list if isinstance(layer, layers.UpSampling2D)]
    assert ups == [(f, f) for f in models.stl10_upsampling_factors(scale) if f > 1]
    assert all(layer.get_config()["interpolation"] == "nearest"
               for layer in layer_list if isinstance(layer, layers.UpSampling2D))
    assert layer_list[-1].get_config()["activation"] == "sigmoid"
    assert layer_list[-1].get_config()["filters"] == 3


def test_stl10_blocks_are_conv_bn_relu_with_the_given_widths():
    model = models.build_stl10(4, filters=(8, 8, 4, 4), output_size=32)
    kinds = [type(layer).__name__ for layer in body(model)]
    assert kinds == ["Conv2D", "BatchNormalization", "ReLU", "UpSampling2D",
                     "Conv2D", "BatchNormalization", "ReLU", "UpSampling2D",
                     "Conv2D", "BatchNormalization", "ReLU",
                     "Conv2D", "BatchNormalization", "ReLU",
                     "Conv2D"]
    convs = [layer for layer in body(model) if isinstance(layer, layers.Conv2D)]
    assert [c.filters for c in convs] == [8, 8, 4, 4, 3]
    assert tuple(model.input_shape) == (None, 8, 8, 3) and tuple(model.output_shape) == (None, 32, 32, 3)


@pytest.mark.parametrize("scale", [1, 5, 8, 2.5])
def test_unsupported_scale(scale):
    with pytest.raises(ValueError, match=r"defined for scales \[2, 3, 4, 6\]"):
        models.stl10_upsampling_factors(scale)
    with pytest.raises(ValueError, match=r"defined for scales"):
        models.build_stl10(scale)


@pytest.mark.parametrize("filters", [(64, 64, 32), (64, 64, 32, 32, 16)])
def test_wrong_filters_length(filters):
    with pytest.raises(ValueError, match=r"one width per block \(4\)"):
        models.build_stl10(3, filters=filters)


def test_output_size_not_divisible():
    with pytest.raises(ValueError, match=r"output_size 100 is not divisible by scale 6"):
        models.build_stl10(6, output_size=100)


# --------------------------------------------------------------------------------------
# Saving and loading
# --------------------------------------------------------------------------------------
def test_compiled_model_loads_without_custom_objects(tmp_path):
    model = models.build_cifar10_x2()
    model.compile(optimizer="adam", loss="mse", metrics=[sr_utils.metrics.psnr, sr_utils.metrics.ssim])
    x = smooth_images(2, 16, 16, seed=2)
    y = smooth_images(2, 32, 32, seed=3)
    model.fit(x, y, epochs=1, verbose=0)  # builds the optimizer and the compiled metrics
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    scores = loaded.evaluate(x, y, verbose=0, return_dict=True)
    assert {"loss", "psnr", "ssim"} <= set(scores)
    assert 0 < scores["psnr"] < 60 and -1 <= scores["ssim"] <= 1


# --------------------------------------------------------------------------------------
# Residual sub-pixel family and its layers
# --------------------------------------------------------------------------------------
def tf_resize(x, size, method):
    return tf.image.resize(x, size, method=method).numpy()


def test_depth_to_space_places_channels_as_sub_pixels():
    # tf.nn.depth_to_space: out[s*h + i, s*w + j, c] = in[h, w, (i*s + j)*C + c]
    x = np.arange(2 * 3 * 8, dtype=np.float32).reshape(1, 2, 3, 8)  # C = 2 after a 2x2 shuffle
    out = np.asarray(models.DepthToSpace(2)(x))
    assert out.shape == (1, 4, 6, 2)
    for h in range(2):
        for w in range(3):
            for i in range(2):
                for j in range(2):
                    np.testing.assert_array_equal(out[0, 2 * h + i, 2 * w + j], x[0, h, w, (i * 2 + j) * 2:(i * 2 + j) * 2 + 2])


def test_depth_to_space_shapes_config_and_errors():
    layer = models.DepthToSpace(3)
    assert layer.compute_output_shape((None, None, 5, 27)) == (None, None, 15, 3)
    assert models.DepthToSpace.from_config(layer.get_config()).block_size == 3
    for bad in (1, 0, 2.0, True, "2"):
        with pytest.raises(ValueError, match=r"block_size must be an integer >= 2"):
            models.DepthToSpace(bad)


@pytest.mark.parametrize("method", ["bicubic", "bilinear"])
def test_interpolation_upscale_is_tf_resize(method):
    x = smooth_images(2, 5, 7, seed=4, noise=0.2)
    out = np.asarray(models.InterpolationUpscale(3, method)(x))
    ref = tf_resize(x, (15, 21), method)
    assert out.shape == (2, 15, 21, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out, ref, atol=1e-6)  # not clipped: a skip connection, not an image


def test_interpolation_upscale_nearest_repeats_and_errors():
    x = smooth_images(1, 4, 4, seed=5)
    out = np.asarray(models.InterpolationUpscale(2, "nearest")(x))
    np.testing.assert_array_equal(out, x.repeat(2, axis=1).repeat(2, axis=2))
    layer = models.InterpolationUpscale(4)
    assert layer.compute_output_shape((None, 3, None, 3)) == (None, 12, None, 3)
    assert models.InterpolationUpscale.from_config(layer.get_config()).method == "bicubic"
    with pytest.raises(ValueError, match=r"scale must be an integer >= 2, got 1"):
        models.InterpolationUpscale(1)
    with pytest.raises(ValueError, match=r"method must be nearest, bilinear or bicubic, got 'lanczos3'"):
        models.InterpolationUpscale(2, "lanczos3")


@pytest.mark.parametrize("scale, filters, blocks", [(2, 8, 2), (3, 4, 0), (4, 6, 1)])
def test_residual_subpixel_parameters_and_any_input_size(scale, filters, blocks):
    model = models.build_residual_subpixel(scale, filters=filters, blocks=blocks)
    by_hand = (conv_params(3, 3, filters) + blocks * 2 * conv_params(3, filters, filters)
               + conv_params(3, filters, filters) + conv_params(3, filters, 3 * scale * scale))
    assert model.count_params() == by_hand
    for h, w in ((5, 7), (8, 8)):
        y = model.predict(smooth_images(1, h, w, seed=6), verbose=0)
        assert y.shape == (1, h * scale, w * scale, 3)
    assert model.name == f"residual_subpixel_x{scale}_f{filters}b{blocks}"
    assert models.build_residual_subpixel(scale, 4, 0, name="mine").name == "mine"


def test_residual_subpixel_architecture_names_the_layers_built():
    line = models.residual_subpixel_architecture(3, 56, 4)
    assert line == ("Conv56 head - 4 x ResBlock(Conv-ReLU-Conv, no BN) - Conv + long skip - Conv(3x3^2) - "
                    "DepthToSpace(3) + bicubic skip")
    model = models.build_residual_subpixel(3, filters=56, blocks=4)
    assert sum(layer.name.endswith("_add") for layer in model.layers) == 4
    assert model.get_layer("head").filters == 56 and model.get_layer("to_subpixels").filters == 3 * 3 ** 2


def test_residual_subpixel_learns_a_residual_over_bicubic():
    # with the last convolution zeroed the network adds nothing: the output is the bicubic skip
    model = models.build_residual_subpixel(3, filters=4, blocks=1)
    last = model.get_layer("to_subpixels")
    last.set_weights([np.zeros_like(w) for w in last.get_weights()])
    x = smooth_images(2, 6, 5, seed=7)
    np.testing.assert_allclose(model.predict(x, verbose=0), tf_resize(x, (18, 15), "bicubic"), atol=1e-5)


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": 1}, r"scale must be an integer >= 2"),
    ({"scale": 2.5}, r"scale must be an integer >= 2"),
    ({"scale": True}, r"scale must be an integer >= 2"),
    ({"scale": 2, "filters": 0}, r"filters must be >= 1 and blocks >= 0"),
    ({"scale": 2, "blocks": -1}, r"filters must be >= 1 and blocks >= 0"),
])
def test_residual_subpixel_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        models.build_residual_subpixel(**kwargs)


def test_residual_subpixel_saves_and_loads_without_custom_objects(tmp_path):
    model = models.build_residual_subpixel(2, filters=4, blocks=1)
    path = tmp_path / "r.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    x = smooth_images(1, 9, 6, seed=8)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    assert isinstance(loaded.get_layer("depth_to_space"), models.DepthToSpace)
    assert isinstance(loaded.get_layer("bicubic_skip"), models.InterpolationUpscale)


def test_residual_subpixel_spec_names_builds_and_describes():
    spec = models.ResidualSubpixel(filters=8, blocks=2)
    assert spec.name("natural", 3) == "natural_x3_rsp8x2"
    model = spec.build(3, name="m")
    reference = models.build_residual_subpixel(3, filters=8, blocks=2)
    assert model.name == "m" and model.count_params() == reference.count_params()
    assert spec.describe(3) == models.residual_subpixel_architecture(3, 8, 2)


@pytest.mark.parametrize("scale, params", [(2, models.CIFAR10_X2_PARAMS), (3, 68_067), (6, 68_067)])
def test_build_original_is_the_original_study_of_the_scale(scale, params):
    model = models.build_original(scale)
    assert model.count_params() == params and model.output_shape[1:] == ((32, 32, 3) if scale == 2 else (96, 96, 3))


def test_reparameterized_model_folds_into_the_plain_model_with_the_same_outputs(tmp_path):
    rep = models.build_residual_subpixel(3, filters=8, blocks=2, name="rep", reparameterized=True)
    rng = np.random.default_rng(0)
    rep.set_weights([rng.normal(0, 0.2, w.shape).astype(np.float32) for w in rep.get_weights()])  # biases too
    plain = models.build_residual_subpixel(3, filters=8, blocks=2)
    assert [layer.name for layer in rep.layers] == [layer.name for layer in plain.layers]
    assert rep.count_params() > plain.count_params()
    folded = models.fold_reparameterized(rep)
    assert folded.name == "rep" and folded.count_params() == plain.count_params()
    assert not any(isinstance(layer, models.RepConv3x3) for layer in folded.layers)
    x = rng.random((2, 7, 9, 3)).astype(np.float32)
    want = rep.predict(x, verbose=0)
    assert want.shape == (2, 21, 27, 3) and np.abs(want).max() > 0.1
    np.testing.assert_allclose(folded.predict(x, verbose=0), want, atol=1e-4)
    rep.save(tmp_path / "rep.keras")  # the training model saves and loads (for checkpoints)
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "rep.keras").predict(x, verbose=0), want, atol=1e-6)
    with pytest.raises(ValueError, match="not a residual sub-pixel model built with reparameterized=True"):
        models.fold_reparameterized(plain)
