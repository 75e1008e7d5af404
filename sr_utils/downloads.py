"""Downloads: one file to a verified place (``fetch``), and safe extraction of tar and zip archives.

Every download streams into a ``.<name>.<random>.part`` file of its own beside its destination,
with a progress bar; only a
complete file (the size the server announced, and the expected size and checksum when given)
is renamed to its final name. A failed, cut-short or corrupt download leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import os
import secrets
import stat
import tarfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

_CHUNK = 1 << 20
OFFLINE_ENV = "SR_OFFLINE"  # "1": no download from the network (the test suite sets it)


def offline() -> bool:
    """Whether downloads are switched off (``$SR_OFFLINE`` is ``1``); loaders then say so."""
    return os.environ.get(OFFLINE_ENV, "") == "1"


def is_loopback(host) -> bool:
    """Whether ``host`` (a name or an address, str or bytes) is this machine: ``localhost`` or a
    loopback address (127.0.0.0/8, ::1). A name such as ``127.example.org`` is not."""
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def is_local(url: str) -> bool:
    """Whether ``url`` is a file or on this machine (loopback), which ``SR_OFFLINE`` allows."""
    return url.startswith("file:") or is_loopback(urllib.parse.urlsplit(url).hostname or "")


def skip_reason(download: bool, *urls: str) -> str | None:
    """Why a loader does not download from ``urls``, as the line it lists among what it tried
    (``"download: skipped (...)"``), or None when it may: not with ``download=False``, nor with
    ``$SR_OFFLINE`` set unless every URL is on this machine."""
    if not download:
        return "download: skipped (download=False)"
    if offline() and not all(is_local(url) for url in urls):
        return f"download: skipped ({OFFLINE_ENV}=1, as under the test suite)"
    return None


def attempt(download: bool, url: str, fetch, tried: list[str], what: str | None = None):
    """Run ``fetch()`` (a download and whatever reads it) unless downloads are off for ``url``
    (``skip_reason``), for a loader that has found no local copy.

    Returns:
        What ``fetch`` returned, or None; then ``tried`` holds why (downloads off, or
        ``"download: <what> failed: <error>"``, ``what`` defaulting to ``url``).
    """
    skipped = skip_reason(download, url)
    if skipped:
        tried.append(skipped)
        return None
    try:
        return fetch()
    except Exception as e:  # network, disk, checksum or archive errors all end here
        tried.append(f"download: {what or url} failed: {type(e).__name__}: {e}")
        return None


def _describe(url: str, error: Exception) -> str:
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code} {error.reason}"
    if isinstance(error, urllib.error.URLError):
        return f"{error.reason}"
    return f"{type(error).__name__}: {error}"


def fetch(url: str, dest: str | os.PathLike, *, size: int | None = None, sha256: str | None = None,
          md5: str | None = None, progress: bool = True, timeout: float = 60) -> Path:
    """Download ``url`` to ``dest``, verified, through a ``.part`` file of this call's own.

    Args:
        url: an http(s):// or file:// URL.
        dest: the final file; its folder is created.
        size: expected bytes, or None.
        sha256, md5: expected hex digests (either or both), or None.
        progress: show a tqdm progress bar.
        timeout: seconds to wait for the server at each read.

    Returns:
        ``dest`` as a Path.

    Raises:
        OSError: the server or the network failed (the message names the URL and the cause), or
            ``$SR_OFFLINE`` is 1 and the URL is not on this machine.
        ValueError: the download was cut short, or has the wrong size or checksum.
        In every case ``dest`` is untouched and no ``.part`` file is left. Two processes fetching
        the same file do not share a ``.part`` file: the last complete one wins.
    """
    from tqdm.auto import tqdm

    if offline() and not is_local(url):
        raise OSError(f"not downloading {url}: downloads are off ({OFFLINE_ENV}=1, as under the test suite).")
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.part")  # this call's own file
    digests = {"sha256": hashlib.sha256(), "md5": hashlib.md5()}
    received = 0
    try:
        try:
            response = urllib.request.urlopen(url, timeout=timeout)
        except (urllib.error.URLError, OSError) as error:
            raise OSError(f"could not download {url}: {_describe(url, error)}. Check the connection "
                          "and try again.") from None
        with response, open(part, "wb") as f:
            announced = _content_length(response)
            with tqdm(total=size or announced, unit="B", unit_scale=True, unit_divisor=1024,
                      desc=dest.name, disable=not progress, leave=False) as bar:
                while chunk := _read(response, url, received, announced):
                    f.write(chunk)
                    for digest in digests.values():
                        digest.update(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
        if announced is not None and received != announced:
            raise ValueError(f"the download of {url} was cut short: {received:,} of {announced:,} bytes; try again.")
        if size is not None and received != size:
            raise ValueError(f"{url} gave {received:,} bytes, expected {size:,}: not the pinned file; "
                             "try again, or report it if it persists.")
        for name, expected in (("sha256", sha256), ("md5", md5)):
            actual = digests[name].hexdigest()
            if expected is not None and actual != expected.lower():
                raise ValueError(f"{url} has {name} {actual}, expected {expected}: the file is corrupt "
                                 "or not the pinned one; try again, or report it if it persists.")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)
    return dest


def _read(response, url: str, received: int, announced: int | None) -> bytes:
    """The next chunk of ``response`` (b"" at its end); network, TLS and protocol errors become
    one OSError naming the URL, and a connection closed early ends the stream (the byte count
    check then reports it) or, with no length announced, a ValueError."""
    try:
        return response.read(_CHUNK)
    except http.client.IncompleteRead:
        if announced is not None:
            return b""  # fewer bytes than announced: reported by the caller as cut short
        raise ValueError(f"the download of {url} was cut short after {received:,} bytes; try again.") from None
    except (OSError, http.client.HTTPException) as error:
        raise OSError(f"the download of {url} broke off after {received:,} bytes "
                      f"({_describe(url, error)}); try again.") from None


def _content_length(response) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[Path]:
    """Extract a tar archive (any compression) or, when its name ends in ``.zip``, a zip archive
    into ``dest``, refusing anything unsafe.

    Only regular files and folders with relative paths inside ``dest`` are accepted: links,
    devices, absolute paths and ``..`` components are refused before anything is written.

    Returns:
        The extracted files (not folders).

    Raises:
        ValueError: an unsafe member (named; nothing extracted), or not a readable archive of its
            kind (what was extracted before the damage is left in ``dest``).
    """
    archive, dest = Path(archive), Path(dest)
    root, kind = dest.resolve(), "zip" if archive.suffix.lower() == ".zip" else "tar"
    try:
        with zipfile.ZipFile(archive) if kind == "zip" else tarfile.open(archive) as opened:
            # (name, is a file, is a plain file or folder); a zip keeps a mode in external_attr (0: none)
            if kind == "zip":
                modes = (0, stat.S_IFREG, stat.S_IFDIR)
                members = [(m.filename, not m.is_dir(), stat.S_IFMT(m.external_attr >> 16) in modes)
                           for m in opened.infolist()]
            else:
                members = [(m.name, m.isfile(), m.isfile() or m.isdir()) for m in opened.getmembers()]
            for name, _, plain in members:
                target = (root / name).resolve()
                if not plain or Path(name).is_absolute() or ".." in Path(name).parts or \
                        (target != root and root not in target.parents):
                    raise ValueError(f"{archive}: refusing to extract the member {name!r} "
                                     "(only plain files and folders inside the target are allowed).")
            dest.mkdir(parents=True, exist_ok=True)
            if kind == "zip":
                opened.extractall(dest)
            elif hasattr(tarfile, "data_filter"):
                opened.extractall(dest, filter="data")
            else:  # pragma: no cover - Python < 3.10.12 / 3.11.4; members were checked above
                opened.extractall(dest)
    except (tarfile.TarError, zipfile.BadZipFile, zlib.error, EOFError) as error:
        raise ValueError(f"{archive} is not a readable {kind} archive ({error}): "
                         "delete it and download again.") from None
    return [dest / name for name, is_file, _ in members if is_file]
