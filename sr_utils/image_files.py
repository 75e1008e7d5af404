"""Image files in and out: one reader (orientation, colour modes, bit depth, ICC profile, a pixel limit) and a safe PNG writer.

``read_image`` turns whatever a user has (a path or a PIL image; PNG, JPEG, BMP, GIF, TIFF,
WebP, ...) into an array this project can upscale, the way an image viewer would show it:

* the EXIF orientation is applied, so the array is upright;
* palette images become RGB, or RGBA when they have transparency; CMYK becomes RGB (through
  the embedded ICC profile when there is one); 1-bit becomes grayscale; grayscale and gray +
  alpha stay as they are;
* 16-bit PNGs keep their 16 bits (``uint16``), grayscale or colour;
* animated or multi-frame files, 32-bit float images and images over a pixel limit are refused
  with a message that says what to do.

``write_png`` writes ``uint8`` or ``uint16`` arrays as PNG (keeping an ICC profile) through
``files.atomic_write``: an interrupted write leaves nothing behind.
"""

from __future__ import annotations

import io
import os
import struct
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tensorflow as tf
from PIL import Image, UnidentifiedImageError

from .files import atomic_write

DEFAULT_MAX_MEGAPIXELS = 64.0  # input pixels, in millions: larger files are refused unless the limit is raised
_EXIF_ORIENTATION = 0x0112

# EXIF orientation -> the transform that makes the stored pixels upright (as PIL.ImageOps.exif_transpose)
_UPRIGHT = {
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1),
    6: lambda a: np.rot90(a, -1),
    7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
    8: lambda a: np.rot90(a, 1),
}


@dataclass(frozen=True)
class ImageData:
    """An image as read from a file.

    Attributes:
        pixels: ``(H, W)`` grayscale, ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB or
            ``(H, W, 4)`` RGBA; ``uint8`` in [0, 255] or ``uint16`` in [0, 65535] (16-bit files).
        icc_profile: the embedded ICC colour profile (bytes), or None.
    """

    pixels: np.ndarray
    icc_profile: bytes | None = None


_pillow_limit_lock = threading.Lock()


@contextmanager
def _own_pixel_limit():
    """Pillow's decompression-bomb check off while we open a file: ``read_image`` checks its own
    limit, which the user can raise, before any pixel is decoded."""
    with _pillow_limit_lock:
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            yield
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def read_image(source, *, max_megapixels: float | None = DEFAULT_MAX_MEGAPIXELS) -> ImageData:
    """Read one image file (or a PIL image) as an upright array; see the module docstring.

    Args:
        source: a path (``str`` or ``os.PathLike``) or a ``PIL.Image.Image``.
        max_megapixels: refuse images with more pixels than this many millions (None: no limit).

    Returns:
        ``ImageData``: the pixels (``uint8``, or ``uint16`` for 16-bit files) and the ICC profile.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: a folder, not an image, truncated or damaged, animated or multi-frame, over
            the pixel limit, or a pixel format with no fixed range; the message names the file.
    """
    if isinstance(source, Image.Image):
        with _own_pixel_limit():
            return _decode(source, "the image", max_megapixels, None)
    if not isinstance(source, (str, os.PathLike)):
        raise ValueError(f"source must be a path or a PIL image, got {type(source).__name__}.")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist.")
    if path.is_dir():
        raise ValueError(f"{path} is a folder, not an image file; pass the image files in it (e.g. {path / '*.jpg'}).")
    with _own_pixel_limit():
        try:
            im = Image.open(path)
        except UnidentifiedImageError:
            raise ValueError(f"{path} is not an image file that Pillow can read (PNG, JPEG, BMP, GIF, TIFF, WebP, ...).") from None
        except OSError as e:
            raise ValueError(f"cannot read {path}: {e}") from None
        with im:
            return _decode(im, str(path), max_megapixels, path)


def image_array(image, *, max_megapixels: float | None = DEFAULT_MAX_MEGAPIXELS) -> np.ndarray:
    """``image`` as an array: arrays pass through unchanged; paths and PIL images go through
    ``read_image`` (orientation, modes, bit depth, pixel limit)."""
    if isinstance(image, (str, os.PathLike, Image.Image)):
        return read_image(image, max_megapixels=max_megapixels).pixels
    return np.asarray(image)


def _decode(im: Image.Image, name: str, max_megapixels: float | None, path: Path | None) -> ImageData:
    deep_colour = _is_16bit_colour_png(im)  # before anything that loads the pixels (getexif may)
    width, height = im.size
    if max_megapixels is not None and width * height > max_megapixels * 1e6:
        need = int(np.ceil(width * height / 1e6))
        raise ValueError(
            f"{name} is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), over the limit of "
            f"{max_megapixels:g} megapixels that guards against decompression bombs. If you trust the file, raise "
            f"the limit: --max-megapixels {need} on the command line, max_megapixels={need} in Python.")
    frames = getattr(im, "n_frames", 1)
    if frames > 1:
        raise ValueError(f"{name} holds {frames} frames (an animation or a multi-page file); only single images are "
                         "upscaled. Save the frame you want as a PNG and upscale that.")
    try:
        orientation = im.getexif().get(_EXIF_ORIENTATION, 1)  # PNG: may load the pixels to reach a late eXIf
        icc = im.info.get("icc_profile") or None
        if deep_colour:
            raw = (path or Path(im.filename)).read_bytes()
            pixels = tf.io.decode_png(raw, channels=0, dtype=tf.uint16).numpy()
        else:
            im.load()
            pixels, icc = _pixels(im, icc, name)
    except (OSError, tf.errors.InvalidArgumentError) as e:
        raise ValueError(f"cannot read {name}: {e}. The file is truncated or damaged; use a complete copy.") from None
    if orientation in _UPRIGHT:
        pixels = np.ascontiguousarray(_UPRIGHT[orientation](pixels))
    return ImageData(pixels, icc)


def _is_16bit_colour_png(im: Image.Image) -> bool:
    """Pillow reads 16-bit colour PNGs at 8 bits per channel (16-bit grayscale it keeps, as mode
    ``I;16``); these are decoded with TensorFlow instead, which keeps all 16 bits."""
    if im.format != "PNG" or im.mode.startswith("I") or not getattr(im, "filename", ""):
        return False
    return any(isinstance(tile[3], str) and tile[3].endswith(";16B") for tile in im.tile)


def _pixels(im: Image.Image, icc: bytes | None, name: str) -> tuple[np.ndarray, bytes | None]:
    """The pixels of a loaded PIL image as ``uint8`` or ``uint16``, converted to L, LA, RGB or RGBA."""
    mode = im.mode
    if mode in ("L", "LA", "RGB", "RGBA"):
        pass
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("P", "PA"):  # palette: indices are not gray levels
        im = im.convert("RGBA" if mode == "PA" or "transparency" in im.info else "RGB")
    elif mode in ("La", "RGBa", "RGBX"):  # premultiplied alpha, padding byte
        im = im.convert({"La": "LA", "RGBa": "RGBA", "RGBX": "RGB"}[mode])
    elif mode == "CMYK":
        return _cmyk_to_rgb(im, icc)
    elif mode in ("YCbCr", "LAB", "HSV"):
        return np.asarray(im.convert("RGB")), None  # a profile for the old colour space no longer applies
    elif mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), icc
    elif mode == "I":  # 32-bit integers: 16-bit grayscale in some Pillow versions and formats
        values = np.asarray(im)
        if values.size and (values.min() < 0 or values.max() > 65535):
            raise ValueError(f"{name} has 32-bit integer pixels from {values.min()} to {values.max()}; "
                             "only 8- and 16-bit images are supported. Convert it to a 16-bit PNG first.")
        return values.astype(np.uint16), icc
    elif mode == "F":
        raise ValueError(f"{name} has 32-bit floating-point pixels, which have no fixed range; "
                         "convert it to an 8- or 16-bit image first.")
    else:
        raise ValueError(f"{name} has the pixel format {mode!r}, which is not supported; convert it to RGB first.")
    return np.asarray(im), icc


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> tuple[np.ndarray, bytes | None]:
    """CMYK to RGB: through the embedded CMYK profile to sRGB when there is one, else Pillow's formula."""
    if icc:
        try:
            from PIL import ImageCms

            srgb = ImageCms.createProfile("sRGB")
            rgb = ImageCms.profileToProfile(im, ImageCms.ImageCmsProfile(io.BytesIO(icc)), srgb, outputMode="RGB")
            return np.asarray(rgb), ImageCms.ImageCmsProfile(srgb).tobytes()
        except (ImportError, OSError, ValueError, TypeError):  # no LittleCMS, or an unusable profile
            pass
    return np.asarray(im.convert("RGB")), None


# --------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------
_PNG_COLOUR_TYPE = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type: gray, gray + alpha, RGB, RGBA
_PNG_BAND_ROWS = 64  # rows filtered and compressed at a time: memory stays a few MB whatever the image


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _paeth_filtered(rows: np.ndarray, above: np.ndarray, bpp: int) -> np.ndarray:
    """PNG filter type 4 (Paeth) of scanlines ``rows`` ``(n, L)`` uint8, ``above`` the raw scanline
    over the first one (zeros for the first row of the image); returns ``(n, 1 + L)`` uint8 with
    the filter-type byte first. Encoding needs only raw neighbours, so it vectorizes."""
    raw = rows.astype(np.int16)
    up = np.concatenate([above[None].astype(np.int16), raw[:-1]])
    left = np.zeros_like(raw)
    left[:, bpp:] = raw[:, :-bpp]
    up_left = np.zeros_like(raw)
    up_left[:, bpp:] = up[:, :-bpp]
    pa, pb, pc = np.abs(up - up_left), np.abs(left - up_left), np.abs(left + up - 2 * up_left)
    predictor = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, up_left))
    out = np.empty((len(rows), rows.shape[1] + 1), np.uint8)
    out[:, 0] = 4
    out[:, 1:] = (raw - predictor).astype(np.uint8)  # modulo 256
    return out


def _png_stream(a: np.ndarray, f, icc_profile: bytes | None) -> None:
    """Write ``a`` (``(H, W)`` or ``(H, W, C)``, uint8 or uint16) to the binary file ``f`` as PNG, a
    band of rows at a time (Pillow would first copy an RGB image into 4 bytes per pixel)."""
    height, width = a.shape[:2]
    channels = 1 if a.ndim == 2 else a.shape[2]
    depth = 8 * a.dtype.itemsize
    f.write(b"\x89PNG\r\n\x1a\n")
    f.write(_png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, _PNG_COLOUR_TYPE[channels], 0, 0, 0)))
    if icc_profile:
        f.write(_png_chunk(b"iCCP", b"ICC profile\x00\x00" + zlib.compress(icc_profile)))
    bpp = channels * a.dtype.itemsize
    above = np.zeros(width * bpp, np.uint8)
    compressor = zlib.compressobj(6)
    for y0 in range(0, height, _PNG_BAND_ROWS):
        rows = a[y0:y0 + _PNG_BAND_ROWS].astype(">u2" if depth == 16 else np.uint8).view(np.uint8).reshape(-1, width * bpp)
        data = compressor.compress(_paeth_filtered(rows, above, bpp).tobytes())
        above = rows[-1].copy()
        if data:
            f.write(_png_chunk(b"IDAT", data))
    f.write(_png_chunk(b"IDAT", compressor.flush()))
    f.write(_png_chunk(b"IEND", b""))


def write_png(pixels, path: str | os.PathLike, *, icc_profile: bytes | None = None, overwrite: bool = True) -> Path:
    """Write an image as PNG, atomically (see ``files.atomic_write``), a band of rows at a time:
    memory beyond ``pixels`` stays a few MB however large the image.

    Args:
        pixels: ``(H, W)``, ``(H, W, 1)``, ``(H, W, 2)`` (gray + alpha), ``(H, W, 3)`` or
            ``(H, W, 4)``; ``uint8``, or ``uint16`` (written as a 16-bit PNG).
        path: the file to write (the format is PNG whatever the suffix).
        icc_profile: an ICC profile to embed, or None.
        overwrite: False leaves an existing file alone and raises FileExistsError.

    Returns:
        ``path`` as a Path.
    """
    a = np.asarray(pixels)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.dtype not in (np.uint8, np.uint16) or not (a.ndim == 2 or (a.ndim == 3 and a.shape[-1] in (2, 3, 4))) \
            or 0 in a.shape:
        raise ValueError(f"pixels must be uint8 or uint16 of shape (H, W) or (H, W, 2 | 3 | 4), got {a.dtype} {a.shape}.")
    path = Path(path)
    with atomic_write(path, overwrite=overwrite) as tmp, open(tmp, "wb") as f:
        _png_stream(a, f, icc_profile)
    return path
