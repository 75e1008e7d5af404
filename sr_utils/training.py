"""Training: the original studies' callbacks, the better recipe's fit (resumable across sessions)
and cosine schedule, the photo models' plans, and a BatchNorm diagnostic."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import metrics, saving
from .config import Profile, by_device, get_profile, shown
from .files import atomic_write
from .images import check_int
from .models import ResidualSubpixel


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever the monitored value (lower is better, e.g. ``val_loss``) improves,
    atomically (``saving.save_model``).

    The best value so far is kept beside the model in ``<path>.best.json``. With
    ``resume=True`` a restarted run reads it back, so a worse model never replaces the best one
    saved before the interruption; otherwise each run starts from scratch.
    """

    def __init__(self, path: str | os.PathLike, monitor: str = "val_loss", resume: bool = False):
        super().__init__()
        self.path = Path(path)
        self.monitor = monitor
        self.resume = resume
        self.best = float("inf")

    @property
    def state_path(self) -> Path:
        return self.path.with_name(self.path.name + ".best.json")

    def on_train_begin(self, logs=None):
        self.best = float("inf")
        if self.resume and self.path.is_file() and self.state_path.is_file():
            state = json.loads(self.state_path.read_text())
            if state.get("monitor") == self.monitor:
                self.best = float(state["best"])

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None:
            raise ValueError(f"BestModelCheckpoint monitors {self.monitor!r}, which is not in the logs; pass validation data.")
        if value < self.best:
            self.best = float(value)
            saving.save_model(self.model, self.path)
            with atomic_write(self.state_path) as tmp:
                tmp.write_text(json.dumps({"monitor": self.monitor, "best": self.best, "epoch": epoch + 1}))


def original_callbacks(checkpoint_path: str | os.PathLike, backup_dir: str | os.PathLike | None = None,
                       patience: int = 3, lr_patience: int = 2) -> list[keras.callbacks.Callback]:
    """The original studies' callbacks, plus resumability.

    * ``EarlyStopping(val_loss, patience=3, restore_best_weights=True)``;
    * ``ReduceLROnPlateau(val_loss, factor=0.5, patience=2)``: the patience is below early
      stopping's so the learning rate is halved before training gives up;
    * a checkpoint of the best model (by ``val_loss``) at ``checkpoint_path``, saved atomically;
    * with ``backup_dir``, ``keras.callbacks.BackupAndRestore``: an interrupted ``fit`` started
      again with the same callbacks resumes from the last finished epoch, and the checkpoint
      keeps the best score reached before the interruption.
    """
    resuming = backup_dir is not None and Path(backup_dir).is_dir() and any(Path(backup_dir).iterdir())
    callbacks = [
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True, verbose=1),
        keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=lr_patience, min_lr=1e-6, verbose=1),
        BestModelCheckpoint(checkpoint_path, resume=resuming),
    ]
    if backup_dir is not None:
        callbacks.append(keras.callbacks.BackupAndRestore(str(backup_dir)))
    return callbacks


@dataclass(frozen=True)
class OriginalRecipe:
    """The original studies' recipe: Adam at a fixed learning rate on whole images, MSE loss.

    Attributes:
        learning_rate: Adam's learning rate.
        batch_size: images per step.
        epochs: passes over the training images (at most, with ``early_stopping``).
        early_stopping: the CIFAR-10 study's ``original_callbacks`` (early stopping with the best
            weights restored, learning rate halved on plateaus); without it every epoch runs.
        steps_per_epoch: optimizer steps per epoch; None is one pass over the training images.
    """

    learning_rate: float
    batch_size: int
    epochs: int
    early_stopping: bool = False
    steps_per_epoch: int | None = None
    loss: str = "mse"

    def describe(self) -> str:
        """The recipe in one line, for training records."""
        text = f"Adam {self.learning_rate:g}, MSE, batch {self.batch_size}, "
        if self.early_stopping:
            return text + f"up to {self.epochs} epochs, EarlyStopping(3, best weights), ReduceLROnPlateau(0.5, 2)"
        return text + f"{self.epochs} epochs"


@dataclass(frozen=True)
class BetterRecipe:
    """The better recipe: L1 loss, Adam on a cosine schedule, random flips and 90-degree rotations,
    and the best of periodic validation checks (``fit_sr``).

    Attributes:
        total_steps: optimizer steps (``config.by_device`` gives CPU and GPU schedules).
        steps_per_epoch: steps between two validation checks.
        batch_size: pairs (or patches) per step.
        lr_patch: side of the LR patches cut from the images; None trains on whole images.
        learning_rate: start of the cosine schedule (``cosine_schedule``).
        loss: the Keras loss.
    """

    total_steps: int
    steps_per_epoch: int = 500
    batch_size: int = 16
    lr_patch: int | None = None
    learning_rate: float = 1e-3
    loss: str = "mean_absolute_error"

    def __post_init__(self):
        if self.steps_per_epoch < 1 or self.total_steps < self.steps_per_epoch:
            raise ValueError(f"need 1 <= steps_per_epoch <= total_steps, got {self.steps_per_epoch} and {self.total_steps}.")

    def describe(self, checks: int, validation: str = "") -> str:
        """The recipe in one line, for training records: ``checks`` validation checks were run,
        on ``validation`` (e.g. "128 fixed patches of the held-out photos") when given."""
        batch = f"batch {self.batch_size}" + (f" of {self.lr_patch}x{self.lr_patch} LR patches" if self.lr_patch else "")
        loss = "L1 loss" if self.loss == "mean_absolute_error" else f"{self.loss} loss"
        return (f"Adam, cosine schedule from {self.learning_rate:g} over {self.total_steps} steps, {loss}, {batch}, "
                f"random flips and 90-degree rotations; best of {checks} validation checks" + (f" on {validation}" if validation else ""))


@dataclass
class Fit:
    """The outcome of a training run.

    Attributes:
        model: the trained model (for ``fit_sr``, the best checkpoint, reloaded and compiled).
        history: Keras' history dict (``loss``, ``val_loss``, ``psnr``, ...: one value per epoch).
        seconds: wall time of this call's ``fit``.
        steps_per_epoch: optimizer steps per epoch.
    """

    model: keras.Model
    history: dict
    seconds: float
    steps_per_epoch: int

    @property
    def epochs(self) -> int:
        """Epochs run (validation checks, for ``fit_sr``)."""
        return len(self.history["loss"])

    @property
    def steps(self) -> int:
        """Optimizer steps run."""
        return self.epochs * self.steps_per_epoch


def fit_original(model: keras.Model, train: tuple, validation: tuple, recipe: OriginalRecipe,
                 checkpoint_path: str | os.PathLike | None, backup_dir: str | os.PathLike) -> Fit:
    """Train ``model`` with the original recipe, resumably.

    Args:
        train, validation: ``(lr, hr)`` arrays, ``(N, h, w, 3)`` and ``(N, h * s, w * s, 3)``
            float32 in [0, 1].
        recipe: the learning rate, batch, epochs and callbacks.
        checkpoint_path: with ``recipe.early_stopping``, where the best model is kept (required
            then; unused otherwise).
        backup_dir: ``keras.callbacks.BackupAndRestore``'s folder: an interrupted run started
            again resumes from its last finished epoch.

    Returns:
        A ``Fit`` holding ``model`` itself, trained.
    """
    if recipe.early_stopping and checkpoint_path is None:
        raise ValueError("the original recipe with early stopping keeps its best model: pass a checkpoint_path.")
    model.compile(optimizer=keras.optimizers.Adam(recipe.learning_rate), loss=recipe.loss,
                  metrics=[metrics.psnr, metrics.ssim])
    callbacks = (original_callbacks(checkpoint_path, backup_dir=backup_dir) if recipe.early_stopping
                 else [keras.callbacks.BackupAndRestore(str(backup_dir))])
    start = time.time()
    history = model.fit(*train, validation_data=validation, batch_size=recipe.batch_size, epochs=recipe.epochs,
                        steps_per_epoch=recipe.steps_per_epoch, callbacks=callbacks, verbose=2).history
    steps_per_epoch = recipe.steps_per_epoch or int(np.ceil(len(train[0]) / recipe.batch_size))
    return Fit(model, history, time.time() - start, steps_per_epoch)


def photo_plan(scale: int, profile: Profile, fast: bool = False, cpu_steps: int | None = None) -> tuple[ResidualSubpixel, BetterRecipe]:
    """The architecture and recipe of the models for photos at ``scale`` (2, 3 or 4), whatever their
    degradation (notebooks 05 and 06): a residual sub-pixel network on batches of 16 patches of
    32x32 LR pixels, 8,000 (x2) or 5,000 (x3, x4) steps on a CPU and four times as many on a GPU.
    At x4, 64 filters and 5 blocks cost about what x3's 56 and 4 cost per output pixel (the body
    runs on 16 output pixels per LR pixel instead of 9).

    ``fast=True``: the fast model of that scale, 32 filters and two blocks, sized to take less time per
    output pixel than OpenCV's FSRCNN of the same scale (the evaluation notebook times both in turns,
    ``cost.time_methods``); 12,000 steps on a CPU, as its steps are cheap. ``cpu_steps``: another
    schedule, in steps on a CPU (a GPU still runs four times as many). The quick profile keeps
    the architecture and runs 4 steps of 4 patches of 16x16."""
    plans = {2: (ResidualSubpixel(64, 5), 8000), 3: (ResidualSubpixel(56, 4), 5000), 4: (ResidualSubpixel(64, 5), 5000)}
    if scale not in plans:
        raise ValueError(f"no plan for photo models at x{scale}; there are plans for x{' and x'.join(map(str, plans))}.")
    if cpu_steps is not None:
        cpu_steps = check_int(cpu_steps, "cpu_steps", 500)
    arch, plan_steps = (ResidualSubpixel(32, 2), 12_000) if fast else plans[scale]
    if profile.name != "full":
        return arch, BetterRecipe(4, steps_per_epoch=2, batch_size=4, lr_patch=16)
    steps = cpu_steps or plan_steps
    return arch, BetterRecipe(by_device(cpu=steps, gpu=4 * steps), batch_size=16, lr_patch=32)


class TrainingLog(keras.callbacks.Callback):
    """Every finished epoch's logs and wall seconds, kept in a JSON file that survives interrupted
    runs (``fit_sr``): a run resumed by ``keras.callbacks.BackupAndRestore`` continues the log,
    and an epoch redone after an interruption replaces its earlier entry.

    The file holds ``{"run": ..., "epochs": [{"logs": {...}, "seconds": s}, ...], "finished": bool}``,
    where ``run`` names the model and the recipe: a log of another run is refused.
    """

    def __init__(self, path: str | os.PathLike, run: str):
        super().__init__()
        self.path, self.run = Path(path), run
        state = json.loads(self.path.read_text()) if self.path.is_file() else {}
        if state and state.get("run") != run:
            raise ValueError(f"{self.path} logs another run ({state.get('run')!r}); delete it and the backup folder "
                             f"beside it to train this one ({run!r}).")
        self.entries, self.finished = state.get("epochs", []), state.get("finished", False)
        self._start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self.entries, self._start = self.entries[:epoch], time.time()

    def on_epoch_end(self, epoch, logs=None):
        self.entries.append({"logs": {k: float(v) for k, v in (logs or {}).items()}, "seconds": round(time.time() - self._start, 2)})
        self.save()

    def save(self, finished: bool = False) -> None:
        self.finished = finished
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(self.path) as tmp:
            tmp.write_text(json.dumps({"run": self.run, "epochs": self.entries, "finished": finished}, indent=1))

    @property
    def history(self) -> dict[str, list[float]]:
        """Keras-style history: metric -> one value per logged epoch."""
        return {k: [e["logs"][k] for e in self.entries] for k in (self.entries[0]["logs"] if self.entries else {})}

    @property
    def seconds(self) -> float:
        """Wall time of the logged epochs, summed over every run that added to the log."""
        return float(sum(e["seconds"] for e in self.entries))


def fit_sr(model: keras.Model, train_stream, validation_data, recipe: BetterRecipe,
           checkpoint_path: str | os.PathLike, backup_dir: str | os.PathLike, verbose: int = 2,
           fresh: bool | None = None) -> Fit:
    """Train an SR model with the better recipe, resumably, and return its best epoch.

    Compiles ``model`` with Adam on ``cosine_schedule(recipe.learning_rate, recipe.total_steps)``,
    ``recipe.loss`` and the PSNR/SSIM metrics; runs ``total_steps // steps_per_epoch`` epochs of
    ``steps_per_epoch`` steps on ``train_stream`` (``pipelines``) with a validation pass on
    ``validation_data`` (``(lr, hr)`` arrays) after each; keeps the best model by validation loss
    at ``checkpoint_path`` (saved atomically) and backs up every epoch to ``backup_dir``.

    Resumable across interruptions and sessions: started again with the same arguments, an
    interrupted run continues from its last finished epoch (the data stream starts afresh), and
    the epoch log ``<backup_dir>.log.json`` (``TrainingLog``) carries the history and the time
    over. A finished run started again (same model name and size, same recipe) returns its best
    model and log without training; delete the log to train anew. ``fresh=True`` trains anew,
    deleting this run's backup and log first; the default, None, does so in the quick profile
    (``config.get_profile``), so that a smoke run always trains, and only this run's files go (runs
    of other models, in parallel, keep theirs). ``verbose``: Keras' (1 a progress bar, 2 one line
    per epoch).

    Returns:
        A ``Fit`` whose model is the best checkpoint reloaded (compiled with the loss and the
        metrics, ready for ``evaluate``), with the whole run's history and training seconds.
    """
    backup_dir = Path(backup_dir)
    if fresh or (fresh is None and get_profile().name != "full"):
        shutil.rmtree(backup_dir, ignore_errors=True)
        backup_dir.with_name(backup_dir.name + ".log.json").unlink(missing_ok=True)
    run = f"{model.name} ({model.count_params():,} parameters): {recipe.describe(recipe.total_steps // recipe.steps_per_epoch)}"
    log = TrainingLog(backup_dir.with_name(backup_dir.name + ".log.json"), run)
    if not (log.finished and Path(checkpoint_path).is_file()):
        model.compile(optimizer=keras.optimizers.Adam(cosine_schedule(recipe.learning_rate, recipe.total_steps)),
                      loss=recipe.loss, metrics=[metrics.psnr, metrics.ssim])
        resuming = backup_dir.is_dir() and any(backup_dir.iterdir())
        callbacks = [log, BestModelCheckpoint(checkpoint_path, resume=resuming), keras.callbacks.BackupAndRestore(str(backup_dir))]
        model.fit(train_stream, steps_per_epoch=recipe.steps_per_epoch, epochs=recipe.total_steps // recipe.steps_per_epoch,
                  validation_data=validation_data, callbacks=callbacks, verbose=verbose, shuffle=False)  # the stream is random already
        log.save(finished=True)
    else:
        print(f"{shown(checkpoint_path)}: already trained ({len(log.entries)} epochs logged in {shown(log.path)}); "
              "delete that log to train again")
    best = keras.models.load_model(checkpoint_path)
    if not best.compiled:  # trained in mixed precision: saved for inference (saving.save_model)
        best.compile(loss=recipe.loss, metrics=[metrics.psnr, metrics.ssim])
    return Fit(best, log.history, log.seconds, recipe.steps_per_epoch)


def cosine_schedule(initial_learning_rate: float, total_steps: int, final_fraction: float = 0.01):
    """Cosine decay from ``initial_learning_rate`` to ``final_fraction`` of it over ``total_steps``."""
    if total_steps < 1 or not 0 <= final_fraction <= 1:
        raise ValueError(f"need total_steps >= 1 and 0 <= final_fraction <= 1, got {total_steps} and {final_fraction}.")
    return keras.optimizers.schedules.CosineDecay(initial_learning_rate, decay_steps=total_steps, alpha=final_fraction)


def recalibrate_batchnorm(model: keras.Model, images, batch_size: int = 64) -> keras.Model:
    """Re-estimate every BatchNormalization layer's moving mean and variance on ``images``.

    With Keras' default momentum of 0.99, the moving statistics need a few hundred steps to
    forget their initial values (mean 0, variance 1); a short training run leaves them off, and
    the model then behaves differently at inference than in training. This sets each layer's
    statistics to the average of its batch statistics over ``images`` (layer by layer, in
    training mode, without touching any weight), as SWA's ``update_bn`` does. A diagnostic:
    it changes the model in place and returns it.

    Args:
        model: a Keras model with BatchNormalization layers.
        images: model inputs ``(N, h, w, 3)`` float32, e.g. training LR images (never test data).
        batch_size: images per forward pass.
    """
    bns = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    if not bns:
        raise ValueError(f"model {model.name} has no BatchNormalization layer to recalibrate.")
    if len(images) < batch_size:
        raise ValueError(f"need at least one full batch of {batch_size} images, got {len(images)}.")
    momenta = [layer.momentum for layer in bns]
    for layer in bns:
        layer.moving_mean.assign(keras.ops.zeros_like(layer.moving_mean))
        layer.moving_variance.assign(keras.ops.zeros_like(layer.moving_variance))
    try:
        for step, start in enumerate(range(0, len(images) - batch_size + 1, batch_size)):
            for layer in bns:  # running average of the batch statistics: new weight 1 / (step + 1)
                layer.momentum = step / (step + 1)
            model(images[start:start + batch_size], training=True)
    finally:
        for layer, momentum in zip(bns, momenta):
            layer.momentum = momentum
    return model


def recalibrated_copy(model: keras.Model, images, batch_size: int = 64) -> keras.Model:
    """A copy of ``model`` (same weights) whose BatchNorm statistics ``recalibrate_batchnorm``
    re-estimated on ``images``; ``model`` itself is left as it is."""
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return recalibrate_batchnorm(copy, images, batch_size=batch_size)
