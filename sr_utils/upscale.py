"""Upscale real images of any size with a trained model, in overlapping tiles; and its command line.

Python::

    from sr_utils.upscale import upscale
    big = upscale("photo.jpg", model="model/robust_x2_rsp64x5.keras")    # a path, a PIL image or an array

Command line (``python -m sr_utils.upscale --help`` says how each kind of image and each output
name is handled)::

    python -m sr_utils.upscale photo.png other.jpg -o upscaled/ --scale 2 [--fast] [--tile 256]
    python -m sr_utils.upscale photo.png -o upscaled/ --model natural_x3_rsp56x4   # a bundled model by name, or a .keras path
    python -m sr_utils.upscale -o upscaled/          # the bundled sample picture, bundled x2 model

Large images are cut into tiles of ``tile`` x ``tile`` LR pixels, each read with a margin of
real neighbouring pixels that covers the model's receptive field, run in batches, and stitched
from their centres only, straight into an output array of the final dtype. The result equals
running the model on the whole image (up to float rounding); beyond the input and the output
themselves, memory is bounded by the tile and batch size.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import threading
import zipfile
from pathlib import Path

import keras
import numpy as np
from keras import layers

from . import registry
from .config import repo_root
from .degradation import interpolate
from .files import check_writable_folder
from .image_files import DEFAULT_MAX_MEGAPIXELS, image_array, read_image, write_png
from .images import check_int, inverse_symmetry, symmetry, to_uint8
from .models import traced

# scale -> file in model/: the registry's command-line defaults (the models for real photos)
DEFAULT_MODELS = {m.scale: m.file for m in registry.MODELS if m.cli_default}
# scale -> file in model/: the models of ``--fast`` (no slower per output pixel than OpenCV's FSRCNN)
FAST_MODELS = {m.scale: m.file for m in registry.MODELS if m.cli_fast}
SAMPLE_IMAGE = Path(__file__).resolve().parent / "assets" / "sample.png"


def draw_sample_image(size: int = 192) -> np.ndarray:
    """The bundled sample picture, drawn by this project (no third-party content): a sky
    gradient, a sun, a striped house with windows, a fence and fine diagonal hatching, i.e.
    smooth areas, hard edges and fine detail. Returns ``(size, size, 3)`` uint8.
    ``SAMPLE_IMAGE`` was written from ``draw_sample_image()``."""
    from PIL import Image, ImageDraw

    t = np.linspace(0, 1, size)[:, None, None]
    sky = (np.array([70, 130, 210]) * (1 - t) + np.array([235, 215, 180]) * t) * np.ones((size, size, 1))
    im = Image.fromarray(np.round(sky).astype(np.uint8))
    d = ImageDraw.Draw(im)
    u = size / 192
    d.ellipse([140 * u, 18 * u, 176 * u, 54 * u], fill=(250, 200, 60), outline=(230, 120, 30), width=max(1, round(2 * u)))
    d.polygon([(30 * u, 95 * u), (85 * u, 55 * u), (140 * u, 95 * u)], fill=(150, 40, 40))
    d.rectangle([40 * u, 95 * u, 130 * u, 160 * u], fill=(225, 220, 200))
    for y in range(int(100 * u), int(160 * u), max(2, round(4 * u))):
        d.line([(40 * u, y), (130 * u, y)], fill=(200, 190, 170))
    for x0 in (52, 98):
        d.rectangle([x0 * u, 108 * u, (x0 + 20) * u, 128 * u], fill=(60, 90, 130), outline=(40, 40, 40))
        d.line([((x0 + 10) * u, 108 * u), ((x0 + 10) * u, 128 * u)], fill=(240, 240, 240))
        d.line([(x0 * u, 118 * u), ((x0 + 20) * u, 118 * u)], fill=(240, 240, 240))
    d.rectangle([76 * u, 132 * u, 94 * u, 160 * u], fill=(110, 70, 40))
    d.rectangle([0, 160 * u, size, size], fill=(70, 140, 60))
    for x in range(0, size, max(3, round(6 * u))):
        d.line([(x, 150 * u), (x, 172 * u)], fill=(245, 245, 235), width=max(1, round(u)))
    for k in range(-size, size, max(3, round(5 * u))):
        d.line([(k, size), (k + 20 * u, size - 20 * u)], fill=(40, 100, 40))
    return np.asarray(im)


SAMPLE_CROP = (slice(200, 350), slice(60, 300))  # of the bundled sample at x2: windows, door and fence


def side_by_side(image: np.ndarray, models: dict, scale: int, tile: int = 64) -> dict[str, np.ndarray]:
    """One LR image upscaled x``scale`` by nearest (the input as it looks), bicubic and each model,
    for figures that compare them.

    Args:
        image: ``(h, w, 3)`` uint8, or float in [0, 1].
        models: name -> Keras model of that scale.

    Returns:
        name -> ``(h * scale, w * scale, 3)`` in ``image``'s dtype; ``"input (nearest)"`` and
        ``"bicubic"`` first.
    """
    bicubic = interpolate(image[None], scale, "bicubic")[0]
    rows = {"input (nearest)": np.repeat(np.repeat(image, scale, 0), scale, 1),
            "bicubic": to_uint8(bicubic) if image.dtype == np.uint8 else bicubic}
    return {**rows, **{name: upscale(image, model, scale=scale, tile=tile) for name, model in models.items()}}


def default_model_path(scale: int, fast: bool = False) -> Path:
    """The bundled model for a scale (``model/<file>``), or its fast model (``fast``); ValueError
    for a scale without one."""
    models = FAST_MODELS if fast else DEFAULT_MODELS
    if scale not in models:
        kind = "fast bundled model" if fast else "bundled model"
        raise ValueError(f"no {kind} for scale {scale!r}; scales with one: {sorted(models)}. "
                         "Pass --model PATH for another scale.")
    return repo_root() / "model" / models[scale]


def model_path(model: str | os.PathLike) -> Path:
    """The file of ``--model``: a path to a ``.keras`` file, or the bare name of a bundled model
    (``registry.MODELS``, e.g. ``natural_x2_rsp64x5``, with or without ``.keras``), which is
    ``model/<name>.keras`` in the repository. An existing file of that name in the working folder
    wins over the bundled model; ``./name`` and ``folder/name`` are always paths.

    Raises:
        FileNotFoundError: neither an existing file nor a bundled model's name; the message lists
            the names.
    """
    path = Path(model)
    if path.is_file():
        return path
    names = [m.name for m in registry.MODELS]
    stem = path.name.removesuffix(".keras")
    if str(model) in (stem, f"{stem}.keras") and stem in names:  # a bare name, not a path
        return repo_root() / "model" / registry.get(stem).file
    hint = (f"; for the bundled model, pass its bare name: --model {stem}" if stem in names else
            f"; pass a .keras file, or the name of a bundled model: {', '.join(names)}")
    raise FileNotFoundError(f"model file {path} does not exist{hint}.")


def fully_convolutional(model: keras.Model) -> keras.Model:
    """The same model accepting inputs of any size.

    Models built for a fixed input size (such as the original 16x16 CIFAR-10 model) are
    rebuilt on an ``(None, None, C)`` input with the same layers' configurations and weights;
    models that already accept any size are returned as they are.
    """
    if all(d is None for d in model.input_shape[1:3]):
        return model
    clone = keras.models.clone_model(model, input_tensors=keras.Input(shape=(None, None, model.input_shape[-1])))
    clone.set_weights(model.get_weights())
    return clone


def receptive_margin(model: keras.Model) -> int:
    """An upper bound, in input pixels, on how far an output pixel's inputs reach: the sum of
    the kernel radii of the model's convolutions (layers at a higher resolution reach less far
    in input pixels, so the sum over-estimates, which is safe)."""
    margin = 0
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.Conv2DTranspose, layers.DepthwiseConv2D)):
            margin += max((k - 1) // 2 * d for k, d in zip(layer.kernel_size, layer.dilation_rate))
    return max(margin, 1)


def check_sr_model(model: keras.Model) -> int:
    """The scale of an SR model, checked: one ``(N, h, w, 3)`` RGB input, one ``(N, h*s, w*s, 3)``
    RGB output, ``s`` an integer >= 1. ValueError naming what is wrong otherwise (for example a
    model with one output channel, which would otherwise be copied into R, G and B)."""
    in_shape = model.input_shape
    if not isinstance(in_shape, tuple) or len(in_shape) != 4 or in_shape[-1] != 3:
        raise ValueError(f"the model's input is {in_shape}; an SR model here takes one batch of RGB images, (N, H, W, 3).")
    try:
        out = model.compute_output_shape((1, 16, 16, 3))
    except Exception:  # some layers cannot infer shapes: run it once
        out = tuple(model(np.zeros((1, 16, 16, 3), np.float32), training=False).shape)
    if not isinstance(out, tuple) or len(out) != 4 or out[-1] != 3:
        raise ValueError(f"for a 16x16 RGB input the model outputs {out}; an SR model here must output one batch "
                         "of RGB images, (N, 16*scale, 16*scale, 3).")
    if out[1] != out[2] or out[1] % 16:
        raise ValueError(f"the model does not upscale by one integer factor (16x16 -> {out[1]}x{out[2]}).")
    return out[1] // 16


def load_sr_model(path: str | os.PathLike) -> tuple[keras.Model, int]:
    """Load a ``.keras`` SR model for upscaling: fully convolutional, checked with ``check_sr_model``.

    Returns:
        ``(model, scale)``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.keras`` file, a file Keras cannot load, or not an RGB-to-RGB upscaler;
            the message names the file.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"model file {path} does not exist.")
    if path.is_dir() or path.suffix != ".keras" or not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not a Keras model file (a .keras zip archive, as written by model.save('name.keras')).")
    try:
        model = keras.models.load_model(path)
    except Exception as e:  # Keras raises many types for a damaged or foreign file
        raise ValueError(f"cannot load the model {path}: {type(e).__name__}: {e}") from None
    model = fully_convolutional(model)
    try:
        return model, check_sr_model(model)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


_predictor = functools.lru_cache(maxsize=4)(traced)  # each tile runs through the model as one graph, traced once per model


def _tiles(length: int, tile: int):
    """(start, stop) of consecutive tiles covering ``range(length)``."""
    return [(start, min(start + tile, length)) for start in range(0, length, tile)]


def _to_unit(pixels: np.ndarray) -> np.ndarray:
    """uint8 / uint16 / float pixels as float32 in [0, 1]."""
    if pixels.dtype == np.uint8:
        return pixels.astype(np.float32) / np.float32(255)
    if pixels.dtype == np.uint16:
        return pixels.astype(np.float32) / np.float32(65535)
    return pixels.astype(np.float32)


def _from_unit(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """float values, clipped to [0, 1], in ``dtype`` (integers rounded, as the field does)."""
    if dtype == np.uint8:
        return to_uint8(values)
    values = np.clip(values, 0.0, 1.0)
    if dtype == np.uint16:
        return np.round(values * 65535).astype(np.uint16)
    return values.astype(dtype)


def _check_image(arr: np.ndarray) -> None:
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[-1] not in (1, 2, 3, 4)):
        raise ValueError("image must be (H, W) or (H, W, C) with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), "
                         f"got shape {arr.shape}.")
    if min(arr.shape[:2]) < 4:
        raise ValueError(f"the image is {arr.shape[0]}x{arr.shape[1]} pixels; at least 4x4 is needed.")
    if arr.dtype in (np.uint8, np.uint16):
        return
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"image must be uint8 in [0, 255], uint16 in [0, 65535] or float in [0, 1], got dtype {arr.dtype}.")
    lo, hi = float(arr.min()), float(arr.max())  # reductions: no copy of the image
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("image contains NaN or infinite values.")
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"a float image must lie in [0, 1], got values in [{lo:.4g}, {hi:.4g}]"
                         + (" (divide 8-bit data by 255)." if hi > 1.0 else "."))


def _predict(model, rgb: np.ndarray, self_ensemble: bool) -> np.ndarray:
    """The model's output for a stack of tiles ``(n, h, w, 3)`` float32 in [0, 1]; ``self_ensemble``:
    the mean of its outputs for the 8 flips / quarter turns of the tiles, each turned back."""
    run = _predictor(model)
    if not self_ensemble:
        return np.asarray(run(rgb), dtype=np.float32)
    total = None
    for k in range(8):
        back = inverse_symmetry(np.asarray(run(np.ascontiguousarray(symmetry(rgb, k))), dtype=np.float32), k)
        total = back if total is None else total + back
    return total / np.float32(8)


def self_ensembled(model: keras.Model):
    """``model`` with x8 self-ensemble, as a function of an LR batch ``(n, h, w, 3)`` float32 in
    [0, 1] returning ``(n, h * s, w * s, 3)`` float32 (unclipped): what ``upscale(...,
    self_ensemble=True)`` runs on each tile, for scoring and timing it beside other methods."""
    return functools.partial(_predict, model, self_ensemble=True)


def _run_tiled(model, arr: np.ndarray, out: np.ndarray, scale: int, tile: int, margin: int, batch_size: int,
               self_ensemble: bool = False) -> None:
    """Upscale ``arr`` (``(h, w[, C])``, checked by ``_check_image``) into the preallocated ``out``
    (``(h*s, w*s[, C])``, same dtype), tile by tile: only tiles are ever converted to float."""
    h, w = arr.shape[:2]
    pixels = arr if arr.ndim == 3 else arr[..., None]
    target = out if out.ndim == 3 else out[..., None]
    colour = 1 if pixels.shape[-1] in (1, 2) else 3  # gray (+ alpha) or RGB (+ alpha)
    has_alpha = pixels.shape[-1] in (2, 4)
    jobs = []  # (input window, where its centre goes in the input, where the centre sits inside the window)
    for y0, y1 in _tiles(h, tile):
        for x0, x1 in _tiles(w, tile):
            py0, py1, px0, px1 = max(y0 - margin, 0), min(y1 + margin, h), max(x0 - margin, 0), min(x1 + margin, w)
            jobs.append(((slice(py0, py1), slice(px0, px1)), (y0, y1, x0, x1), (y0 - py0, x0 - px0)))
    by_shape: dict[tuple, list] = {}  # tiles of equal shape are batched together
    for job in jobs:
        by_shape.setdefault((job[0][0].stop - job[0][0].start, job[0][1].stop - job[0][1].start), []).append(job)
    for group in by_shape.values():
        for start in range(0, len(group), batch_size):
            part = group[start:start + batch_size]
            windows = [_to_unit(pixels[window]) for window, _, _ in part]
            rgb = np.stack([x[..., :3] if colour == 3 else np.repeat(x[..., :1], 3, axis=-1) for x in windows])
            pred = _predict(model, rgb, self_ensemble)
            for p, x, (_, (y0, y1, x0, x1), (oy, ox)) in zip(pred, windows, part):
                centre = (slice(oy * scale, (oy + y1 - y0) * scale), slice(ox * scale, (ox + x1 - x0) * scale))
                result = p[centre] if colour == 3 else p[centre].mean(axis=-1, keepdims=True)
                if has_alpha:  # bicubic, as degradation.interpolate, on the same window
                    alpha = interpolate(np.repeat(x[None, ..., -1:], 3, axis=-1), scale, "bicubic")[0, ..., :1]
                    result = np.concatenate([result, alpha[centre]], axis=-1)
                target[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = _from_unit(result, out.dtype)


def upscale(image, model=None, scale: int | None = None, tile: int = 256, batch_size: int = 1, *,
            max_megapixels: float | None = DEFAULT_MAX_MEGAPIXELS, self_ensemble: bool = False) -> np.ndarray:
    """Upscale one image of any size with a trained SR model.

    Args:
        image: an image file's path, a ``PIL.Image.Image`` (both read with
            ``image_files.read_image``: EXIF orientation, palette, CMYK, 16-bit, ...), or an array:
            ``(H, W)`` / ``(H, W, 1)`` gray, ``(H, W, 2)`` gray + alpha, ``(H, W, 3)`` RGB or
            ``(H, W, 4)`` RGBA; uint8 in [0, 255], uint16 in [0, 65535] or float in [0, 1].
        model: a Keras model, a path to a ``.keras`` file, or None for the bundled model of ``scale``.
        scale: the upscaling factor; taken from the model when None, and checked against it otherwise.
        tile: tile side in input pixels (>= 8); smaller tiles use less memory.
        batch_size: tiles per model call (>= 1). On a CPU, 1 is fastest and uses the least memory.
        max_megapixels: for a path or PIL image, refuse images over this many million pixels
            (None: no limit).
        self_ensemble: run the model on the 8 flips / quarter turns of every tile and average
            its outputs, turned back (the field's "x8 self-ensemble"): 8 times the time, a
            slightly better image for a model that is not already symmetric.

    Returns:
        The upscaled image, ``(H * scale, W * scale[, C])`` with the input's channels and dtype:
        integers are rounded, floats clipped to [0, 1]. RGB goes through the model; gray is
        repeated to RGB, upscaled, and converted back with the mean of the channels; an alpha
        channel is upscaled with bicubic interpolation. Memory: the output, plus the input, plus
        a few tiles in float32.

    Raises:
        FileNotFoundError: a path (image or model) that does not exist.
        ValueError: an unsupported image (shape, dtype, range, size, file), tile, batch size,
            scale, or a model that is not an RGB-to-RGB upscaler.
    """
    arr = image_array(image, max_megapixels=max_megapixels)
    _check_image(arr)
    tile = check_int(tile, "tile", 8)
    batch_size = check_int(batch_size, "batch_size", 1)
    if model is None:
        if scale is None:
            raise ValueError("pass a model or a scale (to use the bundled model of that scale).")
        model = default_model_path(scale)
    if isinstance(model, keras.Model):
        model = fully_convolutional(model)
        model_scale = check_sr_model(model)
    else:
        model, model_scale = load_sr_model(model)
    if scale is not None and scale != model_scale:
        raise ValueError(f"scale {scale} does not match the model, which upscales x{model_scale}.")
    # bicubic (alpha) reaches 2 pixels: a margin of 3 keeps tiled alpha equal to whole-image alpha
    margin = max(receptive_margin(model), 3)
    out = np.empty((arr.shape[0] * model_scale, arr.shape[1] * model_scale, *arr.shape[2:]), arr.dtype)
    _run_tiled(model, arr, out, model_scale, tile, margin, batch_size, self_ensemble=self_ensemble)
    return out


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
_CLI_HELP = """\
outputs:
  Each input becomes <out-dir>/<name>_x<scale>.png (PNG, lossless), e.g. photo.jpg -> photo_x2.png.
  Every output name is worked out before any work: two inputs that would get the same name (the same
  name in two folders, or photo.png and photo.jpg) are refused, as is an output that would replace an
  input. An output that exists already is skipped with a message, unless --overwrite is given. Each
  image is written to a temporary file and renamed when complete, so an interrupted run (Ctrl-C: exit
  130, SIGTERM: exit 143) leaves no partial file behind.

images:
  The EXIF orientation is applied (the output is upright, as a viewer shows the input). Palette images
  become RGB, or RGBA when they have transparency; CMYK becomes RGB; 1-bit becomes grayscale; grayscale
  and gray + alpha stay so. 16-bit PNGs are written as 16-bit PNGs. An alpha channel is upscaled with
  bicubic interpolation. The ICC colour profile is kept. Animated and multi-frame files (GIF, APNG,
  multi-page TIFF) are refused: save the frame you want first. Images over --max-megapixels are refused.

exit status:
  0 every image was written (or skipped because its output exists); 1 some image failed (one line per
  failure, naming the file; the others are still done); 2 bad arguments (nothing was done).
"""


class _Terminated(BaseException):
    """Raised by the SIGTERM handler so that cleanup runs as for Ctrl-C (not caught per image)."""


def _raise_terminated(signum, frame):
    raise _Terminated()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sr_utils.upscale", description="Upscale images with a trained SR model.",
                                     epilog=_CLI_HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("inputs", nargs="*", type=Path,
                        help="image files (PNG, JPEG, BMP, GIF, TIFF, WebP, ...); default: the bundled sample picture")
    parser.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for the upscaled images (made if missing)")
    parser.add_argument("--scale", type=int, default=None,
                        help=f"upscaling factor (bundled models: {sorted(DEFAULT_MODELS)}); default: the --model's own, else 2")
    parser.add_argument("--model", default=None,
                        help="a .keras model file, or a bundled model's name such as natural_x2_rsp64x5 (default: the bundled one for --scale)")
    parser.add_argument("--fast", action="store_true",
                        help="the bundled fast model of --scale (no slower per output pixel than OpenCV's FSRCNN) instead of the default")
    parser.add_argument("--tile", type=int, default=256, help="tile side in input pixels, >= 8 (default 256); smaller uses less memory")
    parser.add_argument("--self-ensemble", action="store_true",
                        help="average the model's outputs for the 8 flips / quarter turns of each tile: 8x the time")
    parser.add_argument("--overwrite", action="store_true", help="replace outputs that exist already (inputs are never replaced)")
    parser.add_argument("--max-megapixels", type=float, default=DEFAULT_MAX_MEGAPIXELS,
                        help=f"refuse inputs with more pixels than this many millions (default {DEFAULT_MAX_MEGAPIXELS:g})")
    return parser


def _plan(inputs: list[Path], out_dir: Path, scale: int) -> list[tuple[Path, Path]]:
    """(input, output) pairs; ValueError for outputs that collide with each other or with an input."""
    unique = list({os.path.abspath(p): p for p in inputs}.values())  # the same file named twice: once
    pairs = [(src, out_dir / f"{src.stem}_x{scale}.png") for src in unique]
    by_name: dict[str, list[Path]] = {}
    for src, dst in pairs:
        by_name.setdefault(dst.name.casefold(), []).append(src)  # casefold: same file on macOS / Windows
    clashes = [srcs for srcs in by_name.values() if len(srcs) > 1]
    if clashes:
        lines = "; ".join(" and ".join(map(str, srcs)) + f" -> {out_dir / f'{srcs[0].stem}_x{scale}.png'}" for srcs in clashes)
        raise ValueError(f"these inputs would be written to the same output: {lines}. "
                         "Upscale them in separate runs with different --out-dir, or rename one.")
    existing = {(s.st_dev, s.st_ino): p for p in unique if p.is_file() for s in [p.stat()]}
    for src, dst in pairs:
        if dst.exists():
            st = dst.stat()
            if (st.st_dev, st.st_ino) in existing:
                raise ValueError(f"refusing to overwrite the input {existing[st.st_dev, st.st_ino]} "
                                 f"(the output of {src}); choose another --out-dir.")
    return pairs


def _failure(src: Path, e: BaseException) -> str:
    if isinstance(e, MemoryError):
        text = "out of memory; try a smaller --tile, or close other programs"
    elif isinstance(e, (ValueError, FileNotFoundError)):
        text = str(e)
    else:
        text = f"{type(e).__name__}: {e}"
    return f"error: {text}" if str(src) in text else f"error: {src}: {text}"


def main(argv=None) -> int:
    """The command line (see ``--help``). Returns the exit status: 0 done, 1 some image failed,
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM); bad arguments exit with 2 (SystemExit)."""
    parser = _parser()
    args = parser.parse_args(argv)
    done = {"written": 0, "skipped": 0, "failed": 0, "total": 0}
    handler = None
    if threading.current_thread() is threading.main_thread():
        handler = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        return _run(parser, args, done)
    except KeyboardInterrupt:
        print(f"interrupted: {done['written']} of {done['total']} images written, no partial file left", file=sys.stderr)
        return 130
    except _Terminated:
        print(f"terminated: {done['written']} of {done['total']} images written, no partial file left", file=sys.stderr)
        return 143
    finally:
        if handler is not None:
            signal.signal(signal.SIGTERM, handler)


def _run(parser: argparse.ArgumentParser, args, done: dict) -> int:
    from tqdm.auto import tqdm

    inputs = args.inputs or [SAMPLE_IMAGE]
    try:
        tile = check_int(args.tile, "--tile", 8)
        if not args.max_megapixels > 0:
            raise ValueError(f"--max-megapixels must be > 0, got {args.max_megapixels:g}.")
        if args.model is not None and args.fast:
            raise ValueError("--fast picks a bundled model and --model names one: pass one of them.")
        path = model_path(args.model) if args.model is not None else default_model_path(args.scale or 2, args.fast)
        model, model_scale = load_sr_model(path)  # once, not once per image
        if args.scale is not None and model_scale != args.scale:
            raise ValueError(f"--scale {args.scale} does not match {path}, which upscales x{model_scale}.")
        pairs = _plan(inputs, args.out_dir, model_scale)
        check_writable_folder(args.out_dir, "the output folder (-o)")  # last: a refused call creates nothing
    except (ValueError, FileNotFoundError) as e:
        parser.exit(2, f"error: {e}\n")

    def skip(src: Path, dst: Path) -> None:
        done["skipped"] += 1
        tqdm.write(f"skipped {src}: {dst} exists (--overwrite replaces it)", file=sys.stderr)

    done["total"] = len(pairs)
    for src, dst in tqdm(pairs, desc="upscaling", unit="image"):
        if not args.overwrite and os.path.lexists(dst):
            skip(src, dst)
            continue
        try:
            picture = read_image(src, max_megapixels=args.max_megapixels)
            big = upscale(picture.pixels, model, model_scale, tile=tile, self_ensemble=args.self_ensemble)
            write_png(big, dst, icc_profile=picture.icc_profile, overwrite=args.overwrite)
            done["written"] += 1
        except FileExistsError:  # appeared while this image was being upscaled
            skip(src, dst)
        except Exception as e:  # one bad file never stops the batch (MemoryError included)
            done["failed"] += 1
            tqdm.write(_failure(src, e), file=sys.stderr)
    summary = f"{done['written']} of {done['total']} images written to {args.out_dir}"
    if done["skipped"]:
        summary += f"; {done['skipped']} skipped (output exists; --overwrite replaces)"
    if done["failed"]:
        summary += f"; {done['failed']} failed (see the errors above)"
    print(summary)
    return 1 if done["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
