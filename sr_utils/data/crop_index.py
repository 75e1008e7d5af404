"""natural96's committed crop index: the source photo and corner of every crop, and so the held-out photos.

``assets/natural96_crops.csv`` lists the source photo and top-left corner of each of natural96's
2,523 training and 272 validation 96x96 crops, in order, exactly as ``natural96.npz`` stores them
(``source``/``pos``, ``val_source``/``val_pos``). The 46 photos of the validation crops are the
held-out photos of ``photos.load_sr_images("val")``.
"""

from __future__ import annotations

import csv
import os

import numpy as np

from .locations import ASSETS

NATURAL96_INDEX = ASSETS / "natural96_crops.csv"


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

