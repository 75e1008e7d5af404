"""sr_utils.data.benchmarks: Set5 and Set14 downloaded from a server on 127.0.0.1 (small synthetic PNGs in
the real layout, their md5s patched into ``BENCHMARK_MD5``), looked for locally first, refused when
corrupt; and the real sets when ``$SR_DATA_DIR/benchmarks`` or ``<repo>/../shared/data/benchmarks`` is there."""

import hashlib
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import sr_utils
from sr_utils import data
from sr_utils.data import benchmarks

SHAPES = {"Set5": {"baby.png": (12, 10, 3), "bird.png": (9, 9, 3)},
          "Set14": {"bridge.png": (8, 6), "zebra.png": (7, 11, 3)}}  # bridge: single channel, as published


def real_benchmarks_dir() -> Path | None:
    named = os.environ.get(data.DATA_DIR_ENV)
    folder = Path(named) if named else Path(sr_utils.__file__).resolve().parents[1].parent / "shared" / "data"
    return folder if (folder / "benchmarks").is_dir() else None


REAL_DATA = real_benchmarks_dir()


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("SR_OFFLINE", "1")  # only 127.0.0.1 may be reached here


def picture(name: str, file: str) -> np.ndarray:
    seed = int(hashlib.md5(f"{name}/{file}".encode()).hexdigest()[:8], 16)
    return np.random.default_rng(seed).integers(0, 256, SHAPES[name][file], dtype=np.uint8)


@pytest.fixture
def site(http_server, monkeypatch):
    """The server holds the synthetic sets at ``datasets/<set>/HR/<file>``; ``BENCHMARK_URL`` and
    ``BENCHMARK_MD5`` point at them."""
    table = {}
    for name, files in SHAPES.items():
        folder = http_server.root / "datasets" / name / "HR"
        folder.mkdir(parents=True)
        for file in files:
            Image.fromarray(picture(name, file)).save(folder / file)
            table.setdefault(name, {})[file] = hashlib.md5((folder / file).read_bytes()).hexdigest()
    monkeypatch.setattr(benchmarks, "BENCHMARK_MD5", table)
    monkeypatch.setattr(benchmarks, "BENCHMARK_URL", http_server.url)
    return http_server


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_download_leaves_exactly_the_set(site, tmp_path):
    cache = data.keras_cache_dir() / "benchmarks"
    assert benchmarks.download_benchmark("Set5", progress=False) == cache / "Set5"
    assert listing(cache) == ["Set5", "Set5/baby.png", "Set5/bird.png"]
    assert (cache / "Set5" / "bird.png").read_bytes() == (site.root / "datasets/Set5/HR/bird.png").read_bytes()
    assert site.requests == ["/datasets/Set5/HR/baby.png", "/datasets/Set5/HR/bird.png"]
    assert benchmarks.download_benchmark("Set5", progress=False) == cache / "Set5"  # already there
    assert len(site.requests) == 2
    other = benchmarks.download_benchmark("Set14", tmp_path / "elsewhere", base_url=site.url.rstrip("/"), progress=False)
    assert other == tmp_path / "elsewhere" / "benchmarks" / "Set14"
    assert listing(other) == ["bridge.png", "zebra.png"]


def test_wrong_checksum_is_refused_and_a_rerun_fetches_only_the_rest(site):
    served = site.root / "datasets/Set5/HR/bird.png"
    good = served.read_bytes()
    served.write_bytes(good[:-10] + b"0123456789")
    with pytest.raises(ValueError, match=r"Set5/HR/bird\.png has md5 [0-9a-f]{32}, expected .*the file is corrupt"):
        benchmarks.download_benchmark("Set5", progress=False)
    cache = data.keras_cache_dir() / "benchmarks"
    assert listing(cache) == ["Set5.part", "Set5.part/baby.png"]  # the checked file only, no final folder
    served.write_bytes(good)
    site.requests.clear()
    benchmarks.download_benchmark("Set5", progress=False)
    assert site.requests == ["/datasets/Set5/HR/bird.png"]
    assert listing(cache) == ["Set5", "Set5/baby.png", "Set5/bird.png"]


def test_cut_short_and_missing_files_leave_nothing_half_written(site):
    site.cut["/datasets/Set5/HR/bird.png"] = 20
    with pytest.raises(ValueError, match=r"Set5/HR/bird\.png was cut short: 20 of"):
        benchmarks.download_benchmark("Set5", progress=False)
    cache = data.keras_cache_dir() / "benchmarks"
    assert listing(cache) == ["Set5.part", "Set5.part/baby.png"]
    (site.root / "datasets/Set14/HR/zebra.png").unlink()
    with pytest.raises(OSError, match=r"could not download http://127\.0\.0\.1:\d+/datasets/Set14/HR/zebra\.png: HTTP 404"):
        benchmarks.download_benchmark("Set14", progress=False)
    assert listing(cache) == ["Set14.part", "Set14.part/bridge.png", "Set5.part", "Set5.part/baby.png"]


def test_a_killed_run_leaves_no_stray_file_in_the_set(site):
    part = data.keras_cache_dir() / "benchmarks" / "Set5.part"
    part.mkdir(parents=True)
    (part / ".bird.png.0a1b2c3d.part").write_bytes(b"half a PNG")
    assert listing(benchmarks.download_benchmark("Set5", progress=False)) == ["baby.png", "bird.png"]


def test_local_copy_first_then_the_cache_without_network(site, tmp_path, monkeypatch):
    cached = benchmarks.download_benchmark("Set14", progress=False)
    local = tmp_path / "data" / "benchmarks" / "Set14"
    shutil.copytree(cached, local)
    site.requests.clear()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    assert benchmarks.find_benchmark("Set14") == local
    images = benchmarks.load_benchmark("Set14")
    assert list(images) == ["bridge", "zebra"]
    np.testing.assert_array_equal(images["zebra"], picture("Set14", "zebra.png"))
    bridge = images["bridge"]
    assert bridge.shape == (8, 6, 3) and bridge.dtype == np.uint8  # mode L -> three equal channels
    for c in range(3):
        np.testing.assert_array_equal(bridge[..., c], picture("Set14", "bridge.png"))
    (local / "zebra.png").unlink()  # an incomplete local copy does not count
    assert benchmarks.find_benchmark("Set14") == cached
    assert site.requests == []


def test_incomplete_and_corrupt_local_copies(site, tmp_path):
    local = tmp_path / "data" / "benchmarks" / "Set5"
    local.mkdir(parents=True)
    Image.fromarray(picture("Set5", "baby.png")).save(local / "baby.png")
    with pytest.raises(FileNotFoundError) as e:
        benchmarks.find_benchmark("Set5", tmp_path / "data", download=False)
    msg = str(e.value)
    assert f"{local} lacks bird.png" in msg and "download: skipped (download=False)" in msg
    (local / "bird.png").write_bytes(b"not the pinned file")
    with pytest.raises(ValueError, match=r"bird\.png has md5 [0-9a-f]{32}, expected [0-9a-f]{32}: a corrupt copy "
                                         r"or another version\. Delete it"):
        benchmarks.find_benchmark("Set5", tmp_path / "data")
    assert site.requests == []
    (local / "bird.png").unlink()  # incomplete: downloaded into the cache instead
    assert benchmarks.find_benchmark("Set5", tmp_path / "data") == data.keras_cache_dir() / "benchmarks" / "Set5"


def test_offline_says_what_to_do():
    with pytest.raises(FileNotFoundError) as e:
        benchmarks.load_benchmark("Set5")
    msg = str(e.value)
    assert msg.startswith("Set5 (benchmark HR images) could not be loaded. Tried, in order:")
    assert "local copy: SR_DATA_DIR is not set" in msg and "download: skipped (SR_OFFLINE=1" in msg
    assert "put benchmarks/Set5/ with its 5 PNGs in a folder and set SR_DATA_DIR to it" in msg


def test_unknown_set():
    for call in (benchmarks.load_benchmark, benchmarks.download_benchmark):
        with pytest.raises(ValueError, match=r"unknown benchmark 'Set15': the known sets are \['Set5', 'Set14'\]"):
            call("Set15")


def test_pinned_table():
    assert [len(files) for files in benchmarks.BENCHMARK_MD5.values()] == [5, 14]
    for files in benchmarks.BENCHMARK_MD5.values():
        assert list(files) == sorted(files) and all(len(md5) == 32 for md5 in files.values())
    assert benchmarks.BENCHMARK_URL == ("https://raw.githubusercontent.com/zhaohengyuan1/PAN/"
                                        "4d045d18592c5771cd3990da88f292812774e538")


@pytest.mark.skipif(REAL_DATA is None, reason="no real benchmarks folder: set SR_DATA_DIR or provide "
                                                "<repo>/../shared/data/benchmarks")
def test_real_sets():
    set5 = benchmarks.load_benchmark("Set5", REAL_DATA, download=False)  # every file checked against its md5
    # shapes from shared/data/benchmarks/README.md
    assert {k: v.shape for k, v in set5.items()} == {"baby": (512, 512, 3), "bird": (288, 288, 3), "butterfly": (256, 256, 3),
                                                     "head": (280, 280, 3), "woman": (344, 228, 3)}
    set14 = benchmarks.load_benchmark("Set14", REAL_DATA, download=False)
    assert len(set14) == 14 and all(x.ndim == 3 and x.shape[2] == 3 and x.dtype == np.uint8 for x in set14.values())
    bridge = set14["bridge"]
    assert np.array_equal(bridge[..., 0], bridge[..., 1]) and np.array_equal(bridge[..., 0], bridge[..., 2])
