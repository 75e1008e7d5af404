"""Figures: training histories, HR vs LR, LR / SR / HR sheets and learning curves, saved as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .files import atomic_write
from .images import to_float


def save_figure(fig, path: str | os.PathLike | None, dpi: int = 110) -> None:
    """Save ``fig`` as PNG via a temporary file and a rename (an interrupted save leaves the
    previous figure intact). ``path=None`` saves nothing."""
    if path is None:
        return
    path = Path(path)
    if path.suffix != ".png":
        raise ValueError(f"figures are saved as PNG; the path must end in .png, got {str(path)!r}.")
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata={"Software": None})


def _finish(fig, path, title: str = "", ax=None):
    """Title (on ``ax`` when given, else over the figure), tight layout, save to ``path``."""
    if title:
        (ax.set_title if ax is not None else fig.suptitle)(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


def plot_history(history: dict, metrics=("loss", "psnr", "ssim"), title: str = "", path=None, loss: str | None = None):
    """Training and validation curves, one panel per metric.

    Args:
        history: ``keras.callbacks.History.history`` (metric name -> list of per-epoch values;
            validation values under ``val_<name>``).
        metrics: metric names to plot; names absent from ``history`` are skipped.
        path: PNG path, or None.
        loss: the loss the model was trained with, as given to ``compile`` (``"mse"``,
            ``"mean_absolute_error"``, ...), named in the loss panel's title; None names no loss.
    """
    names = [m for m in metrics if m in history]
    if not names:
        raise ValueError(f"none of {metrics} is in the history (keys: {sorted(history)}).")
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.3), squeeze=False)
    for ax, name in zip(axes[0], names):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], "o-", ms=3, label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], "o-", ms=3, label="validation")
        ax.set_xlabel("epoch")
        ax.set_title(name.upper() if name != "loss" else _loss_title(loss))
        ax.grid(alpha=0.3)
        ax.legend()
    return _finish(fig, path, title)


_LOSS_NAMES = {"mse": "MSE", "mean_squared_error": "MSE", "mae": "L1", "mean_absolute_error": "L1"}


def _loss_title(loss: str | None) -> str:
    """``"loss (L1)"`` for ``"mean_absolute_error"``; other names as given; ``"loss"`` for None."""
    return "loss" if loss is None else f"loss ({_LOSS_NAMES.get(loss, loss)})"


def plot_image_rows(rows: dict[str, np.ndarray], n: int = 6, title: str = "", path=None):
    """A grid with one named row per image set, all shown at the size of the largest.

    Smaller images (LR inputs) are enlarged with nearest-neighbour repetition so their pixels
    stay visible, never smoothed.

    Args:
        rows: row label -> images ``(N, H, W, 3)`` float in [0, 1] or uint8; the first ``n``
            images of each row are shown, column by column.
        n: columns.
        path: PNG path, or None.
    """
    if not rows:
        raise ValueError("rows is empty: pass at least one named image set.")
    sets = {label: to_float(images, label)[:n] for label, images in rows.items()}
    n = min(len(x) for x in sets.values())
    height, width = max(x.shape[1] for x in sets.values()), max(x.shape[2] for x in sets.values())
    aspect = width / height
    fig, axes = plt.subplots(len(sets), n, figsize=(1.9 * n * aspect + 0.4, 2.0 * len(sets)), squeeze=False)
    for r, (label, images) in enumerate(sets.items()):
        for c in range(n):
            img = images[c]
            if img.shape[:2] != (height, width):  # nearest-neighbour, any ratio
                img = img[np.arange(height) * img.shape[0] // height][:, np.arange(width) * img.shape[1] // width]
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    return _finish(fig, path, title)


def plot_hr_lr(hr: np.ndarray, lr: np.ndarray, n: int = 8, path=None):
    """HR images above their LR inputs (LR shown enlarged with nearest-neighbour)."""
    lr_label = f"LR {lr.shape[1]}x{lr.shape[2]}"
    return plot_image_rows({f"HR {hr.shape[1]}x{hr.shape[2]}": hr, lr_label: lr}, n=n, title="HR vs LR", path=path)


def plot_triplets(lr: np.ndarray, sr: np.ndarray, hr: np.ndarray, n: int = 6, title: str = "", path=None):
    """Rows of LR input (nearest-enlarged), model output and HR target."""
    return plot_image_rows({"LR (nearest)": lr, "SR (model)": sr, "HR (target)": hr}, n=n, title=title, path=path)


def plot_learning_curve(steps, gain_db, reference: dict | None = None, title: str = "", path=None):
    """Validation PSNR gain over bicubic (dB) against optimizer steps, log-scaled steps.

    Args:
        steps: ``(K,)`` optimizer steps at which the gain was measured.
        gain_db: ``(K,)`` mean PSNR gain over bicubic at those steps.
        reference: optional ``{"label", "steps", "gain_db"}`` point to mark (e.g. a published run).
    """
    steps, gain_db = np.asarray(steps, float), np.asarray(gain_db, float)
    if steps.shape != gain_db.shape or steps.ndim != 1 or len(steps) == 0:
        raise ValueError(f"steps and gain_db must be equal-length 1-D arrays, got {steps.shape} and {gain_db.shape}.")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot(steps, gain_db, "o-", ms=3, label="this run (validation)")
    ax.axhline(0.0, color="gray", lw=1, ls="--", label="bicubic")
    if reference:
        ax.plot([reference["steps"]], [reference["gain_db"]], "r*", ms=12, label=reference["label"])
    ax.set_xscale("log")
    ax.set_xlabel("optimizer steps")
    ax.set_ylabel("PSNR gain over bicubic (dB)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _finish(fig, path, title, ax)


def _crop_box(a: np.ndarray, b: np.ndarray, size: int) -> tuple[int, int]:
    """Top-left corner of the ``size`` x ``size`` window where two images differ most."""
    from scipy.ndimage import uniform_filter

    diff = np.abs(a.astype(np.float64) - b.astype(np.float64)).sum(axis=-1)
    local = uniform_filter(diff, size=size, mode="constant")
    h, w = diff.shape
    half = size // 2
    local = local[half:h - size + half + 1, half:w - size + half + 1]  # windows fully inside the image
    y, x = np.unravel_index(np.argmax(local), local.shape)
    return int(y), int(x)


def plot_zoomed_crops(images: dict[str, np.ndarray], indices, labels=None, crop: int = 16, title: str = "", path=None):
    """Whole reference images with a box, next to zoomed crops of that box for each method.

    The box is where the first two image sets differ most (e.g. bicubic vs model), so the crop
    shows what the model changes.

    Args:
        images: label -> images ``(N, H, W, 3)`` float in [0, 1] or uint8, all the same shape;
            the LAST entry is the reference drawn whole (e.g. ``{"bicubic": .., "model": .., "HR": ..}``).
        indices: which images to show, one row each.
        labels: optional row label per index (e.g. the PSNR gain).
        crop: side of the square crop in pixels.
        path: PNG path, or None.
    """
    from matplotlib.patches import Rectangle

    if len(images) < 2:
        raise ValueError("images needs at least two labelled sets (e.g. method and reference).")
    sets = {k: to_float(v, k) for k, v in images.items()}
    shapes = {v.shape for v in sets.values()}
    if len(shapes) != 1:
        raise ValueError(f"all image sets must have the same shape, got {sorted(shapes)}.")
    h, w = next(iter(shapes))[1:3]
    if not 1 <= crop <= min(h, w):
        raise ValueError(f"crop must be between 1 and {min(h, w)} pixels, got {crop}.")
    indices = list(indices)
    names = list(sets)
    first, second, reference = sets[names[0]], sets[names[1]], sets[names[-1]]
    fig, axes = plt.subplots(len(indices), len(names) + 1, figsize=(2.2 * (len(names) + 1), 2.3 * len(indices)), squeeze=False)
    for r, i in enumerate(indices):
        y, x = _crop_box(first[i], second[i], crop)
        ax = axes[r, 0]
        ax.imshow(reference[i], interpolation="nearest")
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), crop, crop, fill=False, color="yellow", lw=1.5))
        ax.set_ylabel(labels[r] if labels is not None else f"#{i}", fontsize=8)
        if r == 0:
            ax.set_title(f"{names[-1]} (whole)", fontsize=9)
        for c, name in enumerate(names, start=1):
            ax = axes[r, c]
            ax.imshow(sets[name][i, y:y + crop, x:x + crop], interpolation="nearest")
            if r == 0:
                ax.set_title(f"{name} (zoom)", fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    return _finish(fig, path, title)


def plot_gain_histogram(gains: dict[str, np.ndarray], title: str = "", path=None):
    """Histogram of per-image PSNR gain over a baseline (dB), one curve per model."""
    if not gains:
        raise ValueError("gains is empty: pass at least one model's per-image gains.")
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    all_gains = np.concatenate([np.asarray(g, float) for g in gains.values()])
    bins = np.linspace(all_gains.min(), all_gains.max(), 41) if np.ptp(all_gains) > 0 else 10
    for name, g in gains.items():
        g = np.asarray(g, float)
        ax.hist(g, bins=bins, histtype="step", lw=1.5, label=f"{name} (mean {g.mean():+.2f} dB, {np.mean(g > 0):.0%} > 0)")
    ax.axvline(0, color="gray", ls="--", lw=1)
    ax.set_xlabel("per-image PSNR gain over bicubic (dB)")
    ax.set_ylabel("images")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return _finish(fig, path, title, ax)


def plot_pixel_histograms(images: dict[str, np.ndarray], title: str = "", path=None):
    """Per-channel histograms of pixel values, one line style per image set (e.g. HR solid, LR dashed).

    Args:
        images: label -> ``(N, H, W, 3)`` float in [0, 1]; the first set's pixel count labels the y axis.
        path: PNG path, or None.
    """
    fig, ax = plt.subplots(figsize=(6, 3.2))
    first = next(iter(images.values()))
    for (name, x), style in zip(images.items(), ("-", "--", ":", "-.")):
        for i, c in enumerate("rgb"):
            ax.hist(x[..., i].ravel(), bins=64, range=(0, 1), histtype="step", color=c, ls=style, label=f"{name} {c.upper()}")
    others = [f"{name} counts are 1/{first[..., 0].size // x[..., 0].size} as many" for name, x in list(images.items())[1:]]
    ax.set_xlabel("pixel value")
    ax.set_ylabel(f"count ({next(iter(images))} pixels" + "".join(f"; {o}" for o in others) + ")")
    ax.legend(ncol=2, fontsize=8)
    return _finish(fig, path, title, ax)


def plot_best_and_worst(hr: np.ndarray, outputs: dict[str, np.ndarray], gain: np.ndarray, n: int = 3, title: str = "", path=None):
    """The ``n`` images a model helps most (top rows) and least (bottom rows): each HR image with
    a box where the model differs most from bicubic, and zoomed crops of bicubic, model and HR.

    Args:
        hr: ``(N, H, W, 3)`` float in [0, 1]; outputs: ``"bicubic"`` and ``"model"`` outputs of that shape.
        gain: ``(N,)`` per-image gain of the model over bicubic (dB), which orders the images.
    """
    order = np.argsort(gain)
    picks = list(order[::-1][:n]) + list(order[:n])
    return plot_zoomed_crops({"bicubic": outputs["bicubic"], "model": outputs["model"], "HR": hr}, picks,
                             labels=[f"#{i}: {gain[i]:+.2f} dB" for i in picks], crop=hr.shape[1] // 3, title=title, path=path)


def pareto_front(points: dict[str, tuple[float, float]]) -> list[str]:
    """The names of the points no other point beats on both axes: ``(time, quality)`` pairs where
    lower time and higher quality are better; ordered by time."""
    front, best = [], -np.inf
    for name, (_, quality) in sorted(points.items(), key=lambda kv: (kv[1][0], -kv[1][1])):
        if quality > best:
            front.append(name)
            best = quality
    return front


def plot_pareto(points: dict[str, tuple[float, float]], xlabel: str = "ms per output megapixel (this machine)",
                ylabel: str = "Y-PSNR (dB)", title: str = "", path=None):
    """Quality against time, one labelled point per method, the Pareto front drawn as a line.

    Args:
        points: method -> ``(time, quality)``: time on a log axis (lower is better), quality linear
            (higher is better).
        path: PNG path, or None.
    """
    if not points:
        raise ValueError("points is empty: pass at least one method's (time, quality).")
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    front = pareto_front(points)
    for name, (t, q) in points.items():
        ax.scatter(t, q, s=28, color="C3" if name in front else "C0", zorder=3)
        ax.annotate(name, (t, q), textcoords="offset points", xytext=(4, 3), fontsize=7)
    ax.plot([points[n][0] for n in front], [points[n][1] for n in front], color="C3", lw=1, alpha=0.6, label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
    return _finish(fig, path, title, ax)
