"""A study's images in one call: loaded, split, trimmed to the run profile, scaled to [0, 1] and
degraded at each scale (load -> split -> take -> / 255 -> downscale)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Profile
from ..degradation import Degradation, DegradationMix, downscale, make_pair
from .benchmarks import BENCHMARK_MD5, load_benchmark
from .cifar10 import cifar10_note, load_cifar10
from .natural96 import load_natural96
from .photos import load_sr_images, read_photo, sr_image_files
from .splits import load_available, load_study96, take, train_val_split
from .stl10 import load_stl10_subset

STUDY96_NAMES = {"natural96": "natural96 (96x96 crops of T91 + BSDS photos, a stand-in for STL-10)", "stl10": "STL-10 train"}
STUDY96_TESTS = {"natural96": "natural96 x_val (crops of 46 held-out photos)", "stl10": "STL-10 test"}


@dataclass
class Prepared:
    """The images of one study, ready to train and test on.

    Attributes:
        source: where the images come from: ``"CIFAR-10"``, ``"natural96"`` or ``"stl10"``.
        antialias: the degradation that made every LR image (``degradation.downscale``).
        hr: ``"train"`` and ``"val"`` -> ``(N, H, W, 3)`` float32 in [0, 1].
        tests: test set name -> ``(N, H, W, 3)`` float32 in [0, 1]; the main test set first.
        lr: scale -> split or test set name -> ``(N, H / scale, W / scale, 3)`` float32 in [0, 1].
        labels: split or test set name -> ``(N,)`` int class labels, where the data set has them.
        train_data: what the training images are, for training records.
        test_data: what the main test images are, for training records.
        split: how training and validation images were separated, for training records.
        notes: what a reader should know about this data (a partial data set, a skipped test set).
    """

    source: str
    antialias: bool
    hr: dict[str, np.ndarray]
    tests: dict[str, np.ndarray]
    lr: dict[int, dict[str, np.ndarray]]
    train_data: str
    test_data: str
    split: str
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def main_test(self) -> str:
        """The name of the main test set."""
        return next(iter(self.tests))

    def images(self, scale: int) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """``(lr, hr)`` at ``scale``: each a dict over ``"train"``, ``"val"`` and the test sets."""
        return self.lr[scale], {**self.hr, **self.tests}

    def summary(self) -> str:
        """One line per note, then the image counts and shapes of each split, test set and scale."""
        sizes = " | ".join(f"{k} {v.shape}" for k, v in {**self.hr, **self.tests}.items())
        scales = " | ".join(f"x{s}: LR {next(iter(lr.values())).shape[1:3]}" for s, lr in self.lr.items())
        return "\n".join([*self.notes, f"{self.source}: {sizes}", f"{scales} ({'antialiased' if self.antialias else 'no antialiasing'})"])


def _degraded(hr: dict, tests: dict, scales, antialias: bool) -> dict[int, dict[str, np.ndarray]]:
    return {s: {name: downscale(x, s, antialias=antialias) for name, x in {**hr, **tests}.items()} for s in scales}


def _split_note(val_fraction: float, seed: int) -> str:
    return f"seeded {1 - val_fraction:.0%}/{val_fraction:.0%} split of the training images, seed {seed}"


def prepare_cifar10(profile: Profile, *, antialias: bool, scales=(2,), seed: int = 42, val_fraction: float = 0.1,
                    subset: str = "all", download: bool = True) -> Prepared:
    """CIFAR-10 for the x2 study: a seeded train/validation split of the training images, each
    split and the test images trimmed to the profile's counts (``data.take``), then degraded.

    Args:
        profile: the run profile (``config.get_profile()``): ``n_train``, ``n_val``, ``n_test``.
        antialias: the degradation (``degradation.downscale``).
        scales: the factors to make LR images for.
        seed: the seed of the split and the trimming.
        val_fraction: the share of the training images kept for validation.
        subset: ``"all"`` or ``"committed"`` (``data.load_cifar10``).
        download: allow a download when no local copy exists.

    Returns:
        A ``Prepared`` with ``"train"``, ``"val"`` and ``"CIFAR-10 test"`` images ``(N, 32, 32, 3)``
        float32 in [0, 1], their LR images per scale, and the class labels of each split.
    """
    (x_all, y_all), (x_test, y_test) = load_cifar10(download=download, subset=subset)
    note = cifar10_note(len(x_all), len(x_test), subset)
    (x_train, y_train), (x_val, y_val) = train_val_split(x_all, y_all, val_fraction, seed=seed)
    x_train, y_train = take(profile.n_train, x_train, y_train, seed=seed)
    x_val, y_val = take(profile.n_val, x_val, y_val, seed=seed)
    x_test, y_test = take(profile.n_test, x_test, y_test.ravel(), seed=seed)
    hr = {"train": x_train / np.float32(255), "val": x_val / np.float32(255)}
    tests = {"CIFAR-10 test": x_test / np.float32(255)}
    full = profile.name == "full"
    train_data = (f"CIFAR-10 train, partial (real images; the {len(x_all):,} available of 50,000)" if len(x_all) < 50_000
                  else "CIFAR-10 train") if full else "quick-profile subset"
    test_data = (f"CIFAR-10 test, partial ({len(x_test):,} of 10,000 images)" if len(x_test) < 10_000 else "CIFAR-10 test") \
        if full else "quick-profile subset"
    return Prepared("CIFAR-10", antialias, hr, tests, _degraded(hr, tests, scales, antialias), train_data, test_data,
                    _split_note(val_fraction, seed),
                    labels={"train": y_train.ravel(), "val": y_val.ravel(), "CIFAR-10 test": y_test}, notes=[note])


def prepare_study96(profile: Profile, *, antialias: bool, scales, source: str = "auto", seed: int = 42,
                    val_fraction: float = 0.1, download: bool = True) -> Prepared:
    """The 96x96 study's images (real STL-10, or natural96 standing in for it; ``data.load_study96``):
    a seeded train/validation split, the profile's counts, the study's test set first and the
    256-image STL-10 subset as a second test set when it can be loaded (skipped with a note
    otherwise), each degraded at every scale.

    Args:
        profile: the run profile (``config.get_profile()``).
        antialias: the degradation (``degradation.downscale``).
        scales: the factors to make LR images for, e.g. ``(6, 3)``.
        source: ``"stl10"``, ``"natural96"`` or ``"auto"`` (``data.load_study96``).
        seed, val_fraction, download: as for ``prepare_cifar10``.

    Returns:
        A ``Prepared`` with ``"train"``, ``"val"`` and the test sets' images ``(N, 96, 96, 3)``
        float32 in [0, 1], and their LR images ``(N, 96 / scale, 96 / scale, 3)`` per scale.
    """
    source, x_all, x_test = load_study96(source, download=download)
    (x_train, _), (x_val, _) = train_val_split(x_all, None, val_fraction, seed=seed)
    hr = {"train": take(profile.n_train, x_train, seed=seed) / np.float32(255),
          "val": take(profile.n_val, x_val, seed=seed) / np.float32(255)}
    tests = {f"{source} test": take(profile.n_test, x_test, seed=seed) / np.float32(255)}
    notes = []
    try:
        tests["STL-10 subset"] = take(profile.n_test, load_stl10_subset(download=download), seed=seed) / np.float32(255)
    except (FileNotFoundError, ValueError) as e:  # no copy, or a damaged one: the study's own test set still counts
        notes.append(f"second test set skipped: {str(e).splitlines()[0]}")
    train_data = STUDY96_NAMES[source] if profile.name == "full" else "quick-profile subset"
    return Prepared(source, antialias, hr, tests, _degraded(hr, tests, scales, antialias), train_data,
                    STUDY96_TESTS[source], _split_note(val_fraction, seed), notes=notes)


def class_counts(labels: dict[str, np.ndarray], class_names) -> pd.DataFrame:
    """Images per class of each split: one row per split (``Prepared.labels``), one column per class."""
    return pd.DataFrame({split: np.bincount(np.ravel(y), minlength=len(class_names)) for split, y in labels.items()},
                        index=list(class_names)).T


@dataclass
class TestSets:
    """The evaluation's test data: whatever could be loaded, and why the rest could not.

    Attributes:
        images: test set name (``registry.TEST_SETS``) -> ``(N, H, W, 3)`` float32 in [0, 1].
        labels: test set name -> ``(N,)`` class labels, where the set has them (CIFAR-10).
        photos: the held-out photos, whole: ``(H, W, 3)`` uint8 of varying sizes (may be empty).
        skipped: data set -> why it could not be loaded (no local copy and no download).
        notes: what a reader should know (e.g. how much of CIFAR-10 this is).
        benchmarks: ``"Set5"`` / ``"Set14"`` -> their whole HR images, ``(H, W, 3)`` uint8 (the
            sets that could be loaded; test sets only).
    """

    images: dict[str, np.ndarray]
    labels: dict[str, np.ndarray]
    photos: list[np.ndarray]
    skipped: dict[str, str]
    notes: list[str]
    benchmarks: dict[str, list[np.ndarray]] = field(default_factory=dict)

    def summary(self) -> str:
        """The notes, each loaded set's shape, and each skipped set with the reason, one per line."""
        return "\n".join([*self.notes, *(f"{name}: {x.shape}" for name, x in self.images.items()),
                          f"held-out photos: {len(self.photos)}",
                          *(f"{name}: {len(x)} whole image{'s' * (len(x) != 1)}" for name, x in self.benchmarks.items()),
                          *(f"{name}: skipped ({why})" for name, why in self.skipped.items())])

    @property
    def photo_sets(self) -> dict[str, list[np.ndarray]]:
        """The sets of whole photos the models for photos are scored on: Set5, Set14 and the
        held-out photos, those that were loaded."""
        return {**self.benchmarks, **({"held-out photos": self.photos} if self.photos else {})}


def prepare_test_sets(profile: Profile, *, seed: int = 42, subset: str = "all", download: bool = True) -> TestSets:
    """Every test set of the evaluation that can be loaded (``load_available``): CIFAR-10 test,
    natural96's test crops, the 256-image STL-10 subset, the 46 held-out photos, Set5 and Set14;
    each trimmed to the profile's ``n_test`` (the photos to 3 and Set5 / Set14 to 1 outside the
    full profile).

    Args:
        profile: the run profile (``config.get_profile()``).
        seed: the seed of the trimming.
        subset: CIFAR-10's ``"all"`` or ``"committed"`` (``load_cifar10``).
        download: allow downloads when no local copy exists.
    """
    loaded, skipped = load_available({
        "CIFAR-10": lambda: load_cifar10(download=download, subset=subset),
        "natural96 test": lambda: ((None, None), (load_natural96(download=download)[1], None)),
        "STL-10 subset": lambda: ((None, None), (load_stl10_subset(download=download), None)),
        "held-out photos": lambda: load_sr_images("val", limit=None if profile.name == "full" else 3, download=download)[0],
        **{name: (lambda name=name: list(load_benchmark(name, download=download).values())) for name in BENCHMARK_MD5},
    })
    photos, images, labels, notes = loaded.pop("held-out photos", []), {}, {}, []
    benchmarks = {name: loaded.pop(name)[:None if profile.name == "full" else 1] for name in BENCHMARK_MD5 if name in loaded}
    for name, ((x_train, _), (x, y)) in loaded.items():
        if name == "CIFAR-10":
            notes.append(cifar10_note(len(x_train), len(x), subset))
            name = "CIFAR-10 test"
        x, y = (take(profile.n_test, x, seed=seed), None) if y is None else take(profile.n_test, x, y.ravel(), seed=seed)
        images[name] = x / np.float32(255)
        if y is not None:
            labels[name] = y
    return TestSets(images, labels, photos, skipped, notes, benchmarks)


@dataclass
class Photos:
    """The ``sr_train`` photos, whole, split by photo (``load_sr_images``): 445 for training, the 46
    behind natural96's test crops held out.

    Attributes:
        train, val: ``(H, W, 3)`` uint8 photos of varying sizes.
        val_names: the held-out photos' names (``"BSDS300train/100075"``, ...).
        train_data, split, test_data: the training-record fields for a model trained on them.
        train_files: the files behind ``train``, in the same order (``data.sr_image_files``), for
            ``patch_stream``.
    """

    train: list[np.ndarray]
    val: list[np.ndarray]
    val_names: list[str]
    train_data: str
    split: str = "by photo: the 46 photos behind natural96's validation crops are held out (data.load_sr_images)"
    test_data: str = "the 46 held-out photos (whole) and natural96's validation crops of them"
    train_files: list[Path] = field(default_factory=list)

    def patch_stream(self, scale: int, lr_patch: int, batch_size: int, degradation: Degradation | DegradationMix, seed: int = 42):
        """The training photos as a ``streaming.photo_patch_dataset`` (read from ``train_files``,
        each photo degraded as a whole at every visit): an endless, seeded stream of ``(lr, hr)``
        batches, ``(batch_size, lr_patch, lr_patch, 3)`` and ``(batch_size, lr_patch * scale,
        lr_patch * scale, 3)`` float32 in [0, 1]. Photos smaller than an HR patch are left out
        (``streaming.large_enough``); the stream's ``files`` and ``left_out`` attributes list the
        photos used and those left out.

        Raises:
            ValueError: no ``train_files`` (a ``Photos`` made from arrays), a file that is not a
                readable image, or no photo as large as an HR patch.
        """
        from ..streaming import large_enough, photo_patch_dataset  # TensorFlow's tf.data, only when streaming
        if not self.train_files:
            raise ValueError("these Photos have no train_files to stream; make them with data.prepare_photos.")
        files, sizes, left_out = large_enough(self.train_files, lr_patch * scale)
        stream = photo_patch_dataset(files, scale, lr_patch, batch_size, degradation, seed=seed, sizes=sizes)
        stream.files, stream.left_out = files, left_out
        return stream

    def pairs(self, split: str, scale: int, *, antialias: bool) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """``(lr, hr)`` lists for ``"train"`` or ``"val"``: each photo cropped to a multiple of ``scale`` and
        degraded as a whole, its LR image rounded to 8 bits (``degradation.make_pair``); float32 in [0, 1]."""
        if split not in ("train", "val"):
            raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
        lr, hr = zip(*(make_pair(p, scale, antialias=antialias) for p in getattr(self, split)))
        return list(lr), list(hr)

    def summary(self) -> str:
        """The photo counts and megapixels, and the first held-out photos' names."""
        mp = [sum(p.shape[0] * p.shape[1] for p in photos) / 1e6 for photos in (self.train, self.val)]
        return (f"{len(self.train)} training photos, {len(self.val)} held-out photos ({mp[0]:.1f} and {mp[1]:.1f} megapixels)\n"
                f"held out: {', '.join(self.val_names[:8])} ...")


def prepare_photos(profile: Profile, *, download: bool = True) -> Photos:
    """The whole training photos (``load_sr_images``), 12 of each split outside the full profile.

    Args:
        profile: the run profile (``config.get_profile()``).
        download: download the photos (about 46 MB) when no local copy exists.
    """
    limit = None if profile.name == "full" else 12
    train_files, _ = sr_image_files("train", limit=limit, download=download)
    train = [read_photo(f) for f in train_files]  # load_sr_images("train"), from the files already listed
    val, val_names = load_sr_images("val", limit=limit, download=download)
    train_data = ("sr_train photos (T91 + BSDS300 train + BSDS500 test), whole images, random patches" if profile.name == "full"
                  else "quick-profile subset")
    return Photos(train, val, val_names, train_data, train_files=train_files)
