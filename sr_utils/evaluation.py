"""Evaluation: models and interpolation baselines scored on the same LR images under one protocol,
returned as one ``Results`` object, and the published figures to compare with.

Three protocols, one code path for models and baselines alike:

* ``rgb`` — the original studies' convention: LR made by ``downscale(hr, scale, antialias=...)``
  from a batch of equal-sized HR images, outputs clipped to [0, 1], metrics on RGB in [0, 1].
* ``y`` — the same LR images and outputs, scored as published SR tables score: uint8-rounded,
  MATLAB luma, ``scale`` border pixels cropped (``metrics.evaluate(..., mode="y")``).
* ``benchmark`` — the protocol of published SR tables (Set5, Set14, BSD100, ...) on whole images
  of any size: each HR image is cropped to a multiple of the scale, its LR image made by
  MATLAB-style bicubic (``make_pair(..., antialias=True)``) and saved as uint8, the output
  rounded to uint8, PSNR and SSIM on the MATLAB Y channel with ``scale`` border pixels cropped.
  ``score_degraded`` scores the same way on LR images made by any ``degradation.Degradation``
  (another library's resizer, blur, noise, JPEG): how models fare on the LR images users make.

Every metric is computed per image, then summarised by ``mean_std`` (mean and population standard
deviation over images): the only place a mean ± std is computed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from .degradation import INTERPOLATIONS, RESIZERS, Degradation, downscale, interpolate, same_resize
from .images import to_uint8
from .metrics import evaluate

PROTOCOLS = ("rgb", "y", "benchmark")
BASELINES = ("nearest", "bilinear", "bicubic", "lanczos3")
BENCHMARK_PROTOCOL = ("MATLAB-style bicubic LR (antialiased) rounded to uint8, uint8 output, MATLAB Y, "
                      "scale-pixel border crop")

# The original CIFAR-10 x2 study's published result, after about 14,000 optimizer steps on the full training set.
PUBLISHED_CIFAR10_X2 = {"psnr": 28.13, "ssim": 0.9077, "steps": 14_000}

# Published Y-PSNR (dB) on Set5 and Set14 under the benchmark protocol: test set -> scale -> method -> dB.
# Bicubic, SRCNN and VDSR as the VDSR paper's table gives them (Kim et al., CVPR 2016); FSRCNN (Dong et al., ECCV
# 2016) as commonly tabulated: its own paper and later re-evaluations differ by up to 0.05 dB.
PUBLISHED_BENCHMARKS = {
    "Set5": {2: {"bicubic": 33.66, "SRCNN": 36.66, "FSRCNN": 37.00, "VDSR": 37.53},
             3: {"bicubic": 30.39, "SRCNN": 32.75, "FSRCNN": 33.18, "VDSR": 33.66},
             4: {"bicubic": 28.42, "SRCNN": 30.48, "FSRCNN": 30.72, "VDSR": 31.35}},
    "Set14": {2: {"bicubic": 30.24, "SRCNN": 32.42, "FSRCNN": 32.63, "VDSR": 33.03},
              3: {"bicubic": 27.55, "SRCNN": 29.28, "FSRCNN": 29.43, "VDSR": 29.77},
              4: {"bicubic": 26.00, "SRCNN": 27.49, "FSRCNN": 27.59, "VDSR": 28.01}},
}

# The gains the held-out photos are compared with: bicubic, SRCNN and FSRCNN on BSD100 (the BSDS500 validation
# photos, the closest published set to ours) and on Set5: test set -> scale -> method -> dB.
PUBLISHED_PSNR = {
    "BSD100": {2: {"bicubic": 29.56, "SRCNN": 31.36, "FSRCNN": 31.53}, 3: {"bicubic": 27.21, "SRCNN": 28.41, "FSRCNN": 28.53},
               4: {"bicubic": 25.96, "SRCNN": 26.90, "FSRCNN": 26.98}},
    "Set5": {s: {m: PUBLISHED_BENCHMARKS["Set5"][s][m] for m in ("bicubic", "SRCNN", "FSRCNN")} for s in (2, 3, 4)},
}


def test_degradations(scale: int) -> tuple[Degradation, ...]:
    """The LR images photo models are scored on, one table row each: every resizer of
    ``degradation.RESIZERS`` alone, then a blurred, a JPEG-compressed and a noisy case.

    A resizer that gives the same LR images as one before it at this scale is left out: Pillow's
    bicubic is the benchmark's kernel (they differ only by Pillow's rounding between its two
    passes), OpenCV's linear is its area resize at x2, and at x3 OpenCV's cubic and linear keep
    the same pixels as TensorFlow's bicubic (``degradation.same_resize``)."""
    distinct = []
    for r in RESIZERS:
        if not any(same_resize(r, d, scale) for d in distinct):
            distinct.append(r)
    return tuple(Degradation(r) for r in distinct) + (
        Degradation("tf_bicubic", blur_sigma=round(0.4 * scale, 3)),
        Degradation("cv2_area", jpeg_quality=80),
        Degradation("cv2_cubic", noise_sigma=2.0),
    )


def mean_std(values) -> dict[str, float]:
    """``{"mean", "std"}`` of per-image values ``(N,)`` (population standard deviation), as floats."""
    v = np.asarray(values, np.float64)
    if v.ndim != 1 or not len(v):
        raise ValueError(f"need a non-empty 1-D array of per-image values, got shape {v.shape}.")
    return {"mean": float(np.mean(v)), "std": float(np.std(v))}


def published_gains(scale: int) -> str:
    """SRCNN's and FSRCNN's published Y-PSNR gains over bicubic at ``scale``, per test set of
    ``PUBLISHED_PSNR``: ``"BSD100: SRCNN +1.80, FSRCNN +1.97; Set5: SRCNN +3.00, FSRCNN +3.34"``."""
    if any(scale not in by_scale for by_scale in PUBLISHED_PSNR.values()):
        scales = sorted(set.intersection(*(set(by_scale) for by_scale in PUBLISHED_PSNR.values())))
        raise ValueError(f"no published figures for x{scale}; PUBLISHED_PSNR has {', '.join(f'x{s}' for s in scales)}.")
    return "; ".join(f"{d}: SRCNN {p[scale]['SRCNN'] - p[scale]['bicubic']:+.2f}, FSRCNN {p[scale]['FSRCNN'] - p[scale]['bicubic']:+.2f}"
                     for d, p in PUBLISHED_PSNR.items())


def as_upscaler(upscaler, scale: int, batch_size: int = 64) -> Callable[[np.ndarray], np.ndarray]:
    """A function from an LR batch ``(n, h, w, 3)`` float32 in [0, 1] to its upscaled batch
    ``(n, h * scale, w * scale, 3)`` float32 clipped to [0, 1].

    Args:
        upscaler: an interpolation name (``degradation.INTERPOLATIONS``), a Keras model, or a
            callable with that signature (its output is clipped).
        scale: the integer factor, for interpolation.
        batch_size: images per forward pass of a Keras model.
    """
    if isinstance(upscaler, str):
        if upscaler not in INTERPOLATIONS:
            raise ValueError(f"method must be one of {INTERPOLATIONS}, got {upscaler!r}.")
        return lambda lr: interpolate(lr, scale, upscaler)
    if isinstance(upscaler, keras.Model):
        return lambda lr: np.clip(upscaler.predict(lr, batch_size=batch_size, verbose=0), 0, 1)
    if callable(upscaler):
        return lambda lr: np.clip(np.asarray(upscaler(lr), np.float32), 0, 1)
    raise ValueError(f"upscaler must be an interpolation name, a Keras model or a callable, got {upscaler!r}.")


@dataclass
class Results:
    """Per-image scores of several methods on the same images, under one or more protocols.

    Attributes:
        dataset: the test set's name (``"CIFAR-10 test"``).
        scale: the SR factor.
        per_image: protocol -> method -> metric -> ``(N,)`` float64 per-image values. The ``rgb``
            and ``y`` protocols hold psnr, ssim, mae and mse; ``benchmark`` holds psnr and ssim.
        outputs: method -> ``(N, H, W, 3)`` float32 outputs in [0, 1], for the methods asked to
            be kept (``score(..., keep=...)``); empty under the benchmark protocol.
        lr: the LR inputs ``(N, h, w, 3)`` float32 in [0, 1] (None under the benchmark protocol,
            whose images differ in size).
    """

    dataset: str
    scale: int
    per_image: dict[str, dict[str, dict[str, np.ndarray]]]
    outputs: dict[str, np.ndarray] = field(default_factory=dict)
    lr: np.ndarray | None = None

    @property
    def protocols(self) -> tuple[str, ...]:
        """The protocols scored, in order."""
        return tuple(self.per_image)

    @property
    def methods(self) -> tuple[str, ...]:
        """The methods scored (upscalers first, then baselines)."""
        return tuple(next(iter(self.per_image.values())))

    @property
    def n_images(self) -> int:
        """The number of test images."""
        first = next(iter(next(iter(self.per_image.values())).values()))
        return len(first["psnr"])

    def _scores(self, protocol: str, method: str) -> dict[str, np.ndarray]:
        if protocol not in self.per_image:
            raise ValueError(f"no {protocol!r} scores here; this result holds {self.protocols}.")
        if method not in self.per_image[protocol]:
            raise ValueError(f"no method {method!r} here; this result holds {self.methods}.")
        return self.per_image[protocol][method]

    def stats(self, protocol: str) -> dict[str, dict[str, dict[str, float]]]:
        """method -> metric -> ``{"mean", "std"}`` under ``protocol`` (JSON-ready floats)."""
        return {m: {k: mean_std(v) for k, v in self._scores(protocol, m).items()} for m in self.methods}

    def mean(self, method: str = "model", protocol: str = "rgb", metric: str = "psnr") -> float:
        """The mean of one method's per-image ``metric`` under ``protocol``."""
        return float(np.mean(self._scores(protocol, method)[metric]))

    def gain(self, method: str = "model", baseline: str = "bicubic", protocol: str = "rgb",
             metric: str = "psnr") -> np.ndarray:
        """Per-image ``metric`` of ``method`` minus that of ``baseline``: ``(N,)`` float64."""
        return self._scores(protocol, method)[metric] - self._scores(protocol, baseline)[metric]

    def table(self, protocol: str, metrics: Sequence[str] | None = None, digits: int = 4) -> pd.DataFrame:
        """``table`` of every method under ``protocol``: one row per method."""
        return table({m: self._scores(protocol, m) for m in self.methods}, metrics, digits)

    def tables(self, metrics: Sequence[str] | None = None) -> pd.DataFrame:
        """Every protocol's ``table`` in one frame, indexed by ``(protocol, method)``."""
        return pd.concat({p: self.table(p, metrics) for p in self.protocols}, names=["protocol", "method"])

    def summary(self) -> dict[str, dict]:
        """protocol -> ``stats(protocol)``: every mean ± std of this result, JSON-ready."""
        return {p: self.stats(p) for p in self.protocols}


def table(rows: Mapping[str, Mapping[str, np.ndarray]], metrics: Sequence[str] | None = None, digits: int = 4) -> pd.DataFrame:
    """A pandas table of per-image scores: one row per entry of ``rows`` (a method, a split), one
    ``mean ± std`` column per metric (PSNR with 2 decimals, the others with ``digits``).

    Args:
        rows: label -> metric -> ``(N,)`` per-image values (``metrics.evaluate``).
        metrics: the columns, in order (default: those of the first row).
    """
    out = {}
    for label, scores in rows.items():
        out[label] = {}
        for metric in metrics or tuple(scores):
            s, d = mean_std(scores[metric]), 2 if metric == "psnr" else digits
            out[label][metric] = f"{s['mean']:.{d}f} ± {s['std']:.{d}f}"
    return pd.DataFrame.from_dict(out, orient="index")


def _with_baselines(upscalers: Mapping, baselines: Sequence[str]) -> dict:
    methods = dict(upscalers)
    for b in baselines:
        if b in methods:
            raise ValueError(f"{b!r} is both an upscaler and a baseline; rename the upscaler.")
        methods[b] = b
    if not methods:
        raise ValueError("nothing to score: pass upscalers or baselines.")
    return methods


def score(upscalers: Mapping, hr_images, scale: int, *, protocols: Sequence[str], antialias: bool,
          baselines: Sequence[str] = BASELINES, dataset: str = "", keep: Sequence[str] = (), batch_size: int = 64) -> Results:
    """Score models and interpolation baselines on the same LR images under one protocol family.

    Args:
        upscalers: method name -> a Keras model, an interpolation name or a callable (see
            ``as_upscaler``), e.g. ``{"model": model}``.
        hr_images: for ``rgb`` / ``y``, ``(N, H, W, 3)`` float in [0, 1] or uint8, H and W
            divisible by ``scale``; for ``benchmark``, a sequence of ``(H, W, 3)`` images of any
            sizes (uint8 or float in [0, 1]).
        scale: integer factor >= 2.
        protocols: ``("rgb", "y")``, one of them, or ``("benchmark",)`` (module docstring); the
            benchmark protocol makes its own LR images and cannot be mixed with the others.
        antialias: the degradation that makes the LR images (``degradation.downscale``); the
            benchmark protocol's is always ``True``.
        baselines: interpolation methods scored beside the upscalers.
        dataset: the test set's name, kept in the result.
        keep: methods whose outputs the result keeps (``rgb`` / ``y`` only), for plots.
        batch_size: images per forward pass of a Keras model (``rgb`` / ``y``).

    Returns:
        A ``Results`` with one entry per method (upscalers first, then baselines).
    """
    protocols = tuple(protocols)
    if not protocols or any(p not in PROTOCOLS for p in protocols) or len(set(protocols)) != len(protocols):
        raise ValueError(f"protocols must be distinct names from {PROTOCOLS}, got {protocols!r}.")
    methods = _with_baselines(upscalers, baselines)
    if "benchmark" in protocols:
        if len(protocols) > 1:
            raise ValueError("the benchmark protocol makes its own LR images; score it apart from 'rgb' / 'y'.")
        if antialias is not True:
            raise ValueError("the benchmark protocol always antialiases: pass antialias=True.")
        return score_degraded(upscalers, hr_images, scale, Degradation("benchmark"), baselines=baselines, dataset=dataset)
    hr = np.asarray(hr_images)
    lr = downscale(hr, scale, antialias=antialias)
    per_image = {p: {} for p in protocols}
    outputs = {}
    for method, up in methods.items():
        sr = as_upscaler(up, scale, batch_size)(lr)
        for p in protocols:
            per_image[p][method] = evaluate(sr, hr, mode=p, scale=scale)
        if method in keep:
            outputs[method] = sr
    return Results(dataset, scale, per_image, outputs, lr)


def score_degraded(upscalers: Mapping, images, scale: int, degradation: Degradation, *,
                   baselines: Sequence[str] = BASELINES, dataset: str = "", seed: int = 0) -> Results:
    """Score upscalers and baselines under the benchmark protocol on LR images made by ``degradation``.

    Each image is degraded once (``Degradation.apply``: cropped to a multiple of ``scale``, LR on
    uint8 levels), and every method upscales the same LR images; outputs are rounded to uint8 and
    scored on the MATLAB Y channel with ``scale`` border pixels cropped.

    Args:
        upscalers: method name -> a Keras model (run one image at a time: sizes differ), an
            interpolation name or a callable on ``(1, h, w, 3)`` float32 in [0, 1] (``as_upscaler``).
        images: a sequence of ``(H, W, 3)`` images of any sizes, uint8 or float in [0, 1].
        scale: integer factor >= 2.
        degradation: how the LR images are made (``Degradation("benchmark")``: the published protocol).
        baselines: interpolation methods scored beside the upscalers.
        dataset: the test set's name, kept in the result.
        seed: seeds the noise of image ``i`` as ``numpy.random.default_rng([seed, i])``.

    Returns:
        A ``Results`` under the protocol ``"benchmark"`` (psnr, ssim per image).
    """
    methods = _with_baselines(upscalers, baselines)
    pairs = []
    for i, image in enumerate(images):
        try:
            pairs.append(degradation.apply(image, scale, np.random.default_rng([seed, i])))
        except ValueError as e:
            raise ValueError(f"images[{i}]: {e}") from e
    if not pairs:
        raise ValueError("images is empty: nothing to score.")
    return Results(dataset, scale, {"benchmark": {m: _benchmark(up, pairs, scale) for m, up in methods.items()}})


def _benchmark(upscaler, pairs: Sequence[tuple[np.ndarray, np.ndarray]], scale: int) -> dict[str, np.ndarray]:
    """The benchmark protocol for one upscaler on ``(lr, hr)`` pairs: ``{"psnr", "ssim"}`` -> ``(N,)`` float64."""
    if isinstance(upscaler, keras.Model):  # one image at a time: sizes differ
        model = upscaler
        upscaler = lambda lr: np.asarray(model(lr, training=False))  # noqa: E731
    run = as_upscaler(upscaler, scale)
    out = {"psnr": [], "ssim": []}
    for lr, hr in pairs:
        sr = run(lr[None])
        if sr.shape != hr[None].shape:
            raise ValueError(f"the upscaler returned {sr.shape} for an LR input {lr[None].shape}; expected {hr[None].shape}.")
        scores = evaluate(to_uint8(sr), to_uint8(hr[None]), mode="y", scale=scale)
        out["psnr"].append(scores["psnr"][0])
        out["ssim"].append(scores["ssim"][0])
    return {k: np.asarray(v, np.float64) for k, v in out.items()}


def score_on_degradations(methods: Mapping, test_sets: Mapping[str, Sequence], scale: int, *,
                          degradations: Sequence[Degradation] | None = None, baselines: Sequence[str] = ("bicubic", "lanczos3"),
                          seed: int = 0) -> dict[tuple[str, str], Results]:
    """Score methods on several test sets, each degraded in several ways (``score_degraded``).

    Args:
        methods: method name -> upscaler at ``scale`` (a Keras model, an ``peers.OpenCVPeer``, a callable).
        test_sets: set name -> sequence of ``(H, W, 3)`` uint8 images of any sizes.
        scale: integer factor >= 2.
        degradations: how LR images are made (default ``test_degradations(scale)``).
        baselines, seed: as for ``score_degraded``.

    Returns:
        ``(test set, degradation label) -> Results``, sets outermost, in the given orders.
    """
    degradations = test_degradations(scale) if degradations is None else tuple(degradations)
    return {(name, d.describe()): score_degraded(methods, images, scale, d, baselines=baselines, dataset=name, seed=seed)
            for name, images in test_sets.items() for d in degradations}


def self_ensemble_name(name: str) -> str:
    """The method name of model ``name``'s x8 self-ensemble in the field comparison."""
    return f"{name} x8"


def is_self_ensemble(method: str) -> bool:
    """Whether a method name of the field comparison is a model's x8 self-ensemble (``self_ensemble_name``)."""
    return method.endswith(" x8")


def field_methods(models, scale: int, *, self_ensembled: Collection[str] = (), download: bool = True) -> tuple[dict, dict[str, str], dict[str, str]]:
    """The methods of the in-the-field comparison at ``scale``: every photo model of that scale,
    the x8 self-ensemble of those named in ``self_ensembled`` (``"<name> x8"``, 8x the time), and
    every OpenCV peer (``peers.peers_at``) that can run here.

    Args:
        models: ``(keras model, registry.ModelInfo)`` pairs; those that are not photo models
            (``info.photos``) or of another scale are left out.
        scale: integer factor >= 2.
        self_ensembled: model names to score with the x8 self-ensemble too (``upscale.self_ensembled``).
        download: fetch a missing peer weight file (else it is skipped, with the reason).

    Returns:
        ``(methods, kinds, skipped)``: method name -> upscaler (for ``score_on_degradations`` and
        ``cost.time_methods``); method name -> ``"model"`` or ``"peer"``; ``"OpenCV <peer> x<scale>"`` ->
        why that peer cannot run.
    """
    from .peers import peers_at
    from .upscale import self_ensembled as ensembled

    models = list(models)
    unknown = set(self_ensembled) - {info.name for _, info in models}
    if unknown:
        raise ValueError(f"self_ensembled names models that are not given: {sorted(unknown)}.")
    ours = {info.name: model for model, info in models if info.photos and info.scale == scale}
    ours.update({self_ensemble_name(name): ensembled(ours[name]) for name in self_ensembled if name in ours})
    found, missing = peers_at(scale, download=download)
    kinds = {**{m: "model" for m in ours}, **{m: "peer" for m in found}}
    return {**ours, **found}, kinds, {f"OpenCV {p} x{scale}": why for p, why in missing.items()}


def degradation_table(results: Mapping[tuple[str, str], Results], metric: str = "psnr") -> pd.DataFrame:
    """``score_on_degradations``' results as one table: a row per (test set, degradation), a column
    per method, each the mean Y ``metric`` over the set's images (dB for PSNR)."""
    if not results:
        raise ValueError("results is empty: nothing to tabulate.")
    rows = {key: {m: r.mean(m, "benchmark", metric) for m in r.methods} for key, r in results.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis(["test set", "degradation"])


def score_models(models: Mapping, test_sets: Mapping[str, np.ndarray], *, protocols: Sequence[str] = ("rgb", "y"),
                 baselines: Sequence[str] = BASELINES, keep: Sequence[str] = ("model", "bicubic")) -> dict[tuple[str, str], Results]:
    """Score several models, each on those of its test sets that are present, beside the baselines.

    Args:
        models: name -> ``(model, info)``: a Keras model and its ``registry.ModelInfo`` (its scale,
            degradation and test sets).
        test_sets: test set name -> HR images ``(N, H, W, 3)`` float32 in [0, 1].
        protocols, baselines, keep: as for ``score``; each model is the method ``"model"``.

    Returns:
        ``(name, test set) -> Results``, in the order of ``models`` and of each model's test sets.
        The baselines are scored once per test set, scale and degradation, and shared by the
        models that have those in common.
    """
    baseline_scores, out = {}, {}
    for name, (model, info) in models.items():
        for t in (t for t in info.test_sets if t in test_sets):
            key = (t, info.scale, info.antialias)  # models that share these share the baselines' scores
            if baselines and key not in baseline_scores:
                baseline_scores[key] = score({}, test_sets[t], info.scale, protocols=protocols, antialias=info.antialias,
                                             baselines=baselines, dataset=t, keep=keep)
            own = score({"model": model}, test_sets[t], info.scale, protocols=protocols, antialias=info.antialias,
                        baselines=(), dataset=t, keep=keep)
            base = baseline_scores.get(key, Results(t, info.scale, {p: {} for p in protocols}))
            out[name, t] = Results(t, info.scale, {p: {**own.per_image[p], **base.per_image[p]} for p in protocols},
                                   {**own.outputs, **base.outputs}, own.lr)
    return out


def per_class(results: Mapping[str, Results], labels: np.ndarray, class_names: Sequence[str], protocol: str = "rgb",
              metric: str = "psnr") -> pd.DataFrame:
    """Bicubic's mean ``metric`` per class, and each model's mean gain over it.

    Args:
        results: name -> scores of one model (method ``"model"``) with a ``bicubic`` baseline, all
            on the same images.
        labels: ``(N,)`` class index of each image, in ``[0, len(class_names))``.
        class_names: the names of the classes, in label order.

    Returns:
        ``pandas.DataFrame`` indexed by class name: ``images``, ``bicubic``, then ``<name> gain``
        per model (dB for PSNR).
    """
    labels = np.asarray(labels).ravel()
    first = next(iter(results.values()))
    if len(labels) != first.n_images:
        raise ValueError(f"need one label per image: {len(labels)} labels for {first.n_images} images.")
    present = [(c, name) for c, name in enumerate(class_names) if np.any(labels == c)]
    bicubic = first.per_image[protocol]["bicubic"][metric]
    table = {"images": [int(np.sum(labels == c)) for c, _ in present], "bicubic": [float(bicubic[labels == c].mean()) for c, _ in present]}
    for name, r in results.items():
        gain = r.gain(protocol=protocol, metric=metric)
        table[f"{name} gain"] = [float(gain[labels == c].mean()) for c, _ in present]
    return pd.DataFrame(table, index=[name for _, name in present])
