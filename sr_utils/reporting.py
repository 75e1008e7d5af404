"""Results files: training records, ``model/metrics.json``, model cards and the README table.

Each training notebook writes a training record ``model/<name>.results.json`` (data, recipe,
hardware, its own measurements). The evaluation notebook re-scores every model and writes
``model/metrics.json``; the model cards ``model/<name>.md`` and the README table between
``<!-- results:start -->`` and ``<!-- results:end -->`` are generated from that file, never
typed by hand. ``python -m sr_utils.reporting`` regenerates both from the committed JSON.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

import numpy as np

from .files import atomic_write

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def environment() -> dict:
    """Hardware and package versions of this run (for model cards)."""
    import keras
    import tensorflow as tf

    gpus = [d.name for d in tf.config.list_physical_devices("GPU")]
    return {
        "date": _dt.date.today().isoformat(),
        "hardware": f"{'GPU: ' + ', '.join(gpus) if gpus else 'CPU only'}; {os.cpu_count()} CPU cores; {platform.machine()}",
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
    }


def write_json(obj: dict, path: str | os.PathLike) -> Path:
    """Write ``obj`` as indented JSON via a temporary file and a rename."""
    path = Path(path)
    with atomic_write(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    return path


def stats(per_image: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{"psnr": {"mean", "std"}, ...}`` from per-image metric arrays (``metrics.evaluate``)."""
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in per_image.items()}


def load_results(model_dir: str | os.PathLike) -> list[dict]:
    """All ``*.results.json`` files of a model folder, sorted by file name."""
    return [json.loads(p.read_text()) for p in sorted(Path(model_dir).glob("*.results.json"))]


def _pm(stat: dict, digits: int) -> str:
    return f"{stat['mean']:.{digits}f} ± {stat['std']:.{digits}f}"


def _records(metrics: dict, model_file: str, dataset: str | None = None) -> dict:
    """``{(mode, metric): record}`` for one model on one test set (default: its first one);
    empty when the model was not scored on any test set."""
    info = metrics["models"][model_file]
    dataset = dataset or next(iter(info["test_sets"]), None)
    if dataset is None:
        return {}
    return {(r["mode"], r["metric"]): r for r in metrics["records"] if r["model"] == model_file and r["dataset"] == dataset}


def results_table(metrics: dict) -> str:
    """Markdown table of every model in ``metrics.json`` on its main test set, next to bicubic,
    with its cost as a ratio to the original model of its scale (``cost["original_of_scale"]``)."""
    lines = [
        "| model | task | trained on | test set (n) | PSNR dB (RGB) | bicubic | gain | SSIM (RGB) | bicubic | "
        "PSNR dB (Y) | bicubic (Y) | params | GMACs / output MP | MACs vs original | time vs original |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, info in metrics["models"].items():
        rec = _records(metrics, name)
        cost = info["cost"]
        if not rec:  # its test sets could not be loaded in this run
            lines.append(
                f"| `{name}` | {info['task']} | {info['train_data']} | not scored (no test data in this run) "
                "| – | – | – | – | – | – | – "
                f"| {cost['params']:,} | {cost['macs_per_output_mp'] / 1e9:.1f} "
                f"| {cost['macs_ratio_to_original']:.2f}x | {cost['time_ratio_to_original']:.2f}x |"
            )
            continue
        psnr, ssim, ypsnr = rec["rgb", "psnr"], rec["rgb", "ssim"], rec["y", "psnr"]
        gain = psnr["mean"] - psnr["baselines"]["bicubic"]["mean"]
        lines.append(
            f"| `{name}` | {info['task']} | {info['train_data']} | {psnr['dataset']} ({psnr['n_images']:,}) "
            f"| {_pm(psnr, 2)} | {_pm(psnr['baselines']['bicubic'], 2)} | {gain:+.2f} "
            f"| {_pm(ssim, 4)} | {_pm(ssim['baselines']['bicubic'], 4)} "
            f"| {_pm(ypsnr, 2)} | {_pm(ypsnr['baselines']['bicubic'], 2)} "
            f"| {cost['params']:,} | {cost['macs_per_output_mp'] / 1e9:.1f} "
            f"| {cost['macs_ratio_to_original']:.2f}x | {cost['time_ratio_to_original']:.2f}x |"
        )
    return "\n".join(lines) + "\n"


def photo_benchmark_table(metrics: dict) -> str:
    """Markdown table of ``metrics["photo_benchmark"]``: each model for photos scored with the
    benchmark protocol (Y channel) on whole held-out photos, next to bicubic and Lanczos-3, with
    the published gains of SRCNN and FSRCNN over bicubic on each published set of
    ``photo_benchmark["published"]`` (set -> scale -> method -> dB). Empty string when the JSON
    holds no such results."""
    bench = metrics.get("photo_benchmark") or {}
    if not bench.get("models"):
        return ""
    published = bench["published"]
    lines = [
        "| model | scale | test set (n) | Y-PSNR dB | bicubic | Lanczos-3 | gain over bicubic | Y-SSIM | bicubic | "
        + " | ".join(f"published gain on {name}: SRCNN / FSRCNN" for name in published) + " |",
        "|---|---|---|---|---|---|---|---|---|" + "---|" * len(published),
    ]
    for name, r in bench["models"].items():
        base = r["baselines"]
        gains = []
        for by_scale in published.values():
            pub = by_scale[str(r["scale"])]  # JSON keys are strings
            gains.append(f"{pub['SRCNN'] - pub['bicubic']:+.2f} / {pub['FSRCNN'] - pub['bicubic']:+.2f}")
        lines.append(
            f"| `{name}` | x{r['scale']} | held-out photos ({r['n_images']}) | {_pm(r['psnr'], 2)} "
            f"| {_pm(base['bicubic']['psnr'], 2)} | {_pm(base['lanczos3']['psnr'], 2)} "
            f"| {r['psnr']['mean'] - base['bicubic']['psnr']['mean']:+.2f} "
            f"| {_pm(r['ssim'], 4)} | {_pm(base['bicubic']['ssim'], 4)} | " + " | ".join(gains) + " |"
        )
    return "\n".join(lines) + "\n"


def readme_block(metrics: dict) -> str:
    """What the README holds between its results markers: the results table, then the benchmark-
    protocol table of the models for photos when there is one."""
    photos = photo_benchmark_table(metrics)
    block = results_table(metrics)
    if photos:
        block += ("\nModels for photos, benchmark protocol (MATLAB-style bicubic LR saved as 8-bit, Y channel, "
                  "border crop) on whole photos held out of training:\n\n" + photos)
    return block


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


def update_readme(readme: str | os.PathLike, metrics: dict) -> bool:
    """Replace the README's results block with ``readme_block(metrics)``.

    Returns:
        True when the README changed.
    """
    return replace_block(readme, README_START, README_END, readme_block(metrics))


def model_card(metrics: dict, model_file: str) -> str:
    """A Markdown model card for one model: how it was trained (from its training record) and
    every measurement of ``metrics.json`` (each test set, both modes, next to the baselines)."""
    info = metrics["models"][model_file]
    t, cost = info["training"], info["cost"]
    lines = [
        f"# `{model_file}`",
        "",
        t["description"],
        "",
        "| | |",
        "|---|---|",
        f"| task | {info['task']} |",
        f"| architecture | {t['architecture']} ({cost['params']:,} parameters) |",
        f"| training data | {info['train_data']}: {t['n_train']:,} training / {t['n_val']:,} validation images ({t['split']}) |",
        f"| degradation | {t['degradation']} |",
        f"| recipe | {t['recipe']} |",
        f"| training | {t['epochs_run']} epochs, {t['steps']:,} optimizer steps, {t['train_seconds'] / 60:.1f} min on {t['env']['hardware']} |",
        f"| software | Python {t['env']['python']}, TensorFlow {t['env']['tensorflow']}, Keras {t['env']['keras']} ({t['env']['date']}) |",
        f"| trained by | `{t['notebook']}`; evaluated by `notebooks/03_evaluation.ipynb` ({metrics['env']['date']}) |",
        f"| cost | {cost['macs_per_output_mp'] / 1e9:.1f} GMACs per output megapixel; {cost['images_per_s']:.0f} images/s, "
        f"{cost['ms_per_output_mp']:.0f} ms per output megapixel on {metrics['env']['hardware']} "
        f"({cost['macs_ratio_to_original']:.2f}x the MACs and {cost['time_ratio_to_original']:.2f}x the time per output pixel "
        f"of `{cost['original_of_scale']}`, timed in the same run) |",
        "",
    ]
    if not info["test_sets"]:
        lines += ["Not scored in this run: none of its test sets could be loaded.", ""]
    for dataset in info["test_sets"]:
        rec = _records(metrics, model_file, dataset)
        if not rec:
            continue
        n = rec["rgb", "psnr"]["n_images"]
        lines += [
            f"## {dataset} ({n:,} images), mean ± std over images",
            "",
            "| method | PSNR dB (RGB) | SSIM (RGB) | MAE (RGB) | PSNR dB (Y) | SSIM (Y) |",
            "|---|---|---|---|---|---|",
            "| **model** | " + " | ".join(_pm(rec[k], d) for k, d in
                                           ((("rgb", "psnr"), 2), (("rgb", "ssim"), 4), (("rgb", "mae"), 4), (("y", "psnr"), 2), (("y", "ssim"), 4))) + " |",
        ]
        for method in rec["rgb", "psnr"]["baselines"]:
            lines.append(f"| {method} | " + " | ".join(_pm(rec[k]["baselines"][method], d) for k, d in
                                                        ((("rgb", "psnr"), 2), (("rgb", "ssim"), 4), (("rgb", "mae"), 4), (("y", "psnr"), 2), (("y", "ssim"), 4))) + " |")
        gain = rec["rgb", "psnr"]["mean"] - rec["rgb", "psnr"]["baselines"]["bicubic"]["mean"]
        lines += ["", f"Gain over bicubic: {gain:+.2f} dB mean RGB PSNR.", ""]
    lines += [
        "RGB: RGB in [0, 1] over the whole image (the original studies' convention). Y: MATLAB luma of the uint8-rounded "
        "images with `scale` border pixels cropped (the SR field's convention). SSIM: " + metrics["ssim_implementation"] + ".",
        "",
    ]
    bench = (metrics.get("photo_benchmark") or {}).get("models", {}).get(model_file)
    if bench:
        base = bench["baselines"]
        lines += [
            f"## Benchmark protocol: {bench['n_images']} held-out photos, whole",
            "",
            metrics["photo_benchmark"]["protocol"] + ".",
            "",
            "| method | Y-PSNR dB | Y-SSIM |",
            "|---|---|---|",
            f"| **model** | {_pm(bench['psnr'], 2)} | {_pm(bench['ssim'], 4)} |",
            *[f"| {b} | {_pm(base[b]['psnr'], 2)} | {_pm(base[b]['ssim'], 4)} |" for b in base],
            "",
            f"Gain over bicubic: {bench['psnr']['mean'] - base['bicubic']['psnr']['mean']:+.2f} dB Y-PSNR.",
            "",
        ]
    if "published" in t:
        p = t["published"]
        lines += [f"Published for this architecture: {p['psnr']} dB PSNR / {p['ssim']} SSIM after about {p['steps']:,} "
                  f"optimizer steps on the full training set; this model had {t['steps']:,} steps on the data above.", ""]
    if "diagnostics" in t:
        d = t["diagnostics"]
        lines += [f"Diagnostic (notebook 02): with its BatchNorm statistics re-estimated on training inputs, this model "
                  f"scores {d['bn_recalibrated_db']:.2f} dB against bicubic's {d['bicubic_db']:.2f} dB (RGB PSNR, main test "
                  "set); the committed model keeps the statistics its training left.", ""]
    if info.get("notes"):
        lines += [info["notes"], ""]
    return "\n".join(lines)


def write_model_cards(metrics: dict, model_dir: str | os.PathLike) -> list[Path]:
    """Write ``<model_dir>/<model stem>.md`` for every model in ``metrics`` (atomically)."""
    paths = []
    for model_file in metrics["models"]:
        path = Path(model_dir) / (Path(model_file).stem + ".md")
        with atomic_write(path) as tmp:
            tmp.write_text(model_card(metrics, model_file))
        paths.append(path)
    return paths


if __name__ == "__main__":
    from .training import repo_root

    root = repo_root()
    metrics = json.loads((root / "model" / "metrics.json").read_text())
    write_model_cards(metrics, root / "model")
    changed = update_readme(root / "README.md", metrics)
    print("model cards written; README results table", "updated" if changed else "already up to date")
