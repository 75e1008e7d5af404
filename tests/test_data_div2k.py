"""sr_utils.data.div2k: DIV2K's zips downloaded from a server on 127.0.0.1 (tiny synthetic PNGs in the official
layout, with ``DIV2K_INDEXES`` cut to 3 train and 2 valid photos and the zips' sizes and SHA-256s patched into
``DIV2K_FILES``), extracted into place or refused leaving the cache as it was, and looked for locally first."""

import hashlib
import io
import re
import shutil
import zipfile

import numpy as np
import pytest
from PIL import Image

from sr_utils import data
from sr_utils.data import div2k

SMALL = {"train": range(1, 4), "valid": range(801, 803)}
PARTS = {  # part -> (zip, its folder, its PNGs) for SMALL's photos, as the official zips are laid out
    "train_hr": ("DIV2K_train_HR.zip", "DIV2K_train_HR", ["0001.png", "0002.png", "0003.png"]),
    "valid_hr": ("DIV2K_valid_HR.zip", "DIV2K_valid_HR", ["0801.png", "0802.png"]),
    "train_lr_x2": ("DIV2K_train_LR_bicubic_X2.zip", "DIV2K_train_LR_bicubic/X2", ["0001x2.png", "0002x2.png", "0003x2.png"]),
    "valid_lr_x4": ("DIV2K_valid_LR_bicubic_X4.zip", "DIV2K_valid_LR_bicubic/X4", ["0801x4.png", "0802x4.png"]),
}


@pytest.fixture(autouse=True)
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("SR_OFFLINE", "1")  # only 127.0.0.1 may be reached here


def png(part: str, name: str) -> bytes:
    seed = int(hashlib.md5(f"{part}/{name}".encode()).hexdigest()[:8], 16)
    buffer = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(buffer, format="PNG")
    return buffer.getvalue()


def pin(path) -> None:
    """Patch the size and SHA-256 of the served zip ``path`` into ``DIV2K_FILES``."""
    div2k.DIV2K_FILES[path.name] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())


def serve(server, part: str, files: dict[str, bytes] | None = None):
    """Serve (and pin) the zip of ``part``: ``files`` (name in the zip -> bytes), by default the part's PNGs
    under its folder, after a folder entry as in the official zips."""
    archive, folder, names = PARTS[part]
    files = {f"{folder}/{n}": png(part, n) for n in names} if files is None else files
    path = server.root / archive
    with zipfile.ZipFile(path, "w") as z:  # stored, not compressed, as published
        z.writestr(f"{folder}/", b"")
        for name, payload in files.items():
            z.writestr(name, payload)
    pin(path)
    return path


@pytest.fixture
def site(http_server, monkeypatch):
    """The server holds the zips of ``PARTS``; ``DIV2K_URL``, ``DIV2K_INDEXES`` and ``DIV2K_FILES`` point at them."""
    monkeypatch.setattr(div2k, "DIV2K_INDEXES", SMALL)
    monkeypatch.setattr(div2k, "DIV2K_URL", http_server.url)
    monkeypatch.setattr(div2k, "DIV2K_FILES", dict(div2k.DIV2K_FILES))
    for part in PARTS:
        serve(http_server, part)
    return http_server


def listing(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def test_download_leaves_exactly_the_pngs(site, tmp_path):
    cache = data.keras_cache_dir()
    assert div2k.download_div2k("train_hr", progress=False) == cache / "DIV2K" / "DIV2K_train_HR"
    assert listing(cache) == ["DIV2K", "DIV2K/DIV2K_train_HR", "DIV2K/DIV2K_train_HR/0001.png",
                              "DIV2K/DIV2K_train_HR/0002.png", "DIV2K/DIV2K_train_HR/0003.png"]  # no zip, no .part
    assert (cache / "DIV2K/DIV2K_train_HR/0002.png").read_bytes() == png("train_hr", "0002.png")
    assert site.requests == ["/DIV2K_train_HR.zip"]
    assert div2k.download_div2k("train_hr", progress=False) == cache / "DIV2K" / "DIV2K_train_HR"  # already there
    assert div2k.div2k_images("train_hr") == [cache / "DIV2K/DIV2K_train_HR" / n for n in PARTS["train_hr"][2]]
    assert site.requests == ["/DIV2K_train_HR.zip"]
    other = div2k.download_div2k("valid_lr_x4", tmp_path / "elsewhere", base_url=site.url.rstrip("/"), progress=False)
    assert other == tmp_path / "elsewhere" / "DIV2K" / "DIV2K_valid_LR_bicubic" / "X4"
    assert listing(tmp_path / "elsewhere") == ["DIV2K", "DIV2K/DIV2K_valid_LR_bicubic", "DIV2K/DIV2K_valid_LR_bicubic/X4",
                                               "DIV2K/DIV2K_valid_LR_bicubic/X4/0801x4.png",
                                               "DIV2K/DIV2K_valid_LR_bicubic/X4/0802x4.png"]


def corrupt(server, monkeypatch):
    path = server.root / "DIV2K_train_HR.zip"
    raw = bytearray(path.read_bytes())
    raw[raw.find(png("train_hr", "0003.png")) + 30] ^= 0xFF  # the last PNG: the first two are extracted already
    path.write_bytes(bytes(raw))
    pin(path)


FILES = {f"DIV2K_train_HR/{n}": png("train_hr", n) for n in PARTS["train_hr"][2]}
BREAKS = {  # how the train_hr zip goes wrong -> (set-up, error, message)
    "wrong sha256": (lambda server, mp: mp.setitem(div2k.DIV2K_FILES, "DIV2K_train_HR.zip",
                                                   (div2k.DIV2K_FILES["DIV2K_train_HR.zip"][0], "0" * 64)),
                     ValueError, r"DIV2K_train_HR\.zip has sha256 [0-9a-f]{64}, expected 0{64}: the file is corrupt"),
    "cut short": (lambda server, mp: server.cut.update({"/DIV2K_train_HR.zip": 100}),
                  ValueError, r"DIV2K_train_HR\.zip was cut short: 100 of [\d,]+ bytes"),
    "404": (lambda server, mp: (server.root / "DIV2K_train_HR.zip").unlink(),
            OSError, r"could not download http://127\.0\.0\.1:\d+/DIV2K_train_HR\.zip: HTTP 404"),
    "corrupt zip": (corrupt, ValueError, r"DIV2K_train_HR\.zip is not a readable zip archive \(Bad CRC-32"),
    "a PNG missing": (lambda server, mp: serve(server, "train_hr", {k: v for k, v in FILES.items() if "0003" not in k}),
                      ValueError, r"DIV2K_train_HR\.zip does not hold DIV2K train_hr as published \(.*DIV2K_train_HR "
                                  r"holds 2 of the 3 PNGs of DIV2K train_hr, lacking 0003\.png\); the zip was deleted"),
    "another part": (lambda server, mp: serve(server, "train_hr", {"DIV2K_train_HR/0001x2.png": b"png"}),
                     ValueError, r"holds 0 of the 3 PNGs of DIV2K train_hr, lacking 0001\.png, 0002\.png, 0003\.png, "
                                 r"and also 0001x2\.png\)"),
    "unsafe member": (lambda server, mp: serve(server, "train_hr", {**FILES, "../evil.png": b"x"}),
                      ValueError, r"refusing to extract the member '\.\./evil\.png'"),
}


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_failed_download_leaves_the_cache_as_it_was(site, monkeypatch, how):
    cache = data.keras_cache_dir()
    div2k.download_div2k("valid_hr", progress=False)
    before = listing(cache)
    setup, error, message = BREAKS[how]
    setup(site, monkeypatch)
    with pytest.raises(error, match=message):
        div2k.download_div2k("train_hr", progress=False)
    assert listing(cache) == before  # no zip, no .part file or folder, no partial DIV2K_train_HR/
    with pytest.raises(FileNotFoundError, match=r"download: http://127\.0\.0\.1:\d+/DIV2K_train_HR\.zip failed: "):
        div2k.find_div2k("train_hr")  # find_div2k names the failure among what it tried
    assert listing(cache) == before


def test_an_interrupted_extraction_keeps_the_zip_for_the_next_call(site, monkeypatch):
    extract, calls = div2k.downloads.safe_extract, []

    def disk_full_once(archive, dest):
        calls.append(archive)
        if len(calls) > 1:
            return extract(archive, dest)
        (dest / "DIV2K_train_HR").mkdir(parents=True)
        (dest / "DIV2K_train_HR" / "0001.png").write_bytes(b"half")
        raise OSError("No space left on device")

    monkeypatch.setattr(div2k.downloads, "safe_extract", disk_full_once)
    with pytest.raises(OSError, match="No space left on device"):
        div2k.download_div2k("train_hr", progress=False)
    root = data.keras_cache_dir() / "DIV2K"
    assert listing(root) == ["DIV2K_train_HR.zip"]  # checked, kept; the half extraction is gone
    (root / "DIV2K_train_HR.zip.part").mkdir()  # as a killed run leaves it
    (root / "DIV2K_train_HR.zip.part" / "stray.png").write_bytes(b"")
    assert div2k.download_div2k("train_hr", progress=False) == root / "DIV2K_train_HR"
    assert site.requests == ["/DIV2K_train_HR.zip"]  # extracted from the kept zip, not downloaded again
    assert listing(root) == ["DIV2K_train_HR"] + [f"DIV2K_train_HR/{n}" for n in PARTS["train_hr"][2]]


def test_local_copy_first_then_the_cache_then_a_download(site, tmp_path, monkeypatch):
    cached = div2k.find_div2k("train_lr_x2")  # nothing local: downloaded (from 127.0.0.1) into the cache
    assert cached == data.keras_cache_dir() / "DIV2K" / "DIV2K_train_LR_bicubic" / "X2"
    local = tmp_path / "data" / "DIV2K" / "DIV2K_train_LR_bicubic" / "X2"
    shutil.copytree(cached, local)
    site.requests.clear()
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "data"))
    assert div2k.div2k_images("train_lr_x2") == [local / "0001x2.png", local / "0002x2.png", local / "0003x2.png"]
    (local / "0002x2.png").unlink()  # an incomplete local copy does not count
    assert div2k.find_div2k("train_lr_x2") == cached
    assert site.requests == []


def test_an_incomplete_local_copy_is_named_in_the_error(site, tmp_path):
    local = tmp_path / "data" / "DIV2K" / "DIV2K_train_HR"
    local.mkdir(parents=True)
    for name in ("0001.png", "0002.png", "0009.png"):
        (local / name).write_bytes(png("train_hr", name))
    with pytest.raises(FileNotFoundError) as e:
        div2k.find_div2k("train_hr", tmp_path / "data", download=False)
    msg = str(e.value)
    assert msg.startswith("DIV2K train_hr (3 PNGs) could not be loaded. Tried, in order:")
    assert f"{local} holds 2 of the 3 PNGs of DIV2K train_hr, lacking 0003.png, and also 0009.png" in msg
    assert f"{data.keras_cache_dir() / 'DIV2K' / 'DIV2K_train_HR'} is not a folder" in msg
    assert "download: skipped (download=False)" in msg
    assert site.requests == []
    assert div2k.find_div2k("train_hr", tmp_path / "data") == data.keras_cache_dir() / "DIV2K" / "DIV2K_train_HR"


def test_offline_says_what_to_do():
    with pytest.raises(FileNotFoundError) as e:
        div2k.div2k_images("train_hr")
    msg = str(e.value)
    assert msg.startswith("DIV2K train_hr (800 PNGs) could not be loaded. Tried, in order:")
    assert "local copy: SR_DATA_DIR is not set" in msg and "download: skipped (SR_OFFLINE=1" in msg
    assert ("download https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip by hand, unzip it into a folder so "
            "that it holds DIV2K/DIV2K_train_HR/ with its 800 PNGs, and set SR_DATA_DIR to that folder") in msg


def test_the_official_layout_of_a_local_copy(tmp_path):
    folder = tmp_path / "DIV2K" / "DIV2K_valid_LR_bicubic" / "X4"
    folder.mkdir(parents=True)
    for i in range(801, 901):
        (folder / f"{i:04d}x4.png").touch()  # never read: the paths are for a lazy pipeline
    files = div2k.div2k_images("valid_lr_x4", tmp_path, download=False)
    assert len(files) == 100 and files[0] == folder / "0801x4.png" and files[-1] == folder / "0900x4.png"
    hr = tmp_path / "DIV2K" / "DIV2K_train_HR"
    hr.mkdir()
    for i in range(1, 800):
        (hr / f"{i:04d}.png").touch()
    with pytest.raises(FileNotFoundError, match=r"DIV2K_train_HR holds 799 of the 800 PNGs of DIV2K train_hr, "
                                                r"lacking 0800\.png\n"):
        div2k.find_div2k("train_hr", tmp_path, download=False)
    (hr / "0800.png").touch()
    assert div2k.find_div2k("train_hr", tmp_path, download=False) == hr


def test_unknown_part():
    for call in (div2k.find_div2k, div2k.download_div2k, div2k.div2k_images):
        with pytest.raises(ValueError, match=r"unknown DIV2K part 'train_lr_x8': the known parts are \['train_hr', "
                                             r"'valid_hr', 'train_lr_x2', .*'valid_lr_x4'\]"):
            call("train_lr_x8")


def test_pinned_table():
    assert div2k.DIV2K_URL == "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
    assert len(div2k.DIV2K_PARTS) == 8 and len(div2k.DIV2K_FILES) == 8
    assert [len(div2k.DIV2K_INDEXES[s]) for s in ("train", "valid")] == [800, 100]
    assert sorted(div2k.DIV2K_FILES) == sorted([f"DIV2K_{s}_HR.zip" for s in ("train", "valid")] + [
        f"DIV2K_{s}_LR_bicubic_X{x}.zip" for s in ("train", "valid") for x in (2, 3, 4)])
    for size, sha256 in div2k.DIV2K_FILES.values():
        assert 30_000_000 < size < 4_000_000_000 and re.fullmatch("[0-9a-f]{64}", sha256)
    assert div2k.DIV2K_FILES["DIV2K_train_HR.zip"][0] == 3_530_603_713
