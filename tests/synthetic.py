"""Small synthetic image batches shared by the tests (imported as ``from synthetic import ...``)."""

from __future__ import annotations

import numpy as np


def smooth_images(n: int, h: int, w: int, seed: int = 0, noise: float = 0.03) -> np.ndarray:
    """``(n, h, w, 3)`` float32 in [0, 1]: random low-frequency waves plus a little noise.

    Natural-looking enough that SSIM is neither 0 nor 1 and bicubic interpolation is meaningful.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    out = np.empty((n, h, w, 3))
    for i in range(n):
        for c in range(3):
            fx, fy = rng.uniform(0.5, 3.0, 2)
            px, py = rng.uniform(0.0, 2 * np.pi, 2)
            out[i, :, :, c] = 0.5 + 0.3 * np.sin(2 * np.pi * fx * xx + px) * np.cos(2 * np.pi * fy * yy + py)
    out += rng.normal(0.0, noise, out.shape)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


def nearest_pairs(sizes, scale=2, seed=0):
    """Pairs whose HR is the nearest-neighbour upscale of LR: every aligned HR patch must then be
    exactly the upscale of its LR patch, under any flip or rotation too."""
    rng = np.random.default_rng(seed)
    lrs = [rng.random((h, w, 3), dtype=np.float32) for h, w in sizes]
    return lrs, [np.repeat(np.repeat(a, scale, 0), scale, 1) for a in lrs]
