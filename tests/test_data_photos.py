"""Tests of data.load_sr_images / data.sr_train_dir on a synthetic sr_train/ folder (no real data).

The held-out photos come from the committed crop index; here it is replaced by a small one."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from sr_utils import data
from sr_utils.data import crop_index


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)


def write_index(path, held_out=("T91/t2", "BSDS300train/11")):
    """A crop index whose validation crops come from ``held_out``."""
    path.write_text("split,source,y,x\ntrain,T91/t1,0,0\n" + "".join(f"val,{n},0,0\n" for n in held_out * 2))
    return path


def make_folder(root):
    """sr_train/ with 3 + 2 + 1 photos of distinct sizes (T91/t2 and BSDS300train/11 are held out)."""
    photos = {"T91/t1": (20, 30), "T91/t2": (25, 16), "T91/t3": (12, 12), "BSDS300train/10": (32, 48),
              "BSDS300train/11": (48, 32), "BSDS500test/7": (40, 40)}
    suffix = {"T91": ".png", "BSDS300train": ".jpg", "BSDS500test": ".jpg"}
    rng = np.random.default_rng(0)
    for name, (h, w) in photos.items():
        prefix, stem = name.split("/")
        folder = root / "sr_train" / data.SR_TRAIN_FOLDERS[prefix]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / f"{stem}{suffix[prefix]}")
    (root / "sr_train" / "T91" / "notes.txt").write_text("not an image")
    return photos


@pytest.fixture(autouse=True)
def small_index(tmp_path, monkeypatch):
    """make_folder's crop index in place of the committed one."""
    monkeypatch.setattr(crop_index, "NATURAL96_INDEX", write_index(tmp_path / "crops.csv"))


def test_split_by_photo_follows_the_crop_index(tmp_path):
    photos = make_folder(tmp_path)
    train, train_names = data.load_sr_images("train", data_dir=tmp_path)
    val, val_names = data.load_sr_images("val", data_dir=tmp_path)
    assert train_names == ["T91/t1", "T91/t3", "BSDS300train/10", "BSDS500test/7"]
    assert val_names == ["T91/t2", "BSDS300train/11"]
    for images, names in ((train, train_names), (val, val_names)):
        assert [im.shape for im in images] == [(*photos[n], 3) for n in names]
        assert all(im.dtype == np.uint8 for im in images)


def test_sr_data_dir_and_limit(tmp_path, monkeypatch):
    make_folder(tmp_path)
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path))
    images, names = data.load_sr_images("train", limit=2)
    assert names == ["T91/t1", "T91/t3"] and len(images) == 2


def test_keras_cache_is_the_fallback(tmp_path):
    make_folder(data.keras_cache_dir())
    assert data.sr_train_dir() == data.keras_cache_dir() / "sr_train"
    assert len(data.load_sr_images("val")[0]) == 2


def test_missing_folder_says_where_it_looked(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"{data.DATA_DIR_ENV} is not set") as e:
        data.load_sr_images("train", download=False)
    assert "sr_train" in str(e.value) and str(data.keras_cache_dir()) in str(e.value)
    assert "download: skipped (download=False)" in str(e.value)
    with pytest.raises(FileNotFoundError, match=r"(?s)download: skipped \(SR_OFFLINE=1, as under the test suite\)"
                                                r".*To fix: run once with internet access"):
        data.load_sr_images("train")  # the test suite is offline
    assert not data.keras_cache_dir().exists() or not any(data.keras_cache_dir().rglob("*.*"))


def test_missing_subfolder_or_held_out_photo(tmp_path):
    make_folder(tmp_path)
    write_index(tmp_path / "crops.csv", held_out=("T91/t2", "T91/nope"))
    with pytest.raises(ValueError, match="lacks 1 of the held-out photos .*T91/nope.*not a complete sr_train"):
        data.load_sr_images("val", data_dir=tmp_path)
    for f in (tmp_path / "sr_train" / "BSDS500_test200").iterdir():
        f.unlink()
    (tmp_path / "sr_train" / "BSDS500_test200").rmdir()
    with pytest.raises(FileNotFoundError, match="BSDS500_test200 is missing"):
        data.load_sr_images("train", data_dir=tmp_path)


def test_bad_split(tmp_path):
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        data.load_sr_images("test", data_dir=tmp_path)


def test_truncated_photo_names_the_file(tmp_path):
    make_folder(tmp_path)
    photo = tmp_path / "sr_train" / "T91" / "t1.png"
    photo.write_bytes(photo.read_bytes()[:100])
    with pytest.raises(ValueError, match=r"cannot read the image .*T91/t1\.png .*truncated or damaged"):
        data.load_sr_images("train", data_dir=tmp_path)


def test_image_files_are_the_loaded_photos_files_for_streaming(tmp_path):
    photos = make_folder(tmp_path)
    for split in ("train", "val"):
        files, names = data.sr_image_files(split, data_dir=tmp_path)
        images, loaded_names = data.load_sr_images(split, data_dir=tmp_path)
        assert names == loaded_names and [f.parent.parent for f in files] == [tmp_path / "sr_train"] * len(files)
        assert [f.stem for f in files] == [n.split("/")[1] for n in names]
        for f, image in zip(files, images):
            np.testing.assert_array_equal(np.asarray(Image.open(f).convert("RGB")), image)
    files, names = data.sr_image_files("train", data_dir=tmp_path, limit=3)
    assert names == ["T91/t1", "T91/t3", "BSDS300train/10"]
    # what a stream of 16x16 HR patches can use: sizes from the headers, the 12x12 photo left out by the caller
    from sr_utils import streaming
    with pytest.raises(ValueError, match="smaller than a training patch"):
        streaming.check_photos(files, 16)
    assert streaming.check_photos([f for f, n in zip(files, names) if min(photos[n]) >= 16], 16) == [(20, 30), (32, 48)]
    with pytest.raises(ValueError, match="split must be 'train' or 'val'"):
        data.sr_image_files("test", data_dir=tmp_path)
