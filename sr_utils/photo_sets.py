"""The training photos (T91 + BSDS), natural96 and the STL-10 subset: downloaded, checked, rebuilt.

``sr_train/`` holds 491 whole photos: T91 (91, the SRCNN training set), BSDS300 train (200) and
BSDS500 test (200). ``download_sr_train`` fetches each from a public copy pinned by commit
(``SR_TRAIN_SOURCES``) and checks it against ``assets/sr_train_manifest.csv``: the SHA-256 of the
file for the BSDS JPEGs (kept byte for byte), and of the decoded pixels for T91 (its BMPs are
stored as lossless PNGs).

``natural96`` (2,523 training + 272 validation 96x96 crops of those photos) is rebuilt from
``assets/natural96_crops.csv``, the source photo and top-left corner of every crop, in order,
exactly as ``natural96.npz`` stores them (``source``/``pos``, ``val_source``/``val_pos``). The
46 photos of the validation crops are the held-out photos of ``data.load_sr_images("val")``.

``stl10_subset.npz`` (256 real STL-10 pictures, for evaluation only) is downloaded picture by
picture from its pinned commits and checked against ``assets/stl10_subset_manifest.csv``.

Maintainers regenerate the index files from a complete local copy with
``python -m sr_utils.photo_sets --write-index DATA_DIR``.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import downloads
from .locations import DATA_DIR_ENV, keras_cache_dir, local_data_dir, not_found
from .files import atomic_write

ASSETS = Path(__file__).resolve().parent / "assets"
SR_TRAIN_MANIFEST = ASSETS / "sr_train_manifest.csv"
NATURAL96_INDEX = ASSETS / "natural96_crops.csv"
CROP = 96  # natural96 crops are 96x96


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


def _cache(cache_dir) -> Path:
    return keras_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()


def photo_digest(path: str | os.PathLike, checksum: str) -> str:
    """The digest the manifests hold for a file: SHA-256 of its bytes (``checksum="file"``) or of
    its decoded RGB pixels (``"pixels"``, see ``pixel_sha256``)."""
    if checksum == "file":
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    return pixel_sha256(read_photo(path))


def _fetch_checked(url: str, target: Path, checksum: str, expected: str, what: str) -> None:
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


def _kept(path: Path, checksum: str, expected: str) -> bool:
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


def read_crop_index(path: str | os.PathLike | None = None) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """natural96's crops: ``{"train": (sources, positions), "val": (...)}``, in the file's order
    (default file: ``NATURAL96_INDEX``).

    ``sources`` is ``(N,)`` str (``"T91/t1"``), ``positions`` ``(N, 2)`` int16 ``(y, x)`` of the
    crop's top-left corner in that photo.
    """
    out = {"train": ([], []), "val": ([], [])}
    with open(path or NATURAL96_INDEX, newline="") as f:
        for row in csv.DictReader(f):
            sources, positions = out[row["split"]]
            sources.append(row["source"])
            positions.append((int(row["y"]), int(row["x"])))
    return {split: (np.array(s), np.array(p, dtype=np.int16).reshape(-1, 2)) for split, (s, p) in out.items()}


def held_out_photos(index: str | os.PathLike | None = None) -> set[str]:
    """Names of the 46 photos whose crops form natural96's validation split."""
    return {str(name) for name in read_crop_index(index)["val"][0]}


# --------------------------------------------------------------------------------------
# sr_train/: find, download
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
    cache = _cache(cache_dir)
    final, part = cache / "sr_train", cache / "sr_train.part"
    if final.is_dir():
        return final
    rows = read_manifest(manifest)
    for name, expected in tqdm(rows, desc="sr_train photos", unit="photo", disable=not progress):
        source, stem = _split_name(name, sources)
        target = photo_path(part, name, sources)
        if not _kept(target, source.checksum, expected):
            _fetch_checked(source.url + stem + source.remote_suffix, target, source.checksum, expected, name)
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


# --------------------------------------------------------------------------------------
# natural96: rebuilt from the photos
# --------------------------------------------------------------------------------------
def build_natural96(root: str | os.PathLike, index: str | os.PathLike | None = None) -> dict[str, np.ndarray]:
    """Cut natural96's crops out of the photos in ``root`` (an ``sr_train/`` folder).

    Returns:
        The arrays of ``natural96.npz``: ``x_train`` ``(2523, 96, 96, 3)`` and ``x_val``
        ``(272, 96, 96, 3)`` uint8 in [0, 255], ``source`` / ``val_source`` (str) and ``pos`` /
        ``val_pos`` (``(N, 2)`` int16, ``(y, x)``).

    Raises:
        FileNotFoundError: a photo of the index is missing from ``root``.
        ValueError: a crop lies outside its photo (the photos are not the indexed ones).
    """
    root = Path(root)
    crops, cache = {}, {}
    for split, (sources, positions) in read_crop_index(index).items():
        out = np.empty((len(sources), CROP, CROP, 3), np.uint8)
        for i, (name, (y, x)) in enumerate(zip(sources, positions)):
            name = str(name)
            if name not in cache:
                path = photo_path(root, name)
                if not path.is_file():
                    raise FileNotFoundError(f"{path} is missing: natural96 is cut from the sr_train/ photos; "
                                            "download them again (photo_sets.download_sr_train).")
                cache = {name: read_photo(path)}  # crops of one photo are consecutive in the index
            photo = cache[name]
            if y < 0 or x < 0 or y + CROP > photo.shape[0] or x + CROP > photo.shape[1]:
                raise ValueError(f"the crop at {(int(y), int(x))} lies outside {name} ({photo.shape[1]}x{photo.shape[0]}): "
                                 "these photos are not the ones natural96 was cut from.")
            out[i] = photo[y:y + CROP, x:x + CROP]
        prefix = "" if split == "train" else "val_"
        crops[f"x_{split}"] = out
        crops[f"{prefix}source"] = sources
        crops[f"{prefix}pos"] = positions
    return crops


def rebuild_natural96(data_dir: str | os.PathLike | None = None, download: bool = True,
                      cache_dir: str | os.PathLike | None = None) -> Path:
    """Write ``natural96.npz`` into ``cache_dir`` (default: the Keras cache), cut from the
    ``sr_train/`` photos (found or downloaded by ``find_sr_train``). Returns its path."""
    root = find_sr_train(data_dir, download=download)
    arrays = build_natural96(root)
    path = _cache(cache_dir) / "natural96.npz"
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    return path


# --------------------------------------------------------------------------------------
# The STL-10 subset: 256 real STL-10 pictures published as PNG examples
# --------------------------------------------------------------------------------------
STL10_SUBSET_MANIFEST = ASSETS / "stl10_subset_manifest.csv"
# The repositories the 256 PNGs come from, and the full commit each ``source`` abbreviates.
STL10_SUBSET_COMMITS = {
    "semihyagli/STL10-Labeled": "6f9f01c52c80253cd533b0240e56bac493cf77b5",
    "semihyagli/STL10_Segmentation": "8f852c8e1a1253719fa8f8030c304071639b8c06",
}


def _subset_url(source: str, base: str) -> str:
    """``owner/repo@commit12:path`` -> the raw file's URL under ``base`` (pinned to the full commit)."""
    import urllib.parse

    repo, _, rest = source.partition("@")
    short, _, path = rest.partition(":")
    commit = STL10_SUBSET_COMMITS.get(repo, "")
    if not commit.startswith(short) or not short or not path or ".." in path.split("/"):
        raise ValueError(f"bad STL-10 subset source {source!r}: expected owner/repo@commit:path of "
                         f"{sorted(STL10_SUBSET_COMMITS)}.")
    return f"{base.rstrip('/')}/{repo}/{commit}/{urllib.parse.quote(path)}"


def download_stl10_subset(cache_dir: str | os.PathLike | None = None, *, manifest: str | os.PathLike | None = None,
                          base_url: str = GITHUB, progress: bool = True) -> Path:
    """Download the 256 STL-10 pictures of ``stl10_subset.npz`` and write that file into
    ``cache_dir`` (default: the Keras cache).

    Each PNG is fetched from its pinned commit (``STL10_SUBSET_COMMITS``) and its RGB pixels (the
    alpha channel, 255 everywhere where present, dropped) are checked against the committed
    manifest before they are kept; an interrupted run keeps the checked PNGs in
    ``stl10_subset.part/`` and fetches only the rest next time.

    Returns:
        ``<cache_dir>/stl10_subset.npz``: ``x`` ``(256, 96, 96, 3)`` uint8 in [0, 255] and
        ``source`` ``(256,)`` str (``owner/repo@commit12:path`` of each picture).

    Raises:
        OSError: a picture could not be downloaded. ValueError: one does not match its checksum.
    """
    from tqdm.auto import tqdm

    cache = _cache(cache_dir)
    with open(manifest or STL10_SUBSET_MANIFEST, newline="") as f:
        rows = [(row["source"], row["sha256"]) for row in csv.DictReader(f)]
    part = cache / "stl10_subset.part"
    for i, (source, expected) in enumerate(tqdm(rows, desc="STL-10 subset", unit="picture", disable=not progress)):
        kept = part / f"{i:03d}.png"
        if not _kept(kept, "pixels", expected):
            _fetch_checked(_subset_url(source, base_url), kept, "pixels", expected, source)
    x = np.stack([read_photo(part / f"{i:03d}.png") for i in range(len(rows))])
    path = cache / "stl10_subset.npz"
    with atomic_write(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, x=x, source=np.array([s for s, _ in rows]))
    shutil.rmtree(part)
    return path


# --------------------------------------------------------------------------------------
# Maintenance: the index files, from a complete local copy
# --------------------------------------------------------------------------------------
def _write_csv(path: Path, header: list[str], rows) -> None:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


def write_indexes(data_dir: str | os.PathLike, assets: str | os.PathLike = ASSETS) -> tuple[Path, Path, Path]:
    """Regenerate ``sr_train_manifest.csv``, ``natural96_crops.csv`` and
    ``stl10_subset_manifest.csv`` in ``assets`` from ``data_dir/sr_train/``,
    ``data_dir/natural96.npz`` and ``data_dir/stl10_subset.npz``.

    The three files are written to a temporary folder first and replace the ones in ``assets``
    only when everything was read and the crops rebuild exactly; otherwise ``assets`` is untouched.

    Raises:
        FileNotFoundError: one of the three sources is missing.
        ValueError: the crops cut from the photos differ from ``natural96.npz``.
    """
    data_dir, assets = Path(data_dir), Path(assets)
    root = data_dir / "sr_train"
    needed = [root, data_dir / "natural96.npz", data_dir / "stl10_subset.npz"]
    missing = [str(p) for p in needed if not p.exists()]
    if missing:
        raise FileNotFoundError(f"write_indexes needs {', '.join(missing)}: point it at a complete data folder.")
    names = ("sr_train_manifest.csv", "natural96_crops.csv", "stl10_subset_manifest.csv")
    with tempfile.TemporaryDirectory(dir=assets) as scratch:
        manifest, crops, subset = (Path(scratch) / name for name in names)
        _write_csv(manifest, ["name", "sha256"],
                   [(f"{prefix}/{f.stem}", photo_digest(f, source.checksum))
                    for prefix, source in SR_TRAIN_SOURCES.items()
                    for f in sorted((root / source.folder).glob("*" + source.local_suffix))])
        with np.load(needed[1]) as d:
            natural96 = {key: d[key] for key in d.files}
        _write_csv(crops, ["split", "source", "y", "x"],
                   [(split, str(s), int(p[0]), int(p[1]))
                    for split, src, pos in (("train", "source", "pos"), ("val", "val_source", "val_pos"))
                    for s, p in zip(natural96[src], natural96[pos])])
        with np.load(needed[2]) as pictures:
            _write_csv(subset, ["source", "sha256"],
                       [(str(s), pixel_sha256(x)) for s, x in zip(pictures["source"], pictures["x"])])
        rebuilt = build_natural96(root, crops)
        for key in ("x_train", "x_val"):
            if not np.array_equal(rebuilt[key], natural96[key]):
                raise ValueError(f"the crops rebuilt from {root} differ from {needed[1]} ({key}); nothing was written.")
        for name in names:
            os.replace(Path(scratch) / name, assets / name)
    return tuple(assets / name for name in names)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sr_utils.photo_sets", description=__doc__.splitlines()[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--download", action="store_true", help="download sr_train/ into the Keras cache")
    action.add_argument("--rebuild-natural96", action="store_true",
                        help="write natural96.npz into the Keras cache, cut from sr_train/ (downloaded if needed)")
    action.add_argument("--stl10-subset", action="store_true",
                        help="download the 256 STL-10 pictures into the Keras cache as stl10_subset.npz")
    action.add_argument("--write-index", metavar="DATA_DIR",
                        help="maintainers: regenerate the index files from DATA_DIR/sr_train, DATA_DIR/natural96.npz "
                             "and DATA_DIR/stl10_subset.npz")
    args = parser.parse_args(argv)
    if args.write_index:
        for path in write_indexes(args.write_index):
            print(f"wrote {path.relative_to(ASSETS.parent.parent) if ASSETS.parent.parent in path.parents else path}")
    elif args.download:
        print(f"sr_train: {find_sr_train()}")
    elif args.stl10_subset:
        print(f"STL-10 subset: {download_stl10_subset()}")
    else:
        print(f"natural96: {rebuild_natural96()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
