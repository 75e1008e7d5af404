"""Safe file writes: a fresh temporary file beside the target, moved into place only when complete; and
replacing the marked block of a text file (the README's generated tables) that way."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _fresh_temporary(path: Path) -> Path:
    """Create an empty, new file beside ``path`` (``.<stem>.<random>.tmp<suffix>``) and return it.

    ``O_EXCL`` guarantees the name belongs to no existing file (an input, another run's output,
    another temporary file); the file gets the usual permissions (0666 less the umask). The
    suffix is kept because some writers choose the format from it (Keras requires ``.keras``).
    """
    for _ in range(100):
        tmp = path.with_name(f".{path.stem}.{secrets.token_hex(4)}.tmp{path.suffix}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            return tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"could not create a temporary file beside {path}.")


def _move_without_replacing(tmp: Path, path: Path) -> None:
    """Move ``tmp`` to ``path`` unless ``path`` exists, atomically where the file system has hard links."""
    try:
        os.link(tmp, path)  # fails if path exists, even if it appeared a moment ago
    except FileExistsError:
        raise FileExistsError(f"{path} exists and is not replaced.") from None
    except OSError:  # no hard links on this file system: check, then rename
        if os.path.lexists(path):
            raise FileExistsError(f"{path} exists and is not replaced.") from None
        os.replace(tmp, path)


@contextmanager
def atomic_write(path: str | os.PathLike, *, overwrite: bool = True) -> Iterator[Path]:
    """Write a file so that ``path`` holds either its old content or the complete new one.

    Usage::

        with atomic_write("model/x.keras") as tmp:
            model.save(tmp)

    The block writes to ``tmp``, a new file in the same folder (see ``_fresh_temporary``). When
    the block finishes, ``tmp`` is renamed to ``path``; when it raises (an error, Ctrl-C, or an
    exception raised by a signal handler), ``path`` is untouched. ``tmp`` is removed on every
    exit, so nothing half-written is left behind. The folder is created when missing.

    Args:
        path: the file to write.
        overwrite: False never replaces an existing ``path``: FileExistsError instead.

    Raises:
        FileExistsError: ``overwrite=False`` and ``path`` exists.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _fresh_temporary(path)
    try:
        yield tmp
        if overwrite:
            os.replace(tmp, path)
        else:
            _move_without_replacing(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def check_writable_folder(folder: str | os.PathLike, what: str = "the folder") -> Path:
    """Make sure files can be written in ``folder`` (created when missing), before any work is done.

    Raises:
        ValueError: ``folder`` is a file, cannot be created, or cannot be written to; the message
            names ``what`` and the folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{what} {folder} is a file, not a folder; name a folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _fresh_temporary(folder / "write-check").unlink()
    except OSError as e:
        raise ValueError(f"cannot write to {what} {folder}: {e.strerror or e}; name a folder you can write to.") from None
    return folder


def replace_block(path: str | os.PathLike, start: str, end: str, content: str) -> bool:
    """Replace what stands between the markers ``start`` and ``end`` in the text file ``path``
    with ``content`` (atomically; the markers stay).

    Returns:
        True when the file changed.

    Raises:
        ValueError: the file lacks one of the markers.
    """
    path = Path(path)
    text = path.read_text()
    if start not in text or end not in text:
        raise ValueError(f"{path} has no {start} ... {end} block to fill.")
    head, rest = text.split(start, 1)
    _, tail = rest.split(end, 1)
    new = f"{head}{start}\n{content}{end}{tail}"
    if new != text:
        with atomic_write(path) as tmp:
            tmp.write_text(new)
    return new != text
