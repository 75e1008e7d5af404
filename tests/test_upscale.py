"""Tests of sr_utils.upscale: tiling without seams, bounded tiles, dtypes and channels, errors, the CLI."""

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from sr_utils import models, upscale as U


@keras.saving.register_keras_serializable(package="sr_utils_tests")
class ShapeRecorder(layers.Layer):
    """Identity layer that records the shape of every batch it sees (eager calls)."""

    seen: list = []

    def call(self, x):
        if all(d is not None for d in x.shape):  # eager calls only, not the symbolic build
            ShapeRecorder.seen.append(tuple(int(d) for d in x.shape))
        return x

    def compute_output_shape(self, input_shape):
        return input_shape


def small_x2_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    x = ShapeRecorder()(inputs)
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def image(h, w, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, channels), dtype=np.uint8)


@pytest.mark.parametrize("build", [small_x2_model, lambda: models.build_residual_subpixel(3, filters=8, blocks=1)])
def test_tiled_output_equals_untiled_output(build):
    model = build()
    x = image(37, 53).astype(np.float32) / 255
    whole = U.upscale(x, model, tile=1000)
    tiled = U.upscale(x, model, tile=8, batch_size=3)
    scale = whole.shape[0] // 37
    assert whole.shape == (37 * scale, 53 * scale, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiles_and_batches_bound_what_the_model_sees():
    model = small_x2_model()
    margin = U.receptive_margin(model)
    assert margin == 3  # three 3x3 convolutions
    ShapeRecorder.seen.clear()
    out = U.upscale(image(1000, 1000), model, tile=128, batch_size=2)
    assert out.shape == (2000, 2000, 3) and out.dtype == np.uint8
    assert ShapeRecorder.seen, "the model was never called"
    assert max(s[0] for s in ShapeRecorder.seen) <= 2
    assert max(max(s[1], s[2]) for s in ShapeRecorder.seen) <= 128 + 2 * margin


def test_fixed_size_models_are_made_fully_convolutional_with_the_same_weights():
    fixed = models.build_cifar10_x2()
    free = U.fully_convolutional(fixed)
    assert free.input_shape == (None, None, None, 3)
    x = image(16, 16).astype(np.float32)[None] / 255
    np.testing.assert_allclose(free.predict(x, verbose=0), fixed.predict(x, verbose=0), atol=1e-6)
    assert U.fully_convolutional(free) is free


def test_dtypes_and_channels():
    model = small_x2_model()
    rgb = image(20, 24)
    out = U.upscale(rgb, model)
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8
    as_float = U.upscale(rgb.astype(np.float32) / 255, model)
    assert as_float.dtype == np.float32 and 0 <= as_float.min() and as_float.max() <= 1
    np.testing.assert_array_equal(np.round(as_float * 255).astype(np.uint8), out)
    assert U.upscale(rgb.astype(np.float64) / 255, model).dtype == np.float64
    # grayscale: (H, W) and (H, W, 1) keep their layout; the value is the mean of the RGB result
    gray = rgb[..., 0]
    g2 = U.upscale(gray, model)
    assert g2.shape == (40, 48) and g2.dtype == np.uint8
    assert U.upscale(gray[..., None], model).shape == (40, 48, 1)
    rgb_of_gray = U.upscale(np.repeat(gray[..., None], 3, axis=-1).astype(np.float32) / 255, model)
    np.testing.assert_array_equal(g2, np.round(rgb_of_gray.mean(axis=-1) * 255).astype(np.uint8))
    # RGBA: RGB through the model, alpha by bicubic interpolation
    rgba = np.dstack([rgb, np.full((20, 24), 200, np.uint8)])
    o4 = U.upscale(rgba, model)
    assert o4.shape == (40, 48, 4)
    np.testing.assert_array_equal(o4[..., :3], out)
    assert np.all(o4[..., 3] == 200)


def test_scale_is_taken_from_the_model_and_checked():
    model = small_x2_model()
    assert U.upscale(image(10, 10), model, scale=2).shape == (20, 20, 3)
    with pytest.raises(ValueError, match="does not match the model, which upscales x2"):
        U.upscale(image(10, 10), model, scale=3)


@pytest.mark.parametrize("bad, kwargs, match", [
    (np.zeros((4, 5, 6, 3), np.uint8), {}, "image must be"),
    (np.zeros((10, 10, 2), np.uint8), {}, "image must be"),
    (np.zeros((3, 40, 3), np.uint8), {}, "at least 4x4"),
    (np.full((10, 10, 3), 2.0, np.float32), {}, r"must lie in \[0, 1\]"),
    (np.zeros((10, 10, 3), np.uint8), {"tile": 4}, "tile must be an integer >= 8"),
    (np.zeros((10, 10, 3), np.uint8), {"batch_size": 0}, "batch_size must be >= 1"),
])
def test_bad_input(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        U.upscale(bad, small_x2_model(), **kwargs)


def test_model_errors(tmp_path):
    with pytest.raises(ValueError, match="pass a model or a scale"):
        U.upscale(image(8, 8))
    with pytest.raises(ValueError, match="no bundled model for scale 5"):
        U.upscale(image(8, 8), scale=5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        U.upscale(image(8, 8), model=tmp_path / "missing.keras")


# ---- command line -----------------------------------------------------------------------
@pytest.fixture
def saved_model(tmp_path):
    path = tmp_path / "x2.keras"
    small_x2_model().save(path)
    return path


def test_cli_writes_upscaled_images(tmp_path, saved_model, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(image(12, 20)).save(src / "a.png")
    Image.fromarray(image(9, 9, seed=1)[..., 0]).save(src / "b.png")
    code = U.main([str(src / "a.png"), str(src / "b.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model)])
    assert code == 0
    assert np.asarray(Image.open(tmp_path / "out" / "a_x2.png")).shape == (24, 40, 3)
    assert np.asarray(Image.open(tmp_path / "out" / "b_x2.png")).shape == (18, 18)
    assert "2 of 2 images written" in capsys.readouterr().out


def test_cli_refuses_to_overwrite_an_input(tmp_path, saved_model, capsys):
    # c.png would be written to c_x2.png, which is itself one of the inputs
    for name in ("c.png", "c_x2.png"):
        Image.fromarray(image(8, 8)).save(tmp_path / name)
    before = (tmp_path / "c_x2.png").read_bytes()
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / "c.png"), str(tmp_path / "c_x2.png"), "-o", str(tmp_path), "--model", str(saved_model)])
    assert e.value.code == 2 and "refusing to overwrite the input" in capsys.readouterr().err
    assert (tmp_path / "c_x2.png").read_bytes() == before


def test_cli_errors(tmp_path, saved_model, capsys):
    (tmp_path / "broken.png").write_bytes(b"not an image")
    assert U.main([str(tmp_path / "broken.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model)]) == 1
    assert "cannot read" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / "broken.png"), "-o", str(tmp_path / "out"), "--scale", "5"])
    assert e.value.code == 2 and "no bundled model for scale 5" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / "missing.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model)])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / "broken.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model), "--scale", "3"])
    assert e.value.code == 2 and "does not match" in capsys.readouterr().err


def test_the_bundled_sample_is_the_projects_own_drawing():
    committed = np.asarray(Image.open(U.SAMPLE_IMAGE).convert("RGB"))
    drawn = U.draw_sample_image()
    assert committed.shape == drawn.shape == (192, 192, 3)
    assert np.mean(np.abs(committed.astype(int) - drawn.astype(int))) < 1.0


def test_cli_without_inputs_upscales_the_bundled_sample(tmp_path, saved_model):
    assert U.main(["-o", str(tmp_path), "--model", str(saved_model)]) == 0
    assert np.asarray(Image.open(tmp_path / "sample_x2.png")).shape == (384, 384, 3)


def test_cli_defaults_work_from_a_clone(tmp_path):
    """No input and no --model: the bundled sample through the committed default x2 model."""
    for scale in U.DEFAULT_MODELS:
        assert U.default_model_path(scale).is_file(), f"bundled model for x{scale} is missing"
    assert U.main(["-o", str(tmp_path)]) == 0
    out = np.asarray(Image.open(tmp_path / "sample_x2.png"))
    assert out.shape == (384, 384, 3) and out.dtype == np.uint8
    assert U.main(["-o", str(tmp_path), "--scale", "3"]) == 0
    assert np.asarray(Image.open(tmp_path / "sample_x3.png")).shape == (576, 576, 3)


def test_bundled_models_are_the_models_for_photos():
    """The defaults were trained on the benchmark degradation (a real photo's), not a dataset's own."""
    import json

    metrics_json = json.loads((U.repo_root() / "model" / "metrics.json").read_text())
    for scale, name in U.DEFAULT_MODELS.items():
        info = metrics_json["models"][name]
        assert info["scale"] == scale and info["antialias"] is True, name
