"""Upscale real images of any size with a trained model, in overlapping tiles; and its command line.

Python::

    from sr_utils.upscale import upscale
    big = upscale(image, model="model/natural_x2_rsp64x5.keras")   # same dtype as image

Command line::

    python -m sr_utils.upscale photo.png other.jpg -o upscaled/ --scale 2 [--model PATH] [--tile 256]
    python -m sr_utils.upscale -o upscaled/          # the bundled sample picture, bundled x2 model

Large images are cut into tiles of ``tile`` x ``tile`` LR pixels, each read with a margin of
real neighbouring pixels that covers the model's receptive field, run in batches, and stitched
from their centres only. The result equals running the model on the whole image (up to float
rounding), while memory stays bounded by the tile size and batch size.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import keras
import numpy as np
from keras import layers

from .images import check_int
from .training import repo_root

# scale -> file in model/: the models for real photos (notebook 06: natural-photo patches, benchmark degradation)
DEFAULT_MODELS = {2: "natural_x2_rsp64x5.keras", 3: "natural_x3_rsp56x4.keras"}
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


def default_model_path(scale: int) -> Path:
    """The bundled model for a scale (``model/<file>``); ValueError for a scale without one."""
    if scale not in DEFAULT_MODELS:
        raise ValueError(f"no bundled model for scale {scale!r}; bundled scales: {sorted(DEFAULT_MODELS)}. "
                         "Pass --model PATH for another scale.")
    return repo_root() / "model" / DEFAULT_MODELS[scale]


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


def _model_scale(model: keras.Model) -> int:
    h_in = 16
    out = model.compute_output_shape((1, h_in, h_in, 3))
    if out[1] % h_in:
        raise ValueError(f"the model does not upscale by an integer factor (16 -> {out[1]}).")
    return out[1] // h_in


def _tiles(length: int, tile: int):
    """(start, stop) of consecutive tiles covering ``range(length)``."""
    return [(start, min(start + tile, length)) for start in range(0, length, tile)]


def _run_tiled(model, x: np.ndarray, scale: int, tile: int, margin: int, batch_size: int) -> np.ndarray:
    """Run ``model`` on one RGB image ``(h, w, 3)`` float32 in tiles; returns ``(h*s, w*s, 3)``."""
    h, w = x.shape[:2]
    out = np.empty((h * scale, w * scale, 3), np.float32)
    jobs = []  # (padded input tile, where its centre goes, where the centre sits inside the tile)
    for y0, y1 in _tiles(h, tile):
        for x0, x1 in _tiles(w, tile):
            py0, py1, px0, px1 = max(y0 - margin, 0), min(y1 + margin, h), max(x0 - margin, 0), min(x1 + margin, w)
            jobs.append((x[py0:py1, px0:px1], (y0, y1, x0, x1), (y0 - py0, x0 - px0)))
    # tiles of equal shape are batched together
    by_shape: dict[tuple, list] = {}
    for job in jobs:
        by_shape.setdefault(job[0].shape, []).append(job)
    for group in by_shape.values():
        for start in range(0, len(group), batch_size):
            part = group[start:start + batch_size]
            pred = np.asarray(model(np.stack([j[0] for j in part]), training=False), dtype=np.float32)
            for p, (_, (y0, y1, x0, x1), (oy, ox)) in zip(pred, part):
                out[y0 * scale:y1 * scale, x0 * scale:x1 * scale] = p[oy * scale:(oy + y1 - y0) * scale,
                                                                      ox * scale:(ox + x1 - x0) * scale]
    return out


def upscale(image, model=None, scale: int | None = None, tile: int = 256, batch_size: int = 4) -> np.ndarray:
    """Upscale one image of any size with a trained SR model.

    Args:
        image: ``(H, W, 3)`` RGB, ``(H, W, 4)`` RGBA, or ``(H, W)`` / ``(H, W, 1)`` grayscale; uint8
            in [0, 255] or float in [0, 1].
        model: a Keras model, a path to a ``.keras`` file, or None for the bundled model of ``scale``.
        scale: the upscaling factor; taken from the model when None, and checked against it otherwise.
        tile: tile side in input pixels (>= 8); smaller tiles use less memory.
        batch_size: tiles per model call.

    Returns:
        The upscaled image, ``(H * scale, W * scale[, C])`` with the input's channels and dtype:
        uint8 is rounded, float is clipped to [0, 1]. RGB goes through the model; grayscale is
        repeated to RGB, upscaled, and converted back with the mean of the channels; an alpha
        channel is upscaled with bicubic interpolation.

    Raises:
        ValueError: unsupported shape, dtype, range, scale, tile or an image too small.
    """
    from .degradation import interpolate
    from .images import to_float

    arr = np.asarray(image)
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[-1] not in (1, 3, 4):
        raise ValueError(f"image must be (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got shape {np.shape(image)}.")
    tile = check_int(tile, "tile", 8)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    if model is None:
        if scale is None:
            raise ValueError("pass a model or a scale (to use the bundled model of that scale).")
        model = default_model_path(scale)
    if not isinstance(model, keras.Model):
        path = Path(model)
        if not path.is_file():
            raise FileNotFoundError(f"model file {str(path)!r} does not exist.")
        model = keras.models.load_model(path)
    model = fully_convolutional(model)
    model_scale = _model_scale(model)
    if scale is not None and scale != model_scale:
        raise ValueError(f"scale {scale} does not match the model, which upscales x{model_scale}.")
    scale = model_scale
    margin = receptive_margin(model)
    h, w, channels = arr.shape
    if min(h, w) < 4:
        raise ValueError(f"the image is {h}x{w} pixels; at least 4x4 is needed.")

    x = to_float(arr[None], "image", channels=channels)[0]
    rgb = np.repeat(x, 3, axis=-1) if channels == 1 else x[..., :3]
    sr = np.clip(_run_tiled(model, rgb, scale, tile, margin, batch_size), 0.0, 1.0)
    if channels == 1:
        sr = sr.mean(axis=-1, keepdims=True)
    elif channels == 4:
        alpha = np.repeat(x[..., 3:], 3, axis=-1)[None]
        sr = np.concatenate([sr, interpolate(alpha, scale, "bicubic")[0, ..., :1]], axis=-1)
    if np.asarray(image).ndim == 2:
        sr = sr[..., 0]
    if arr.dtype == np.uint8:
        return np.round(sr * 255.0).astype(np.uint8)
    return sr.astype(arr.dtype)


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------
def _read_image(path: Path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            if im.mode not in ("L", "RGB", "RGBA"):
                im = im.convert("RGBA" if "A" in im.getbands() else "RGB")
            return np.asarray(im)
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read {path} as an image: {e}") from e


def _write_image(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    Image.fromarray(array).save(tmp)
    os.replace(tmp, path)


def main(argv=None) -> int:
    from tqdm.auto import tqdm

    parser = argparse.ArgumentParser(prog="python -m sr_utils.upscale", description="Upscale images with a trained SR model.")
    parser.add_argument("inputs", nargs="*", type=Path,
                        help="image files (PNG, JPEG, BMP, ...); default: the bundled sample picture")
    parser.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for the upscaled images (PNG)")
    parser.add_argument("--scale", type=int, default=2, help=f"upscaling factor (bundled models: {sorted(DEFAULT_MODELS)})")
    parser.add_argument("--model", type=Path, default=None, help="a .keras model (default: the bundled one for --scale)")
    parser.add_argument("--tile", type=int, default=256, help="tile side in input pixels (default 256)")
    args = parser.parse_args(argv)
    args.inputs = args.inputs or [SAMPLE_IMAGE]

    try:
        model_path = args.model or default_model_path(args.scale)
        if not model_path.is_file():
            raise FileNotFoundError(f"model file {str(model_path)!r} does not exist.")
        model = fully_convolutional(keras.models.load_model(model_path))  # once, not once per image
        model_scale = _model_scale(model)
        if model_scale != args.scale:
            raise ValueError(f"--scale {args.scale} does not match {model_path}, which upscales x{model_scale}.")
        outputs = [args.out_dir / f"{p.stem}_x{args.scale}.png" for p in args.inputs]
        inputs = {p.resolve(): p for p in args.inputs}
        for dst in outputs:
            if dst.resolve() in inputs:
                raise ValueError(f"refusing to overwrite the input {inputs[dst.resolve()]}; choose another --out-dir.")
        for src in args.inputs:
            if not src.is_file():
                raise FileNotFoundError(f"input {src} does not exist.")
    except (ValueError, FileNotFoundError) as e:
        parser.exit(2, f"error: {e}\n")

    failures = 0
    for src, dst in tqdm(list(zip(args.inputs, outputs)), desc="upscaling", unit="image"):
        try:
            _write_image(upscale(_read_image(src), model, args.scale, tile=args.tile), dst)
        except ValueError as e:
            failures += 1
            print(f"error: {src}: {e}", file=sys.stderr)
    print(f"{len(outputs) - failures} of {len(outputs)} images written to {args.out_dir}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
