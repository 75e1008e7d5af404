"""Tests of sr_utils/training.py: the checkpoint and callbacks, the resumable fit of the better
recipe (also in mixed precision), the cosine schedule and the BatchNorm diagnostic."""

from __future__ import annotations

import json
import warnings
import zipfile
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf
from synthetic import nearest_pairs

from sr_utils import config, cost, models, pipelines, saving, training


def tiny_model(seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((4, 4, 3))
    outputs = keras.layers.Conv2D(3, 1, activation="sigmoid")(inputs)
    return keras.Model(inputs, outputs)


def probe() -> np.ndarray:
    return np.random.default_rng(0).random((2, 4, 4, 3)).astype(np.float32)



# --------------------------------------------------------------------------------------
# BestModelCheckpoint
# --------------------------------------------------------------------------------------
def test_checkpoint_saves_only_on_improvement(tmp_path, monkeypatch):
    saves = []
    monkeypatch.setattr(saving, "save_model", lambda model, path: saves.append((model, path)))
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
    monkeypatch.setattr(saving, "save_model", lambda model, path: saves.append(path))
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


def test_recalibrated_copy_leaves_the_model_alone():
    model = _bn_model()
    before = [w.copy() for w in model.get_weights()]
    images = np.random.default_rng(1).random((16, 4, 4, 3)).astype(np.float32) * 3 + 2
    copy = training.recalibrated_copy(model, images, batch_size=8)
    assert copy is not model
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    bn = next(layer for layer in copy.layers if isinstance(layer, keras.layers.BatchNormalization))
    assert not np.allclose(bn.moving_mean.numpy(), 0)  # re-estimated on the images; the model's own stays 0
    conv = [layer for layer in copy.layers if isinstance(layer, keras.layers.Conv2D)][0]
    np.testing.assert_array_equal(conv.kernel.numpy(), before[0])


def test_recalibrate_batchnorm_errors():
    with pytest.raises(ValueError, match="no BatchNormalization"):
        training.recalibrate_batchnorm(tiny_model(), np.zeros((8, 4, 4, 3), np.float32))
    with pytest.raises(ValueError, match="at least one full batch"):
        training.recalibrate_batchnorm(_bn_model(), np.zeros((8, 4, 4, 3), np.float32), batch_size=16)


def _tiny_fit_inputs():
    """A seeded 1-block x2 model, a patch stream and validation patches, for fit_sr tests."""
    keras.utils.set_random_seed(0)
    lrs, hrs = nearest_pairs([(12, 12)] * 4)
    model = models.build_residual_subpixel(2, filters=4, blocks=1)
    stream = pipelines.patch_dataset(lrs, hrs, 6, 2, seed=0)
    val = pipelines.random_patches(lrs, hrs, 6, 4, np.random.default_rng(9), augment=False)
    return model, stream, val


def test_fit_sr_trains_checkpoints_and_returns_the_best(tmp_path):
    model, stream, val = _tiny_fit_inputs()
    fit = training.fit_sr(model, stream, val, training.BetterRecipe(total_steps=6, steps_per_epoch=2, batch_size=2, lr_patch=6),
                          tmp_path / "best.keras", tmp_path / "backup")
    best, history = fit.model, fit.history
    assert len(history["val_loss"]) == 3 and fit.seconds > 0 and (fit.epochs, fit.steps) == (3, 6)
    assert (tmp_path / "best.keras").is_file()
    assert not (tmp_path / "backup").exists() or not any((tmp_path / "backup").iterdir())  # removed after a finished run
    saved = best.evaluate(*val, verbose=0, return_dict=True)["loss"]
    assert saved == pytest.approx(min(history["val_loss"]), rel=1e-4)


def test_better_recipe_step_errors_and_description():
    for total, per_epoch in ((4, 0), (2, 3)):
        with pytest.raises(ValueError, match="steps_per_epoch <= total_steps"):
            training.BetterRecipe(total_steps=total, steps_per_epoch=per_epoch)
    recipe = training.BetterRecipe(total_steps=5000, batch_size=16, lr_patch=32)
    assert recipe.describe(10, "128 fixed patches") == (
        "Adam, cosine schedule from 0.001 over 5000 steps, L1 loss, batch 16 of 32x32 LR patches, "
        "random flips and 90-degree rotations; best of 10 validation checks on 128 fixed patches")
    assert training.BetterRecipe(12_000, batch_size=32).describe(24) == (
        "Adam, cosine schedule from 0.001 over 12000 steps, L1 loss, batch 32, random flips and 90-degree rotations; "
        "best of 24 validation checks")


def test_original_recipe_descriptions():
    assert training.OriginalRecipe(1e-3, 64, 20, early_stopping=True).describe() == (
        "Adam 0.001, MSE, batch 64, up to 20 epochs, EarlyStopping(3, best weights), ReduceLROnPlateau(0.5, 2)")
    assert training.OriginalRecipe(1e-4, 64, 10).describe() == "Adam 0.0001, MSE, batch 64, 10 epochs"


@pytest.mark.parametrize("early_stopping", [True, False])
def test_fit_original_trains_in_place_and_counts_steps(tmp_path, early_stopping):
    keras.utils.set_random_seed(0)
    lrs, hrs = nearest_pairs([(6, 6)] * 10)
    lr, hr = np.stack(lrs), np.stack(hrs)
    model = models.build_residual_subpixel(2, filters=4, blocks=0)
    recipe = training.OriginalRecipe(1e-3, batch_size=4, epochs=2, early_stopping=early_stopping)
    fit = training.fit_original(model, (lr, hr), (lr[:4], hr[:4]), recipe, tmp_path / "best.keras", tmp_path / "backup")
    assert fit.model is model and fit.steps_per_epoch == 3 and (fit.epochs, fit.steps) == (2, 6)  # ceil(10 / 4) per epoch
    assert model.loss == "mse" and float(model.optimizer.learning_rate.numpy()) == pytest.approx(1e-3)
    assert (tmp_path / "best.keras").is_file() == early_stopping  # the checkpoint comes with the original callbacks


def test_fit_sr_in_mixed_precision_saves_a_float32_model(tmp_path):
    # The GPU path of the better recipe, forced on the CPU: it trains in float16 with loss scaling,
    # and the best model is saved as a float32 file that any device (and Keras 3.13) runs.
    try:
        config.set_precision(mixed=True)
        model, stream, val = _tiny_fit_inputs()
        fit = training.fit_sr(model, stream, val, training.BetterRecipe(total_steps=4, steps_per_epoch=2),
                              tmp_path / "best.keras", tmp_path / "backup")
        returned, history = fit.model, fit.history
        assert isinstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        assert all(np.isfinite(history["loss"])) and all(np.isfinite(history["val_loss"]))
        trained = model.predict(val[0], verbose=0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    with zipfile.ZipFile(tmp_path / "best.keras") as z:
        saved = z.read("config.json").decode()
    assert "mixed_float16" not in saved and json.loads(saved)["config"]["layers"][1]["config"]["dtype"]["config"]["name"] == "float32"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. "Skipping variable loading for optimizer"
        best = keras.models.load_model(tmp_path / "best.keras")
    assert all(layer.compute_dtype == "float32" for layer in best.layers) and not best.compiled
    assert returned.compiled and returned.evaluate(*val, verbose=0, return_dict=True)["loss"] == pytest.approx(
        min(history["val_loss"]), rel=1e-2)  # fit_sr's own reload is ready to evaluate, in float32
    out = best.predict(val[0], verbose=0)
    assert out.dtype == np.float32 and out.shape == val[1].shape
    assert np.abs(out - trained).max() < 0.05  # float32 vs float16 compute of the same (or an earlier, best) model



def test_fit_sr_resumes_an_interrupted_run_and_keeps_one_log(tmp_path):
    """A run cut short in its third epoch, started again, finishes the two epochs left; its log
    holds each of the 4 epochs once. Started a third time, it trains nothing and returns the same."""
    model, stream, val = _tiny_fit_inputs()
    recipe = training.BetterRecipe(total_steps=8, steps_per_epoch=2, batch_size=2, lr_patch=6)
    served = []

    def cut_short():
        for k, batch in enumerate(stream.take(5)):  # 2 epochs, then one batch of the third
            served.append(k)
            yield batch
        raise KeyboardInterrupt("interrupted")

    signature = tuple(tf.TensorSpec.from_tensor(t) for t in next(iter(stream)))
    broken = tf.data.Dataset.from_generator(cut_short, output_signature=signature)
    with pytest.raises(Exception, match="interrupted"):
        training.fit_sr(model, broken, val, recipe, tmp_path / "best.keras", tmp_path / "backup", fresh=False)
    log = json.loads((tmp_path / "backup.log.json").read_text())
    assert len(log["epochs"]) == 2 and not log["finished"] and any((tmp_path / "backup").iterdir())

    fresh, stream2, _ = _tiny_fit_inputs()
    fit = training.fit_sr(fresh, stream2, val, recipe, tmp_path / "best.keras", tmp_path / "backup", fresh=False)
    assert (fit.epochs, fit.steps) == (4, 8) and len(fit.history["val_loss"]) == 4
    assert fit.history["loss"][:2] == [e["logs"]["loss"] for e in log["epochs"]]  # the first run's epochs, kept
    assert fit.seconds == pytest.approx(sum(e["seconds"] for e in json.loads((tmp_path / "backup.log.json").read_text())["epochs"]))
    assert json.loads((tmp_path / "backup.log.json").read_text())["finished"]

    def never():
        raise AssertionError("a finished run must not read its stream")
        yield
    untouched = tf.data.Dataset.from_generator(never, output_signature=signature)
    again = training.fit_sr(fresh, untouched, val, recipe, tmp_path / "best.keras", tmp_path / "backup", fresh=False)
    assert again.history == fit.history and again.seconds == fit.seconds
    np.testing.assert_array_equal(again.model.predict(val[0], verbose=0), fit.model.predict(val[0], verbose=0))
    with pytest.raises(ValueError, match="logs another run"):
        training.fit_sr(fresh, untouched, val, training.BetterRecipe(total_steps=6, steps_per_epoch=2), tmp_path / "best.keras",
                        tmp_path / "backup", fresh=False)


def test_photo_plans_per_scale_and_their_cost():
    full, quick = config.PROFILES["full"], config.PROFILES["quick"]
    archs = {s: training.photo_plan(s, full)[0] for s in (2, 3, 4)}
    assert archs == {2: models.ResidualSubpixel(64, 5), 3: models.ResidualSubpixel(56, 4), 4: models.ResidualSubpixel(64, 5)}
    assert training.photo_plan(2, full)[1] == training.BetterRecipe(config.by_device(cpu=8000, gpu=32_000), batch_size=16, lr_patch=32)
    assert training.photo_plan(4, quick) == (archs[4], training.BetterRecipe(4, steps_per_epoch=2, batch_size=4, lr_patch=16))
    # x4 costs no more per output pixel than x3 (LR inputs of the same output size)
    macs = {s: cost.macs_per_output_megapixel(archs[s].build(s), (96 // s, 96 // s, 3)) for s in (3, 4)}
    assert macs[4] <= macs[3]
    with pytest.raises(ValueError, match="no plan for photo models at x5; there are plans for x2 and x3 and x4"):
        training.photo_plan(5, full)
    fast, recipe = training.photo_plan(3, full, fast=True)
    assert fast == models.ResidualSubpixel(32, 2) and recipe.total_steps == config.by_device(cpu=12_000, gpu=48_000)
    assert cost.macs_per_output_megapixel(fast.build(3), (32, 32, 3)) < macs[3] / 4  # 4.9x fewer MACs per output pixel
    # another schedule: in CPU steps, four times as many on a GPU; the quick profile ignores it
    assert training.photo_plan(2, full, cpu_steps=12_000)[1] == training.BetterRecipe(config.by_device(cpu=12_000, gpu=48_000), batch_size=16, lr_patch=32)
    assert training.photo_plan(4, full, fast=True, cpu_steps=1000)[1].total_steps == config.by_device(cpu=1000, gpu=4000)
    assert training.photo_plan(2, quick, cpu_steps=12_000)[1].total_steps == 4
    for bad in (499, 1e4, True):
        with pytest.raises(ValueError, match="cpu_steps must be an integer >= 500"):
            training.photo_plan(2, full, cpu_steps=bad)


def test_fit_sr_in_the_quick_profile_trains_anew_and_keeps_other_runs(tmp_path, monkeypatch):
    """fresh=None in the quick profile: a finished run trains again, and only its own backup and
    log are deleted (another model's, as a notebook running in parallel has, stay)."""
    monkeypatch.setenv("SR_PROFILE", "quick")
    recipe = training.BetterRecipe(total_steps=2, steps_per_epoch=1, batch_size=2, lr_patch=6)
    other = tmp_path / "other"
    other.mkdir()
    (tmp_path / "other.log.json").write_text("{}")
    read = [0, 0]
    for run in range(2):
        model, stream, val = _tiny_fit_inputs()
        signature = tuple(tf.TensorSpec.from_tensor(t) for t in next(iter(stream)))

        def counted(stream=stream, run=run):
            for batch in stream:
                read[run] += 1
                yield batch
        watched = tf.data.Dataset.from_generator(counted, output_signature=signature)
        fit = training.fit_sr(model, watched, val, recipe, tmp_path / "best.keras", tmp_path / "backup")
        assert fit.epochs == 2 and json.loads((tmp_path / "backup.log.json").read_text())["finished"]
    assert min(read) >= 2  # both runs trained: 2 steps each
    assert len(json.loads((tmp_path / "backup.log.json").read_text())["epochs"]) == 2  # the second run's own, not four
    assert other.is_dir() and (tmp_path / "other.log.json").read_text() == "{}"
