"""DIV2K, the field's standard training set (800 train + 100 validation photos of about 2040x1356, PNG):
pinned archives, download, lookup and the file lists.

Each part (``DIV2K_PARTS``: the HR photos or their bicubic LR x2 / x3 / x4 versions, of the train or
the valid split) is one official zip (``DIV2K_URL``), checked against its published size and SHA-256
(``DIV2K_FILES``). A part is looked for as ``DIV2K/<the zip's folder>/`` (``DIV2K/DIV2K_train_HR/``,
``DIV2K/DIV2K_train_LR_bicubic/X2/``, ...) in ``$SR_DATA_DIR`` (or ``data_dir``), then in the Keras
cache, then downloaded there; a folder counts only when it holds exactly the part's PNGs, by name.
The images are not loaded here: ``div2k_images`` gives their paths, for a pipeline that reads them
lazily.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from .. import downloads
from .locations import DATA_DIR_ENV, cache_folder, find_local_folder, not_found

DIV2K_URL = "https://data.vision.ee.ethz.ch/cvl/DIV2K/"
DIV2K_FILES = {  # zip -> (bytes, sha256), as published (TensorFlow Datasets' checksum file lists them)
    "DIV2K_train_HR.zip": (3_530_603_713, "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335"),
    "DIV2K_valid_HR.zip": (448_993_893, "20dd31fd84d777bc1cf5d6b7654a3f569c0aec74458ae094122ad1d0489900fc"),
    "DIV2K_train_LR_bicubic_X2.zip": (925_390_592, "a53a424317575838dadce4bcd97cf7b744d6855f43740ed5f0245af3cf4bd850"),
    "DIV2K_train_LR_bicubic_X3.zip": (427_847_282, "ad5c8e5507e2765823d3c2c5bd0934842efcd487c5370604c224090898b3163a"),
    "DIV2K_train_LR_bicubic_X4.zip": (246_914_039, "f006b837f4eb52b82909aa01478e6d6d199eefce932179491d0c9dbb706dde3a"),
    "DIV2K_valid_LR_bicubic_X2.zip": (117_763_600, "60eed9875c697df51204aa579e2a699e1d5215095788a097ff54dd17e2664d57"),
    "DIV2K_valid_LR_bicubic_X3.zip": (54_513_392, "04b9a2ed3b4a0715d3924d3ae8514830c3328fac8d30512ce716d6f419e052a3"),
    "DIV2K_valid_LR_bicubic_X4.zip": (31_505_881, "a50a5d1c4b88de4e8d300d8fb2b904c52fe93b2b298a4899697760d7cbb6d553"),
}
DIV2K_INDEXES = {"train": range(1, 801), "valid": range(801, 901)}  # the photos' numbers: 0001.png ... 0900.png
DIV2K_PARTS = ("train_hr", "valid_hr", "train_lr_x2", "train_lr_x3", "train_lr_x4",
               "valid_lr_x2", "valid_lr_x3", "valid_lr_x4")


def _layout(part: str) -> tuple[str, Path, list[str]]:
    """The zip of ``part``, its folder (inside the zip and inside ``DIV2K/``) and its PNGs' names in
    order (``0001.png``, or ``0001x2.png`` for LR x2); ValueError for an unknown part."""
    if part not in DIV2K_PARTS:
        raise ValueError(f"unknown DIV2K part {part!r}: the known parts are {list(DIV2K_PARTS)}.")
    split, _, kind = part.partition("_")
    if kind == "hr":
        return f"DIV2K_{split}_HR.zip", Path(f"DIV2K_{split}_HR"), [f"{i:04d}.png" for i in DIV2K_INDEXES[split]]
    scale = kind.removeprefix("lr_x")
    return (f"DIV2K_{split}_LR_bicubic_X{scale}.zip", Path(f"DIV2K_{split}_LR_bicubic/X{scale}"),
            [f"{i:04d}x{scale}.png" for i in DIV2K_INDEXES[split]])


def _some(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")


def _problem(folder: Path, part: str) -> str | None:
    """Why ``folder`` is not a copy of ``part`` (no such folder, PNGs missing or not of the part), or
    None when its PNGs are exactly the part's."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    names = _layout(part)[2]
    present = {f.name for f in folder.glob("*.png")}
    missing, foreign = [n for n in names if n not in present], sorted(present - set(names))
    if not (missing or foreign):
        return None
    return (f"{folder} holds {len(names) - len(missing)} of the {len(names)} PNGs of DIV2K {part}"
            + (f", lacking {_some(missing)}" if missing else "") + (f", and also {_some(foreign)}" if foreign else ""))


def _kept(archive: Path, size: int, sha256: str) -> bool:
    """Whether an earlier run, interrupted while extracting, left the verified zip at ``archive``."""
    if not archive.is_file() or archive.stat().st_size != size:
        return False
    with open(archive, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest() == sha256


def download_div2k(part: str, cache_dir: str | os.PathLike | None = None, *, base_url: str | None = None,
                   progress: bool = True) -> Path:
    """Download the zip of ``part`` and extract its PNGs into ``<cache_dir>/DIV2K/`` (default: the
    Keras cache).

    The zip (``<base_url>/<zip>``, default ``DIV2K_URL``; 31 MB to 3.5 GB) is fetched with a progress
    bar and checked against ``DIV2K_FILES`` (``downloads.fetch``), extracted safely
    (``downloads.safe_extract``) into ``DIV2K/<zip name>.part/``, and only when that holds exactly the
    part's PNGs is their folder renamed into place. The zip is then deleted, to save space (its PNGs
    are stored, not compressed: it is as big as the folder). A zip that is damaged, unsafe or holds
    other files is deleted too; one whose extraction was interrupted (Ctrl-C, a full disk, a killed
    run) is kept, and the next call checks it and extracts it without downloading it again.

    Returns:
        The folder of the part's PNGs: ``<cache_dir>/DIV2K/DIV2K_train_HR``,
        ``<cache_dir>/DIV2K/DIV2K_train_LR_bicubic/X2``, ...

    Raises:
        ValueError: an unknown part; a download cut short or with another size or SHA-256; a zip
            that is damaged, unsafe or not the part's; or a folder already there that is not a
            complete copy. No ``.part`` file or folder is left.
        OSError: the zip could not be downloaded (the message names its URL).
    """
    archive_name, folder, _ = _layout(part)
    root = cache_folder(cache_dir) / "DIV2K"
    final = root / folder
    if final.exists():
        problem = _problem(final, part)
        if problem:
            raise ValueError(f"{problem}: not a complete copy; delete it and download again.")
        return final
    size, sha256 = DIV2K_FILES[archive_name]
    url = f"{(DIV2K_URL if base_url is None else base_url).rstrip('/')}/{archive_name}"
    archive, extracted = root / archive_name, root / f"{archive_name}.part"
    if not _kept(archive, size, sha256):
        downloads.fetch(url, archive, size=size, sha256=sha256, progress=progress)
    shutil.rmtree(extracted, ignore_errors=True)  # left by a run that was killed
    try:
        downloads.safe_extract(archive, extracted)
        problem = _problem(extracted / folder, part)
        if problem:
            raise ValueError(f"{url} does not hold DIV2K {part} as published ({problem}); the zip was "
                             "deleted. Report it: DIV2K_FILES pins a zip without these PNGs.")
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(extracted / folder, final)
    except ValueError:
        archive.unlink()  # the pinned bytes, yet not the part's PNGs: no later run can use it
        raise
    finally:
        shutil.rmtree(extracted, ignore_errors=True)
    archive.unlink()
    return final


def find_div2k(part: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder of the PNGs of ``part`` (one of ``DIV2K_PARTS``): ``DIV2K/<folder>/`` in
    ``data_dir`` / ``$SR_DATA_DIR``, else in the Keras cache, else downloaded there
    (``download_div2k``) unless ``download=False``. A folder counts only when its PNGs are exactly
    the part's (800 for a train part, 100 for a valid one, named as in the official zip).

    Raises:
        ValueError: an unknown part.
        FileNotFoundError: none of these worked; the message lists what was tried (the missing
            PNGs by name) and the fix.
    """
    archive_name, folder, names = _layout(part)
    found, tried, cache = find_local_folder(Path("DIV2K") / folder, lambda path: _problem(path, part), data_dir)
    url = DIV2K_URL + archive_name
    path = found or downloads.attempt(download, url, lambda: download_div2k(part), tried)
    if path is not None:
        return path
    raise not_found(f"DIV2K {part} ({len(names)} PNGs)", tried,
                    f"run once with internet access (the PNGs go to {cache}), or download {url} by "
                    f"hand, unzip it into a folder so that it holds DIV2K/{folder.as_posix()}/ with its "
                    f"{len(names)} PNGs, and set {DATA_DIR_ENV} to that folder (see data/README.md).")


def div2k_images(part: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> list[Path]:
    """The PNG files of ``part`` (one of ``DIV2K_PARTS``), found by ``find_div2k``, sorted by name
    (``.../0001.png`` ... ``.../0800.png``; LR ``0001x2.png`` ...). Nothing is read: each file is an
    RGB uint8 photo of about 2040x1356 (HR; LR ``scale`` times smaller) for a pipeline to decode lazily.
    """
    folder = find_div2k(part, data_dir, download)
    return [folder / name for name in _layout(part)[2]]
