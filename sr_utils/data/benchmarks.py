"""The benchmark test sets Set5 and Set14 (HR PNGs only): pinned source, md5s, download, lookup and loading.

Both sets come byte for byte from one public copy pinned by commit (``BENCHMARK_URL``, files
``datasets/<set>/HR/<name>.png``) and are checked against ``BENCHMARK_MD5``. A set is looked for as
the folder ``benchmarks/<set>/`` in ``$SR_DATA_DIR`` (or ``data_dir``), then in the Keras cache,
then downloaded there; a folder counts only when it holds every file of the set, and a file with
another md5 is refused.
They are test sets only: never used for training, validation or checkpoint choice. No LR files:
make LR with ``sr_utils.degradation``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .. import downloads
from .locations import DATA_DIR_ENV, cache_folder, find_local_folder, not_found
from .photos import GITHUB, read_photo

# zhaohengyuan1/PAN at a pinned commit; a file is <BENCHMARK_URL>/datasets/<set>/HR/<name>.png
BENCHMARK_URL = f"{GITHUB}/zhaohengyuan1/PAN/4d045d18592c5771cd3990da88f292812774e538"
BENCHMARK_MD5 = {  # set -> file -> md5, in file-name order
    "Set5": {
        "baby.png": "dec47866f2c30d66bf204c2034f8bb59",
        "bird.png": "ad7f49ad2962fbaed7b1f06a2447cb49",
        "butterfly.png": "eea55d8ed8a11b75e80b49bb8481918a",
        "head.png": "f640f821d8bdea8a0d90df8f605f272c",
        "woman.png": "8ad1b8ff8faa14ec27f278da1c763386",
    },
    "Set14": {
        "baboon.png": "2967e8e6d2e46fabcafc4336a10b6b6f",
        "barbara.png": "85d1c4e9725fd8cddd8ee75672eab5dc",
        "bridge.png": "c59f5451b31b9af56756f839f0e62352",  # single-channel (mode L)
        "coastguard.png": "830eb0ff1c7a4a90ef00873b016f650b",
        "comic.png": "4e8b5efe6128c628ff07da2ef4e4673e",
        "face.png": "e1a76a2b76e98a2ab170f33d73789f0e",
        "flowers.png": "92d9678aeea377ce4411182c5afeae01",
        "foreman.png": "c2bce0d419237cf5577c0b5782ccf572",
        "lenna.png": "c999e6792c68c740c0de35670c85bd90",
        "man.png": "b91abb23d0746460dba3abcb4a72380b",
        "monarch.png": "d7c5a965d8bfa11a8336cbd21415d08f",
        "pepper.png": "811afbf8214e602dbcc1576e53ec949d",
        "ppt3.png": "150c8530e6a502c0a42e8d9d75396f41",
        "zebra.png": "89a597aafe5cf1c1ed9e706b5affb246",
    },
}


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def check_md5(path: Path, md5: str) -> None:
    """Check a local copy against its pinned md5.

    Raises:
        ValueError: the file has another md5 (a corrupt copy or another version), naming the fix.
    """
    actual = _md5(path)
    if actual != md5:
        raise ValueError(f"{path} has md5 {actual}, expected {md5}: a corrupt copy or another version. "
                         "Delete it (it is then downloaded again) or replace it with the pinned file.")


def _benchmark_files(name: str) -> dict[str, str]:
    """The files of the set ``name`` and their md5s; ValueError for an unknown set."""
    if name not in BENCHMARK_MD5:
        raise ValueError(f"unknown benchmark {name!r}: the known sets are {list(BENCHMARK_MD5)}.")
    return BENCHMARK_MD5[name]


def _missing(folder: Path, name: str) -> str | None:
    """Why ``folder`` is not a copy of the set ``name`` (no such folder, or a file missing), or
    None when it holds every file, each checked (``check_md5`` raises for a mismatching one)."""
    if not folder.is_dir():
        return f"{folder} is not a folder"
    files = _benchmark_files(name)
    lacking = [file for file in files if not (folder / file).is_file()]
    if lacking:
        return f"{folder} lacks {', '.join(lacking)}"
    for file, md5 in files.items():
        check_md5(folder / file, md5)
    return None


def _kept(path: Path, md5: str) -> bool:
    """Whether an earlier, interrupted run left a checked copy at ``path``."""
    return path.is_file() and _md5(path) == md5


def download_benchmark(name: str, cache_dir: str | os.PathLike | None = None, *, base_url: str | None = None,
                       progress: bool = True) -> Path:
    """Download the HR PNGs of the set ``name`` into ``<cache_dir>/benchmarks/<name>/`` (default:
    the Keras cache).

    Each file is fetched from ``<base_url>/datasets/<name>/HR/<file>`` (default ``BENCHMARK_URL``)
    into ``benchmarks/<name>.part/`` and checked against ``BENCHMARK_MD5``; only when every file is
    there is the folder renamed to ``<name>/``. An interrupted run keeps the files already
    checked, and the next run fetches only the rest.

    Returns:
        ``<cache_dir>/benchmarks/<name>``.

    Raises:
        ValueError: an unknown set; a file cut short or with another md5 (it is not kept); or a
            ``<name>/`` folder already there that is not a complete, checked copy.
        OSError: a file could not be downloaded (the message names its URL).
    """
    from tqdm.auto import tqdm

    files = _benchmark_files(name)
    cache = cache_folder(cache_dir) / "benchmarks"
    final, part = cache / name, cache / f"{name}.part"
    if final.exists():
        lacking = _missing(final, name)
        if lacking:
            raise ValueError(f"{lacking}: not a complete copy of {name}; delete it and download again.")
        return final
    base = (BENCHMARK_URL if base_url is None else base_url).rstrip("/")
    for file, md5 in tqdm(files.items(), desc=name, unit="image", disable=not progress):
        if not _kept(part / file, md5):
            downloads.fetch(f"{base}/datasets/{name}/HR/{file}", part / file, md5=md5, progress=False)
    for leftover in [f for f in part.iterdir() if f.name not in files]:
        leftover.unlink()  # temporary files of a run that was killed
    os.replace(part, final)
    return final


def find_benchmark(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> Path:
    """The folder of the set ``name`` (``"Set5"``, ``"Set14"``): ``benchmarks/<name>/`` in
    ``data_dir`` / ``$SR_DATA_DIR``, else in the Keras cache, else downloaded there
    (``download_benchmark``) unless ``download=False``. A folder counts only when it holds every
    file of the set; each is checked against ``BENCHMARK_MD5``.

    Raises:
        ValueError: an unknown set, or a file of a local copy with another md5 (named, with the fix).
        FileNotFoundError: none of these worked; the message lists what was tried (a missing file
            by name) and the fix.
    """
    _benchmark_files(name)
    found, tried, cache = find_local_folder(Path("benchmarks") / name, lambda folder: _missing(folder, name), data_dir)
    path = found or downloads.attempt(download, BENCHMARK_URL, lambda: download_benchmark(name), tried, f"{name} from {BENCHMARK_URL}")
    if path is not None:
        return path
    raise not_found(f"{name} (benchmark HR images)", tried,
                    f"run once with internet access (the PNGs go to {cache}), or put "
                    f"benchmarks/{name}/ with its {len(BENCHMARK_MD5[name])} PNGs in a folder and set "
                    f"{DATA_DIR_ENV} to it (see data/README.md).")


def load_benchmark(name: str, data_dir: str | os.PathLike | None = None, download: bool = True) -> dict[str, np.ndarray]:
    """The HR images of the set ``name`` (``"Set5"``, ``"Set14"``), found by ``find_benchmark``.

    Returns:
        image name (``"baby"``) -> ``(H, W, 3)`` uint8 RGB in [0, 255], in file-name order; a
        single-channel image (Set14's ``bridge``) has three equal channels.
    """
    folder = find_benchmark(name, data_dir, download)
    return {Path(file).stem: read_photo(folder / file) for file in BENCHMARK_MD5[name]}
