"""The model registry: every committed model and its facts, in one place.

The evaluation notebook, the ``upscale`` command line, the reporting code and the tests read this
list; nothing else names the committed models. Adding a model means one ``ModelInfo`` entry here
and the notebook that trains it (which writes ``model/<name>.keras`` and its training record,
``reporting.write_record``). The evaluation notebook refuses to run while a file in ``model/`` has
no entry, or an entry no file.

Names read ``<training data>_x<scale>_<architecture>``: ``original`` for the original studies'
architectures, ``rsp<filters>x<blocks>`` for the residual sub-pixel family (``models``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

#: The evaluation's test sets (``ModelInfo.test_sets`` names these).
TEST_SETS = ("CIFAR-10 test", "natural96 test", "STL-10 subset")


@dataclass(frozen=True)
class ModelInfo:
    """The facts about one committed model.

    Attributes:
        name: the file stem: the model is ``model/<name>.keras``.
        task: what it does, e.g. ``"CIFAR-10 x2 (16x16 -> 32x32)"``.
        scale: the integer SR factor.
        antialias: the degradation it was trained for and is scored with
            (``degradation.downscale(..., antialias=...)``): False for the original studies'
            TF bicubic, True for the benchmark degradation (MATLAB-style bicubic).
        train_data: the data set it was trained on.
        test_sets: names from ``TEST_SETS`` it is scored on, the main one first.
        lr_shape: the LR input ``(h, w, 3)`` its cost is measured at: that of the original model
            of its scale, so that time per output pixel compares like with like.
        original: the name of the original study's model of its scale (its own name for one): its
            cost is given as a ratio to that model's. At a scale no original study has (x4), the
            model of another scale it is to be compared with, per output pixel.
        notebook: the notebook that trains it, relative to the repository.
        cli_default: the ``upscale`` command line uses it by default for its scale.
        cli_fast: the ``upscale`` command line uses it for its scale with ``--fast``.
    """

    name: str
    task: str
    scale: int
    antialias: bool
    train_data: str
    test_sets: tuple[str, ...]
    lr_shape: tuple[int, int, int]
    original: str
    notebook: str
    cli_default: bool = False
    cli_fast: bool = False

    def __post_init__(self):
        unknown = [t for t in self.test_sets if t not in TEST_SETS]
        if not self.test_sets or unknown:
            raise ValueError(f"{self.name}: test_sets must be a non-empty choice from {TEST_SETS}, got {self.test_sets!r}.")
        if not isinstance(self.scale, int) or self.scale < 2:
            raise ValueError(f"{self.name}: scale must be an integer >= 2, got {self.scale!r}.")

    @property
    def file(self) -> str:
        """The model's file name, ``<name>.keras``."""
        return f"{self.name}.keras"

    @property
    def photos(self) -> bool:
        """A model for photos: also scored with the benchmark protocol on whole held-out photos."""
        return self.antialias


_CIFAR = dict(task="CIFAR-10 x2 (16x16 -> 32x32)", scale=2, antialias=False, train_data="CIFAR-10 train",
              test_sets=("CIFAR-10 test",), lr_shape=(16, 16, 3), original="cifar10_x2_original")
_STUDY96 = dict(antialias=False, train_data="natural96 train", test_sets=("natural96 test", "STL-10 subset"))
_PHOTOS = dict(antialias=True, train_data="sr_train photos", test_sets=("natural96 test", "STL-10 subset"),
               notebook="notebooks/05_natural_photos.ipynb")


def _robust(scale: int, arch: str, fast: bool = False) -> ModelInfo:
    """The entry of notebook 06's robust model of ``scale`` (the ``upscale`` command's default at that
    scale), or of its fast model (``fast``), timed at the LR shape of the original model of its scale
    (x4, which has none: of x3's photo model, compared per output pixel)."""
    lr_shape, original = {2: ((16, 16, 3), "cifar10_x2_original"), 3: ((32, 32, 3), "natural96_x3_original"),
                          4: ((24, 24, 3), "natural_x3_rsp56x4")}[scale]
    task = f"photos x{scale}, LR made by any common resizer (any size)" + (", fast" if fast else "")
    return ModelInfo(f"robust_x{scale}_{arch}", task, scale, lr_shape=lr_shape, original=original,
                     **dict(_PHOTOS, notebook="notebooks/06_robust_photos.ipynb", cli_default=not fast, cli_fast=fast))


MODELS: tuple[ModelInfo, ...] = (
    ModelInfo("cifar10_x2_original", notebook="notebooks/01_cifar10_x2.ipynb", **_CIFAR),
    ModelInfo("cifar10_x2_rsp64x5", notebook="notebooks/03_better_models.ipynb", **_CIFAR),
    ModelInfo("natural96_x6_original", "STL-10-style x6 (16x16 -> 96x96)", 6, lr_shape=(16, 16, 3),
              original="natural96_x6_original", notebook="notebooks/02_stl10.ipynb", **_STUDY96),
    ModelInfo("natural96_x3_original", "STL-10-style x3 (32x32 -> 96x96)", 3, lr_shape=(32, 32, 3),
              original="natural96_x3_original", notebook="notebooks/02_stl10.ipynb", **_STUDY96),
    ModelInfo("natural96_x6_rsp88x6", "STL-10-style x6 (16x16 -> 96x96)", 6, lr_shape=(16, 16, 3),
              original="natural96_x6_original", notebook="notebooks/04_better_models_96.ipynb", **_STUDY96),
    ModelInfo("natural96_x3_rsp56x4", "STL-10-style x3 (32x32 -> 96x96)", 3, lr_shape=(32, 32, 3),
              original="natural96_x3_original", notebook="notebooks/04_better_models_96.ipynb", **_STUDY96),
    ModelInfo("natural_x2_rsp64x5", "natural photos x2 (any size)", 2, lr_shape=(16, 16, 3),
              original="cifar10_x2_original", **_PHOTOS),
    ModelInfo("natural_x3_rsp56x4", "natural photos x3 (any size)", 3, lr_shape=(32, 32, 3),
              original="natural96_x3_original", **_PHOTOS),
    ModelInfo("natural_x4_rsp64x5", "natural photos x4 (any size)", 4, lr_shape=(24, 24, 3),
              original="natural_x3_rsp56x4", **_PHOTOS),
    *(_robust(s, arch) for s, arch in ((2, "rsp64x5"), (3, "rsp56x4"), (4, "rsp64x5"))),
    *(_robust(s, "rsp32x2", fast=True) for s in (2, 3, 4)),
)

#: The model whose measured speed every other model's is also divided by.
REFERENCE = "cifar10_x2_original"


def get(name: str, models: tuple[ModelInfo, ...] = MODELS) -> ModelInfo:
    """The entry called ``name`` (a stem or a file name: ``"x"`` or ``"x.keras"``)."""
    stem = name.removesuffix(".keras")
    for info in models:
        if info.name == stem:
            return info
    raise ValueError(f"no model {stem!r} in the registry; known: {', '.join(m.name for m in models)}. "
                     "Add a ModelInfo entry to sr_utils/registry.py for a new model.")


def trained_on(name: str, data: str, models: tuple[ModelInfo, ...] = MODELS) -> ModelInfo:
    """The entry ``name`` as it reads for the same architecture trained on other ``data`` (a
    prefix such as ``"stl10"``): the entry itself when ``data`` is its own. A model trained on
    other data has no committed entry, so the evaluation refuses it until one is added."""
    info = get(name, models)
    prefix, rest = info.name.split("_", 1)
    if data == prefix:
        return info
    original = info.original.replace(f"{prefix}_", f"{data}_", 1)
    return replace(info, name=f"{data}_{rest}", train_data=f"{data} train", original=original)


def check(models: tuple[ModelInfo, ...] = MODELS) -> None:
    """Refuse an inconsistent registry: duplicate names, two CLI defaults (or two ``--fast`` models)
    for a scale, or an ``original`` that is not an entry of the same scale when that scale has an
    original model."""
    names = [m.name for m in models]
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate model names in the registry: {sorted({n for n in names if names.count(n) > 1})}.")
    for flag in ("cli_default", "cli_fast"):
        for scale in {m.scale for m in models if getattr(m, flag)}:
            chosen = [m.name for m in models if getattr(m, flag) and m.scale == scale]
            if len(chosen) > 1:
                raise ValueError(f"two command-line {flag.removeprefix('cli_')} models for x{scale}: {chosen}; "
                                 f"set {flag}=True on one of them only.")
    originals = {m.scale for m in models if m.original == m.name}
    for m in models:
        if get(m.original, models).scale != m.scale and m.scale in originals:
            raise ValueError(f"{m.name}: its original {m.original!r} has another scale; name the original model of x{m.scale}.")


def check_folder(model_dir: str | os.PathLike, models: tuple[ModelInfo, ...] = MODELS) -> None:
    """Refuse a model folder that does not match the registry: a ``.keras`` file without an entry
    (add one), or an entry without a file (train it with its notebook)."""
    on_disk = {p.stem for p in Path(model_dir).glob("*.keras")}
    listed = {m.name for m in models}
    if on_disk - listed:
        raise ValueError(f"models in {model_dir} without a registry entry: {sorted(on_disk - listed)}; "
                         "add a ModelInfo entry for each to sr_utils/registry.py.")
    if listed - on_disk:
        missing = sorted(listed - on_disk)
        raise ValueError(f"registry entries without a file in {model_dir}: {missing}; train them with their notebooks "
                         f"({', '.join(sorted({get(n, models).notebook for n in missing}))}).")


check()
