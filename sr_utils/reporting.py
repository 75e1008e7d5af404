"""Results files: what a run measured (JSON), model cards and the README results table made from it.

Each full-profile training notebook writes ``model/<name>.results.json``; the model card
``model/<name>.md`` and the README table between ``<!-- results:start -->`` and
``<!-- results:end -->`` are generated from those files, never typed by hand. Run
``python -m sr_utils.reporting`` to refresh the README table from the JSON files.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from pathlib import Path

import numpy as np

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
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)
    return path


def stats(per_image: dict[str, np.ndarray]) -> dict[str, dict[str, float]]:
    """``{"psnr": {"mean", "std"}, ...}`` from per-image metric arrays (``metrics.evaluate``)."""
    return {k: {"mean": float(np.mean(v)), "std": float(np.std(v))} for k, v in per_image.items()}


def load_results(model_dir: str | os.PathLike) -> list[dict]:
    """All ``*.results.json`` files of a model folder, sorted by file name."""
    return [json.loads(p.read_text()) for p in sorted(Path(model_dir).glob("*.results.json"))]


def _fmt(result: dict, method: str, mode: str, metric: str, digits: int) -> str:
    s = result["test"][mode][method][metric]
    return f"{s['mean']:.{digits}f} ± {s['std']:.{digits}f}"


def results_table(results: list[dict]) -> str:
    """Markdown table: per model, its test PSNR / SSIM (rgb mode) next to bicubic, and Y-PSNR."""
    header = (
        "| model | task | trained on | test set (n) | params | PSNR dB (RGB) | bicubic PSNR | gain | SSIM (RGB) | bicubic SSIM | PSNR dB (Y) | bicubic (Y) |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = []
    for r in results:
        t = r["test"]
        gain = t["rgb"]["model"]["psnr"]["mean"] - t["rgb"]["bicubic"]["psnr"]["mean"]
        rows.append(
            f"| `{r['model_file']}` | {r['task']} | {r['train_data']} | {r['test_data']} ({r['n_test']}) "
            f"| {r['params']:,} | {_fmt(r, 'model', 'rgb', 'psnr', 2)} | {_fmt(r, 'bicubic', 'rgb', 'psnr', 2)} "
            f"| {gain:+.2f} | {_fmt(r, 'model', 'rgb', 'ssim', 4)} | {_fmt(r, 'bicubic', 'rgb', 'ssim', 4)} "
            f"| {_fmt(r, 'model', 'y', 'psnr', 2)} | {_fmt(r, 'bicubic', 'y', 'psnr', 2)} |"
        )
    return header + "\n".join(rows) + "\n"


def update_readme(readme: str | os.PathLike, model_dir: str | os.PathLike) -> bool:
    """Replace the README's results block with the table made from ``model_dir``'s JSON files.

    Returns:
        True when the README changed.
    """
    readme = Path(readme)
    text = readme.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{readme} has no {README_START} ... {README_END} block to fill.")
    head, rest = text.split(README_START, 1)
    _, tail = rest.split(README_END, 1)
    new = f"{head}{README_START}\n{results_table(load_results(model_dir))}{README_END}{tail}"
    if new != text:
        tmp = readme.with_name(readme.name + ".tmp")
        tmp.write_text(new)
        os.replace(tmp, readme)
    return new != text


def write_model_card(result: dict, path: str | os.PathLike, notes: str = "") -> Path:
    """A Markdown model card from a results dict (the same dict the notebook saved as JSON)."""
    t = result["test"]
    lines = [
        f"# `{result['model_file']}`",
        "",
        f"{result['description']}",
        "",
        "| | |",
        "|---|---|",
        f"| task | {result['task']} |",
        f"| architecture | {result['architecture']} ({result['params']:,} parameters) |",
        f"| training data | {result['train_data']}: {result['n_train']:,} training / {result['n_val']:,} validation images ({result['split']}) |",
        f"| test data | {result['test_data']}: {result['n_test']:,} images |",
        f"| degradation | {result['degradation']} |",
        f"| recipe | {result['recipe']} |",
        f"| training | {result['epochs_run']} epochs, {result['steps']:,} optimizer steps, {result['train_seconds'] / 60:.1f} min |",
        f"| hardware | {result['env']['hardware']} |",
        f"| software | Python {result['env']['python']}, TensorFlow {result['env']['tensorflow']}, Keras {result['env']['keras']} |",
        f"| date | {result['env']['date']} |",
        f"| produced by | `{result['notebook']}` |",
        "",
        "## Test metrics (mean ± std over images)",
        "",
        "| method | PSNR dB (RGB) | SSIM (RGB) | MAE (RGB) | PSNR dB (Y) | SSIM (Y) |",
        "|---|---|---|---|---|---|",
    ]
    for method in t["rgb"]:
        lines.append(
            f"| {method} | {_fmt(result, method, 'rgb', 'psnr', 2)} | {_fmt(result, method, 'rgb', 'ssim', 4)} "
            f"| {_fmt(result, method, 'rgb', 'mae', 4)} | {_fmt(result, method, 'y', 'psnr', 2)} | {_fmt(result, method, 'y', 'ssim', 4)} |"
        )
    lines += [
        "",
        "RGB: RGB in [0, 1] over the whole image (the original study's convention). Y: MATLAB luma of the "
        f"uint8-rounded images, {result['scale']} border pixels cropped (the SR field's convention). SSIM: "
        "Gaussian 11x11 window, sigma 1.5 (equal to tf.image.ssim for RGB and MATLAB ssim for Y).",
        "",
    ]
    if notes:
        lines += [notes.strip(), ""]
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines))
    os.replace(tmp, path)
    return path


if __name__ == "__main__":
    from .training import repo_root

    root = repo_root()
    changed = update_readme(root / "README.md", root / "model")
    print("README results table", "updated" if changed else "already up to date")
