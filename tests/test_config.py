"""Tests of sr_utils/config.py: run profiles, repository folders, seeding, device and precision."""

from __future__ import annotations

import os
import random
from pathlib import Path

import keras
import numpy as np
import pytest

import sr_utils
from sr_utils import config, models


# --------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    """No SR_PROFILE. (pytest sets PYTEST_CURRENT_TEST again when the test body starts, so tests
    that need it unset delete it themselves.)"""
    monkeypatch.delenv(config.PROFILE_ENV, raising=False)
    return monkeypatch


def test_full_profile_without_pytest_or_env(clean_env):
    clean_env.delenv("PYTEST_CURRENT_TEST", raising=False)
    profile = config.get_profile()
    assert profile.name == "full"
    assert profile is config.PROFILES["full"]


def test_quick_profile_under_pytest(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "tests/test_x.py::test_y (call)")
    profile = config.get_profile()
    assert profile.name == "quick"


def test_env_variable_beats_pytest(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "tests/test_x.py::test_y (call)")
    clean_env.setenv(config.PROFILE_ENV, "full")
    assert config.get_profile().name == "full"
    clean_env.delenv("PYTEST_CURRENT_TEST")
    clean_env.setenv(config.PROFILE_ENV, "quick")
    assert config.get_profile().name == "quick"


def test_empty_env_variable_is_ignored(clean_env):
    clean_env.setenv(config.PROFILE_ENV, "")
    assert config.get_profile().name == "quick"  # under pytest
    clean_env.delenv("PYTEST_CURRENT_TEST", raising=False)
    assert config.get_profile().name == "full"


def test_this_test_run_is_quick(clean_env):
    # the real variable pytest sets, not one set by hand
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert config.get_profile().name == "quick"


def test_explicit_name_beats_everything(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "x")
    clean_env.setenv(config.PROFILE_ENV, "quick")
    assert config.get_profile("full").name == "full"
    clean_env.setenv(config.PROFILE_ENV, "full")
    assert config.get_profile("quick").name == "quick"


def test_unknown_profile(clean_env):
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; use one of \['full', 'quick'\]"):
        config.get_profile("fast")
    clean_env.setenv(config.PROFILE_ENV, "medium")
    with pytest.raises(ValueError, match=r"unknown profile 'medium'.*SR_PROFILE=quick"):
        config.get_profile()


def test_quick_profile_is_small_and_full_keeps_everything():
    quick, full = config.PROFILES["quick"], config.PROFILES["full"]
    assert quick.epochs < full.epochs and quick.steps_per_epoch is not None
    assert all(n is not None and n > 0 for n in (quick.n_train, quick.n_val, quick.n_test))
    assert (full.n_train, full.n_val, full.n_test, full.steps_per_epoch) == (None, None, None, None)


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------
def test_output_dirs_full(tmp_path):
    model_dir, plot_dir = config.output_dirs(config.PROFILES["full"], tmp_path)
    assert (model_dir, plot_dir) == (tmp_path / "model", tmp_path / "plots")
    assert model_dir.is_dir() and plot_dir.is_dir()


def test_output_dirs_quick_goes_to_scratch(tmp_path):
    model_dir, plot_dir = config.output_dirs(config.PROFILES["quick"], str(tmp_path))
    assert model_dir == tmp_path / ".sr_scratch" / "quick" / "model"
    assert plot_dir == tmp_path / ".sr_scratch" / "quick" / "plots"
    assert model_dir.is_dir() and plot_dir.is_dir()
    assert not (tmp_path / "model").exists() and not (tmp_path / "plots").exists()
    # calling again is fine (folders exist already) and deletes nothing: notebooks may run in parallel
    (model_dir / "backup" / "m").mkdir(parents=True)
    (model_dir / "m.keras").write_text("kept")
    assert config.output_dirs(config.PROFILES["quick"], tmp_path) == (model_dir, plot_dir)
    assert (model_dir / "backup" / "m").is_dir() and (model_dir / "m.keras").read_text() == "kept"


def test_output_dirs_full_keeps_training_backups(tmp_path):
    (tmp_path / "model" / "backup").mkdir(parents=True)
    (tmp_path / "model" / "backup" / "m.log.json").write_text("{}")
    config.output_dirs(config.PROFILES["full"], tmp_path)
    assert (tmp_path / "model" / "backup" / "m.log.json").is_file()  # a full run resumes from them


@pytest.fixture
def fake_repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "sr_utils").mkdir(parents=True)
    (repo / "sr_utils" / "__init__.py").write_text("")
    (repo / "notebooks" / "sub" / "deeper").mkdir(parents=True)
    return repo


def test_repo_root_from_a_nested_folder(fake_repo, monkeypatch):
    assert config.repo_root(fake_repo / "notebooks" / "sub" / "deeper") == fake_repo.resolve()
    assert config.repo_root(str(fake_repo)) == fake_repo.resolve()
    monkeypatch.chdir(fake_repo / "notebooks" / "sub")
    assert config.repo_root() == fake_repo.resolve()  # default: the working directory


def test_output_dirs_default_root_is_the_repo(fake_repo, monkeypatch):
    monkeypatch.chdir(fake_repo / "notebooks")
    model_dir, _ = config.output_dirs(config.PROFILES["quick"])
    assert model_dir == fake_repo.resolve() / ".sr_scratch" / "quick" / "model" and model_dir.is_dir()


def test_repo_root_falls_back_to_the_package_parent(tmp_path, fake_repo):
    package_parent = Path(sr_utils.__file__).resolve().parent.parent
    (tmp_path / "elsewhere").mkdir()
    assert config.repo_root(tmp_path / "elsewhere") == package_parent
    # sr_utils/ without notebooks/ is not a repository root, nor notebooks/ without sr_utils/__init__.py
    (fake_repo / "notebooks" / "sub" / "deeper").rmdir()
    (fake_repo / "notebooks" / "sub").rmdir()
    (fake_repo / "notebooks").rmdir()
    assert config.repo_root(fake_repo / "sr_utils") == package_parent
    (fake_repo / "notebooks").mkdir()
    (fake_repo / "sr_utils" / "__init__.py").unlink()
    assert config.repo_root(fake_repo / "notebooks") == package_parent


# --------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------
def test_set_seed_repeats_numpy_python_and_keras_draws():
    def sample():
        dense = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        return np.random.rand(3), keras.random.uniform((3,)).numpy(), random.random(), dense.get_weights()[0]

    config.set_seed(7)
    first = sample()
    config.set_seed(7)
    again = sample()
    config.set_seed(8)
    other = sample()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)



# --------------------------------------------------------------------------------------
# Device, precision, printed paths
# --------------------------------------------------------------------------------------
def test_output_dirs_partial_run_goes_to_scratch(tmp_path):
    model_dir, plot_dir = config.output_dirs(config.PROFILES["full"], tmp_path, partial=True)
    assert (model_dir, plot_dir) == (tmp_path / ".sr_scratch" / "partial" / "model", tmp_path / ".sr_scratch" / "partial" / "plots")
    assert model_dir.is_dir() and plot_dir.is_dir() and not (tmp_path / "model").exists()
    quick = config.output_dirs(config.PROFILES["quick"], tmp_path, partial=True)
    assert quick == config.output_dirs(config.PROFILES["quick"], tmp_path)  # never mixed with a full run's


def test_shown_paths_are_relative_to_the_repository(tmp_path):
    assert config.shown(tmp_path / "model" / "a.keras", tmp_path) == "model/a.keras"
    assert config.shown(tmp_path, tmp_path) == "."
    assert config.shown("/elsewhere/x.png", tmp_path) == "/elsewhere/x.png"
    assert config.shown(config.repo_root() / "plots") == "plots"


def test_cpu_run_is_float32_and_says_so():
    if config.gpu_names():
        pytest.skip("a GPU is present: this test is about CPU runs")
    try:
        assert config.set_precision() == "float32"
        line = config.describe_device()
        assert line.startswith(f"device: CPU only ({os.cpu_count()} cores) | precision: float32 | TensorFlow ")
        assert config.by_device(cpu=1000, gpu=20000) == 1000
        assert config.by_device(cpu=1000, gpu=20000, on_gpu=True) == 20000
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("build", [
    lambda: models.build_residual_subpixel(2, filters=8, blocks=1),
    lambda: models.build_cifar10_x2(),
])
def test_mixed_precision_training_step_has_float32_outputs_and_loss(build):
    # the GPU code path, forced on the CPU: float16 layers, float32 output, a scaled loss
    try:
        assert config.set_precision(mixed=True) == "mixed_float16"
        assert "precision: mixed_float16" in config.describe_device()
        keras.utils.set_random_seed(0)
        model = build()
        assert model.get_layer("sr").dtype_policy.name == "float32"
        assert model.layers[1].compute_dtype == "float16"
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mae")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        h, w = (16, 16) if model.input_shape[1] else (12, 10)
        x = np.random.default_rng(0).random((4, h, w, 3)).astype(np.float32)
        y = np.random.default_rng(1).random((4, 2 * h, 2 * w, 3)).astype(np.float32)
        history = model.fit(x, y, epochs=2, batch_size=2, verbose=0)
        assert all(np.isfinite(history.history["loss"]))
        out = model.predict(x, verbose=0)
        assert out.dtype == np.float32 and out.shape == y.shape
    finally:
        keras.mixed_precision.set_global_policy("float32")


