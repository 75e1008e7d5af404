"""Tests of sr_utils/data/prepare.py: a study's images in one call, and the evaluation's test sets,
on small synthetic data sets in a temporary $SR_DATA_DIR."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from sr_utils import config, data, degradation

QUICK = config.PROFILES["quick"]   # n_train 64, n_val 16, n_test 32
FULL = config.PROFILES["full"]     # everything


def images(n, size, seed):
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """CIFAR-10 (200 train / 80 test) and natural96 (60 / 20) with no STL-10 subset and no photos."""
    folder = tmp_path / "data"
    folder.mkdir()
    np.savez(folder / "cifar10.npz", x_train=images(200, 32, 0), y_train=np.arange(200) % 10,
             x_test=images(80, 32, 1), y_test=(np.arange(80) + 3) % 10)
    np.savez(folder / "natural96.npz", x_train=images(60, 96, 2), x_val=images(20, 96, 3))
    monkeypatch.setenv(data.DATA_DIR_ENV, str(folder))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    return folder


def test_prepare_cifar10_splits_trims_scales_and_degrades(data_dir):
    cifar = data.prepare_cifar10(QUICK, antialias=False, seed=42, download=False)
    (x_all, y_all), (x_test, y_test) = data.load_cifar10(download=False)
    (x_train, _), (x_val, _) = data.train_val_split(x_all, y_all, 0.1, seed=42)
    assert cifar.source == "CIFAR-10" and cifar.main_test == "CIFAR-10 test" and cifar.antialias is False
    assert [len(x) for x in (cifar.hr["train"], cifar.hr["val"], cifar.tests["CIFAR-10 test"])] == [64, 16, 32]
    np.testing.assert_array_equal(cifar.hr["train"], data.take(64, x_train, seed=42) / np.float32(255))
    np.testing.assert_array_equal(cifar.hr["val"], data.take(16, x_val, seed=42) / np.float32(255))
    assert cifar.hr["train"].dtype == np.float32 and 0 <= cifar.hr["train"].min() and cifar.hr["train"].max() <= 1
    lr, hr = cifar.images(2)
    assert sorted(lr) == sorted(hr) == ["CIFAR-10 test", "train", "val"]
    np.testing.assert_array_equal(lr["val"], degradation.downscale(hr["val"], 2, antialias=False))
    assert lr["train"].shape == (64, 16, 16, 3)
    assert cifar.labels["CIFAR-10 test"].shape == (32,) and cifar.train_data == "quick-profile subset"
    assert cifar.split == "seeded 90%/10% split of the training images, seed 42"
    counts = data.class_counts(cifar.labels, data.CIFAR10_LABELS)
    assert list(counts.index) == ["train", "val", "CIFAR-10 test"] and counts.loc["val"].sum() == 16
    assert cifar.notes[0] in cifar.summary() and "train (64, 32, 32, 3)" in cifar.summary()


def test_prepare_cifar10_in_full_says_how_much_of_the_data_set_it_is(data_dir):
    cifar = data.prepare_cifar10(FULL, antialias=True, scales=(2, 4), download=False)
    assert cifar.train_data == "CIFAR-10 train, partial (real images; the 200 available of 50,000)"
    assert cifar.test_data == "CIFAR-10 test, partial (80 of 10,000 images)"
    assert sorted(cifar.lr) == [2, 4] and cifar.lr[4]["train"].shape == (180, 8, 8, 3)
    np.testing.assert_array_equal(cifar.lr[4]["val"], degradation.downscale(cifar.hr["val"], 4, antialias=True))


def test_prepare_study96_uses_natural96_and_notes_the_missing_stl10_subset(data_dir):
    study = data.prepare_study96(FULL, antialias=False, scales=(6, 3), download=False)
    assert study.source == "natural96" and list(study.tests) == ["natural96 test"]
    assert [len(study.hr["train"]), len(study.hr["val"]), len(study.tests["natural96 test"])] == [54, 6, 20]
    assert study.lr[6]["natural96 test"].shape == (20, 16, 16, 3) and study.lr[3]["train"].shape == (54, 32, 32, 3)
    assert len(study.notes) == 1 and study.notes[0].startswith("second test set skipped: ")
    assert study.train_data.startswith("natural96 (96x96 crops")
    assert study.notes[0] in study.summary()


def test_prepare_test_sets_loads_what_it_can_and_says_why_not(data_dir):
    tests = data.prepare_test_sets(QUICK, download=False)
    assert list(tests.images) == ["CIFAR-10 test", "natural96 test"]
    assert tests.images["CIFAR-10 test"].shape == (32, 32, 32, 3) and tests.images["natural96 test"].shape == (20, 96, 96, 3)
    assert list(tests.labels) == ["CIFAR-10 test"] and tests.photos == []
    assert sorted(tests.skipped) == ["STL-10 subset", "Set14", "Set5", "held-out photos"]
    assert tests.benchmarks == {} and tests.photo_sets == {}
    summary = tests.summary()
    assert "CIFAR-10 test: (32, 32, 32, 3)" in summary and "held-out photos: 0" in summary
    assert "STL-10 subset: skipped (" in summary and tests.notes[0] in summary


def test_prepare_test_sets_loads_set5_whole_and_trims_it_outside_the_full_profile(data_dir, monkeypatch):
    from PIL import Image

    folder = data_dir / "benchmarks" / "Set5"
    folder.mkdir(parents=True)
    table = {}
    for i, size in enumerate([(20, 30), (16, 16), (40, 12)]):
        Image.fromarray(images(1, size[0], 10 + i)[0][:, :size[1]]).save(folder / f"im{i}.png")
        table[f"im{i}.png"] = hashlib.md5((folder / f"im{i}.png").read_bytes()).hexdigest()
    monkeypatch.setitem(data.BENCHMARK_MD5, "Set5", table)
    quick, full = data.prepare_test_sets(QUICK, download=False), data.prepare_test_sets(config.PROFILES["full"], download=False)
    assert [x.shape for x in full.benchmarks["Set5"]] == [(20, 20, 3), (16, 16, 3), (40, 12, 3)]
    assert len(quick.benchmarks["Set5"]) == 1 and "Set5" not in quick.skipped and "Set14" in quick.skipped
    assert list(quick.photo_sets) == ["Set5"] and "Set5: 1 whole image\n" in quick.summary() + "\n"


def test_photos_make_whole_photo_pairs_for_a_scale():
    photos = data.Photos([images(1, 20, 4)[0][:, :19], images(1, 12, 5)[0]], [images(1, 9, 6)[0]], ["T91/t1"], "toy")
    lr, hr = photos.pairs("train", 3, antialias=True)
    assert [x.shape for x in lr] == [(6, 6, 3), (4, 4, 3)] and [x.shape for x in hr] == [(18, 18, 3), (12, 12, 3)]
    expected = degradation.make_pair(photos.train[0], 3, antialias=True)
    np.testing.assert_array_equal(lr[0], expected[0])
    np.testing.assert_array_equal(hr[0], expected[1])
    assert photos.pairs("val", 3, antialias=False)[0][0].shape == (3, 3, 3)
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        photos.pairs("test", 2, antialias=True)
    assert photos.summary().splitlines() == ["2 training photos, 1 held-out photos (0.0 and 0.0 megapixels)", "held out: T91/t1 ..."]
    assert photos.split.startswith("by photo: the 46 photos")


def test_photos_stream_their_files_leaving_out_photos_smaller_than_a_patch(tmp_path):
    rng = np.random.default_rng(0)
    files = []
    for i, (h, w) in enumerate([(40, 48), (20, 60), (36, 36)]):
        files.append(tmp_path / f"p{i}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(files[-1])
    photos = data.Photos([np.asarray(Image.open(f)) for f in files], [], [], "toy", train_files=files)
    stream = photos.patch_stream(3, 8, 4, degradation.Degradation("cv2_area"), seed=1)
    assert stream.files == [files[0], files[2]] and stream.left_out == [files[1]]  # 20 px < one 24 px HR patch
    (lr, hr), = [(a.numpy(), b.numpy()) for a, b in stream.take(1)]
    assert lr.shape == (4, 8, 8, 3) and hr.shape == (4, 24, 24, 3) and lr.dtype == hr.dtype == np.float32
    assert 0 <= lr.min() and lr.max() <= 1 and 0 <= hr.min() and hr.max() <= 1
    again = next(iter(photos.patch_stream(3, 8, 4, degradation.Degradation("cv2_area"), seed=1)))
    np.testing.assert_array_equal(again[1].numpy(), hr)  # seeded
    with pytest.raises(ValueError, match="have no train_files to stream; make them with data.prepare_photos"):
        data.Photos(photos.train, [], [], "toy").patch_stream(3, 8, 4, degradation.Degradation("cv2_area"))
    with pytest.raises(ValueError, match="none of the 3 photos is 48x48 pixels or larger"):
        photos.patch_stream(3, 16, 4, degradation.Degradation("cv2_area"))


def test_prepare_photos_keeps_twelve_of_each_split_outside_the_full_profile(monkeypatch):
    real = Path(__file__).resolve().parents[2] / "shared" / "data"
    folder = Path(os.environ.get(data.DATA_DIR_ENV) or real)
    if not (folder / "sr_train").is_dir():
        pytest.skip(f"no sr_train/ in {folder}: set {data.DATA_DIR_ENV} to the real data")
    monkeypatch.setenv(data.DATA_DIR_ENV, str(folder))  # found beside the checkout, not named
    photos = data.prepare_photos(QUICK, download=False)
    assert len(photos.train) == len(photos.val) == 12 and photos.train_data == "quick-profile subset"
    assert photos.train_files == data.sr_image_files("train", limit=12, download=False)[0]
    assert all(p.dtype == np.uint8 and p.ndim == 3 for p in photos.train + photos.val)
    assert not set(photos.val_names) & set(data.load_sr_images("train", limit=12, download=False)[1])
