"""Portable model files: configs without default arguments, identical outputs, every committed model.

Whether an older Keras really opens these files is checked by CI in Colab's environment
(requirements-colab.txt, Keras 3.13), where this whole file runs too.
"""

import json
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest

from sr_utils import degradation, image_files, metrics, models, registry, saving, upscale

ROOT = Path(__file__).resolve().parents[1]
COMMITTED = sorted((ROOT / "model").glob("*.keras"))


def config_of(path) -> dict:
    with zipfile.ZipFile(path) as z:
        return json.loads(z.read("config.json"))


def layer_configs(config: dict) -> dict:
    return {layer["config"]["name"]: layer["config"] for layer in config["config"]["layers"]}


def small_model() -> keras.Model:
    keras.utils.set_random_seed(3)
    inputs = keras.Input((None, None, 3), name="lr")
    x = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="c1",
                            kernel_initializer=keras.initializers.VarianceScaling(scale=2.0))(inputs)
    x = keras.layers.BatchNormalization(name="bn", momentum=0.9)(x)
    x = keras.layers.Conv2D(12, 3, padding="same", name="c2")(x)
    x = models.DepthToSpace(2, name="d2s")(x)
    x = keras.layers.Add(name="add")([x, models.InterpolationUpscale(2, name="skip")(inputs)])
    model = keras.Model(inputs, x, name="small")
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
    return model


def probe() -> np.ndarray:
    return np.random.default_rng(0).random((2, 6, 5, 3)).astype(np.float32)


# --------------------------------------------------------------------------------------
# portable_config
# --------------------------------------------------------------------------------------
def test_portable_config_drops_arguments_at_their_defaults():
    conv = {
        "module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
        "config": {
            "name": "head", "filters": 64, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
            "groups": 1, "activation": "linear", "use_bias": True, "kernel_regularizer": None,
            "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                                   "registered_name": None,
                                   "config": {"seed": None}},
        },
    }
    out = saving.portable_config(conv)
    assert out["config"] == {
        "name": "head", "filters": 64, "kernel_size": [3, 3], "padding": "same", "activation": "linear",
        "kernel_initializer": {"module": "keras.initializers", "class_name": "GlorotUniform",
                               "registered_name": None, "config": {}},
    }
    assert conv["config"]["strides"] == [1, 1]  # the input is not modified


def test_portable_config_keeps_values_that_differ_from_defaults():
    init = {"module": "keras.initializers", "class_name": "VarianceScaling", "registered_name": None,
            "config": {"scale": 2.0, "mode": "fan_in", "distribution": "uniform", "seed": 5}}
    assert saving.portable_config(init)["config"] == {"scale": 2.0, "distribution": "uniform", "seed": 5}
    # 1 is not True, 0 is not False, [1, 1] is not (1, 1, 1): only exact defaults go
    conv = {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
            "config": {"use_bias": 1, "groups": 2, "strides": [1, 1, 1]}}
    assert saving.portable_config(conv)["config"] == {"use_bias": 1, "groups": 2, "strides": [1, 1, 1]}


def test_portable_config_makes_mixed_precision_policies_float32():
    layer = {"module": "keras.layers", "class_name": "Conv2D", "registered_name": None,
             "config": {"name": "c", "filters": 8, "kernel_size": [3, 3],
                        "dtype": {"module": "keras", "class_name": "DTypePolicy", "registered_name": None,
                                  "config": {"name": "mixed_float16"}}}}
    out = saving.portable_config(layer)
    assert out["config"]["dtype"]["config"] == {"name": "float32"}
    assert layer["config"]["dtype"]["config"] == {"name": "mixed_float16"}  # the input is not modified
    for name in ("float32", "float64", "bfloat16"):  # other policies are kept as they are
        policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": name}}
        assert saving.portable_config(policy) == policy


def test_portable_config_leaves_unknown_classes_and_plain_values_alone():
    unknown = {"module": "mypackage.layers", "class_name": "Mine", "registered_name": "mine>Mine",
               "config": {"seed": None, "strides": [1, 1]}}
    assert saving.portable_config(unknown) == unknown
    missing = {"module": "keras.layers", "class_name": "NoSuchLayer", "config": {"seed": None}}
    assert saving.portable_config(missing) == missing
    assert saving.portable_config([1, "a", None, {"x": [2]}]) == [1, "a", None, {"x": [2]}]


def test_portable_config_trims_registered_sr_utils_layers_and_compile_settings():
    skip = {"module": "sr_utils.models", "class_name": "InterpolationUpscale",
            "registered_name": "sr_utils>InterpolationUpscale",
            "config": {"name": "skip", "scale": 3, "method": "bicubic"}}
    assert saving.portable_config(skip)["config"] == {"name": "skip", "scale": 3}
    compiled = {"compile_config": {"optimizer": "adam", "loss": "mae", "run_eagerly": False,
                                   "steps_per_execution": 1, "jit_compile": "auto", "metrics": None}}
    assert saving.portable_config(compiled) == {"compile_config": {"optimizer": "adam", "loss": "mae"}}


# --------------------------------------------------------------------------------------
# save_model / make_portable
# --------------------------------------------------------------------------------------
def test_save_model_writes_a_portable_file_with_identical_outputs(tmp_path):
    model = small_model()
    path = tmp_path / "sub" / "small.keras"
    assert saving.save_model(model, path) == path
    assert sorted(p.name for p in path.parent.iterdir()) == ["small.keras"]  # no temporary left
    config = config_of(path)
    assert saving.portable_config(config) == config
    layers = layer_configs(config)
    assert layers["c1"]["kernel_initializer"]["config"] == {"scale": 2.0}
    assert layers["c2"]["kernel_initializer"]["config"] == {}
    assert layers["bn"]["momentum"] == 0.9 and "renorm" not in layers["bn"] and "epsilon" not in layers["bn"]
    assert layers["d2s"]["block_size"] == 2
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(probe(), verbose=0), model.predict(probe(), verbose=0))
    assert loaded.loss == "mae" and loaded.optimizer.learning_rate.numpy() == pytest.approx(1e-3)


def test_make_portable_rewrites_a_plain_keras_file(tmp_path):
    model = small_model()
    path = tmp_path / "plain.keras"
    model.save(path)
    plain = config_of(path)
    assert "input_axes" in json.dumps(plain) or saving.portable_config(plain) != plain
    with zipfile.ZipFile(path) as z:
        weights = z.read("model.weights.h5")
    saving.make_portable(path)
    config = config_of(path)
    assert saving.portable_config(config) == config != plain
    with zipfile.ZipFile(path) as z:
        assert sorted(z.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        assert z.read("model.weights.h5") == weights
    np.testing.assert_array_equal(keras.models.load_model(path, compile=False).predict(probe(), verbose=0),
                                  model.predict(probe(), verbose=0))


def test_make_portable_errors_leave_files_alone(tmp_path):
    with pytest.raises(FileNotFoundError, match="no model file"):
        saving.make_portable(tmp_path / "missing.keras")
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        saving.make_portable(tmp_path / "m.h5")
    text = tmp_path / "text.keras"
    text.write_text("not a zip")
    with pytest.raises(ValueError, match="not a zip archive"):
        saving.make_portable(text)
    assert text.read_text() == "not a zip"
    other = tmp_path / "other.keras"
    with zipfile.ZipFile(other, "w") as z:
        z.writestr("readme.txt", "hello")
    before = other.read_bytes()
    with pytest.raises(ValueError, match="has no config.json"):
        saving.make_portable(other)
    assert other.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["other.keras", "text.keras"]


def test_failed_save_leaves_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    old = small_model()
    saving.save_model(old, path)
    before = path.read_bytes()

    def broken_save(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a model")  # something is written, then the disk fails
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        saving.save_model(small_model(), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no m.tmp.keras
    monkeypatch.undo()
    np.testing.assert_array_equal(keras.models.load_model(path, compile=False).predict(probe(), verbose=0),
                                  old.predict(probe(), verbose=0))


def test_save_model_refuses_other_suffixes(tmp_path):
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        saving.save_model(small_model(), tmp_path / "m.h5")
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------
# The committed models
# --------------------------------------------------------------------------------------
def test_models_are_committed():
    assert len(COMMITTED) >= 8


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_model_is_saved_portable(path):
    with zipfile.ZipFile(path) as z:
        written_by = json.loads(z.read("metadata.json"))["keras_version"]
    if written_by != keras.__version__:
        pytest.skip(f"written by Keras {written_by}: the defaults to compare with are that release's "
                    f"(this is {keras.__version__}); the next test loads it here")
    config = config_of(path)
    assert saving.portable_config(config) == config, f"run saving.make_portable('model/{path.name}')"


# RGB PSNR (dB) of each committed model on the centre of the bundled sample picture, measured
# with Keras 3.15.1 (requirements.txt) and identical to 4 decimals with Keras 3.13.2 (Colab's): a
# model that an older Keras rebuilt differently (another default) would not give the same number.
GOLDEN_PSNR = {
    "cifar10_x2_rsp64x5.keras": 20.5843,
    "cifar10_x2_original.keras": 23.1400,
    "natural96_x3_original.keras": 14.6082,
    "natural96_x3_rsp56x4.keras": 18.6333,
    "natural96_x6_original.keras": 13.5347,
    "natural96_x6_rsp88x6.keras": 18.8632,
    "natural_x2_rsp64x5.keras": 20.4737,
    "natural_x3_rsp56x4.keras": 16.5101,
    "natural_x4_rsp64x5.keras": 17.6670,
    "robust_x2_rsp64x5.keras": 21.6111,
    "robust_x3_rsp56x4.keras": 18.3085,
    "robust_x4_rsp64x5.keras": 19.3513,
    "robust_x2_rsp32x2.keras": 21.7259,
    "robust_x3_rsp32x2.keras": 18.2389,
    "robust_x4_rsp32x2.keras": 19.2042,
}


def test_every_committed_model_has_a_golden_value():
    assert sorted(GOLDEN_PSNR) == [p.name for p in COMMITTED]


@pytest.mark.parametrize("path", COMMITTED, ids=lambda p: p.name)
def test_committed_model_loads_and_upscales_as_it_was_trained(path):
    model = keras.models.load_model(path)  # plain Keras, after importing sr_utils
    scale = registry.get(path.stem).scale
    h, w = [s or 24 for s in model.input_shape[1:3]]
    sample = image_files.image_array(upscale.SAMPLE_IMAGE)[..., :3]
    y0, x0 = (sample.shape[0] - h * scale) // 2, (sample.shape[1] - w * scale) // 2
    hr = sample[y0:y0 + h * scale, x0:x0 + w * scale]
    lr = degradation.downscale(hr[None].astype(np.float32) / 255.0, scale, antialias=False)  # the goldens' LR, for every model
    sr = model.predict(lr, verbose=0)
    assert sr.shape == (1, h * scale, w * scale, 3) and sr.dtype == np.float32
    psnr = metrics.psnr_per_image(np.clip(sr, 0, 1), hr[None] / 255.0)[0]
    assert psnr == pytest.approx(GOLDEN_PSNR.get(path.name, -1), abs=1e-3), f"{path.name}: {psnr:.4f} dB"
