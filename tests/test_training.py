"""Tests of sr_utils/training.py: profiles, folders, seeding, callbacks and atomic model saving."""

from __future__ import annotations

import os
import random
from pathlib import Path

import keras
import numpy as np
import pytest

import sr_utils
from sr_utils import models, training


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Conv2D(3, 1, activation="sigmoid")(inputs)
    return keras.Model(inputs, outputs)


def probe() -> np.ndarray:
    return np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)


# --------------------------------------------------------------------------------------
# Profiles
# --------------------------------------------------------------------------------------
@pytest.fixture
def clean_env(monkeypatch):
    """No SR_PROFILE. (pytest sets PYTEST_CURRENT_TEST again when the test body starts, so tests
    that need it unset delete it themselves.)"""
    monkeypatch.delenv(training.PROFILE_ENV, raising=False)
    return monkeypatch


def test_full_profile_without_pytest_or_env(clean_env):
    clean_env.delenv("PYTEST_CURRENT_TEST", raising=False)
    profile = training.get_profile()
    assert profile.name == "full"
    assert profile is training.PROFILES["full"]


def test_quick_profile_under_pytest(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "tests/test_x.py::test_y (call)")
    profile = training.get_profile()
    assert profile.name == "quick"


def test_env_variable_beats_pytest(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "tests/test_x.py::test_y (call)")
    clean_env.setenv(training.PROFILE_ENV, "full")
    assert training.get_profile().name == "full"
    clean_env.delenv("PYTEST_CURRENT_TEST")
    clean_env.setenv(training.PROFILE_ENV, "quick")
    assert training.get_profile().name == "quick"


def test_empty_env_variable_is_ignored(clean_env):
    clean_env.setenv(training.PROFILE_ENV, "")
    assert training.get_profile().name == "quick"  # under pytest
    clean_env.delenv("PYTEST_CURRENT_TEST", raising=False)
    assert training.get_profile().name == "full"


def test_this_test_run_is_quick(clean_env):
    # the real variable pytest sets, not one set by hand
    assert "PYTEST_CURRENT_TEST" in os.environ
    assert training.get_profile().name == "quick"


def test_explicit_name_beats_everything(clean_env):
    clean_env.setenv("PYTEST_CURRENT_TEST", "x")
    clean_env.setenv(training.PROFILE_ENV, "quick")
    assert training.get_profile("full").name == "full"
    clean_env.setenv(training.PROFILE_ENV, "full")
    assert training.get_profile("quick").name == "quick"


def test_unknown_profile(clean_env):
    with pytest.raises(ValueError, match=r"unknown profile 'fast'; use one of \['full', 'quick'\]"):
        training.get_profile("fast")
    clean_env.setenv(training.PROFILE_ENV, "medium")
    with pytest.raises(ValueError, match=r"unknown profile 'medium'.*SR_PROFILE=quick"):
        training.get_profile()


def test_quick_profile_is_small_and_full_keeps_everything():
    quick, full = training.PROFILES["quick"], training.PROFILES["full"]
    assert quick.epochs < full.epochs and quick.steps_per_epoch is not None
    assert all(n is not None and n > 0 for n in (quick.n_train, quick.n_val, quick.n_test))
    assert (full.n_train, full.n_val, full.n_test, full.steps_per_epoch) == (None, None, None, None)


# --------------------------------------------------------------------------------------
# Folders
# --------------------------------------------------------------------------------------
def test_output_dirs_full(tmp_path):
    model_dir, plot_dir = training.output_dirs(training.PROFILES["full"], tmp_path)
    assert (model_dir, plot_dir) == (tmp_path / "model", tmp_path / "plots")
    assert model_dir.is_dir() and plot_dir.is_dir()


def test_output_dirs_quick_goes_to_scratch(tmp_path):
    model_dir, plot_dir = training.output_dirs(training.PROFILES["quick"], str(tmp_path))
    assert model_dir == tmp_path / ".sr_scratch" / "quick" / "model"
    assert plot_dir == tmp_path / ".sr_scratch" / "quick" / "plots"
    assert model_dir.is_dir() and plot_dir.is_dir()
    assert not (tmp_path / "model").exists() and not (tmp_path / "plots").exists()
    # calling again is fine (folders exist already)
    assert training.output_dirs(training.PROFILES["quick"], tmp_path) == (model_dir, plot_dir)


@pytest.fixture
def fake_repo(tmp_path) -> Path:
    repo = tmp_path / "repo"
    (repo / "sr_utils").mkdir(parents=True)
    (repo / "sr_utils" / "__init__.py").write_text("")
    (repo / "notebooks" / "sub" / "deeper").mkdir(parents=True)
    return repo


def test_repo_root_from_a_nested_folder(fake_repo, monkeypatch):
    assert training.repo_root(fake_repo / "notebooks" / "sub" / "deeper") == fake_repo.resolve()
    assert training.repo_root(str(fake_repo)) == fake_repo.resolve()
    monkeypatch.chdir(fake_repo / "notebooks" / "sub")
    assert training.repo_root() == fake_repo.resolve()  # default: the working directory


def test_output_dirs_default_root_is_the_repo(fake_repo, monkeypatch):
    monkeypatch.chdir(fake_repo / "notebooks")
    model_dir, _ = training.output_dirs(training.PROFILES["quick"])
    assert model_dir == fake_repo.resolve() / ".sr_scratch" / "quick" / "model" and model_dir.is_dir()


def test_repo_root_falls_back_to_the_package_parent(tmp_path, fake_repo):
    package_parent = Path(sr_utils.__file__).resolve().parent.parent
    (tmp_path / "elsewhere").mkdir()
    assert training.repo_root(tmp_path / "elsewhere") == package_parent
    # sr_utils/ without notebooks/ is not a repository root, nor notebooks/ without sr_utils/__init__.py
    (fake_repo / "notebooks" / "sub" / "deeper").rmdir()
    (fake_repo / "notebooks" / "sub").rmdir()
    (fake_repo / "notebooks").rmdir()
    assert training.repo_root(fake_repo / "sr_utils") == package_parent
    (fake_repo / "notebooks").mkdir()
    (fake_repo / "sr_utils" / "__init__.py").unlink()
    assert training.repo_root(fake_repo / "notebooks") == package_parent


# --------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------
def test_set_seed_repeats_numpy_python_and_keras_draws():
    def sample():
        dense = keras.Sequential([keras.Input((2,)), keras.layers.Dense(3)])
        return np.random.rand(3), keras.random.uniform((3,)).numpy(), random.random(), dense.get_weights()[0]

    training.set_seed(7)
    first = sample()
    training.set_seed(7)
    again = sample()
    training.set_seed(8)
    other = sample()
    for a, b, c in zip(first, again, other):
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a, c)


# --------------------------------------------------------------------------------------
# save_model_atomic
# --------------------------------------------------------------------------------------
def test_save_model_atomic_writes_a_loadable_model(tmp_path):
    model = tiny_model()
    path = tmp_path / "nested" / "dir" / "m.keras"
    assert training.save_model_atomic(model, str(path)) == path
    assert path.is_file()
    assert list(path.parent.iterdir()) == [path]  # no temporary file left
    loaded = keras.models.load_model(path)
    np.testing.assert_array_equal(loaded.predict(probe(), verbose=0), model.predict(probe(), verbose=0))


@pytest.mark.parametrize("name", ["m.h5", "m", "m.keras.bak", "m.weights.h5"])
def test_save_model_atomic_needs_a_keras_path(tmp_path, name):
    with pytest.raises(ValueError, match=r"must end in \.keras"):
        training.save_model_atomic(tiny_model(), tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_failed_save_leaves_the_previous_model(tmp_path, monkeypatch):
    path = tmp_path / "m.keras"
    old = tiny_model(seed=1)
    training.save_model_atomic(old, path)
    before = path.read_bytes()

    def broken_save(self, filepath, *args, **kwargs):
        Path(filepath).write_bytes(b"half a model")  # something is written, then the disk fails
        raise OSError("disk full")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        training.save_model_atomic(tiny_model(seed=2), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.keras"]  # no m.tmp.keras
    monkeypatch.undo()
    np.testing.assert_array_equal(keras.models.load_model(path).predict(probe(), verbose=0),
                                  old.predict(probe(), verbose=0))


# --------------------------------------------------------------------------------------
# BestModelCheckpoint
# --------------------------------------------------------------------------------------
def test_checkpoint_saves_only_on_improvement(tmp_path, monkeypatch):
    saves = []
    monkeypatch.setattr(training, "save_model_atomic", lambda model, path: saves.append((model, path)))
    model = tiny_model()
    cb = training.BestModelCheckpoint(tmp_path / "best.keras")
    cb.set_model(model)
    for epoch, val_loss in enumerate([1.0, 1.2, 0.8, 0.8, 0.5, np.float32(0.6)]):
        cb.on_epoch_end(epoch, {"loss": 0.1, "val_loss": val_loss})
        if epoch in (0, 2, 4):
            assert len(saves) == [0, 2, 4].index(epoch) + 1, f"no save at epoch {epoch}"
    assert len(saves) == 3  # 1.0, 0.8, 0.5; not the worse 1.2 / 0.6 nor the equal 0.8
    assert all(m is model and p == tmp_path / "best.keras" for m, p in saves)
    assert cb.best == 0.5


def test_checkpoint_file_holds_the_best_weights(tmp_path):
    path = tmp_path / "best.keras"
    model = tiny_model(seed=3)
    cb = training.BestModelCheckpoint(path)
    cb.set_model(model)
    cb.on_epoch_end(0, {"val_loss": 2.0})
    first = model.predict(probe(), verbose=0)
    model.set_weights([w + 1.0 for w in model.get_weights()])
    cb.on_epoch_end(1, {"val_loss": 3.0})  # worse: the file keeps the first weights
    np.testing.assert_array_equal(keras.models.load_model(path).predict(probe(), verbose=0), first)
    cb.on_epoch_end(2, {"val_loss": 1.0})  # better: the file now has the new weights
    now = model.predict(probe(), verbose=0)
    assert not np.array_equal(now, first)
    np.testing.assert_array_equal(keras.models.load_model(path).predict(probe(), verbose=0), now)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["best.keras", "best.keras.best.json"]


def test_a_resumed_checkpoint_keeps_the_best_model_from_before_the_interruption(tmp_path):
    path = tmp_path / "best.keras"
    good, worse = tiny_model(seed=3), tiny_model(seed=4)
    first = training.BestModelCheckpoint(path)
    first.set_model(good)
    first.on_train_begin()
    first.on_epoch_end(0, {"val_loss": 0.1})
    expected = good.predict(probe(), verbose=0)
    # the run is interrupted and started again: a resumed checkpoint remembers 0.1
    resumed = training.BestModelCheckpoint(path, resume=True)
    resumed.set_model(worse)
    resumed.on_train_begin()
    assert resumed.best == 0.1
    resumed.on_epoch_end(1, {"val_loss": 0.9})
    np.testing.assert_array_equal(keras.models.load_model(path).predict(probe(), verbose=0), expected)
    # a fresh (not resumed) run starts from scratch and saves its first epoch
    fresh = training.BestModelCheckpoint(path)
    fresh.set_model(worse)
    fresh.on_train_begin()
    fresh.on_epoch_end(0, {"val_loss": 0.9})
    assert not np.array_equal(keras.models.load_model(path).predict(probe(), verbose=0), expected)


def test_original_callbacks_resume_the_checkpoint_only_when_a_backup_exists(tmp_path):
    backup = tmp_path / "backup"
    assert not training.original_callbacks(tmp_path / "b.keras", backup_dir=backup)[2].resume
    backup.mkdir()
    (backup / "latest.weights.h5").write_bytes(b"x")
    assert training.original_callbacks(tmp_path / "b.keras", backup_dir=backup)[2].resume


@pytest.mark.parametrize("logs", [{"loss": 0.3}, {}, None])
def test_checkpoint_without_the_monitored_value(tmp_path, logs):
    cb = training.BestModelCheckpoint(tmp_path / "best.keras")
    cb.set_model(tiny_model())
    with pytest.raises(ValueError, match=r"monitors 'val_loss', which is not in the logs; pass validation data"):
        cb.on_epoch_end(0, logs)
    assert not (tmp_path / "best.keras").exists()


def test_checkpoint_monitors_another_key(tmp_path, monkeypatch):
    saves = []
    monkeypatch.setattr(training, "save_model_atomic", lambda model, path: saves.append(path))
    cb = training.BestModelCheckpoint(tmp_path / "b.keras", monitor="val_mae")
    cb.set_model(tiny_model())
    cb.on_epoch_end(0, {"val_mae": 0.2, "val_loss": 9.0})
    cb.on_epoch_end(1, {"val_mae": 0.1, "val_loss": 10.0})
    assert len(saves) == 2
    with pytest.raises(ValueError, match=r"'val_mae'"):
        cb.on_epoch_end(2, {"val_loss": 1.0})


# --------------------------------------------------------------------------------------
# original_callbacks
# --------------------------------------------------------------------------------------
def test_original_callbacks_without_backup(tmp_path):
    cbs = training.original_callbacks(tmp_path / "best.keras")
    assert [type(cb) for cb in cbs] == [keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau,
                                        training.BestModelCheckpoint]
    early, reduce_lr, checkpoint = cbs
    assert early.monitor == "val_loss" and early.patience == 3 and early.restore_best_weights is True
    assert reduce_lr.monitor == "val_loss" and reduce_lr.factor == 0.5 and reduce_lr.patience == 2
    assert reduce_lr.patience < early.patience  # the rate is halved before training gives up
    assert checkpoint.path == tmp_path / "best.keras" and checkpoint.monitor == "val_loss"


def test_original_callbacks_with_backup(tmp_path):
    cbs = training.original_callbacks(str(tmp_path / "best.keras"), backup_dir=tmp_path / "backup",
                                      patience=5, lr_patience=1)
    assert len(cbs) == 4 and isinstance(cbs[3], keras.callbacks.BackupAndRestore)
    assert Path(cbs[3].backup_dir) == tmp_path / "backup"
    assert cbs[0].patience == 5 and cbs[1].patience == 1
    assert sum(isinstance(cb, keras.callbacks.BackupAndRestore) for cb in cbs) == 1


def test_original_callbacks_in_a_real_fit(tmp_path):
    model = tiny_model(seed=4)
    model.compile(optimizer="adam", loss="mse")
    x = probe()
    cbs = training.original_callbacks(tmp_path / "best.keras", backup_dir=tmp_path / "backup")
    history = model.fit(x, x, validation_data=(x, x), epochs=2, batch_size=2, verbose=0, callbacks=cbs)
    assert len(history.history["val_loss"]) == 2
    assert (tmp_path / "best.keras").is_file()
    best = keras.models.load_model(tmp_path / "best.keras")
    assert best.evaluate(x, x, verbose=0) == pytest.approx(min(history.history["val_loss"]), rel=1e-5)


# ---- the better recipe's pipeline -------------------------------------------------------
def _pairs(n=6, size=8, scale=2, seed=0):
    from sr_utils import degradation

    hr = np.random.default_rng(seed).random((n, size, size, 3)).astype(np.float32)
    return degradation.downscale(hr, scale), hr


def test_paired_dataset_is_repeatable_and_keeps_exact_pairs():
    from sr_utils import degradation

    lr, hr = _pairs()
    first = [(a.numpy(), b.numpy()) for a, b in training.paired_dataset(lr, hr, 3, seed=7).take(4)]
    again = [(a.numpy(), b.numpy()) for a, b in training.paired_dataset(lr, hr, 3, seed=7).take(4)]
    other = [(a.numpy(), b.numpy()) for a, b in training.paired_dataset(lr, hr, 3, seed=8).take(4)]
    assert all(x[0].shape == (3, 4, 4, 3) and x[1].shape == (3, 8, 8, 3) for x in first)
    assert all(np.array_equal(x[1], y[1]) for x, y in zip(first, again))
    assert not all(np.array_equal(x[1], y[1]) for x, y in zip(first, other))
    for lr_batch, hr_batch in first:  # flips and rotations commute with the degradation
        np.testing.assert_allclose(degradation.downscale(hr_batch, 2), lr_batch, atol=1e-6)


def test_paired_dataset_augments_with_the_eight_symmetries():
    lr, hr = _pairs(n=1)
    seen = {b.numpy()[0].tobytes() for _, b in training.paired_dataset(lr, hr, 1, seed=0).take(200)}
    variants = {np.ascontiguousarray(np.rot90(f, k)).tobytes() for f in (hr[0], hr[0][:, ::-1]) for k in range(4)}
    assert seen == variants
    plain = {b.numpy()[0].tobytes() for _, b in training.paired_dataset(lr, hr, 1, augment=False).take(20)}
    assert plain == {hr[0].tobytes()}


def test_paired_dataset_errors():
    lr, hr = _pairs()
    with pytest.raises(ValueError, match="same number of images"):
        training.paired_dataset(lr[:2], hr, 2)
    with pytest.raises(ValueError, match="not an integer multiple"):
        training.paired_dataset(lr, hr[:, :7], 2)
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        training.paired_dataset(lr, hr, 0)


def test_cosine_schedule_values():
    schedule = training.cosine_schedule(1e-3, 100, final_fraction=0.1)
    assert float(schedule(0)) == pytest.approx(1e-3)
    assert float(schedule(50)) == pytest.approx(1e-4 + (1e-3 - 1e-4) * 0.5, rel=1e-5)
    assert float(schedule(100)) == pytest.approx(1e-4)
    with pytest.raises(ValueError, match="total_steps >= 1"):
        training.cosine_schedule(1e-3, 0)


def _bn_model():
    keras.utils.set_random_seed(0)
    inputs = keras.Input((4, 4, 3))
    x = keras.layers.Conv2D(5, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)
    return keras.Model(inputs, keras.layers.ReLU()(x))


def test_recalibrate_batchnorm_sets_the_moving_statistics_of_the_data():
    model = _bn_model()
    x = (np.random.default_rng(0).random((64, 4, 4, 3)) * 3 + 2).astype(np.float32)
    conv_out = keras.Model(model.input, model.layers[1].output).predict(x, verbose=0)
    bn = model.layers[2]
    assert np.allclose(bn.moving_mean.numpy(), 0) and np.allclose(bn.moving_variance.numpy(), 1)
    training.recalibrate_batchnorm(model, x, batch_size=16)
    np.testing.assert_allclose(bn.moving_mean.numpy(), conv_out.mean(axis=(0, 1, 2)), rtol=1e-4, atol=1e-5)
    # the average of per-batch variances (each batch of 16 images)
    per_batch = conv_out.reshape(4, 16, 4, 4, 5).var(axis=(1, 2, 3)).mean(axis=0)
    np.testing.assert_allclose(bn.moving_variance.numpy(), per_batch, rtol=1e-3)
    assert bn.momentum == 0.99  # restored
    # inference now matches the training-mode output with the statistics of all the data
    inference = np.asarray(model(x, training=False))
    np.testing.assert_allclose(inference, np.asarray(model(x, training=True)), atol=0.02)


def test_recalibrate_batchnorm_errors():
    with pytest.raises(ValueError, match="no BatchNormalization"):
        training.recalibrate_batchnorm(tiny_model(), np.zeros((8, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="at least one full batch"):
        training.recalibrate_batchnorm(_bn_model(), np.zeros((8, 4, 4, 3), np.float32), batch_size=16)


# --------------------------------------------------------------------------------------
# Random patches of images of any size
# --------------------------------------------------------------------------------------
def _nearest_pairs(sizes, scale=2, seed=0):
    """Pairs whose HR is the nearest-neighbour upscale of LR: every aligned HR patch must then be
    exactly the upscale of its LR patch, under any flip or rotation too."""
    rng = np.random.default_rng(seed)
    lrs = [rng.random((h, w, 3), dtype=np.float32) for h, w in sizes]
    return lrs, [np.repeat(np.repeat(a, scale, 0), scale, 1) for a in lrs]


def _upscale_nearest(x, scale=2):
    return np.repeat(np.repeat(x, scale, 1), scale, 2)


def test_random_patches_are_aligned_and_shaped():
    lrs, hrs = _nearest_pairs([(10, 7), (6, 12), (20, 20)], scale=3)
    lr, hr = training.random_patches(lrs, hrs, 5, 40, np.random.default_rng(0))
    assert lr.shape == (40, 5, 5, 3) and hr.shape == (40, 15, 15, 3)
    assert lr.dtype == hr.dtype == np.float32
    np.testing.assert_array_equal(_upscale_nearest(lr, 3), hr)


def test_random_patches_come_from_the_images_and_skip_small_ones():
    lrs, hrs = _nearest_pairs([(3, 3), (8, 8)])
    lr, _ = training.random_patches(lrs, hrs, 4, 30, np.random.default_rng(1), augment=False)
    big = lrs[1]
    windows = {big[y:y + 4, x:x + 4].tobytes() for y in range(5) for x in range(5)}
    assert all(p.tobytes() in windows for p in lr)    # never the 3x3 image, never outside the 8x8 one


def test_random_patches_augment_with_the_eight_symmetries():
    lrs, hrs = _nearest_pairs([(4, 4)])
    lr, _ = training.random_patches(lrs, hrs, 4, 200, np.random.default_rng(2))
    variants = {np.ascontiguousarray(np.rot90(f, k)).tobytes() for f in (lrs[0], lrs[0][:, ::-1]) for k in range(4)}
    assert {p.tobytes() for p in lr} == variants


def test_random_patches_errors():
    lrs, hrs = _nearest_pairs([(6, 6), (6, 6)])
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="same non-zero number"):
        training.random_patches(lrs[:1], hrs, 4, 2, rng)
    with pytest.raises(ValueError, match="no LR image is at least 7x7"):
        training.random_patches(lrs, hrs, 7, 2, rng)
    with pytest.raises(ValueError, match="not an integer multiple"):
        training.random_patches(lrs, [hrs[0], hrs[1][:11]], 4, 2, rng)
    _, hr3 = _nearest_pairs([(6, 6)], scale=3)
    with pytest.raises(ValueError, match="has scale 3"):
        training.random_patches(lrs, [hrs[0], hr3[0]], 4, 2, rng)


def test_patch_dataset_is_repeatable_and_exact():
    lrs, hrs = _nearest_pairs([(9, 11), (16, 8)])
    take = lambda seed: [(a.numpy(), b.numpy()) for a, b in training.patch_dataset(lrs, hrs, 4, 3, seed=seed).take(3)]  # noqa: E731
    first, again, other = take(5), take(5), take(6)
    assert all(a.shape == (3, 4, 4, 3) and b.shape == (3, 8, 8, 3) for a, b in first)
    assert all(np.array_equal(x[0], y[0]) for x, y in zip(first, again))
    assert not all(np.array_equal(x[0], y[0]) for x, y in zip(first, other))
    for a, b in first:
        np.testing.assert_array_equal(_upscale_nearest(a), b)


def test_patch_dataset_fails_early():
    lrs, hrs = _nearest_pairs([(5, 5)])
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        training.patch_dataset(lrs, hrs, 4, 0)
    with pytest.raises(ValueError, match="no LR image is at least 6x6"):
        training.patch_dataset(lrs, hrs, 6, 2)


def _tiny_fit_inputs():
    """A seeded 1-block x2 model, a patch stream and validation patches, for fit_sr tests."""
    keras.utils.set_random_seed(0)
    lrs, hrs = _nearest_pairs([(12, 12)] * 4)
    model = models.build_residual_subpixel(2, filters=4, blocks=1)
    stream = training.patch_dataset(lrs, hrs, 6, 2, seed=0)
    val = training.random_patches(lrs, hrs, 6, 4, np.random.default_rng(9), augment=False)
    return model, stream, val


def test_fit_sr_trains_checkpoints_and_returns_the_best(tmp_path):
    model, stream, val = _tiny_fit_inputs()
    best, history, seconds = training.fit_sr(model, stream, 6, 2, val, tmp_path / "best.keras", tmp_path / "backup")
    assert len(history["val_loss"]) == 3 and seconds > 0
    assert (tmp_path / "best.keras").is_file()
    assert not (tmp_path / "backup").exists() or not any((tmp_path / "backup").iterdir())  # removed after a finished run
    saved = best.evaluate(*val, verbose=0, return_dict=True)["loss"]
    assert saved == pytest.approx(min(history["val_loss"]), rel=1e-4)


def test_fit_sr_step_errors(tmp_path):
    from sr_utils import models

    model = models.build_residual_subpixel(2, filters=4, blocks=0)
    for total, per_epoch in ((4, 0), (2, 3)):
        with pytest.raises(ValueError, match="steps_per_epoch <= total_steps"):
            training.fit_sr(model, None, total, per_epoch, None, tmp_path / "m.keras", tmp_path / "b")


# --------------------------------------------------------------------------------------
# Device, precision, printed paths
# --------------------------------------------------------------------------------------
def test_output_dirs_partial_run_goes_to_scratch(tmp_path):
    model_dir, plot_dir = training.output_dirs(training.PROFILES["full"], tmp_path, partial=True)
    assert (model_dir, plot_dir) == (tmp_path / ".sr_scratch" / "partial" / "model", tmp_path / ".sr_scratch" / "partial" / "plots")
    assert model_dir.is_dir() and plot_dir.is_dir() and not (tmp_path / "model").exists()
    quick = training.output_dirs(training.PROFILES["quick"], tmp_path, partial=True)
    assert quick == training.output_dirs(training.PROFILES["quick"], tmp_path)  # never mixed with a full run's


def test_shown_paths_are_relative_to_the_repository(tmp_path):
    assert training.shown(tmp_path / "model" / "a.keras", tmp_path) == "model/a.keras"
    assert training.shown(tmp_path, tmp_path) == "."
    assert training.shown("/elsewhere/x.png", tmp_path) == "/elsewhere/x.png"
    assert training.shown(training.repo_root() / "plots") == "plots"


def test_cpu_run_is_float32_and_says_so():
    if training.gpu_names():
        pytest.skip("a GPU is present: this test is about CPU runs")
    try:
        assert training.set_precision() == "float32"
        line = training.describe_device()
        assert line.startswith(f"device: CPU only ({os.cpu_count()} cores) | precision: float32 | TensorFlow ")
        assert training.by_device(cpu=1000, gpu=20000) == 1000
        assert training.by_device(cpu=1000, gpu=20000, on_gpu=True) == 20000
    finally:
        keras.mixed_precision.set_global_policy("float32")


@pytest.mark.parametrize("build", [
    lambda: models.build_residual_subpixel(2, filters=8, blocks=1),
    lambda: models.build_cifar10_x2(),
])
def test_mixed_precision_training_step_has_float32_outputs_and_loss(build):
    # the GPU code path, forced on the CPU: float16 layers, float32 output, a scaled loss
    try:
        assert training.set_precision(mixed=True) == "mixed_float16"
        assert "precision: mixed_float16" in training.describe_device()
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


def test_fit_sr_in_mixed_precision_saves_a_float32_model(tmp_path):
    # The GPU path of the better recipe, forced on the CPU: it trains in float16 with loss scaling,
    # and the best model is saved as a float32 file that any device (and Keras 3.13) runs.
    import json
    import zipfile

    try:
        training.set_precision(mixed=True)
        model, stream, val = _tiny_fit_inputs()
        returned, history, _ = training.fit_sr(model, stream, 4, 2, val, tmp_path / "best.keras", tmp_path / "backup")
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert all(np.isfinite(history["loss"])) and all(np.isfinite(history["val_loss"]))
        trained = model.predict(val[0], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with zipfile.ZipFile(tmp_path / "best.keras") as z:
        config = z.read("config.json").decode()
    assert "mixed_float16" not in config and json.loads(config)["config"]["layers"][1]["config"]["dtype"]["config"]["name"] == "float32"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Skipping variable loading for optimizer"
        best = keras.models.load_model(tmp_path / "best.keras")
    assert all(layer.compute_dtype == "float32" for layer in best.layers) and not best.compiled
    assert returned.compiled and returned.evaluate(*val, verbose=0, return_dict=True)["loss"] == pytest.approx(
        min(history["val_loss"]), rel=1e-2)  # fit_sr's own reload is ready to evaluate, in float32
    out = best.predict(val[0], verbose=0)
    assert out.dtype == np.float32 and out.shape == val[1].shape
    assert np.abs(out - trained).max() < 0.05  # float32 vs float16 compute of the same (or an earlier, best) model
