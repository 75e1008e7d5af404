"""Figures: training histories, HR vs LR, LR / SR / HR sheets and learning curves, saved as PNG."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from .images import to_float


def save_figure(fig, path: str | os.PathLike | None, dpi: int = 110) -> None:
    """Save ``fig`` as PNG via a temporary file and a rename (an interrupted save leaves the
    previous figure intact). ``path=None`` saves nothing."""
    if path is None:
        return
    path = Path(path)
    if path.suffix != ".png":
        raise ValueError(f"figures are saved as PNG; the path must end in .png, got {str(path)!r}.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format="png", metadata={"Software": None})
    os.replace(tmp, path)


def plot_history(history: dict, metrics=("loss", "psnr", "ssim"), title: str = "", path=None):
    """Training and validation curves, one panel per metric.

    Args:
        history: ``keras.callbacks.History.history`` (metric name -> list of per-epoch values;
            validation values under ``val_<name>``).
        metrics: metric names to plot; names absent from ``history`` are skipped.
        path: PNG path, or None.
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
        ax.set_title(name.upper() if name != "loss" else "loss (MSE)")
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    size = max(x.shape[1] for x in sets.values())
    fig, axes = plt.subplots(len(sets), n, figsize=(1.9 * n, 2.0 * len(sets)), squeeze=False)
    for r, (label, images) in enumerate(sets.items()):
        for c in range(n):
            img = images[c]
            k = size // img.shape[0]
            if k > 1:
                img = img.repeat(k, axis=0).repeat(k, axis=1)
            ax = axes[r, c]
            ax.imshow(img, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig


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
    if title:
        ax.set_title(title)
    fig.tight_layout()
    save_figure(fig, path)
    return fig
