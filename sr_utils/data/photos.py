"""The training photos (``sr_train/``, T91 + BSDS): pinned sources, manifest, download, lookup and loading.

``sr_train/`` holds 491 whole photos: T91 (91, the SRCNN training set), BSDS300 train (200) and
BSDS500 test (200). ``download_sr_train`` fetches each from a public copy pinned by commit
(``SR_TRAIN_SOURCES``) and checks it against ``assets/sr_train_manifest.csv``: the SHA-256 of the
file for the BSDS JPEGs (kept byte for byte), and of the decoded pixels for T91 (its BMPs are
stored as lossless PNGs). ``read_photo``, ``pixel_sha256`` and ``fetch_checked`` serve the STL-10
subset's pictures too (``stl10.download_stl10_subset``).

``load_sr_images`` splits the photos by whole image: the 46 photos of natural96's validation
crops (``crop_index.held_out_photos``) are the ``"val"`` split.
"""

from __future__ import annotations

import csv
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .. import downloads
from ..files import atomic_write
from .crop_index import held_out_photos
from .locations import ASSETS, DATA_DIR_ENV, cache_folder, keras_cache_dir, local_data_dir, not_found

SR_TRAIN_MANIFEST = ASSETS / "sr_train_manifest.csv"


@dataclass(frozen=True)
class PhotoSource:
    """Where the photos named ``<prefix>/<stem>`` come from and how they are stored.

    Attributes:
        folder: sub-folder of ``sr_train/``.
        url: base URL; the photo is ``url + stem + remote_suffix``.
        remote_suffix: the file type served (``.bmp``, ``.jpg``).
        local_suffix: the file type kept (``.png`` for re-encoded BMPs, else the same).
        checksum: ``"file"`` (SHA-256 of the bytes) or ``"pixels"`` (SHA-256 of the decoded
            RGB pixels, see ``pixel_sha256``).
    """

    folder: str
    url: str
    remote_suffix: str
    local_suffix: str
    checksum: str


GITHUB = "https://raw.githubusercontent.com"
# sr_train/'s sub-folders, by the prefix of the photos' names ("T91/t1")
SR_TRAIN_FOLDERS = {"T91": "T91", "BSDS300train": "BSDS300_train200", "BSDS500test": "BSDS500_test200"}
# The exact copies behind the committed models (see data/README.md), pinned by commit.
SR_TRAIN_SOURCES = {
    "T91": PhotoSource(SR_TRAIN_FOLDERS["T91"], f"{GITHUB}/jiny2001/dcscn-super-resolution/"
                       "d382bc30d41c94ac72f8cb148d61cc4864b3b380/data/yang91/", ".bmp", ".png", "pixels"),
    "BSDS300train": PhotoSource(SR_TRAIN_FOLDERS["BSDS300train"], f"{GITHUB}/Sisso16/ssn_pytorch/"
                                "c4f9ac8c43397cbacbf2e2ba1505efafa769435d/BSR/BSDS500/data/images/train/",
                                ".jpg", ".jpg", "file"),
    "BSDS500test": PhotoSource(SR_TRAIN_FOLDERS["BSDS500test"], f"{GITHUB}/Sisso16/ssn_pytorch/"
                               "c4f9ac8c43397cbacbf2e2ba1505efafa769435d/BSR/BSDS500/data/images/test/",
                               ".jpg", ".jpg", "file"),
}


def pixel_sha256(pixels: np.ndarray) -> str:
    """SHA-256 hex digest of an image's pixels: ``"HxWxC:"`` then the row-major bytes.

    Args:
        pixels: ``(H, W, C)`` uint8.
    """
    pixels = np.ascontiguousarray(pixels)
    if pixels.dtype != np.uint8 or pixels.ndim != 3:
        raise ValueError(f"pixel_sha256 takes (H, W, C) uint8, got {pixels.shape} {pixels.dtype}.")
    h, w, c = pixels.shape
    return hashlib.sha256(f"{h}x{w}x{c}:".encode() + pixels.tobytes()).hexdigest()


def read_photo(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``(H, W, 3)`` uint8 RGB in [0, 255] (an alpha channel is dropped);
    ValueError naming the file when it cannot be decoded."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, UnidentifiedImageError) as e:
        raise ValueError(f"cannot read the image {path} ({e}); it is truncated or damaged. "
                         "Delete it and download it again (see data/README.md).") from None


def photo_digest(path: str | os.PathLike, checksum: str) -> str:
    """The digest the manifests hold for a file: SHA-256 of its bytes (``checksum="file"``) or of
    its decoded RGB pixels (``"pixels"``, see ``pixel_sha256``)."""
    if checksum == "file":
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return pixel_sha256(read_photo(path))


def fetch_checked(url: str, target: Path, checksum: str, expected: str, what: str) -> None:
    """Put the file at ``url`` at ``target`` only once it matches ``expected``.

    ``checksum="file"``: the bytes are checked while downloading (``downloads.fetch``).
    ``"pixels"``: the download goes to a temporary name, its pixels are checked, and ``target``
    is written as a PNG of them (lossless, whatever format was served). A file that fails is
    not kept, so a later run fetches it again.
    """
    from PIL import Image

    if checksum == "file":
        downloads.fetch(url, target, sha256=expected, progress=False)
        return
    raw = downloads.fetch(url, target.with_name(f".{target.name}.download"), progress=False)
    try:
        try:
            pixels = read_photo(raw)
        except ValueError:
            raise ValueError(f"{url} did not give a readable image for {what} (an error page, or a cut-short "
                             "file); try again, or report it.") from None
        if pixel_sha256(pixels) != expected:
            raise ValueError(f"{url} does not hold the pinned pixels of {what} (pixel sha256 "
                             f"{pixel_sha256(pixels)}, expected {expected}); try again, or report it.")
        with atomic_write(target) as tmp:
            Image.fromarray(pixels).save(tmp, format="PNG")
    finally:
        raw.unlink(missing_ok=True)


def already_kept(path: Path, checksum: str, expected: str) -> bool:
    """Whether an earlier, interrupted run left a checked copy at ``path``."""
    try:
        return path.is_file() and photo_digest(path, checksum) == expected
    except ValueError:
        return False


def _split_name(name: str, sources: dict) -> tuple[PhotoSource, str]:
    prefix, _, stem = name.partition("/")
    if prefix not in sources or not stem or "/" in stem or stem in (".", ".."):
        raise ValueError(f"bad photo name {name!r}: expected <set>/<name> with <set> in {sorted(sources)}.")
    return sources[prefix], stem


def photo_path(root: str | os.PathLike, name: str, sources: dict | None = None) -> Path:
    """The file of the photo ``name`` (``"T91/t1"``, ``"BSDS300train/100075"``) under ``root``."""
    source, stem = _split_name(name, SR_TRAIN_SOURCES if sources is None else sources)
    return Path(root) / source.folder / (stem + source.local_suffix)


def read_manifest(path: str | os.PathLike | None = None) -> list[tuple[str, str]]:
    """``[(name, sha256), ...]`` of every photo of ``sr_train/``, in file order (default file:
    ``SR_TRAIN_MANIFEST``)."""
    with open(path or SR_TRAIN_MANIFEST, newline="") as f:
        rows = list(csv.DictReader(f))
    return [(row["name"], row["sha256"]) for row in rows]


# --------------------------------------------------------------------------------------
# sr_train/: find, download, load
# --------------------------------------------------------------------------------------
def download_sr_train(cache_dir: str | os.PathLike | None = None, *, sources: dict | None = None,
                      manifest: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Download the 491 photos of ``sr_train/`` into ``cache_dir`` (default: the Keras cache).

    Each photo is fetched from its pinned URL (``sources``, default ``SR_TRAIN_SOURCES``) into ``sr_train.part/`` and checked
    against ``manifest`` before it is kept; T91's BMPs are stored as PNG (same pixels). Only when
    every photo is there is the folder renamed to ``sr_train/``. An interrupted run keeps the
    photos already checked, and the next run fetches only the rest.

    Returns:
        ``<cache_dir>/sr_train``.

    Raises:
        OSError: a photo could not be downloaded (the message names it and its URL).
        ValueError: a photo was cut short or does not match its checksum (it is not kept).
    """
    from tqdm.auto import tqdm

    sources = SR_TRAIN_SOURCES if sources is None else sources
    cache = cache_folder(cache_dir)
    final, part = cache / "sr_train", cache / "sr_train.part"
    if final.is_dir():
        return final
    rows = read_manifest(manifest)
    for name, expected in tqdm(rows, desc="sr_train photos", unit="photo", disable=not progress):
        source, stem = _split_name(name, sources)
        target = photo_path(part, name, sources)
        if not already_kept(target, source.checksum, expected):
            fetch_checked(source.url + stem + source.remote_suffix, target, source.checksum, expected, name)
    wanted = {photo_path(part, name, sources) for name, _ in rows}
    for leftover in [f for f in part.rglob("*") if f.is_file() and f not in wanted]:
        leftover.unlink()  # temporary files of a run that was killed
    os.replace(part, final)
    return final


def find_sr_train(data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The ``sr_train/`` folder: in ``data_dir`` / ``$SR_DATA_DIR``, else in the Keras cache,
    else downloaded there (``download_sr_train``) unless ``download=False``.

    Raises:
        FileNotFoundError: none of these worked; the message lists what was tried and the fix.
    """
    folder = local_data_dir(data_dir)
    tried = [f"local copy: {DATA_DIR_ENV} is not set"] if folder is None else []
    candidates = ([folder / "sr_train"] if folder is not None else []) + [keras_cache_dir() / "sr_train"]
    for path in candidates:
        if path.is_dir():
            return path
        tried.append(f"{path} is not a folder")
    skipped = downloads.skip_reason(download, *(s.url for s in SR_TRAIN_SOURCES.values()))
    if skipped:
        tried.append(skipped)
    else:
        try:
            return download_sr_train()
        except (OSError, ValueError) as e:
            tried.append(f"download failed: {e}")
    folders = ",".join(s.folder for s in SR_TRAIN_SOURCES.values())
    raise not_found("sr_train (whole T91 + BSDS photos)", tried,
                    f"run once with internet access (the photos go to {keras_cache_dir() / 'sr_train'}), "
                    f"or put sr_train/{{{folders}}}/ in a folder and set {DATA_DIR_ENV} to it "
                    "(see data/README.md).")


_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def sr_train_dir(data_dir: str | os.PathLike | None = None, download: bool = False) -> Path:
    """The ``sr_train/`` folder of whole training photos: in ``data_dir`` / ``$SR_DATA_DIR``,
    else in the Keras cache, else downloaded there when ``download`` is True
    (``find_sr_train``). Raises FileNotFoundError naming what was tried."""
    return find_sr_train(data_dir, download=download)


def load_sr_images(split: str = "train", data_dir: str | os.PathLike | None = None, limit: int | None = None,
                   download: bool = True):
    """Whole natural photos (T91 + BSDS) for training SR models on random patches.

    The split is by whole image and is the one ``natural96`` uses: the 46 photos whose crops
    form natural96's validation crops (named in the committed crop index,
    ``crop_index.held_out_photos``) are the ``"val"`` split, the others are ``"train"``. So
    validation photos never give a training patch.

    Args:
        split: ``"train"`` or ``"val"``.
        data_dir: folder holding ``sr_train/`` (default ``$SR_DATA_DIR``, then the Keras cache).
        limit: keep only the first ``limit`` images (sorted by name), e.g. for quick runs.
        download: download the photos (about 46 MB) into the Keras cache when no copy is found.

    Returns:
        ``(images, names)``: a list of ``(H, W, 3)`` uint8 arrays of varying sizes (78-508 px a
        side) and their names as in ``natural96`` (``"T91/t1"``, ``"BSDS300train/100075"``, ...).
    """
    files, names = sr_image_files(split, data_dir, limit, download)
    return [read_photo(f) for f in files], names


def sr_image_files(split: str = "train", data_dir: str | os.PathLike | None = None, limit: int | None = None,
                   download: bool = True) -> tuple[list[Path], list[str]]:
    """The files of ``load_sr_images``'s photos, not read: for a pipeline that streams them
    (``streaming.photo_patch_dataset``). Same split, order, ``limit`` and lookup.

    Returns:
        ``(paths, names)``: the photo files (PNG for T91, JPEG for BSDS) and their names
        (``"T91/t1"``, ``"BSDS300train/100075"``, ...).
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
    root = sr_train_dir(data_dir, download=download)
    held_out = held_out_photos()
    files = []
    for prefix, folder in SR_TRAIN_FOLDERS.items():
        if not (root / folder).is_dir():
            raise FileNotFoundError(f"{root / folder} is missing: sr_train/ must hold {sorted(SR_TRAIN_FOLDERS.values())}.")
        files += [(f"{prefix}/{f.stem}", f) for f in sorted((root / folder).iterdir()) if f.suffix.lower() in _IMAGE_SUFFIXES]
    unknown = held_out - {name for name, _ in files}
    if unknown:
        raise ValueError(f"{root} lacks {len(unknown)} of the held-out photos (e.g. {sorted(unknown)[0]}); "
                         "it is not a complete sr_train/ folder: delete it and download it again (see data/README.md).")
    files = [(name, f) for name, f in files if (name in held_out) == (split == "val")][:limit]
    return [f for _, f in files], [name for name, _ in files]
