"""Training helpers: run profiles, seeding, the original callbacks, safe model saving, and the
augmented data pipeline and learning-rate schedule of the better recipe."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from . import saving
from .files import atomic_write

PROFILE_ENV = "SR_PROFILE"


@dataclass(frozen=True)
class Profile:
    """How much a notebook trains and evaluates.

    Attributes:
        name: ``"full"`` (the original recipe, for interactive runs) or ``"quick"`` (a smoke run
            of the whole notebook in seconds, used under the test suite).
        epochs: maximum training epochs (early stopping may end sooner).
        batch_size: images per optimizer step.
        n_train, n_val, n_test: images kept per split; None keeps all.
        steps_per_epoch: optimizer steps per epoch; None means one pass over the training data.
    """

    name: str
    epochs: int
    batch_size: int
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    steps_per_epoch: int | None = None


PROFILES = {
    "full": Profile("full", epochs=20, batch_size=64),
    "quick": Profile("quick", epochs=1, batch_size=16, n_train=128, n_val=32, n_test=64, steps_per_epoch=4),
}


def get_profile(name: str | None = None) -> Profile:
    """The run profile: ``name``, else ``$SR_PROFILE``, else quick under pytest, else full.

    Notebooks executed by ``pytest --nbmake`` inherit pytest's ``PYTEST_CURRENT_TEST``
    variable, so they pick the quick profile without any flag; ``SR_PROFILE=full`` overrides.
    """
    if name is None:
        name = os.environ.get(PROFILE_ENV) or ("quick" if "PYTEST_CURRENT_TEST" in os.environ else "full")
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; use one of {sorted(PROFILES)} (e.g. {PROFILE_ENV}=quick).")
    return PROFILES[name]


def repo_root(start: str | os.PathLike | None = None) -> Path:
    """The repository folder: the first of ``start`` (default: cwd) and its parents that holds
    ``sr_utils/`` and ``notebooks/``, else the folder this package was imported from."""
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "sr_utils" / "__init__.py").is_file() and (folder / "notebooks").is_dir():
            return folder
    return Path(__file__).resolve().parent.parent


def output_dirs(profile: Profile, root: str | os.PathLike | None = None, partial: bool = False) -> tuple[Path, Path]:
    """Where a run writes models and plots: ``model/`` and ``plots/`` for the full profile; an
    ignored scratch folder (``.sr_scratch/quick/``) for the quick one, so that a smoke run never
    replaces a committed model or figure. ``partial=True`` (a full run that lacked some data)
    also goes to scratch, ``.sr_scratch/partial/``: partial results never replace committed
    ones. The folders are created.

    Returns:
        ``(model_dir, plot_dir)``.
    """
    root = Path(root) if root is not None else repo_root()
    if profile.name == "full":
        base = root / ".sr_scratch" / "partial" if partial else root
    else:  # a quick run, partial or not, stays in its own scratch folder
        base = root / ".sr_scratch" / profile.name
    model_dir, plot_dir = base / "model", base / "plots"
    model_dir.mkdir(parents=True, exist_ok=True)
    plot_dir.mkdir(parents=True, exist_ok=True)
    return model_dir, plot_dir


def shown(path: str | os.PathLike, root: str | os.PathLike | None = None) -> str:
    """``path`` as notebooks print it: relative to the repository (``model/x.keras``), so that
    committed outputs never show the machine's folders; other paths are shown as given."""
    path = Path(path)
    root = Path(root) if root is not None else repo_root()
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


# --------------------------------------------------------------------------------------
# Device and precision
# --------------------------------------------------------------------------------------
MIXED_POLICY = "mixed_float16"


def gpu_names() -> list[str]:
    """Names of the GPUs TensorFlow sees (``[]`` on a CPU-only machine)."""
    import tensorflow as tf

    names = []
    for gpu in tf.config.list_physical_devices("GPU"):
        try:
            names.append(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name))
        except Exception:  # details are not available on every platform
            names.append(gpu.name)
    return names


def set_precision(mixed: bool | None = None) -> str:
    """Choose the global Keras dtype policy for training: ``mixed_float16`` on a GPU (float16
    compute, float32 weights; models end in a float32 layer so outputs and losses are float32,
    and ``compile`` scales the loss), ``float32`` on a CPU, where float16 is slower.

    Args:
        mixed: force mixed precision on (True) or off (False); None decides by device.

    Returns:
        The policy name now in force.
    """
    if mixed is None:
        mixed = bool(gpu_names())
    policy = MIXED_POLICY if mixed else "float32"
    keras.mixed_precision.set_global_policy(policy)
    return policy


def describe_device() -> str:
    """One line naming where this run computes, for the first output of every notebook."""
    import tensorflow as tf

    gpus = gpu_names()
    where = f"GPU ({', '.join(gpus)})" if gpus else f"CPU only ({os.cpu_count()} cores)"
    policy = keras.mixed_precision.global_policy().name
    return f"device: {where} | precision: {policy} | TensorFlow {tf.__version__}, Keras {keras.__version__}"


def by_device(cpu, gpu, on_gpu: bool | None = None):
    """``gpu`` when training on a GPU, else ``cpu``: a training schedule (steps, epochs) that
    converges on a GPU and a shorter one that finishes in minutes on a CPU."""
    return gpu if (bool(gpu_names()) if on_gpu is None else on_gpu) else cpu


def set_seed(seed: int = 42) -> None:
    """Seed Python, NumPy and the backend (``keras.utils.set_random_seed``) for repeatable runs."""
    keras.utils.set_random_seed(seed)


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save a model to ``path`` (must end in ``.keras``) via a temporary file and a rename, so an
    interrupted save never leaves a broken or half-written model at ``path``. The file opens in
    every Keras from ``saving.OLDEST_KERAS`` on (see ``saving.save_model``)."""
    return saving.save_model(model, path)


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever the monitored value (lower is better, e.g. ``val_loss``) improves,
    atomically (see ``save_model_atomic``).

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
            save_model_atomic(self.model, self.path)
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


# --------------------------------------------------------------------------------------
# The better recipe: augmented pairs and a cosine schedule
# --------------------------------------------------------------------------------------
def _flip_rotate(lr, hr, seed):
    """The same random 90-degree rotation and horizontal flip for an LR/HR pair (8 variants).

    Both commute with the degradation (a symmetric kernel on a symmetric grid), so the
    augmented pair is still an exact (LR, HR) pair.
    """
    import tensorflow as tf

    k = tf.random.stateless_uniform([], seed, 0, 4, dtype=tf.int32)
    flip = tf.random.stateless_uniform([], seed + 1, 0, 2, dtype=tf.int32)
    lr, hr = tf.image.rot90(lr, k), tf.image.rot90(hr, k)
    return tf.cond(flip > 0, lambda: (tf.image.flip_left_right(lr), tf.image.flip_left_right(hr)), lambda: (lr, hr))


def paired_dataset(lr, hr, batch_size: int, seed: int = 42, augment: bool = True):
    """An endless, shuffled ``tf.data`` stream of (LR, HR) batches, optionally with random flips
    and 90-degree rotations (the same for both images of a pair), reproducible for a seed.

    Args:
        lr: ``(N, h, w, 3)`` float32 in [0, 1]; hr: ``(N, h * s, w * s, 3)`` float32 in [0, 1].
        batch_size: pairs per batch.

    Returns:
        ``tf.data.Dataset`` of ``(lr_batch, hr_batch)``; pass ``steps_per_epoch`` to ``fit``.
    """
    import tensorflow as tf

    if len(lr) != len(hr):
        raise ValueError(f"lr and hr must hold the same number of images, got {len(lr)} and {len(hr)}.")
    if hr.shape[1] % lr.shape[1] or hr.shape[1] // lr.shape[1] != hr.shape[2] // lr.shape[2]:
        raise ValueError(f"hr {hr.shape[1:3]} is not an integer multiple of lr {lr.shape[1:3]}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    pairs = tf.data.Dataset.from_tensor_slices((lr, hr)).shuffle(len(lr), seed=seed, reshuffle_each_iteration=True).repeat()
    if augment:
        seeds = tf.data.Dataset.counter().map(lambda i: tf.stack([tf.cast(seed, tf.int64), i]))
        pairs = tf.data.Dataset.zip((pairs, seeds)).map(lambda p, s: _flip_rotate(p[0], p[1], s),
                                                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return pairs.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def _as_pairs(lr_images, hr_images):
    if len(lr_images) != len(hr_images) or len(lr_images) == 0:
        raise ValueError(f"need the same non-zero number of LR and HR images, got {len(lr_images)} and {len(hr_images)}.")
    scale = None
    for i, (lr, hr) in enumerate(zip(lr_images, hr_images)):
        if lr.ndim != 3 or hr.ndim != 3 or hr.shape[0] % lr.shape[0] or hr.shape[1] % lr.shape[1] \
                or hr.shape[0] // lr.shape[0] != hr.shape[1] // lr.shape[1]:
            raise ValueError(f"pair {i}: HR {hr.shape} is not an integer multiple of LR {lr.shape} (both (H, W, 3)).")
        s = hr.shape[0] // lr.shape[0]
        if scale not in (None, s):
            raise ValueError(f"pair {i} has scale {s}, the pairs before it {scale}.")
        scale = s
    return scale


def _usable(lr_images, lr_patch: int) -> list[int]:
    usable = [i for i, lr in enumerate(lr_images) if lr.shape[0] >= lr_patch and lr.shape[1] >= lr_patch]
    if lr_patch < 1 or not usable:
        raise ValueError(f"no LR image is at least {lr_patch}x{lr_patch}; use a smaller lr_patch.")
    return usable


def _draw_patches(lr_images, hr_images, s: int, usable: list[int], lr_patch: int, n: int,
                  rng: np.random.Generator, augment: bool):
    """The drawing behind ``random_patches``, for pairs already checked by ``_as_pairs`` / ``_usable``."""
    p = lr_patch * s
    lr_out = np.empty((n, lr_patch, lr_patch, 3), np.float32)
    hr_out = np.empty((n, p, p, 3), np.float32)
    for k, i in enumerate(rng.choice(usable, size=n)):
        lr, hr = lr_images[i], hr_images[i]
        y = rng.integers(0, lr.shape[0] - lr_patch + 1)
        x = rng.integers(0, lr.shape[1] - lr_patch + 1)
        a, b = lr[y:y + lr_patch, x:x + lr_patch], hr[y * s:y * s + p, x * s:x * s + p]
        if augment:
            turns, flip = rng.integers(0, 4), rng.integers(0, 2)
            a, b = np.rot90(a, turns), np.rot90(b, turns)
            if flip:
                a, b = a[:, ::-1], b[:, ::-1]
        lr_out[k], hr_out[k] = a, b
    return lr_out, hr_out


def random_patches(lr_images, hr_images, lr_patch: int, n: int, rng: np.random.Generator, augment: bool = True):
    """``n`` aligned random patch pairs: an image, then a position in it, uniformly at random.

    Args:
        lr_images, hr_images: sequences (lists or arrays) of ``(h, w, 3)`` and ``(h * s, w * s, 3)``
            float32 in [0, 1]; sizes may differ between pairs, the scale ``s`` may not.
        lr_patch: LR patch side; the HR patch side is ``lr_patch * s``. Pairs smaller than a
            patch are never drawn.
        n: number of patches.
        rng: the NumPy generator to draw from (reproducible for a seed).
        augment: apply one of the 8 flips/90-degree rotations to both patches of a pair (exact
            for a symmetric degradation kernel, see ``_flip_rotate``).

    Returns:
        ``(lr, hr)``: ``(n, lr_patch, lr_patch, 3)`` and ``(n, lr_patch * s, lr_patch * s, 3)`` float32.
    """
    s = _as_pairs(lr_images, hr_images)
    return _draw_patches(lr_images, hr_images, s, _usable(lr_images, lr_patch), lr_patch, n, rng, augment)


def patch_dataset(lr_images, hr_images, lr_patch: int, batch_size: int, seed: int = 42, augment: bool = True):
    """An endless ``tf.data`` stream of random aligned patch batches (see ``random_patches``),
    reproducible for a seed. Training on patches of whole images of any size is how SR
    networks are trained; the LR images are made once, from whole images, beforehand.
    The pairs are checked once, here, not on every batch.

    Returns:
        ``tf.data.Dataset`` of ``(lr_batch, hr_batch)`` float32 ``(batch_size, lr_patch, lr_patch, 3)``
        and ``(batch_size, lr_patch * s, lr_patch * s, 3)``; pass ``steps_per_epoch`` to ``fit``.
    """
    import tensorflow as tf

    s = _as_pairs(lr_images, hr_images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    usable = _usable(lr_images, lr_patch)

    def batches():
        rng = np.random.default_rng(seed)
        while True:
            yield _draw_patches(lr_images, hr_images, s, usable, lr_patch, batch_size, rng, augment)

    p = lr_patch * s
    signature = (tf.TensorSpec((batch_size, lr_patch, lr_patch, 3), tf.float32), tf.TensorSpec((batch_size, p, p, 3), tf.float32))
    return tf.data.Dataset.from_generator(batches, output_signature=signature).prefetch(2)


def fit_sr(model: keras.Model, train_stream, total_steps: int, steps_per_epoch: int, validation_data,
           checkpoint_path: str | os.PathLike, backup_dir: str | os.PathLike, learning_rate: float = 1e-3,
           loss: str = "mean_absolute_error"):
    """Train an SR model with the better recipe, resumably, and return its best epoch.

    Compiles ``model`` with Adam on ``cosine_schedule(learning_rate, total_steps)``, ``loss`` and the
    PSNR/SSIM metrics; runs ``total_steps // steps_per_epoch`` epochs of ``steps_per_epoch`` steps
    on ``train_stream`` with a validation pass after each; keeps the best model by validation
    loss at ``checkpoint_path`` (saved atomically) and backs up every epoch to ``backup_dir``, so
    an interrupted run started again resumes where it stopped.

    Returns:
        ``(best_model, history, seconds)``: the best checkpoint reloaded (compiled with ``loss``
        and the metrics, ready for ``evaluate``), the Keras history dict, and the wall time of
        this call's ``fit``.
    """
    import time

    from . import metrics

    if steps_per_epoch < 1 or total_steps < steps_per_epoch:
        raise ValueError(f"need 1 <= steps_per_epoch <= total_steps, got {steps_per_epoch} and {total_steps}.")
    model.compile(optimizer=keras.optimizers.Adam(cosine_schedule(learning_rate, total_steps)),
                  loss=loss, metrics=[metrics.psnr, metrics.ssim])
    resuming = Path(backup_dir).is_dir() and any(Path(backup_dir).iterdir())
    callbacks = [BestModelCheckpoint(checkpoint_path, resume=resuming), keras.callbacks.BackupAndRestore(str(backup_dir))]
    start = time.time()
    history = model.fit(train_stream, steps_per_epoch=steps_per_epoch, epochs=total_steps // steps_per_epoch,
                        validation_data=validation_data, callbacks=callbacks, verbose=2,
                        shuffle=False).history  # the stream is random already
    seconds = time.time() - start
    best = keras.models.load_model(checkpoint_path)
    if not best.compiled:  # trained in mixed precision: saved for inference (saving.save_model)
        best.compile(loss=loss, metrics=[metrics.psnr, metrics.ssim])
    return best, history, seconds


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
