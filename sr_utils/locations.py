"""Where datasets are looked for: a local folder (``$SR_DATA_DIR``), then the Keras cache.

Every loader (``data``, ``photo_sets``) uses these, and reports what it tried in one format
(``not_found``) when nothing works.
"""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "SR_DATA_DIR"


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


def not_found(name: str, tried: list[str], fix: str) -> FileNotFoundError:
    """The error a loader raises when no source worked: what it tried, in order, and the fix."""
    lines = "\n".join(f"  - {t}" for t in tried)
    return FileNotFoundError(f"{name} could not be loaded. Tried, in order:\n{lines}\nTo fix: {fix}")


def find_local_file(filename: str, data_dir, what: str) -> Path:
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
