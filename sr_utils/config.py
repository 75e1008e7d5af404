"""Run configuration: the run profile (full or quick), repository paths and output folders, the
device and numeric precision, and seeding."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import keras
import tensorflow as tf

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
        timing: how the evaluation times each model (``cost.compare_throughput``'s ``batch_size``,
            ``batches``, ``warmup``, ``repeats``): the best of many rounds for committed figures,
            one short round to check that timing works.
    """

    name: str
    epochs: int
    batch_size: int
    n_train: int | None = None
    n_val: int | None = None
    n_test: int | None = None
    steps_per_epoch: int | None = None
    timing: dict = field(default_factory=lambda: dict(batch_size=4, batches=1, warmup=1, repeats=1))


PROFILES = {
    "full": Profile("full", epochs=20, batch_size=64, timing=dict(batch_size=32, batches=8, warmup=2, repeats=20)),
    # The quick profile's images: 4 steps of 16 training images, and test sets of 32 (notebook 01 draws 30 of them).
    "quick": Profile("quick", epochs=1, batch_size=16, n_train=64, n_val=16, n_test=32, steps_per_epoch=4),
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
    ones. The folders are created. (A quick run trains anew: ``training.fit_sr`` deletes that
    model's backup first.)

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
