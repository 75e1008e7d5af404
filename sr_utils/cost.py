"""Cost of a model: multiply-accumulates per output pixel and measured speed on this machine.

Speed figures depend on the machine, so every timing function reports plain numbers that a
notebook then also divides by the original CIFAR-10 model's figure measured in the same run.

Run ``python -m sr_utils.cost`` for the training-speed comparison with and without
``jit_compile`` (XLA) on the original CIFAR-10 model, and ``python -m sr_utils.cost
--upscale-memory`` for the peak memory of the upscaling command line at 1 to 96 output megapixels.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf
from keras import layers
from PIL import Image

from .degradation import interpolate
from .files import replace_block
from .models import build_cifar10_x2, traced


def _static(shape, layer) -> tuple:
    if any(d is None for d in shape[1:]):
        raise ValueError(f"layer {layer.name} has an unknown spatial size; pass a concrete input_shape.")
    return shape


def count_macs(model: keras.Model, input_shape: tuple[int, int, int] | None = None) -> int:
    """Multiply-accumulates of one forward pass for one image, counted layer by layer.

    Convolutions (``Conv2D``, ``Conv2DTranspose``, ``DepthwiseConv2D``) and ``Dense`` layers are
    counted (kernel taps x input channels x output channels per output position; a transposed
    convolution per input position). Element-wise layers (activations, BatchNorm, additions,
    resizing, depth-to-space) cost well under 1% of these models and are not counted.

    Args:
        model: a Keras model.
        input_shape: ``(H, W, C)`` of one input, needed when the model accepts any size.

    Returns:
        MACs as an int.
    """
    if input_shape is not None:  # rebuild the same layers on a concrete input size
        model = keras.models.clone_model(model, input_tensors=keras.Input(shape=input_shape))
    macs = 0
    for layer in _all_layers(model):
        if isinstance(layer, layers.Conv2DTranspose):
            _, h, w, c_in = _static(layer.input.shape, layer)
            kh, kw = layer.kernel_size
            macs += h * w * kh * kw * c_in * layer.filters
        elif isinstance(layer, layers.DepthwiseConv2D):
            _, h, w, c_out = _static(layer.output.shape, layer)
            kh, kw = layer.kernel_size
            macs += h * w * kh * kw * c_out
        elif isinstance(layer, layers.Conv2D):
            _, h, w, _ = _static(layer.output.shape, layer)
            c_in = layer.input.shape[-1]
            kh, kw = layer.kernel_size
            macs += h * w * kh * kw * (c_in // layer.groups) * layer.filters
        elif isinstance(layer, layers.Dense):
            positions = int(np.prod(_static(layer.output.shape, layer)[1:-1], dtype=np.int64))
            macs += positions * layer.input.shape[-1] * layer.units
    return int(macs)


def _all_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _all_layers(layer)
        else:
            yield layer


def macs_per_output_megapixel(model: keras.Model, input_shape: tuple[int, int, int] | None = None) -> float:
    """MACs per million output pixels: ``count_macs / (H_out * W_out) * 1e6``. A per-pixel cost,
    comparable across scales and image sizes for fully convolutional models."""
    shape = tuple(input_shape or model.input_shape[1:])
    h, w = model.compute_output_shape((1, *shape))[1:3]
    return count_macs(model, input_shape) / (h * w) * 1e6


def inference_throughput(model: keras.Model, input_shape: tuple[int, int, int] | None = None, batch_size: int = 64,
                         batches: int = 10, warmup: int = 2, repeats: int = 3) -> dict:
    """Measured inference speed on random inputs: warm-up calls, then the best of ``repeats`` timings.

    Returns:
        ``{"images_per_s", "ms_per_output_megapixel", "batch_size", "seconds"}``; the best
        (fastest) repeat is reported, as it is the least disturbed by other processes.
    """
    return compare_throughput({"model": (model, input_shape)}, batch_size, batches, warmup, repeats)["model"]


def compare_throughput(entries: dict, batch_size: int = 64, batches: int = 10, warmup: int = 2,
                       repeats: int = 3) -> dict[str, dict]:
    """Measured inference speed of several models, timed in turns so that they share conditions.

    Each round times every model once (``batches`` calls on one random batch), so a slow spell of
    the machine falls on all of them rather than on whichever model ran then; each model's best
    (fastest) round is reported, the one least disturbed by other processes. Ratios of these
    figures are what carry over to another machine.

    Args:
        entries: name -> ``(model, input_shape)``: a Keras model, or any upscaler called on a batch
            ``(batch_size, H, W, C)`` float32 in [0, 1] (an OpenCV peer, an interpolation); ``input_shape``
            is ``(H, W, C)`` of one LR input, or None for the model's own fixed ``input_shape``.
        batch_size, batches, warmup, repeats: images per call, calls per timing, untimed warm-up
            calls, and rounds.

    Returns:
        name -> ``{"images_per_s", "ms_per_output_megapixel", "batch_size", "seconds"}``.
    """
    if batch_size < 1 or batches < 1 or repeats < 1 or warmup < 0:
        raise ValueError(f"need batch_size, batches, repeats >= 1 and warmup >= 0, got {batch_size}, {batches}, {repeats}, {warmup}.")
    rng = np.random.default_rng(0)
    runs = {}
    for name, (model, input_shape) in entries.items():
        if input_shape is None and getattr(model, "input_shape", None) is None:
            raise ValueError(f"{name}: give the input shape (H, W, C): it has no input_shape of its own.")
        shape = tuple(input_shape or model.input_shape[1:])
        x = rng.random((batch_size, *shape), dtype=np.float32)
        run = (lambda m: lambda x: m(x, training=False))(model) if isinstance(model, keras.Model) else model
        out = run(x)
        for _ in range(warmup):
            out = run(x)
        runs[name] = (run, x, out.shape[1] * out.shape[2])
    best = {name: float("inf") for name in entries}
    for _ in range(repeats):
        for name, (run, x, pixels) in runs.items():
            start = time.perf_counter()
            for _ in range(batches):
                np.asarray(run(x))
            best[name] = min(best[name], time.perf_counter() - start)
    images = batch_size * batches
    return {
        name: {
            "images_per_s": images / best[name],
            "ms_per_output_megapixel": best[name] * 1e3 / (images * runs[name][2] / 1e6),
            "batch_size": batch_size,
            "seconds": best[name],
        }
        for name in entries
    }


def time_methods(methods: dict, lr_size: tuple[int, int], scale: int, **timing) -> dict[str, float]:
    """Milliseconds per output megapixel of upscalers of every kind, timed in turns on one LR image
    (``compare_throughput`` with batches of one: photos are upscaled one at a time). Keras models
    run as the upscaler runs them, as one traced graph (``models.traced``).

    Args:
        methods: name -> a Keras model, a callable on ``(1, h, w, 3)`` float32 in [0, 1] (an OpenCV
            peer) or an interpolation name (``degradation.INTERPOLATIONS``).
        lr_size: ``(h, w)`` of the LR image each call upscales.
        scale: the factor of the interpolations.
        timing: ``batches``, ``warmup``, ``repeats`` of ``compare_throughput``.

    Returns:
        name -> ms per output megapixel, measured on this machine in this run.
    """
    def runnable(m):
        if isinstance(m, str):
            return lambda x: interpolate(x, scale, m)
        if isinstance(m, keras.Model):
            graph = traced(m)
            return lambda x: graph(x).numpy()
        return m
    entries = {name: (runnable(m), (*lr_size, 3)) for name, m in methods.items()}
    timing = {k: v for k, v in timing.items() if k != "batch_size"}
    return {name: r["ms_per_output_megapixel"] for name, r in compare_throughput(entries, batch_size=1, **timing).items()}


def model_costs(entries: dict, originals: dict[str, str], reference: str, **timing) -> dict[str, dict]:
    """Parameters, MACs and measured speed of several models, timed in turns in one run
    (``compare_throughput``), each also as a ratio to the original model of its scale and to one
    reference model: the ratios are what carry over to another machine.

    Args:
        entries: name -> ``(model, input_shape)``: each model at the LR input ``(h, w, 3)`` of the
            original model of its scale, so that time per output pixel compares like with like.
        originals: name -> the name (in ``entries``) of the original model of its scale.
        reference: the name every model's time and MACs are also divided by.
        timing: ``batch_size``, ``batches``, ``warmup``, ``repeats`` of ``compare_throughput``.

    Returns:
        name -> ``{"params", "lr_shape", "macs_per_image", "macs_per_output_mp", "images_per_s",
        "ms_per_output_mp", "original_of_scale", "time_ratio_to_original", "macs_ratio_to_original",
        "time_ratio_to_reference", "macs_ratio_to_reference"}`` (plain ints and floats).
    """
    unnamed = sorted(n for n in entries if n not in originals)
    if unnamed:
        raise ValueError(f"originals names no original model for {unnamed}; map each entry to the original of its scale.")
    missing = sorted(set(originals[n] for n in entries) - set(entries)) + ([reference] if reference not in entries else [])
    if missing:
        raise ValueError(f"every model needs its original and the reference among the entries; missing: {missing}.")
    speeds = compare_throughput(entries, **timing)
    costs = {}
    for name, (model, shape) in entries.items():
        costs[name] = {"params": int(model.count_params()), "lr_shape": list(shape),
                       "macs_per_image": count_macs(model, shape), "macs_per_output_mp": macs_per_output_megapixel(model, shape),
                       "images_per_s": speeds[name]["images_per_s"], "ms_per_output_mp": speeds[name]["ms_per_output_megapixel"]}
    for name, c in costs.items():
        original, ref = costs[originals[name]], costs[reference]
        c["original_of_scale"] = originals[name]
        c["time_ratio_to_original"] = c["ms_per_output_mp"] / original["ms_per_output_mp"]
        c["macs_ratio_to_original"] = c["macs_per_output_mp"] / original["macs_per_output_mp"]
        c["time_ratio_to_reference"] = c["ms_per_output_mp"] / ref["ms_per_output_mp"]
        c["macs_ratio_to_reference"] = c["macs_per_output_mp"] / ref["macs_per_output_mp"]
    return costs


def cost_table(costs: dict[str, dict]) -> pd.DataFrame:
    """``model_costs`` as a table for reading: parameters, GMACs per output megapixel, images/s,
    ms per output megapixel and the ratios to the original of each scale and to the reference."""
    table = pd.DataFrame(costs).T
    table["GMACs / output MP"] = table["macs_per_output_mp"].astype(float) / 1e9
    columns = ["params", "GMACs / output MP", "images_per_s", "ms_per_output_mp", "macs_ratio_to_original",
               "time_ratio_to_original", "time_ratio_to_reference"]
    return table[columns].astype(float).round(2)


def training_throughput(build, input_shape, output_shape, jit_compile: bool, batch_size: int = 64,
                        steps: int = 20, warmup_steps: int = 3) -> float:
    """Training images per second of a freshly built model (Adam, MSE) on random data.

    Args:
        build: a function returning an uncompiled model.
        input_shape, output_shape: ``(H, W, C)`` of one LR input and one HR target.
        jit_compile: compile the train step with XLA.
    """
    model = build()
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse", jit_compile=jit_compile)
    rng = np.random.default_rng(0)
    x = rng.random((batch_size * steps, *input_shape), dtype=np.float32)
    y = rng.random((batch_size * steps, *output_shape), dtype=np.float32)
    model.fit(x[: batch_size * warmup_steps], y[: batch_size * warmup_steps], batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    model.fit(x, y, batch_size=batch_size, verbose=0)
    return len(x) / (time.perf_counter() - start)


def synthetic_photo(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A photo-like ``(height, width, 3)`` uint8 picture (smooth waves, edges and noise), made row
    band by row band so that even a 24-megapixel one needs little memory to make."""
    rng = np.random.default_rng(seed)
    out = np.empty((height, width, 3), np.uint8)
    xx = np.arange(width, dtype=np.float32)[None, :, None]
    phase = rng.uniform(0, 2 * np.pi, 3).astype(np.float32)
    for y0 in range(0, height, 256):
        yy = np.arange(y0, min(y0 + 256, height), dtype=np.float32)[:, None, None]
        band = 128 + 60 * np.sin(xx / 97 + phase) * np.cos(yy / 131 + phase) + 40 * np.sign(np.sin((xx + yy) / 53))
        out[y0:y0 + len(yy)] = np.clip(band + rng.normal(0, 8, band.shape), 0, 255).astype(np.uint8)
    return out


# Runs a module as __main__ and reports the process's own peak memory. On Linux this is VmHWM, which
# belongs to the process's memory map after exec; ru_maxrss is not used there, since it also counts
# the parent's memory as it was when the child was forked.
_PEAK_WRAPPER = """
import runpy, sys
module, sys.argv = sys.argv[1], sys.argv[1:]
try:
    runpy.run_module(module, run_name="__main__", alter_sys=True)
finally:
    try:
        kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
    except OSError:
        import resource
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // (1024 if sys.platform == "darwin" else 1)
    print(f"peak-rss-kb={kb}", file=sys.stderr)
"""


def peak_rss_mb(module: str, args: list[str], env: dict | None = None) -> tuple[float, float, int]:
    """Run ``python -m module *args`` in a fresh process.

    Returns:
        ``(peak resident memory of that process in MB (1e6 bytes), wall seconds, exit code)``.
    """
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PEAK_WRAPPER, module, *args], env=env,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    marks = [line for line in proc.stderr.splitlines() if line.startswith("peak-rss-kb=")]
    if not marks:
        raise RuntimeError(f"python -m {module} reported no peak memory (exit code {proc.returncode}): {proc.stderr[-2000:]}")
    return int(marks[-1].split("=")[1]) * 1024 / 1e6, seconds, proc.returncode


def upscale_peak_memory(output_megapixels=(1, 4, 16, 64), scale: int = 2, tile: int = 256,
                        extra_inputs: tuple[tuple[int, int], ...] = ((4000, 6000),)) -> list[dict]:
    """Peak memory of ``python -m sr_utils.upscale`` (bundled model of ``scale``) per image size.

    Each size runs in a fresh process on a synthetic 3:2 JPEG (``synthetic_photo``), so each peak is
    that run's alone. A 16x16 image first measures what the process needs whatever the image (Python,
    TensorFlow, the model). ``extra_inputs`` adds inputs by ``(height, width)``: by default the
    6000x4000 photo of the target (96 output megapixels at x2).

    Returns:
        One dict per run: ``input`` ("WxH"), ``output_mp``, ``peak_mb`` (peak RSS, MB = 1e6 bytes),
        ``output_mb`` (the uint8 output array), ``seconds``.
    """
    sizes = [(16, 16)]
    for mp in output_megapixels:
        lr_pixels = mp * 1e6 / scale ** 2
        height = int(round((lr_pixels / 1.5) ** 0.5))
        sizes.append((height, int(round(height * 1.5))))
    sizes += list(extra_inputs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for height, width in sizes:
            src = Path(tmp) / f"photo_{width}x{height}.jpg"
            Image.fromarray(synthetic_photo(height, width)).save(src, quality=90)
            args = [str(src), "-o", str(Path(tmp) / "out"), "--scale", str(scale), "--tile", str(tile), "--overwrite"]
            peak, seconds, code = peak_rss_mb("sr_utils.upscale", args)
            if code != 0:
                raise RuntimeError(f"python -m sr_utils.upscale {' '.join(args)} failed with exit code {code}.")
            (Path(tmp) / "out" / f"{src.stem}_x{scale}.png").unlink()
            src.unlink()
            out_pixels = height * width * scale ** 2
            rows.append({"input": f"{width}x{height}", "output_mp": out_pixels / 1e6, "peak_mb": peak,
                         "output_mb": out_pixels * 3 / 1e6, "seconds": seconds})
    return rows


UPSCALE_MEMORY_START = "<!-- upscale-memory:start -->"
UPSCALE_MEMORY_END = "<!-- upscale-memory:end -->"


def upscale_memory_table(rows: list[dict], scale: int, tile: int) -> str:
    """The rows of ``upscale_peak_memory`` as a Markdown table, with the machine it ran on."""
    lines = ["| input | output megapixels | output as uint8, MB | peak memory, MB | peak less output, MB | seconds |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['input']} | {r['output_mp']:.2f} | {r['output_mb']:.0f} | {r['peak_mb']:.0f} | "
                     f"{r['peak_mb'] - r['output_mb']:.0f} | {r['seconds']:.1f} |")
    return ("\n".join(lines) + f"\n\n`--scale {scale} --tile {tile}`, the bundled model, peak resident memory of each "
            f"process (MB = 10^6 bytes), measured on {platform.system()} with {os.cpu_count()} CPU cores "
            f"(Python {platform.python_version()}, TensorFlow {tf.__version__}).\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m sr_utils.cost", description=__doc__.splitlines()[0])
    parser.add_argument("--upscale-memory", action="store_true",
                        help="peak memory of the upscaling command line at 1, 4, 16, 64 and 96 output megapixels")
    parser.add_argument("--scale", type=int, default=2, help="with --upscale-memory: the bundled model's scale")
    parser.add_argument("--tile", type=int, default=256, help="with --upscale-memory: the tile size")
    parser.add_argument("--readme", type=Path, default=None,
                        help=f"with --upscale-memory: also write the table into this README, between {UPSCALE_MEMORY_START} "
                             f"and {UPSCALE_MEMORY_END}")
    args = parser.parse_args(argv)
    if args.upscale_memory:
        table = upscale_memory_table(upscale_peak_memory(scale=args.scale, tile=args.tile), args.scale, args.tile)
        print(table)
        if args.readme is not None:
            replace_block(args.readme, UPSCALE_MEMORY_START, UPSCALE_MEMORY_END, table)
        return
    print("Training speed of the original CIFAR-10 x2 model (batch 64, Adam, MSE, random data):")
    for jit in (False, True):
        rate = training_throughput(build_cifar10_x2, (16, 16, 3), (32, 32, 3), jit_compile=jit)
        print(f"  jit_compile={jit!s:5s}: {rate:6.1f} images/s")


if __name__ == "__main__":
    main()
