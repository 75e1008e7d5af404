"""sr_utils.data's photo sets: downloading sr_train/ (``photos``) and the STL-10 subset (``stl10``) from a
server on 127.0.0.1, rebuilding natural96 (``natural96``, ``crop_index``) and regenerating the index files
(``indexes``), on small synthetic photos and index files (the real ones are checked in test_real_data.py)."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from sr_utils import data
from sr_utils.data import crop_index, indexes, natural96, photos, stl10

NAMES = {"T91/t1": (100, 120), "T91/tt2": (96, 96), "BSDS300train/100": (110, 200), "BSDS500test/7": (130, 97)}


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("SR_OFFLINE", "1")  # only 127.0.0.1 may be reached here


def photo(name) -> np.ndarray:
    h, w = NAMES[name]
    seed = int(hashlib.md5(name.encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture
def site(http_server, tmp_path, monkeypatch):
    """The server holds T91 BMPs and BSDS JPEGs; the modules' sources, manifest and crop index
    point at it and at small files."""
    sources = {}
    for prefix, real in photos.SR_TRAIN_SOURCES.items():
        sources[prefix] = photos.PhotoSource(real.folder, f"{http_server.url}{prefix}/", real.remote_suffix,
                                             real.local_suffix, real.checksum)
    rows = []
    for name in NAMES:
        prefix, stem = name.split("/")
        (http_server.root / prefix).mkdir(exist_ok=True)
        remote = http_server.root / prefix / (stem + sources[prefix].remote_suffix)
        Image.fromarray(photo(name)).save(remote)
        digest = (hashlib.sha256(remote.read_bytes()).hexdigest() if sources[prefix].checksum == "file"
                  else photos.pixel_sha256(photo(name)))
        rows.append(f"{name},{digest}\n")
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("name,sha256\n" + "".join(rows))
    index = tmp_path / "crops.csv"
    index.write_text("split,source,y,x\ntrain,T91/t1,0,0\ntrain,T91/t1,4,24\ntrain,BSDS300train/100,14,104\n"
                     "val,BSDS500test/7,34,1\nval,T91/tt2,0,0\n")
    monkeypatch.setattr(photos, "SR_TRAIN_SOURCES", sources)
    monkeypatch.setattr(photos, "SR_TRAIN_MANIFEST", manifest)
    monkeypatch.setattr(crop_index, "NATURAL96_INDEX", index)
    http_server.sources = sources
    return http_server


def test_download_checks_every_photo_and_keeps_t91_as_png(site):
    root = photos.download_sr_train(progress=False, sources=site.sources)
    assert root == data.keras_cache_dir() / "sr_train"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["BSDS300_train200/100.jpg", "BSDS500_test200/7.jpg", "T91/t1.png", "T91/tt2.png"]
    for name in NAMES:
        if name.startswith("T91"):  # lossless: the pixels served
            np.testing.assert_array_equal(photos.read_photo(photos.photo_path(root, name)), photo(name))
        else:  # the bytes served
            prefix, stem = name.split("/")
            assert photos.photo_path(root, name).read_bytes() == (site.root / prefix / f"{stem}.jpg").read_bytes()
    assert sorted(p.name for p in data.keras_cache_dir().iterdir()) == ["sr_train"]  # no .part folder
    assert photos.download_sr_train(progress=False, sources=site.sources) == root  # already there
    assert len(site.requests) == 4


def test_corrupt_photo_is_refused_and_a_rerun_fetches_only_the_rest(site):
    good = (site.root / "BSDS500test" / "7.jpg").read_bytes()
    (site.root / "BSDS500test" / "7.jpg").write_bytes(good[:-10] + b"0123456789")
    with pytest.raises(ValueError, match=r"BSDS500test/7\.jpg has sha256 .* the file is corrupt"):
        photos.download_sr_train(progress=False, sources=site.sources)
    part = data.keras_cache_dir() / "sr_train.part"
    assert not (data.keras_cache_dir() / "sr_train").exists()
    kept = sorted(str(p.relative_to(part)) for p in part.rglob("*") if p.is_file())
    assert kept == ["BSDS300_train200/100.jpg", "T91/t1.png", "T91/tt2.png"]  # checked ones only
    (site.root / "BSDS500test" / "7.jpg").write_bytes(good)
    site.requests.clear()
    photos.download_sr_train(progress=False, sources=site.sources)
    assert site.requests == ["/BSDS500test/7.jpg"]


def test_t91_with_other_pixels_is_refused(site):
    Image.fromarray(photo("T91/t1")[::-1].copy()).save(site.root / "T91" / "t1.bmp")
    with pytest.raises(ValueError, match=r"does not hold the pinned pixels of T91/t1"):
        photos.download_sr_train(progress=False, sources=site.sources)
    part = data.keras_cache_dir() / "sr_train.part"
    assert not [p for p in part.rglob("*") if p.is_file()]  # neither the BMP nor a PNG


def test_missing_and_cut_short_photos(site):
    (site.root / "T91" / "tt2.bmp").unlink()
    with pytest.raises(OSError, match=r"could not download http://127\.0\.0\.1:\d+/T91/tt2\.bmp: HTTP 404"):
        photos.download_sr_train(progress=False, sources=site.sources)
    Image.fromarray(photo("T91/tt2")).save(site.root / "T91" / "tt2.bmp")
    site.cut["/BSDS300train/100.jpg"] = 500
    with pytest.raises(ValueError, match=r"100\.jpg was cut short: 500 of"):
        photos.download_sr_train(progress=False, sources=site.sources)
    assert not (data.keras_cache_dir() / "sr_train").exists()


def test_natural96_is_rebuilt_from_downloaded_photos(site):
    x_train, x_val = data.load_natural96()  # nothing local: download the photos, cut the crops
    assert x_train.shape == (3, 96, 96, 3) and x_val.shape == (2, 96, 96, 3) and x_train.dtype == np.uint8
    np.testing.assert_array_equal(x_train[1], photo("T91/t1")[4:100, 24:120])
    np.testing.assert_array_equal(x_train[2], photos.read_photo(
        data.keras_cache_dir() / "sr_train" / "BSDS300_train200" / "100.jpg")[14:110, 104:200])
    np.testing.assert_array_equal(x_val[1], photo("T91/tt2"))
    with np.load(data.keras_cache_dir() / "natural96.npz") as d:
        assert d["source"].tolist() == ["T91/t1", "T91/t1", "BSDS300train/100"]
        assert d["val_pos"].dtype == np.int16 and d["val_pos"].tolist() == [[34, 1], [0, 0]]
    site.requests.clear()
    np.testing.assert_array_equal(data.load_natural96()[0], x_train)  # now from the cache
    assert site.requests == []


def test_crop_outside_its_photo_and_missing_photo(site, tmp_path):
    root = photos.download_sr_train(progress=False, sources=site.sources)
    bad = tmp_path / "bad.csv"
    bad.write_text("split,source,y,x\ntrain,T91/t1,10,0\n")
    with pytest.raises(ValueError, match=r"the crop at \(10, 0\) lies outside T91/t1 \(120x100\)"):
        natural96.build_natural96(root, bad)
    (root / "T91" / "tt2.png").unlink()
    with pytest.raises(FileNotFoundError, match=r"tt2\.png is missing: natural96 is cut from the sr_train/ photos"):
        natural96.build_natural96(root)


def test_offline_natural96_says_what_to_do(monkeypatch):
    monkeypatch.setenv("SR_OFFLINE", "1")
    with pytest.raises(FileNotFoundError) as e:
        data.load_natural96()
    msg = str(e.value)
    assert "copy natural96.npz into a folder and set SR_DATA_DIR" in msg
    assert "It can be rebuilt from the sr_train/ photos, but:" in msg and "SR_OFFLINE=1" in msg
    with pytest.raises(FileNotFoundError, match=r"download: skipped \(download=False\)"):
        data.load_natural96(download=False)


@pytest.mark.parametrize("name", ["T91", "T91/", "X/t1", "T91/a/b", "T91/.."])
def test_bad_photo_names(name):
    with pytest.raises(ValueError, match="bad photo name"):
        photos.photo_path("root", name)


def test_pixel_sha256_golden_and_errors():
    assert photos.pixel_sha256(np.zeros((1, 1, 3), np.uint8)) == hashlib.sha256(b"1x1x3:\0\0\0").hexdigest()
    with pytest.raises(ValueError, match=r"takes \(H, W, C\) uint8"):
        photos.pixel_sha256(np.zeros((2, 2), np.uint8))


def test_committed_index_files():
    rows = photos.read_manifest()
    assert len(rows) == 491 and len({n for n, _ in rows}) == 491
    assert sum(n.startswith("T91/") for n, _ in rows) == 91
    crops = crop_index.read_crop_index()
    assert len(crops["train"][0]) == 2523 and len(crops["val"][0]) == 272
    assert crops["train"][1].dtype == np.int16 and crops["train"][1].shape == (2523, 2)
    held_out = crop_index.held_out_photos()
    assert len(held_out) == 46 and not held_out & set(crops["train"][0].tolist())
    assert held_out | set(crops["train"][0].tolist()) <= {n for n, _ in rows}


# --------------------------------------------------------------------------------------
# The STL-10 subset
# --------------------------------------------------------------------------------------
SUBSET = [
    ("semihyagli/STL10-Labeled@6f9f01c52c80:examples/airplane/ai0-passenger plane.png", "RGB"),
    ("semihyagli/STL10-Labeled@6f9f01c52c80:examples/bird/bi3-owl.png", "RGB"),
    ("semihyagli/STL10_Segmentation@8f852c8e1a12:examples/original_cat_546.png", "RGBA"),
]


def subset_picture(i: int) -> np.ndarray:
    return np.random.default_rng(100 + i).integers(0, 256, (96, 96, 3), dtype=np.uint8)


@pytest.fixture
def subset_site(http_server, tmp_path):
    rows = []
    for i, (source, mode) in enumerate(SUBSET):
        repo, rest = source.split("@")
        path = http_server.root / repo / stl10.STL10_SUBSET_COMMITS[repo] / rest.split(":")[1]
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = subset_picture(i)
        if mode == "RGBA":  # as published: an opaque alpha channel
            pixels = np.dstack([pixels, np.full((96, 96), 255, np.uint8)])
        Image.fromarray(pixels, mode).save(path)
        rows.append(f'"{source}",{photos.pixel_sha256(subset_picture(i))}\n')
    manifest = tmp_path / "subset.csv"
    manifest.write_text("source,sha256\n" + "".join(rows))
    http_server.manifest = manifest
    return http_server


def test_stl10_subset_download(subset_site):
    path = stl10.download_stl10_subset(manifest=subset_site.manifest, base_url=subset_site.url, progress=False)
    assert path == data.keras_cache_dir() / "stl10_subset.npz"
    assert sorted(p.name for p in path.parent.iterdir()) == ["stl10_subset.npz"]  # the .part folder is gone
    with np.load(path) as d:
        assert d["x"].shape == (3, 96, 96, 3) and d["x"].dtype == np.uint8
        for i in range(3):
            np.testing.assert_array_equal(d["x"][i], subset_picture(i))
        assert d["source"].tolist() == [s for s, _ in SUBSET]
    assert subset_site.requests[0] == ("/semihyagli/STL10-Labeled/6f9f01c52c80253cd533b0240e56bac493cf77b5/"
                                       "examples/airplane/ai0-passenger%20plane.png")
    np.testing.assert_array_equal(data.load_stl10_subset(), np.stack([subset_picture(i) for i in range(3)]))


def test_stl10_subset_wrong_pixels_and_resume(subset_site):
    source = SUBSET[1][0]
    bad = subset_site.root / "semihyagli/STL10-Labeled/6f9f01c52c80253cd533b0240e56bac493cf77b5/examples/bird/bi3-owl.png"
    Image.fromarray(subset_picture(1)[:, ::-1].copy()).save(bad)
    with pytest.raises(ValueError, match="does not hold the pinned pixels of " + source.replace(".", r"\.")):
        stl10.download_stl10_subset(manifest=subset_site.manifest, base_url=subset_site.url, progress=False)
    assert not (data.keras_cache_dir() / "stl10_subset.npz").exists()
    part = data.keras_cache_dir() / "stl10_subset.part"
    assert sorted(p.name for p in part.iterdir()) == ["000.png"]  # the checked picture only
    Image.fromarray(subset_picture(1)).save(bad)
    subset_site.requests.clear()
    stl10.download_stl10_subset(manifest=subset_site.manifest, base_url=subset_site.url, progress=False)
    assert len(subset_site.requests) == 2 and not part.exists()


def test_stl10_subset_error_page_is_not_kept(subset_site):
    bad = subset_site.root / "semihyagli/STL10-Labeled/6f9f01c52c80253cd533b0240e56bac493cf77b5/examples/bird/bi3-owl.png"
    good = bad.read_bytes()
    bad.write_text("<html>rate limited</html>")
    with pytest.raises(ValueError, match=r"bi3-owl\.png did not give a readable image for semihyagli/STL10-Labeled@6f9f01c52c80:examples/bird/bi3-owl\.png"):
        stl10.download_stl10_subset(manifest=subset_site.manifest, base_url=subset_site.url, progress=False)
    part = data.keras_cache_dir() / "stl10_subset.part"
    assert sorted(p.name for p in part.iterdir()) == ["000.png"]
    bad.write_bytes(good)  # the server is fixed: the next run completes
    stl10.download_stl10_subset(manifest=subset_site.manifest, base_url=subset_site.url, progress=False)
    assert (data.keras_cache_dir() / "stl10_subset.npz").is_file()


def test_leftover_temporary_files_do_not_become_photos(site):
    part = data.keras_cache_dir() / "sr_train.part" / "T91"
    part.mkdir(parents=True)
    (part / ".t1.0a1b2c3d.tmp.png").write_bytes(b"half a PNG")  # a run killed while writing
    root = photos.download_sr_train(progress=False, sources=site.sources)
    assert sorted(p.name for p in (root / "T91").iterdir()) == ["t1.png", "tt2.png"]


def test_stl10_subset_offline_and_bad_sources(monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"(?s)STL-10 subset \(256 images\) could not be loaded.*"
                                                r"download: skipped \(SR_OFFLINE=1"):
        data.load_stl10_subset()
    with pytest.raises(FileNotFoundError, match=r"download: skipped \(download=False\)"):
        data.load_stl10_subset(download=False)
    for source in ("someone/else@6f9f01c52c80:x.png", "semihyagli/STL10-Labeled@000000:x.png",
                   "semihyagli/STL10-Labeled@6f9f01c52c80:../x.png"):
        with pytest.raises(ValueError, match="bad STL-10 subset source"):
            stl10._subset_url(source, "http://127.0.0.1:1")


def test_committed_stl10_subset_manifest():
    import csv

    with open(stl10.STL10_SUBSET_MANIFEST, newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 256 and len({r["sha256"] for r in rows}) == 256
    for row in rows:  # every source maps to a pinned URL
        assert stl10._subset_url(row["source"], "https://x").startswith("https://x/semihyagli/STL10")


def test_write_indexes_round_trips(site, tmp_path):
    data_dir = tmp_path / "data"
    root = photos.download_sr_train(data_dir, progress=False, sources=site.sources)
    np.savez(data_dir / "natural96.npz", **natural96.build_natural96(root))
    np.savez(data_dir / "stl10_subset.npz", x=np.stack([subset_picture(i) for i in range(3)]),
             source=np.array([s for s, _ in SUBSET]))
    assets = tmp_path / "assets"
    assets.mkdir()
    manifest, crops, subset = indexes.write_indexes(data_dir, assets)
    assert (manifest, crops, subset) == (assets / "sr_train_manifest.csv", assets / "natural96_crops.csv",
                                         assets / "stl10_subset_manifest.csv")
    assert sorted(photos.read_manifest(manifest)) == sorted(photos.read_manifest())  # the site's manifest
    assert crops.read_text() == crop_index.NATURAL96_INDEX.read_text()
    lines = subset.read_text().splitlines()
    assert lines[0] == "source,sha256" and len(lines) == 4
    assert lines[3] == f"{SUBSET[2][0]},{photos.pixel_sha256(subset_picture(2))}"
    # a natural96.npz that the photos do not give is refused
    d = dict(np.load(data_dir / "natural96.npz"))
    d["x_val"] = d["x_val"][:, ::-1].copy()
    np.savez(data_dir / "natural96.npz", **d)
    before = {p.name: p.read_bytes() for p in assets.iterdir()}
    crops.write_text("left as it was\n")
    with pytest.raises(ValueError, match=r"the crops rebuilt from .* differ from .*natural96\.npz \(x_val\); nothing was written"):
        indexes.write_indexes(data_dir, assets)
    assert crops.read_text() == "left as it was\n" and manifest.read_bytes() == before["sr_train_manifest.csv"]
    assert sorted(p.name for p in assets.iterdir()) == sorted(before)  # no temporary folder left
    (data_dir / "stl10_subset.npz").unlink()
    with pytest.raises(FileNotFoundError, match=r"write_indexes needs .*stl10_subset\.npz"):
        indexes.write_indexes(data_dir, assets)
