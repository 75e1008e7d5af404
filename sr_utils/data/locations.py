"""Where datasets are looked for: a local folder (``$SR_DATA_DIR``), then the Keras cache.

Every loader looks in the same places, in this order, and says which ones it tried when none
works, in one format (``not_found``):

1. a local copy in the folder named by the ``SR_DATA_DIR`` environment variable (or the
   ``data_dir`` argument), e.g. ``SR_DATA_DIR=/path/to/data`` holding ``cifar10.npz``;
2. the standard Keras cache, ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``);
3. the normal download into that cache (skipped with ``download=False``).

``ASSETS`` is the package's folder of committed index files (the photo manifests, natural96's
crop index).
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "SR_DATA_DIR"
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def local_data_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """The folder holding local dataset copies: ``data_dir``, else ``$SR_DATA_DIR``, else None.

    Raises:
        FileNotFoundError: the folder is named but does not exist.
    """
    source = "data_dir argument"
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        source = f"environment variable {DATA_DIR_ENV}"
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(
            f"{source} points to {str(path)!r}, which is not a directory. "
            f"Point it at the folder that holds the dataset files (e.g. cifar10.npz), or unset it."
        )
    return path


def keras_cache_dir() -> Path:
    """The Keras dataset cache: ``$KERAS_HOME/datasets``, default ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(home).expanduser() / "datasets"


def cache_folder(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where a download or a rebuilt file goes: ``cache_dir`` when given, else the Keras cache."""
    return keras_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()


def not_found(name: str, tried: list[str], fix: str) -> FileNotFoundError:
    """The error a loader raises when no source worked: what it tried, in order, and the fix."""
    lines = "\n".join(f"  - {t}" for t in tried)
    return FileNotFoundError(f"{name} could not be loaded. Tried, in order:\n{lines}\nTo fix: {fix}")


def find_local_file(filename: str, data_dir, what: str) -> Path:
    """``filename`` in ``data_dir`` / ``$SR_DATA_DIR``, else in the Keras cache.

    Raises:
        FileNotFoundError: neither holds it (``not_found``, naming ``what``).
    """
    folder = local_data_dir(data_dir)
    tried = [f"{DATA_DIR_ENV} is not set" if folder is None else f"{folder / filename} does not exist"]
    if folder is not None and (folder / filename).is_file():
        return folder / filename
    cached = keras_cache_dir() / filename
    if cached.is_file():
        return cached
    tried.append(f"{cached} does not exist")
    raise not_found(
        what, tried, f"copy {filename} into a folder and set {DATA_DIR_ENV} to it (see data/README.md)."
    )


def find_local_folder(relative: str | os.PathLike, problem, data_dir=None) -> tuple[Path | None, list[str], Path]:
    """The local copy of a dataset folder: ``<data_dir or $SR_DATA_DIR>/<relative>``, else the same
    under the Keras cache, the first that ``problem`` accepts.

    Args:
        relative: the folder inside a data folder (``benchmarks/Set5``, ``DIV2K/DIV2K_train_HR``).
        problem: folder -> why it is not a complete copy, or None when it is one.

    Returns:
        ``(folder or None, tried, cache)``: the copy found, what was tried (for ``not_found``), and
        the cache folder, where a download goes.
    """
    local = local_data_dir(data_dir)
    tried = [f"local copy: {DATA_DIR_ENV} is not set"] if local is None else []
    cache = keras_cache_dir() / relative
    for folder in ([local / relative] if local is not None else []) + [cache]:
        why = problem(folder)
        if why is None:
            return folder, tried, cache
        tried.append(why)
    return None, tried, cache
