"""A streaming patch pipeline for training on photos of any number and size (a folder of your own
photos, DIV2K): image files are read from disk as they are needed, never all held in memory.

``photo_patch_dataset`` is an endless, seeded ``tf.data`` stream of (LR, HR) patch batches. Each
*visit* of a photo (in a new random order every pass over the files):

1. reads the file (``image_files.read_image``: upright, RGB, 8 bits), or takes it from a bounded
   uint8 cache (``cache_mb``; least recently used photos are dropped first), or from a folder of
   ``.npy`` files that the first pass filled (``disk_cache``: no decoding from the second pass on);
2. degrades the whole photo once (a ``degradation.Degradation``, or a ``DegradationMix`` that
   draws a new degradation for every visit), so every LR pixel is what that degradation gives
   inside a whole image: no patch borders, JPEG blocks on the photo's own grid;
3. cuts aligned random patches from it, as many as the photo has patch areas (``coverage``
   times that: every pixel of every photo is equally likely to be seen), each flipped/rotated
   at random (``augment``).

Visits run in parallel (``parallel``); the patches of ``pool`` consecutive visits are shuffled
together and batched, so a batch holds patches of many photos, each with its own degradation. The stream depends only
on the seed, not on timing. Memory is bounded by the cache, plus about ``pool + parallel`` visits'
patches and ``parallel`` photos being degraded (each visit thread keeps OpenCV's filter output for
the next photo: 33 MB for a DIV2K photo); freed memory is kept for reuse (``reuse_memory``).

``python -m sr_utils.streaming`` measures it: patches/s and peak memory on a synthetic folder of
800 DIV2K-sized photos, next to the rate a training step consumes them.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import sys
import tempfile
import threading
import time
import warnings
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from .degradation import Degradation, DegradationMix
from .files import atomic_write, check_writable_folder
from .image_files import read_image
from .images import check_int, symmetry

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def image_files(folder: str | os.PathLike) -> list[Path]:
    """The image files (``IMAGE_SUFFIXES``, any case) in ``folder`` and its subfolders, sorted by path.

    Raises:
        FileNotFoundError: no such folder.
        ValueError: a file, not a folder, or a folder without image files.
    """
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(f"{folder} does not exist; pass a folder of photos (PNG or JPEG).")
    if not folder.is_dir():
        raise ValueError(f"{folder} is a file; pass the folder that holds the photos.")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"{folder} holds no image files ({', '.join(IMAGE_SUFFIXES)}); put the photos to train on in it.")
    return files


def _some(items: list[str], n: int = 5) -> str:
    return "; ".join(items[:n]) + (f"; and {len(items) - n} more" if len(items) > n else "")


def check_photos(files, min_side: int) -> list[tuple[int, int]]:
    """Each file's ``(height, width)``, read from its header only (fast, even for DIV2K).

    Raises:
        ValueError: no files, files that are not readable images, or photos with a side under
            ``min_side`` pixels (smaller than a training patch): the message names them.
    """
    files = [Path(f) for f in files]
    if not files:
        raise ValueError("no photos to train on: the list of files is empty.")
    sizes, unreadable, small = [], [], []
    for f in files:
        try:
            with Image.open(f) as im:
                w, h = im.size
                if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # stored on its side, shown upright
                    w, h = h, w
        except (OSError, UnidentifiedImageError) as e:
            unreadable.append(f"{f} ({type(e).__name__})")
            continue
        sizes.append((h, w))
        if min(h, w) < min_side:
            small.append(f"{f} ({w}x{h})")
    if unreadable:
        raise ValueError(f"{len(unreadable)} of {len(files)} files are not readable images: {_some(unreadable)}. "
                         "Remove or replace them.")
    if small:
        raise ValueError(f"{len(small)} of {len(files)} photos are smaller than a training patch ({min_side}x{min_side} "
                         f"pixels): {_some(small)}. Remove them, or use a smaller patch (lr_patch).")
    return sizes


def large_enough(files, min_side: int) -> tuple[list[Path], list[tuple[int, int]], list[Path]]:
    """The files of photos at least ``min_side`` pixels a side (one HR training patch), for a
    collection that holds a few smaller ones (T91 has photos of 78 px a side): ``(kept, sizes,
    left_out)``, where ``sizes`` are the kept photos' ``(height, width)`` (``check_photos``, for
    ``photo_patch_dataset(..., sizes=sizes)``) and ``left_out`` the others, in the given order.

    Raises:
        ValueError: no files, files that are not readable images, or no photo of ``min_side``.
    """
    files = [Path(f) for f in files]
    sizes = check_photos(files, 1)
    large = [min(hw) >= min_side for hw in sizes]
    if not any(large):
        raise ValueError(f"none of the {len(files)} photos is {min_side}x{min_side} pixels or larger (one training patch); "
                         "use a smaller patch (lr_patch) or larger photos.")
    return ([f for f, ok in zip(files, large) if ok], [hw for hw, ok in zip(sizes, large) if ok],
            [f for f, ok in zip(files, large) if not ok])


def _rgb8(pixels: np.ndarray) -> np.ndarray:
    """``read_image``'s pixels as ``(H, W, 3)`` uint8: gray repeated, alpha dropped, 16 bits rounded to 8."""
    if pixels.dtype == np.uint16:
        pixels = ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[-1] in (1, 2):
        pixels = np.repeat(pixels[..., :1], 3, axis=-1)
    return np.ascontiguousarray(pixels[..., :3])


class PhotoCache:
    """A thread-safe least-recently-used cache of decoded photos (any arrays), bounded in bytes.

    ``get(key, load)`` returns the cached value or ``load()``'s, keeping it while the total of
    the cached arrays' ``nbytes`` stays within ``max_bytes`` (0: nothing is kept). Loading runs
    outside the lock, so several threads decode at once.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = int(max_bytes)
        self._items: OrderedDict = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @staticmethod
    def _size(value) -> int:
        return sum(a.nbytes for a in value) if isinstance(value, tuple) else value.nbytes

    @property
    def nbytes(self) -> int:
        return self._bytes

    def get(self, key, load):
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
        value = load()
        size = self._size(value)
        with self._lock:
            if key not in self._items and size <= self.max_bytes:
                self._items[key] = value
                self._bytes += size
                while self._bytes > self.max_bytes:
                    _, old = self._items.popitem(last=False)
                    self._bytes -= self._size(old)
        return value


def _windows(image: np.ndarray, side: int, step: int) -> np.ndarray:
    """Every ``side x side`` window of ``image`` (``(H, W, C)``) whose corner is on a multiple of
    ``step``, as a read-only view ``((H - side) // step + 1, (W - side) // step + 1, side, side, C)``:
    indexing it with corner arrays copies many patches in one call."""
    h, w, c = image.shape
    rows, cols, channels = image.strides
    return np.lib.stride_tricks.as_strided(image, ((h - side) // step + 1, (w - side) // step + 1, side, side, c),
                                           (rows * step, cols * step, rows, cols, channels), writeable=False)


def _cut(lr: np.ndarray, hr: np.ndarray, scale: int, lr_patch: int, n: int, rng: np.random.Generator,
         augment: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """``n`` aligned random patch pairs of an LR photo and its HR photo: ``(n, lr_patch, lr_patch, 3)``
    and ``(n, lr_patch * scale, lr_patch * scale, 3)`` uint8; ``augment``: each pair turned into one
    of the 8 symmetries of a square (``images.symmetry``) at random, the same for LR and HR."""
    lp, hp = lr_patch, lr_patch * scale
    ys, xs = rng.integers(0, lr.shape[0] - lp + 1, n), rng.integers(0, lr.shape[1] - lp + 1, n)
    # LR window (y, x) covers the same area as HR window (y, x) of those whose corners lie on multiples of `scale`
    lr_out, hr_out = _windows(lr, lp, 1)[ys, xs], _windows(hr, hp, scale)[ys, xs]
    if augment:  # each symmetry once, for all the patches that drew it
        turns = rng.integers(0, 8, n)
        for k in range(1, 8):
            chosen = np.flatnonzero(turns == k)
            for out in (lr_out, hr_out):
                patches, turned = out[chosen], np.empty((len(chosen), *out.shape[1:]), np.uint8)
                for c in range(3):  # a channel at a time: 2.5x faster than moving 3-byte pixels
                    turned[..., c] = symmetry(patches[..., c:c + 1], k)[..., 0]
                out[chosen] = turned
    return lr_out, hr_out


class DiskCache:
    """Decoded photos kept as uncompressed ``.npy`` files in a folder, so that later passes over the
    photos (and later runs) skip decoding them; with a fixed degradation without noise, their LR
    images too, so that a visit only reads two files. Memory stays bounded: a file is read when a
    visit needs it (from the operating system's file cache, once it has seen it).

    Each file is named after the photo's path, size and modification time, the scale (photos are
    cropped to a multiple of it) and, for LR images, the degradation (its ``repr``): a changed
    photo or another degradation gets new files, never stale ones. Files are written whole or not
    at all (``files.atomic_write``); one that cannot be read is made again. It takes about
    ``1.25 x`` the photos' pixel bytes at x2 (DIV2K's 800 training photos: about 8.3 GB).
    Delete the folder to free the space.
    """

    VERSION = 1  # part of every file name: bump it when what a file holds changes

    def __init__(self, folder: str | os.PathLike):
        self.folder = check_writable_folder(folder, "the photo cache folder")
        self.hits = self.misses = 0
        self._warned = False

    def _stem(self, path: Path, scale: int) -> str:
        path = Path(path).resolve()
        stat = path.stat()
        digest = hashlib.sha1(f"{self.VERSION}|{path}|{stat.st_size}|{stat.st_mtime_ns}|{scale}".encode()).hexdigest()[:20]
        return f"{path.stem[:40]}-{digest}"

    def path(self, photo: str | os.PathLike, scale: int, degradation: Degradation | None = None) -> Path:
        """The file for ``photo`` cropped for ``scale`` (HR), or for its LR image made by ``degradation``."""
        stem = self._stem(photo, scale)
        if degradation is None:
            return self.folder / f"{stem}.hr.npy"
        return self.folder / f"{stem}.lr-{hashlib.sha1(repr(degradation).encode()).hexdigest()[:12]}.npy"

    def get(self, path: Path, make):
        """The array in ``path``, or ``make()``'s, which is then written there."""
        try:
            value = np.load(path, allow_pickle=False)
            self.hits += 1
            return value
        except (OSError, ValueError, EOFError):  # not there yet, or cut short: make it again
            pass
        self.misses += 1
        value = make()
        try:
            with atomic_write(path) as tmp:
                np.save(tmp, value, allow_pickle=False)
        except OSError as e:  # a full disk costs speed, never the run
            if not self._warned:
                self._warned = True
                warnings.warn(f"cannot write to the photo cache {self.folder} ({e.strerror or e}); photos are decoded "
                              "at every visit. Free some space or name another folder.", stacklevel=2)
        return value


MALLOC_TOP_PAD_MB = 64  # reuse_memory: freed memory glibc keeps at the top of each heap
MALLOC_MMAP_THRESHOLD_MB = 32  # reuse_memory: blocks glibc maps from the system one by one, from this size on
PILLOW_BLOCKS = 8  # reuse_memory: freed image blocks (16 MB each) Pillow keeps
_REUSING = []


def reuse_memory() -> bool:
    """Let the process reuse freed memory rather than give it back to the system and fault in
    fresh pages at the next allocation (settings of the whole process, made once):

    * glibc's ``malloc`` keeps ``MALLOC_TOP_PAD_MB`` at the top of each heap (``mallopt(M_TOP_PAD)``;
      the default is 128 KB), unless the ``MALLOC_TOP_PAD_`` environment variable chooses it, and
      maps blocks from the system one by one only from ``MALLOC_MMAP_THRESHOLD_MB`` on
      (``M_MMAP_THRESHOLD``; setting the pad turns glibc's adaptive threshold off, and this is
      where the adaptive one tops out), unless ``MALLOC_MMAP_THRESHOLD_`` chooses it;
    * Pillow keeps up to ``PILLOW_BLOCKS`` freed image blocks (``Image.core.set_blocks_max``; the
      default is none), unless ``PILLOW_BLOCKS_MAX`` chooses it or it already keeps more.

    The stream decodes a photo into ~10 MB of fresh memory per visit and allocates and frees about
    a megabyte per batch, a thousand batches a second: with the defaults, faulting those pages in
    made the kernel's share of its CPU time 29% instead of 16% (``python -m sr_utils.streaming``,
    the README's table). The memory kept is at
    most ``MALLOC_TOP_PAD_MB`` per heap and ``PILLOW_BLOCKS`` x 16 MB. ``photo_patch_dataset``
    calls this; it returns whether it changed anything (never off glibc for the first setting:
    macOS, Windows, musl).
    """
    if _REUSING:
        return False
    _REUSING.append(True)
    changed = False
    if "PILLOW_BLOCKS_MAX" not in os.environ and Image.core.get_blocks_max() < PILLOW_BLOCKS:
        Image.core.set_blocks_max(PILLOW_BLOCKS)
        changed = True
    if "MALLOC_TOP_PAD_" not in os.environ and platform.libc_ver()[0] == "glibc":
        try:
            import ctypes

            libc = ctypes.CDLL(None)
            changed |= bool(libc.mallopt(-2, MALLOC_TOP_PAD_MB << 20))  # -2: M_TOP_PAD in <malloc.h>
            if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
                libc.mallopt(-3, MALLOC_MMAP_THRESHOLD_MB << 20)  # -3: M_MMAP_THRESHOLD
        except (OSError, AttributeError):
            pass
    return changed


def photo_patch_dataset(files, scale: int, lr_patch: int, batch_size: int, degradation: Degradation | DegradationMix,
                        seed: int = 42, augment: bool = True, coverage: float = 1.0, pool: int = 16,
                        parallel: int | None = None, cache_mb: float = 1024, disk_cache: str | os.PathLike | None = None,
                        sizes: list[tuple[int, int]] | None = None):
    """An endless, seeded ``tf.data`` stream of (LR, HR) patch batches read from photo files (see
    the module docstring for how it works).

    Args:
        files: paths of the photos (PNG, JPEG, ...; ``image_files(folder)`` lists a folder's), each
            at least ``lr_patch * scale`` pixels a side.
        scale: integer factor >= 2.
        lr_patch: LR patch side; HR patches are ``lr_patch * scale``.
        batch_size: patches per batch.
        degradation: a ``Degradation`` (the same for every photo) or a ``DegradationMix`` (a new
            draw for every visit of a photo).
        seed: everything random (order of the photos, degradations drawn, noise, patch positions,
            flips) follows from it: the same seed gives the same stream.
        augment: one of the 8 flips / quarter turns of each patch pair, at random.
        coverage: patches cut per visit, as a multiple of the photo's area in HR patches (at least 1).
        pool: visits whose patches are shuffled together (a round); the patches left over when a
            round's count is not a multiple of ``batch_size`` join the next round.
        parallel: visits prepared at once (default: the CPU count, at most 8).
        cache_mb: decoded photos kept in memory, in MB (uint8; with a fixed degradation without
            noise, their LR versions too). 0 reads every visit from disk.
        disk_cache: a folder where decoded photos (and fixed LR images) are kept as ``.npy`` files
            (``DiskCache``): from the second pass on, a visit reads them instead of decoding and
            degrading. None (the default): no such folder. The stream is the same either way.
        sizes: each file's ``(height, width)`` from ``check_photos(files, lr_patch * scale)``, when
            the caller has already checked them (the headers are then not read again).

    Returns:
        ``tf.data.Dataset`` of ``(lr, hr)``: ``(batch_size, lr_patch, lr_patch, 3)`` and
        ``(batch_size, lr_patch * scale, lr_patch * scale, 3)`` float32 in [0, 1], LR on uint8
        levels. Pass ``steps_per_epoch`` to ``fit``. Its ``cache_stats`` attribute counts the
        memory cache's hits and misses (``disk_stats``: the disk cache's, or None). Python code
        feeds it, so an iterator of it still alive when Python exits can hang the exit: delete
        iterators you make yourself (``fit``'s and ``for`` loops' go by themselves).
    """
    scale, lr_patch = check_int(scale, "scale", 2), check_int(lr_patch, "lr_patch", 1)
    batch_size, pool = check_int(batch_size, "batch_size", 1), check_int(pool, "pool", 1)
    parallel = check_int(parallel, "parallel", 1) if parallel is not None else min(8, os.cpu_count() or 1)
    if not isinstance(degradation, (Degradation, DegradationMix)):
        raise ValueError(f"degradation must be a Degradation or a DegradationMix, got {degradation!r}.")
    if not (np.isfinite(coverage) and coverage > 0) or not (np.isfinite(cache_mb) and cache_mb >= 0):
        raise ValueError(f"coverage must be > 0 and cache_mb >= 0, got {coverage!r} and {cache_mb!r}.")
    files = [Path(f) for f in files]
    hp = lr_patch * scale
    if sizes is None:
        check_photos(files, hp)
    elif len(sizes) != len(files) or min(min(hw) for hw in sizes) < hp:
        raise ValueError(f"sizes must be check_photos(files, {hp})'s result: one (height, width) per file, each side >= {hp}.")
    disk = DiskCache(disk_cache) if disk_cache is not None else None
    reuse_memory()
    visit = _Visits(files, scale, lr_patch, degradation, seed, coverage, augment, PhotoCache(int(cache_mb * 1e6)), disk)

    def as_float(lr, hr):
        return tf.cast(lr, tf.float32) / 255.0, tf.cast(hr, tf.float32) / 255.0

    signature = (tf.TensorSpec((None, batch_size, lr_patch, lr_patch, 3), tf.uint8), tf.TensorSpec((None, batch_size, hp, hp, 3), tf.uint8))
    stream = tf.data.Dataset.from_generator(lambda: _batches(visit, pool, parallel, batch_size, seed), output_signature=signature).unbatch()
    stream = stream.map(as_float, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).prefetch(8)
    stream.cache_stats, stream.disk_stats = visit.cache, disk  # for benchmarks: hits, misses
    return stream


_CHUNK = 64  # batches per call from tf.data into Python (each call first waits for the interpreter lock): 16 MB at most


def _batches(visit, pool: int, parallel: int, batch_size: int, seed: int):
    """The uint8 batches of ``photo_patch_dataset``, a round at a time: rounds of ``pool`` visits
    (prepared ``parallel`` at a time, ahead, in plain Python threads that never call TensorFlow),
    each round's patches shuffled (seeded by the round) and yielded as ``(batches, batch_size, ...)``
    stacks of up to ``_CHUNK`` batches; patches short of a whole batch join the next round."""
    workers = ThreadPoolExecutor(parallel, thread_name_prefix="sr-visit")
    try:
        ahead = deque(workers.submit(visit, i) for i in range(pool + parallel))
        issued = len(ahead)
        left_lr = left_hr = None  # patches of earlier rounds that did not fill a batch
        for round_index in itertools.count():
            parts = [] if left_lr is None else [(left_lr, left_hr)]
            for _ in range(pool):
                parts.append(ahead.popleft().result())
                ahead.append(workers.submit(visit, issued))
                issued += 1
            # patch j of the round is patch local[j] of parts[owner[j]]: gathered from the parts, never
            # copied into one array of the round (hundreds of MB, fresh memory at every round)
            sizes = [len(p[0]) for p in parts]
            owner = np.repeat(np.arange(len(parts)), sizes)
            local = np.arange(len(owner)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
            order = np.random.default_rng([seed, 2, round_index]).permutation(len(owner))
            full = len(order) // batch_size * batch_size
            for start in range(0, full, _CHUNK * batch_size):  # a few large calls: each one waits for Python's lock
                lr, hr = _gather(parts, owner, local, order[start:min(start + _CHUNK * batch_size, full)])
                yield lr.reshape(-1, batch_size, *lr.shape[1:]), hr.reshape(-1, batch_size, *hr.shape[1:])
            left_lr, left_hr = _gather(parts, owner, local, order[full:])
            del parts
    finally:
        workers.shutdown(wait=False, cancel_futures=True)


def _gather(parts, owner: np.ndarray, local: np.ndarray, take: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Patches ``take`` of a round, in that order: ``(lr, hr)`` stacks, patch ``j`` being patch
    ``local[j]`` of ``parts[owner[j]]`` (an ``(lr, hr)`` pair of stacks)."""
    lr = np.empty((len(take), *parts[0][0].shape[1:]), np.uint8)
    hr = np.empty((len(take), *parts[0][1].shape[1:]), np.uint8)
    which = owner[take]
    for q, (part_lr, part_hr) in enumerate(parts):
        at = np.flatnonzero(which == q)
        if len(at):
            rows = local[take[at]]
            lr[at], hr[at] = part_lr[rows], part_hr[rows]
    return lr, hr


class _PhotoSource:
    """Photo ``index`` of ``files``, decoded as uint8 RGB cropped to a multiple of ``scale``
    (``hr``), and its LR image by a fixed ``degradation`` (``lr``), each through the disk cache
    when there is one."""

    def __init__(self, files, scale: int, degradation: Degradation | DegradationMix, disk: DiskCache | None = None):
        self.files, self.scale, self.degradation, self.disk = files, scale, degradation, disk
        # a fixed degradation without noise gives the same LR photo at every visit: keep it too
        self.keep_lr = isinstance(degradation, Degradation) and not degradation.noise_sigma

    def _decode(self, index: int) -> np.ndarray:
        hr = _rgb8(read_image(self.files[index], max_megapixels=None).pixels)
        s = self.scale
        return np.ascontiguousarray(hr[: hr.shape[0] - hr.shape[0] % s, : hr.shape[1] - hr.shape[1] % s])

    def hr(self, index: int) -> np.ndarray:
        """``(H, W, 3)`` uint8, H and W multiples of ``scale``."""
        if self.disk is None:
            return self._decode(index)
        return self.disk.get(self.disk.path(self.files[index], self.scale), lambda: self._decode(index))

    def lr(self, index: int, hr: np.ndarray) -> np.ndarray:
        """``(H / scale, W / scale, 3)`` uint8: ``hr`` (photo ``index``'s) degraded by the fixed degradation."""
        # numpy_only: these threads feed tf.data, and TensorFlow called from them can deadlock it
        def make():
            return self.degradation.lr_uint8(hr, self.scale, numpy_only=True)
        if self.disk is None:
            return make()
        return self.disk.get(self.disk.path(self.files[index], self.scale, self.degradation), make)

    def fill(self, index: int) -> None:
        """Put photo ``index`` (and its LR image, when it is kept) in the disk cache."""
        hr = self.hr(index)
        if self.keep_lr:
            self.lr(index, hr)


def _patches_per_visit(shape: tuple[int, ...], lr_patch: int, scale: int, coverage: float = 1.0) -> int:
    """Patches a visit cuts from an HR photo of ``shape``: ``coverage`` times its area in HR
    patches, rounded up, at least one."""
    return max(1, int(np.ceil(coverage * shape[0] * shape[1] / (lr_patch * scale) ** 2)))


class _Visits:
    """Visit ``i`` of the photos: photo ``order(i // n)[i % n]``, degraded and cut into patches
    with a generator seeded by ``(seed, i)``; returns ``(lr, hr)`` uint8 patch stacks. A photo
    comes from the memory cache, else the disk cache (when there is one), else its file."""

    def __init__(self, files, scale, lr_patch, degradation, seed, coverage, augment, cache: PhotoCache, disk: DiskCache | None = None):
        self.source = _PhotoSource(files, scale, degradation, disk)  # holds files, scale, degradation
        self.lr_patch, self.seed, self.coverage, self.augment, self.cache = lr_patch, seed, coverage, augment, cache
        self._orders: dict[int, np.ndarray] = {}
        self._lock = threading.Lock()

    def photo(self, i: int) -> int:
        n = len(self.source.files)
        epoch = i // n
        with self._lock:
            if epoch not in self._orders:
                self._orders = {e: o for e, o in self._orders.items() if e >= epoch - 1}
                self._orders[epoch] = np.random.default_rng([self.seed, 1, epoch]).permutation(n)
            return int(self._orders[epoch][i % n])

    def __call__(self, i) -> tuple[np.ndarray, np.ndarray]:
        i = int(i)
        rng = np.random.default_rng([self.seed, 0, i])
        index = self.photo(i)
        source = self.source
        if source.keep_lr:
            def load():
                hr = source.hr(index)
                return hr, source.lr(index, hr)
            hr, lr = self.cache.get(index, load)
        else:
            hr = self.cache.get(index, lambda: source.hr(index))
            degradation = source.degradation
            if isinstance(degradation, DegradationMix):
                degradation = degradation.draw(rng, source.scale)
            lr = degradation.lr_uint8(hr, source.scale, rng, numpy_only=True)
        n = _patches_per_visit(hr.shape, self.lr_patch, source.scale, self.coverage)
        return _cut(lr, hr, source.scale, self.lr_patch, n, rng, self.augment)


# --------------------------------------------------------------------------------------
# Benchmark: python -m sr_utils.streaming
# --------------------------------------------------------------------------------------
def write_synthetic_photos(folder: str | os.PathLike, n: int = 800, size: tuple[int, int] = (1356, 2040), seed: int = 0) -> list[Path]:
    """``n`` PNG photos of ``size`` (height, width; DIV2K's typical 2040x1356 by default) in
    ``folder``: smooth colour fields with edges and fine noise (``cost.synthetic_photo``), made
    from a few base images shifted and mirrored so that every file differs, written at zlib level 6
    (the default of Pillow and libpng), ``os.cpu_count()`` at a time. For benchmarks only."""
    from .cost import synthetic_photo

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bases = [synthetic_photo(size[0] + 64, size[1] + 64, seed=seed + b) for b in range(4)]

    def write(i: int) -> Path:
        base = bases[i % 4]
        dy, dx = (i * 7) % 64, (i * 13) % 64
        image = base[dy:dy + size[0], dx:dx + size[1]]
        image = image[:, ::-1] if (i // 4) % 2 else image
        path = folder / f"{i + 1:04d}.png"
        Image.fromarray(np.ascontiguousarray(image)).save(path)
        return path

    with ThreadPoolExecutor(os.cpu_count() or 1) as workers:  # Pillow encodes without holding Python's lock
        return list(workers.map(write, range(n)))


def prepare_disk_cache(files, scale: int, degradation: Degradation | DegradationMix, folder: str | os.PathLike,
                       parallel: int | None = None) -> DiskCache:
    """Fill the disk cache ``folder`` (``DiskCache``) for ``photo_patch_dataset(files, scale, ...,
    degradation, disk_cache=folder)`` ahead of training: every photo decoded (and, for a fixed
    degradation without noise, degraded) once, ``parallel`` at a time. Photos already there are
    skipped. Optional: the stream fills the cache itself during its first pass.

    Returns:
        the ``DiskCache``; its ``misses`` count the photos this call decoded.
    """
    parallel = check_int(parallel, "parallel", 1) if parallel is not None else min(8, os.cpu_count() or 1)
    files = [Path(f) for f in files]
    source = _PhotoSource(files, check_int(scale, "scale", 2), degradation, DiskCache(folder))
    with ThreadPoolExecutor(parallel, thread_name_prefix="sr-cache") as workers:
        list(workers.map(source.fill, range(len(files))))
    return source.disk


def _measure(args) -> None:
    """Child process of the benchmark: stream for ``--seconds`` (after filling the disk cache when
    there is one) and write the result to ``--result`` as JSON."""
    files = image_files(args.folder)
    degradation = DegradationMix() if args.degradation == "mix" else Degradation(args.degradation)
    if args.no_reuse_memory:
        _REUSING.append(False)  # as if reuse_memory had run: photo_patch_dataset then leaves glibc and Pillow as they are
    prepared = None
    if args.disk_cache:
        start = time.perf_counter()
        prepare_disk_cache(files, args.scale, degradation, args.disk_cache)
        prepared = time.perf_counter() - start
    ds = photo_patch_dataset(files, args.scale, args.lr_patch, args.batch_size, degradation, cache_mb=args.cache_mb,
                             coverage=args.coverage, disk_cache=args.disk_cache or None)
    it = iter(ds)

    @tf.function
    def take(iterator, n):  # as Keras' fit takes batches: inside a traced function
        total = tf.constant(0.0)
        for _ in tf.range(n):
            lr, hr = next(iterator)
            total += lr[0, 0, 0, 0] + hr[0, 0, 0, 0]
        return total

    take(it, tf.constant(args.warmup))
    import resource

    n, chunk, start, before = 0, tf.constant(50), time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    while time.perf_counter() - start < args.seconds:
        take(it, chunk)
        n += 50
    seconds, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    user, kernel = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    del it  # now: an iterator left for the interpreter's exit can hang it (its producer needs Python)
    memory, disk = ds.cache_stats, ds.disk_stats
    Path(args.result).write_text(json.dumps({
        "patches_per_s": n * args.batch_size / seconds, "seconds": seconds, "prepare_seconds": prepared,
        "cpu_seconds": user + kernel, "kernel_share": kernel / max(user + kernel, 1e-9),
        "hits": memory.hits, "reads": memory.misses, "disk_reads": disk.hits if disk else 0, "decoded": (disk.misses if disk else memory.misses)}))


def _training_rate(scale: int, lr_patch: int, batch_size: int, steps: int = 40) -> dict[str, float]:
    """LR patches per second that one training step of each photo model plan consumes on this
    machine (``training.photo_plan``, the better recipe's loss and optimizer, a traced step)."""
    import keras

    from .config import get_profile
    from .training import photo_plan

    rates = {}
    for fast in (False, True):
        arch, recipe = photo_plan(scale, get_profile("full"), fast=fast)
        model = arch.build(scale)
        model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=recipe.loss)
        lr = np.random.default_rng(0).random((batch_size * steps, lr_patch, lr_patch, 3), dtype=np.float32)
        hr = np.random.default_rng(1).random((batch_size * steps, lr_patch * scale, lr_patch * scale, 3), dtype=np.float32)
        model.fit(lr[:batch_size * 2], hr[:batch_size * 2], batch_size=batch_size, epochs=1, verbose=0)  # traces the step
        start = time.perf_counter()
        model.fit(lr, hr, batch_size=batch_size, epochs=1, verbose=0)
        rates[model.name] = batch_size * steps / (time.perf_counter() - start)
    return rates


def visit_costs(files, scale: int, lr_patch: int, degradation: Degradation, n: int = 5) -> dict[str, float]:
    """What one visit of a photo costs, in one thread: the median milliseconds over the first ``n``
    of ``files`` of ``decode`` (read the file), ``degrade`` (the LR image, as the stream makes it),
    ``filter_opencv`` and ``filter_numpy`` (the degradation's resizing filter alone, by OpenCV,
    where it is installed, and by numpy), ``cut`` (its patches, turned); ``patches``: how many a
    visit of the first photo cuts; ``photos``: how many were timed. OpenCV is held to one thread
    while it runs."""
    from .degradation import RESIZERS, _opencv, _separable

    files = [Path(f) for f in files[:check_int(n, "n", 1)]]
    if not files:
        raise ValueError("visit_costs needs at least one photo file.")
    source, rng, cv2 = _PhotoSource(files, scale, degradation), np.random.default_rng(0), _opencv()
    threads = cv2.getNumThreads() if cv2 is not None else None
    times: dict[str, list[float]] = {}

    def timed(key, work):
        start = time.perf_counter()
        value = work()
        times.setdefault(key, []).append((time.perf_counter() - start) * 1e3)
        return value

    try:
        if cv2 is not None:
            cv2.setNumThreads(1)
        for i in range(len(source.files)):
            hr = timed("decode", lambda: source.hr(i))
            lr = timed("degrade", lambda: degradation.lr_uint8(hr, scale, rng, numpy_only=True))
            if cv2 is not None:
                timed("filter_opencv", lambda: _separable(hr[None], scale, RESIZERS[degradation.resizer]))
            timed("filter_numpy", lambda: _separable(hr[None], scale, RESIZERS[degradation.resizer], opencv=False))
            count = _patches_per_visit(hr.shape, lr_patch, scale)
            timed("cut", lambda: _cut(lr, hr, scale, lr_patch, count, rng, augment=True))
            times.setdefault("patches", []).append(count)
    finally:
        if cv2 is not None:
            cv2.setNumThreads(threads)
    costs = {key: float(np.median(values)) for key, values in times.items()}
    costs["patches"], costs["photos"] = times["patches"][0], len(source.files)
    return costs


STREAM_BENCHMARK_START = "<!-- stream-benchmark:start -->"
STREAM_BENCHMARK_END = "<!-- stream-benchmark:end -->"


def idle_share(seconds: float = 3.0) -> float | None:
    """The share of the CPUs' time spent idle over the next ``seconds`` (0-1; from ``/proc/stat``,
    None where there is none): what else was running when a benchmark started."""
    def sample():
        with open("/proc/stat") as f:
            values = [int(v) for v in f.readline().split()[1:]]
        return values[3] + values[4], sum(values)  # idle + iowait, all
    try:
        idle0, total0 = sample()
        time.sleep(seconds)
        idle1, total1 = sample()
    except (OSError, ValueError, IndexError):
        return None
    return (idle1 - idle0) / max(total1 - total0, 1)


def benchmark_table(rows: list[dict], training: dict[str, float], args, images: str, idle: float | None,
                    costs: dict[str, float] | None = None) -> str:
    """The benchmark's results as the README's Markdown block: a row per stream (``rows``: label,
    patches/s, peak RSS in MB, seconds to fill the disk cache or None), the training rates, what
    a visit costs (``costs``: ``visit_costs``, or None for a random mix), and how and where it was
    measured (``idle``: ``idle_share()`` before it started)."""
    header = (f"| stream (x{args.scale}, {args.degradation} degradation, {args.lr_patch}x{args.lr_patch} LR patches, batches of "
              f"{args.batch_size}, memory cache {args.cache_mb:,.0f} MB) | patches/s | peak RSS, MB | the kernel's share of its CPU time |")
    lines = [header, "|---|---|---|---|"]
    lines += [f"| {r['label']} | {r['patches_per_s']:,.0f} | {r['peak_mb']:,.0f} | {r['kernel_share']:.0%} |" for r in rows]
    lines += [f"| a training step of `{name}`, for comparison | {rate:,.0f} | | |" for name, rate in training.items()]
    prepared = [r for r in rows if r.get("prepare_seconds")]
    return ("\n".join(lines) + f"\n\n`python -m sr_utils.streaming` on {images}, {args.seconds:g} s after {args.warmup} warm-up batches, "
            "batches taken inside a traced function as `fit` takes them"
            + "".join(f"; filling the disk cache took {r['prepare_seconds']:.0f} s" for r in prepared)
            + f". Measured on {platform.system()} with {os.cpu_count()} CPU cores (Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__})" + (f"; the CPUs were {idle:.0%} idle just before it started" if idle is not None else "")
            + "." + (f" One visit of a photo, in one thread (median of {costs['photos']} photos): decoding {costs['decode']:.0f} ms, "
                     f"degrading {costs['degrade']:.0f} ms (its filter alone: "
                     + (f"{costs['filter_opencv']:.0f} ms by OpenCV, " if "filter_opencv" in costs else "")
                     + f"{costs['filter_numpy']:.0f} ms by numpy), cutting and turning its {costs['patches']:,} patches "
                     f"{costs['cut']:.0f} ms." if costs else "") + "\n")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m sr_utils.streaming",
        description="Measure the streaming patch pipeline: patches/s and peak memory on a folder of photos "
                    "(by default 800 synthetic DIV2K-sized PNGs made in a temporary folder and deleted after), "
                    "reading every photo from its file (with and without reuse_memory), then from a disk cache, next to the patches/s a training "
                    "step of the photo models consumes here.")
    parser.add_argument("--folder", help="photos to stream (default: make the synthetic folder)")
    parser.add_argument("--images", type=int, default=800, help="synthetic photos to make (default 800)")
    parser.add_argument("--keep-photos", type=Path, help="make the synthetic photos in this folder and keep them for the "
                        "next run (made again only when some are missing)")
    parser.add_argument("--scale", type=int, default=2)
    parser.add_argument("--lr-patch", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--degradation", default="benchmark", help="a resizer of degradation.RESIZERS, or 'mix'")
    parser.add_argument("--cache-mb", type=float, default=1024)
    parser.add_argument("--coverage", type=float, default=1.0, help="patches per visit, in photo areas (default 1)")
    parser.add_argument("--seconds", type=float, default=30, help="measuring time per run (default 30)")
    parser.add_argument("--warmup", type=int, default=200, help="batches before measuring (default 200)")
    parser.add_argument("--no-disk-cache", action="store_true", help="measure only the stream that reads the photo files")
    parser.add_argument("--cost-photos", type=int, default=5, help="photos whose visit is timed step by step (default 5)")
    parser.add_argument("--readme", type=Path, default=None,
                        help=f"also write the results into this README, between {STREAM_BENCHMARK_START} and {STREAM_BENCHMARK_END}")
    parser.add_argument("--result", help=argparse.SUPPRESS)  # set in the child process, which measures
    parser.add_argument("--disk-cache", help=argparse.SUPPRESS)  # the child's disk cache folder
    parser.add_argument("--no-reuse-memory", action="store_true", help=argparse.SUPPRESS)  # the child leaves the allocators alone
    args = parser.parse_args(argv)
    if args.result:
        _measure(args)
        return 0
    from .cost import peak_rss_mb
    from .files import replace_block

    idle = idle_share()  # what else ran: the result is the machine's only when this is near 100%
    with tempfile.TemporaryDirectory(prefix="sr_stream_") as tmp:
        if args.folder is not None:
            folder, images = args.folder, f"the photos of `{Path(args.folder).resolve().name}/`"
        else:
            folder = args.keep_photos or Path(tmp) / "photos"
            images = f"{args.images} synthetic DIV2K-sized photos (2040x1356 PNGs"
            if len(list(Path(folder).glob("*.png"))) != args.images:
                start = time.perf_counter()
                write_synthetic_photos(folder, args.images)
                print(f"made {args.images} synthetic photos of 2040x1356 in {time.perf_counter() - start:.0f} s", flush=True)
            sizes = [p.stat().st_size for p in image_files(folder)]
            images += f" of {np.mean(sizes) / 1e6:.1f} MB on average; DIV2K's 800 training photos average 4.4 MB)"
        runs = [("every visit reads its photo from the file (the default)", None, False),
                ("the same, without `reuse_memory` (glibc's and Pillow's defaults)", None, True)]
        if not args.no_disk_cache:
            runs.append(("`disk_cache` (`--disk-cache`), once filled: a visit reads two `.npy` files", str(Path(tmp) / "disk_cache"), False))
        rows = []
        for label, disk, plain_memory in runs:
            result = Path(tmp) / "result.json"
            child = ["--result", str(result), "--folder", str(folder), "--scale", str(args.scale), "--lr-patch", str(args.lr_patch),
                     "--batch-size", str(args.batch_size), "--degradation", args.degradation, "--cache-mb", str(args.cache_mb),
                     "--coverage", str(args.coverage), "--seconds", str(args.seconds), "--warmup", str(args.warmup), "--disk-cache", disk or ""]
            peak_mb, _, rc = peak_rss_mb("sr_utils.streaming", child + ["--no-reuse-memory"] * plain_memory)
            if rc or not result.is_file():
                print(f"the measuring process failed (exit code {rc})", file=sys.stderr)
                return rc or 1
            r = json.loads(result.read_text())
            result.unlink()
            rows.append({"label": label, "peak_mb": peak_mb, **r})
            print(f"{label}: {r['patches_per_s']:,.0f} patches/s over {r['seconds']:.0f} s; peak RSS {peak_mb:,.0f} MB; "
                  f"{r['cpu_seconds']:.1f} s of CPU time, {r['kernel_share']:.0%} of it in the kernel; "
                  f"memory cache {r['hits']} hits, {r['reads']} misses; {r['disk_reads']} disk-cache reads, {r['decoded']} photos decoded"
                  + (f"; filling the disk cache took {r['prepare_seconds']:.0f} s" if r["prepare_seconds"] else ""), flush=True)
        costs = None
        if args.degradation != "mix":
            costs = visit_costs(image_files(folder), args.scale, args.lr_patch, Degradation(args.degradation), args.cost_photos)
            print("one visit, in one thread (median ms): " + ", ".join(f"{k} {v:.1f}" for k, v in costs.items()), flush=True)
    training = _training_rate(args.scale, args.lr_patch, args.batch_size)
    for name, rate in training.items():
        print(f"a training step of {name} consumes {rate:,.0f} patches/s on this machine")
    table = benchmark_table(rows, training, args, images, idle, costs)
    print(table)
    if args.readme is not None:
        replace_block(args.readme, STREAM_BENCHMARK_START, STREAM_BENCHMARK_END, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
