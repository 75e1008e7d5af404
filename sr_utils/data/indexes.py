"""Maintenance: the committed index files (manifests, natural96's crop index), from a complete local copy."""

from __future__ import annotations

import csv
import os
import tempfile
from pathlib import Path

import numpy as np

from . import photos
from .locations import ASSETS
from .natural96 import build_natural96


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
                   [(f"{prefix}/{f.stem}", photos.photo_digest(f, source.checksum))
                    for prefix, source in photos.SR_TRAIN_SOURCES.items()
                    for f in sorted((root / source.folder).glob("*" + source.local_suffix))])
        with np.load(needed[1]) as d:
            natural96 = {key: d[key] for key in d.files}
        _write_csv(crops, ["split", "source", "y", "x"],
                   [(split, str(s), int(p[0]), int(p[1]))
                    for split, src, pos in (("train", "source", "pos"), ("val", "val_source", "val_pos"))
                    for s, p in zip(natural96[src], natural96[pos])])
        with np.load(needed[2]) as pictures:
            _write_csv(subset, ["source", "sha256"],
                       [(str(s), photos.pixel_sha256(x)) for s, x in zip(pictures["source"], pictures["x"])])
        rebuilt = build_natural96(root, crops)
        for key in ("x_train", "x_val"):
            if not np.array_equal(rebuilt[key], natural96[key]):
                raise ValueError(f"the crops rebuilt from {root} differ from {needed[1]} ({key}); nothing was written.")
        for name in names:
            os.replace(Path(scratch) / name, assets / name)
    return tuple(assets / name for name in names)
