"""Results files: training records, ``model/metrics.json``, model cards and the README table.

Each training notebook writes a training record ``model/<name>.results.json`` (data, recipe,
hardware, its own measurements). The evaluation notebook re-scores every model and writes
``model/metrics.json``; the model cards ``model/<name>.md`` and the README table between
``<!-- results:start -->`` and ``<!-- results:end -->`` are generated from that file, never
typed by hand. ``python -m sr_utils.reporting`` regenerates both from the committed JSON.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from .config import repo_root
from .degradation import describe as describe_degradation
from .evaluation import BENCHMARK_PROTOCOL, PROTOCOLS, PUBLISHED_BENCHMARKS, PUBLISHED_PSNR, is_self_ensemble
from .metrics import SSIM_IMPLEMENTATION
from .files import atomic_write, replace_block

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"


def environment() -> dict:
    """Hardware and package versions of this run (for model cards)."""
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


@dataclass
class TrainingRecord:
    """What one training run did and measured: ``model/<name>.results.json``, written by
    ``write_record`` only, so every record has the same fields.

    Attributes:
        model_file: ``<name>.keras`` (a registry entry, ``registry.MODELS``).
        description: one sentence on the model and how it was trained.
        architecture: the layers, e.g. ``models.residual_subpixel_architecture(...)``.
        params: trainable and non-trainable parameters.
        scale: the SR factor.
        antialias: the degradation it was trained on (``degradation.downscale``).
        degradation: that degradation, as a call a reader can repeat.
        train_data: what this run trained on (the data set and how much of it).
        n_train, n_val, n_test: images (or photos) per split in this run.
        split: how training and validation images were separated.
        test_data: the notebook's own test images.
        recipe: optimizer, schedule, loss, batch, augmentation, stopping.
        epochs_run, steps: epochs and optimizer steps run.
        train_seconds: wall time of training.
        notebook: the notebook that trained it, relative to the repository.
        profile: ``"full"`` or ``"quick"`` (``config.get_profile``).
        test: the notebook's own scores on its test data: protocol (``evaluation.PROTOCOLS``) ->
            method -> metric -> ``{"mean", "std"}`` (``evaluation.Results.stats``).
        env: hardware and versions (``environment``).
        extra: what only some models have (published figures, a learning curve, diagnostics).
    """

    model_file: str
    description: str
    architecture: str
    params: int
    scale: int
    antialias: bool
    degradation: str
    train_data: str
    n_train: int
    n_val: int
    n_test: int
    split: str
    test_data: str
    recipe: str
    epochs_run: int
    steps: int
    train_seconds: float
    notebook: str
    profile: str
    test: dict
    env: dict
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if not self.model_file.endswith(".keras"):
            raise ValueError(f"model_file must be a .keras file name, got {self.model_file!r}.")
        unknown = set(self.test) - set(PROTOCOLS)
        if not self.test or unknown:
            raise ValueError(f"test must map protocols from {PROTOCOLS} to scores, got {sorted(self.test)}.")
        self.params, self.epochs_run, self.steps = int(self.params), int(self.epochs_run), int(self.steps)
        self.train_seconds = round(float(self.train_seconds), 1)


def write_record(record: TrainingRecord, model_dir: str | os.PathLike) -> Path:
    """Write ``record`` to ``<model_dir>/<name>.results.json`` (atomically) and return the path."""
    return write_json(asdict(record), Path(model_dir) / (Path(record.model_file).stem + ".results.json"))


def new_record(info, fit, data=None, **fields) -> TrainingRecord:
    """A ``TrainingRecord`` with what the registry entry, the fit and the data already know.

    Args:
        info: the model's ``registry.ModelInfo`` (file, scale, degradation, notebook).
        fit: its ``training.Fit`` (parameters, epochs, steps, seconds).
        data: a ``data.Prepared`` (training data, split, image counts, test data), or None for
            data prepared otherwise (then pass those fields).
        fields: the rest: ``description``, ``architecture``, ``recipe``, ``profile``, ``test`` and
            optionally ``extra``, ``degradation`` (default: ``downscale`` with the entry's
            antialiasing) or any field to override. ``env`` is this run's (``environment``).
    """
    known = {"model_file": info.file, "scale": info.scale, "antialias": info.antialias, "notebook": info.notebook, "env": environment(),
             "degradation": describe_degradation(info.scale, antialias=info.antialias),
             "params": fit.model.count_params(), "epochs_run": fit.epochs, "steps": fit.steps, "train_seconds": fit.seconds}
    if data is not None:
        known.update(train_data=data.train_data, test_data=data.test_data, split=data.split, n_train=len(data.hr["train"]),
                     n_val=len(data.hr["val"]), n_test=len(data.tests[data.main_test]))
    return TrainingRecord(**{**known, **fields})


def load_records(model_dir: str | os.PathLike) -> dict[str, TrainingRecord]:
    """Every ``*.results.json`` of a model folder, by model file name, sorted by file name.

    Raises:
        ValueError: a file lacks a field or has one ``TrainingRecord`` does not know (it was not
            written by ``write_record``; re-run the notebook that trains that model).
    """
    records = {}
    for path in sorted(Path(model_dir).glob("*.results.json")):
        fields = json.loads(path.read_text())
        missing = [f.name for f in dataclasses.fields(TrainingRecord) if f.name not in fields and f.name != "extra"]
        if missing:
            raise ValueError(f"{path.name} is not a training record (no {', '.join(missing)}); re-run the notebook that trains this model.")
        try:
            record = TrainingRecord(**fields)
        except TypeError as e:
            raise ValueError(f"{path.name} is not a training record ({e}); re-run the notebook that trains this model.") from e
        records[record.model_file] = record
    return records


def metrics_json(results: dict, costs: dict[str, dict], records: dict[str, TrainingRecord], photo_results: dict, *,
                 infos, profile: str, skipped: dict[str, str], reference: str, generated_by: str,
                 photo_field: dict | None = None) -> dict:
    """The evaluation's output, ``model/metrics.json``: every model on each of its test sets, in
    both protocols, next to the baselines, with its cost and its training record.

    Args:
        results: ``(model file, test set) -> evaluation.Results`` (``evaluation.score_models``).
        costs: model file -> ``cost.model_costs`` entry.
        records: model file -> ``TrainingRecord`` (``load_records``).
        photo_results: model file -> ``evaluation.Results`` under the benchmark protocol on the
            held-out photos (models for photos only; may be empty).
        infos: the ``registry.ModelInfo`` of every model, in table order.
        profile: the run profile's name.
        skipped: test set -> why it could not be loaded in this run.
        reference: the model file every speed is also divided by.
        generated_by: the notebook, relative to the repository.
        photo_field: the photo models against the peers, per degradation (``photo_field_json``), or None.
    """
    env = environment()
    rows = []
    for (model_file, dataset), res in results.items():
        for mode in ("rgb", "y"):
            stats = res.stats(mode)
            for metric in ("psnr", "ssim", "mae"):
                c = costs[model_file]
                rows.append({"model": model_file, "dataset": dataset, "split": "test", "data_source": dataset.split()[0],
                             "n_images": res.n_images, "mode": mode, "metric": metric, **stats["model"][metric],
                             "baselines": {b: s[metric] for b, s in stats.items() if b != "model"},
                             "params": c["params"], "macs_per_output_mp": c["macs_per_output_mp"],
                             "images_per_s": c["images_per_s"], "ms_per_output_mp": c["ms_per_output_mp"],
                             "date": env["date"], "versions": {k: env[k] for k in ("python", "tensorflow", "keras", "numpy")}})
    models = {}
    for info in infos:
        if info.file not in records:
            raise ValueError(f"{info.file} has no training record ({Path(info.file).stem}.results.json): run {info.notebook}, "
                             "which trains it and writes the record.")
        record = asdict(records[info.file])
        models[info.file] = {"task": info.task, "train_data": record["train_data"], "scale": info.scale, "antialias": info.antialias,
                             "test_sets": [t for t in info.test_sets if (info.file, t) in results], "cost": costs[info.file],
                             "training": {k: v for k, v in record.items() if k != "test"}}
    photos = {}
    for model_file, res in photo_results.items():
        stats = res.stats("benchmark")
        photos[model_file] = {"scale": res.scale, "n_images": res.n_images, **stats["model"],
                              "baselines": {b: s for b, s in stats.items() if b != "model"}}
    return {
        "generated_by": generated_by, "profile": profile, "env": env, "skipped": skipped,
        "ssim_implementation": SSIM_IMPLEMENTATION, "reference_model": reference, "models": models, "records": rows,
        "photo_benchmark": {"dataset": "held-out photos (46 whole T91 + BSDS photos, held out of every model's training)",
                            "protocol": f"evaluation benchmark protocol: {BENCHMARK_PROTOCOL}",
                            "published": {d: {str(s): v for s, v in p.items()} for d, p in PUBLISHED_PSNR.items()},
                            "models": photos},
        **({"photo_field": photo_field} if photo_field else {}),
    }


def photo_field_json(results: dict[int, dict], timings: dict[int, dict[str, float]], kinds: dict[str, str],
                     skipped: dict[str, str], timed_at: tuple[int, int]) -> dict:
    """The photo models against bicubic, Lanczos and OpenCV's peers, per degradation, for
    ``metrics.json["photo_field"]``.

    Args:
        results: scale -> ``evaluation.score_on_degradations`` results at that scale.
        timings: scale -> method -> measured ms per output megapixel (``cost.time_methods``,
            every method of the scale timed in turns in one run).
        kinds: method -> ``"model"``, ``"peer"`` or ``"baseline"``.
        skipped: what could not run (a peer, a test set) -> why.
        timed_at: the LR size ``(h, w)`` the methods were timed at.

    Returns:
        ``{"protocol", "published", "skipped", "timed_at", "scales": {scale: {"methods": {method: {"kind",
        "ms_per_output_mp"}}, "scores": {test set: {degradation: {method: {"psnr", "ssim", "n_images"}}}}}}}``,
        JSON-ready (scales as strings).
    """
    scales = {}
    for scale, by_case in results.items():
        scores = {}
        for (test_set, label), r in by_case.items():
            scores.setdefault(test_set, {})[label] = {m: {"psnr": r.mean(m, "benchmark"), "ssim": r.mean(m, "benchmark", "ssim"),
                                                         "n_images": r.n_images} for m in r.methods}
        methods = next(iter(by_case.values())).methods
        scales[str(scale)] = {"methods": {m: {"kind": kinds.get(m, "baseline"), "ms_per_output_mp": timings.get(scale, {}).get(m)}
                                          for m in methods}, "scores": scores}
    return {"protocol": "the benchmark protocol's scoring (uint8 output, MATLAB Y, scale-pixel border crop) on LR images "
                        "made by each degradation in turn (evaluation.test_degradations), rounded to uint8",
            "published": {d: {str(s): v for s, v in p.items()} for d, p in PUBLISHED_BENCHMARKS.items()},
            "skipped": skipped, "timed_at": list(timed_at), "scales": scales}


def benchmark_sets_table(metrics: dict) -> str:
    """Markdown table of Set5 and Set14 under the benchmark degradation (``metrics["photo_field"]``):
    the published rows (bicubic, SRCNN, FSRCNN, VDSR), then every method measured here, one
    column per set and scale (Y-PSNR dB). Empty string when neither set was scored."""
    field = metrics.get("photo_field") or {}
    sets = [name for name in field.get("published", {}) if any(name in sc["scores"] for sc in field.get("scales", {}).values())]
    if not sets:
        return ""
    columns = [(name, scale) for name in sets for scale in field["scales"] if name in field["scales"][scale]["scores"]]
    lines = ["| method | " + " | ".join(f"{name} x{scale}" for name, scale in columns) + " |", "|---|" + "---|" * len(columns)]
    for method in next(iter(field["published"].values()))["2"]:
        cells = [field["published"][name].get(scale, {}).get(method) for name, scale in columns]
        lines.append(f"| {method} (published) | " + " | ".join("" if v is None else f"{v:.2f}" for v in cells) + " |")
    methods = list(dict.fromkeys(m for sc in field["scales"].values() for m in sc["methods"]))
    for method in methods:
        cells = []
        for name, scale in columns:
            got = field["scales"][scale]["scores"][name]["benchmark"].get(method)
            cells.append("" if got is None else f"{got['psnr']:.2f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def degradation_tables(metrics: dict, test_set: str = "held-out photos") -> str:
    """Markdown tables, one per scale, of ``test_set`` made by each degradation
    (``metrics["photo_field"]``): a row per degradation, a column per method (Y-PSNR dB), and
    the best method of each row in bold. Empty string when that set was not scored."""
    field = metrics.get("photo_field") or {}
    blocks = []
    for scale, sc in field.get("scales", {}).items():
        if test_set not in sc["scores"]:
            continue
        methods = list(sc["methods"])
        lines = [f"x{scale}, {test_set} (n = {next(iter(next(iter(sc['scores'][test_set].values())).values()))['n_images']}), "
                 "Y-PSNR dB by how the LR images were made:", "",
                 "| LR made by | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
        for label, row in sc["scores"][test_set].items():
            best = max(row[m]["psnr"] for m in methods)
            lines.append(f"| {label} | " + " | ".join(f"**{row[m]['psnr']:.2f}**" if row[m]["psnr"] == best else f"{row[m]['psnr']:.2f}"
                                                      for m in methods) + " |")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def _peers(scale_field: dict) -> list[str]:
    """The OpenCV peers among the methods of one scale of ``metrics["photo_field"]``."""
    return [m for m, about in scale_field["methods"].items() if about["kind"] == "peer"]


def _fsrcnn(scale_field: dict) -> str | None:
    """OpenCV's FSRCNN (not FSRCNN-small) among the peers of one scale of ``metrics["photo_field"]``:
    the peer a fast model has to beat, in quality and in time."""
    return next((m for m in _peers(scale_field) if re.fullmatch(r"OpenCV FSRCNN( x\d+)?", m)), None)


def _margins(rows: list[tuple[str, dict]], method: str, others: list[str]) -> dict | None:
    """``method``'s margin (dB Y-PSNR) over the best of ``others`` on each ``(where, row)`` of a
    field section: ``{"worst", "where", "below"}`` (``field_margins``), None without ``others``."""
    if not others:
        return None
    margins = [(row[method]["psnr"] - max(row[m]["psnr"] for m in others), where) for where, row in rows]
    worst, where = min(margins)
    return {"worst": worst, "where": where, "below": sum(m < 0 for m, _ in margins)}


def field_margins(metrics: dict) -> list[dict]:
    """How far each photo model of ``metrics["photo_field"]`` (not its x8 self-ensemble) stands from
    bicubic, from the best OpenCV peer of each row and from OpenCV's FSRCNN of its scale, over every
    test set and degradation it was scored on (dB Y-PSNR, benchmark protocol).

    Returns:
        One dict per model and scale: ``{"scale", "model", "rows", "bicubic", "peer", "fsrcnn"}``;
        ``rows`` is the number of (test set, degradation) rows; ``bicubic``, ``peer`` and ``fsrcnn``
        are each ``{"worst", "where", "below"}`` (the smallest margin, the row where it occurs, the
        rows with a negative margin), None when no peer (no FSRCNN) could run; ``fsrcnn`` also has
        ``"time_ratio"``: the model's time per output pixel over FSRCNN's, measured in the same run
        (None without both timings). Empty without a field section.
    """
    out = []
    for scale, sc in ((metrics.get("photo_field") or {}).get("scales") or {}).items():
        peers, fsrcnn = _peers(sc), _fsrcnn(sc)
        rows = [(f"{test_set}, {label}", row) for test_set, by_case in sc["scores"].items() for label, row in by_case.items()]
        for method, about in sc["methods"].items():
            if about["kind"] != "model" or is_self_ensemble(method):
                continue
            entry = {"scale": int(scale), "model": method, "rows": len(rows), "bicubic": _margins(rows, method, ["bicubic"]),
                     "peer": _margins(rows, method, peers), "fsrcnn": _margins(rows, method, [fsrcnn] if fsrcnn else [])}
            if entry["fsrcnn"] is not None:
                ms, ref = about.get("ms_per_output_mp"), sc["methods"][fsrcnn].get("ms_per_output_mp")
                entry["fsrcnn"]["time_ratio"] = ms / ref if ms and ref else None
            out.append(entry)
    return out


def field_margins_table(metrics: dict) -> str:
    """Markdown table of ``field_margins(metrics)``: each photo model's smallest margin over bicubic
    and over the best OpenCV peer (dB Y-PSNR, where it occurs) and the number of rows below, then
    its time per output pixel over OpenCV's FSRCNN's and the rows below FSRCNN (the fast models'
    targets). Empty string without a field section."""
    lines = []
    for e in field_margins(metrics):
        cells = [f"x{e['scale']}", f"`{e['model']}`"]
        for key in ("bicubic", "peer"):
            m = e[key]
            cells += ["no peer could run", ""] if m is None else [f"{m['worst']:+.2f} ({m['where']})", f"{m['below']} of {e['rows']}"]
        f = e["fsrcnn"]
        cells += ["", ""] if f is None else [f"{f['time_ratio']:.2f}x" if f["time_ratio"] else "not timed", f"{f['below']} of {e['rows']}"]
        lines.append("| " + " | ".join(cells) + " |")
    if not lines:
        return ""
    return "\n".join(["| scale | model | smallest margin over bicubic (where) | rows below bicubic | "
                      "smallest margin over the best OpenCV peer (where) | rows below it | time per output pixel / OpenCV FSRCNN's | "
                      "rows below OpenCV FSRCNN |", "|---|---|---|---|---|---|---|---|", *lines]) + "\n"


def field_findings(metrics: dict) -> list[str]:
    """One "What we found" sentence per photo model of the field section (``field_margins``): the
    rows where it is below bicubic, below the best OpenCV peer and below OpenCV's FSRCNN, with the
    smallest margins, and its time per output pixel against FSRCNN's."""
    sentences = []
    for e in field_margins(metrics):
        b, p, f, n = e["bicubic"], e["peer"], e["fsrcnn"], e["rows"]
        text = (f"{e['model']} (x{e['scale']}): below bicubic on {b['below']} of {n} rows (test set x degradation; smallest margin "
                f"{b['worst']:+.2f} dB, {b['where']})")
        text += ("; no OpenCV peer could run." if p is None else
                 f"; below the best OpenCV peer on {p['below']} of {n} (smallest margin {p['worst']:+.2f} dB, {p['where']}).")
        if f is not None:
            text += (f" Against OpenCV's FSRCNN: below it on {f['below']} of {n} rows"
                     + (f", {f['time_ratio']:.2f}x its time per output pixel." if f["time_ratio"] else "."))
        sentences.append(text)
    return sentences


class Findings:
    """A notebook's closing "What we found": a few sentences built from its own numbers, shown as
    a Markdown list in Jupyter (``_repr_markdown_``) and as plain text elsewhere."""

    def __init__(self, *sentences: str):
        if not sentences or not all(isinstance(s, str) and s.strip() for s in sentences):
            raise ValueError("Findings needs at least one non-empty sentence.")
        self.sentences = sentences

    def _repr_markdown_(self) -> str:
        return "**What we found**\n\n" + "\n".join(f"* {s}" for s in self.sentences)

    def __repr__(self) -> str:
        return "What we found:\n" + "\n".join(f"- {s}" for s in self.sentences)


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
    sets, degraded = benchmark_sets_table(metrics), degradation_tables(metrics)
    if sets:
        block += ("\nSet5 and Set14 (test sets only), benchmark protocol, Y-PSNR dB: the published figures, then the models "
                  "for photos, OpenCV's peers and the interpolations, on the same LR images:\n\n" + sets)
    if degraded:
        block += ("\nThe same methods on LR images made other ways (`evaluation.test_degradations`), best of each row "
                  "in bold:\n\n" + degraded)
    margins = field_margins_table(metrics)
    if margins:
        block += ("\nEach photo model against bicubic and against the best OpenCV peer of each row, over every test set "
                  "and degradation above (Set5, Set14 and the held-out photos):\n\n" + margins)
    return block


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
        f"| trained by | `{t['notebook']}`; evaluated by `{metrics['generated_by']}` ({metrics['env']['date']}) |",
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
    extra = t.get("extra", {})
    if "published" in extra:
        p = extra["published"]
        lines += [f"Published for this architecture: {p['psnr']} dB PSNR / {p['ssim']} SSIM after about {p['steps']:,} "
                  f"optimizer steps on the full training set; this model had {t['steps']:,} steps on the data above.", ""]
    if "diagnostics" in extra:
        d = extra["diagnostics"]
        lines += [f"Diagnostic (notebook 02): with its BatchNorm statistics re-estimated on training inputs, this model "
                  f"scores {d['bn_recalibrated_db']:.2f} dB against bicubic's {d['bicubic_db']:.2f} dB (RGB PSNR, main test "
                  "set); the committed model keeps the statistics its training left.", ""]
    return "\n".join(lines + field_card_section(metrics, Path(model_file).stem))


def field_card_section(metrics: dict, method: str) -> list[str]:
    """The lines of a model card's "In the field" section: ``method`` (a model's name in
    ``metrics["photo_field"]``) on every test set and degradation it was scored on, beside bicubic
    and the best OpenCV peer of that row, with its measured time next to the peers'. Empty when the
    method is not in the field section."""
    field = metrics.get("photo_field") or {}
    scale, sc = next(((s, sc) for s, sc in field.get("scales", {}).items() if method in sc["methods"]), (None, None))
    if sc is None:
        return []
    peers = _peers(sc)
    lines = [f"## In the field: LR images made every way, x{scale}", "",
             f"Y-PSNR dB; {field['protocol']}. `best peer`: the best of OpenCV's models on that row"
             + (f" ({', '.join(peers)})." if peers else " (none could run: " + "; ".join(f"{k}: {v}" for k, v in field["skipped"].items()) + ")."),
             "", "| test set | LR made by | **model** | bicubic | best peer | model - bicubic | model - best peer |", "|---|---|---|---|---|---|---|"]
    for test_set, by_case in sc["scores"].items():
        for label, row in by_case.items():
            model, bicubic = row[method]["psnr"], row["bicubic"]["psnr"]
            best = max(peers, key=lambda m: row[m]["psnr"], default=None)
            lines.append(f"| {test_set} (n = {row[method]['n_images']}) | {label} | **{model:.2f}** | {bicubic:.2f} | "
                         + (f"{row[best]['psnr']:.2f} ({best}) | {model - bicubic:+.2f} | {model - row[best]['psnr']:+.2f} |" if best
                            else f"| {model - bicubic:+.2f} | |"))
    timed = {m: about["ms_per_output_mp"] for m, about in sc["methods"].items() if about["ms_per_output_mp"] is not None}
    if method in timed:
        lines += ["", f"Time: {timed[method]:.0f} ms per output megapixel at {field['timed_at'][0]}x{field['timed_at'][1]} LR pixels per call"
                  + "".join(f"; {m} {timed[m]:.0f}" for m in peers if m in timed) + " (timed in turns in one run, on "
                  + f"{metrics.get('env', {}).get('hardware', 'the evaluation machine')})."]
    return lines + [""]


def record_card(record: TrainingRecord) -> str:
    """A Markdown model card from a training record alone, for models trained outside the study
    (``python -m sr_utils.train``): how it was trained, on what, and its scores on the record's
    test data, beside bicubic (``extra["y_psnr_by_degradation"]`` when present)."""
    env = record.env
    lines = [
        f"# `{record.model_file}`",
        "",
        record.description,
        "",
        "| | |",
        "|---|---|",
        f"| architecture | {record.architecture} ({record.params:,} parameters) |",
        f"| scale | x{record.scale} |",
        f"| training data | {record.train_data}: {record.n_train:,} training / {record.n_val:,} validation photos ({record.split}) |",
        f"| degradation | {record.degradation} |",
        f"| recipe | {record.recipe} |",
        f"| training | {record.epochs_run} validation checks, {record.steps:,} optimizer steps, {record.train_seconds / 60:.1f} min on {env['hardware']} |",
        f"| software | Python {env['python']}, TensorFlow {env['tensorflow']}, Keras {env['keras']} ({env['date']}) |",
        f"| trained by | `{record.extra.get('command', record.notebook)}` |",
        "",
        f"## Scores: {record.test_data}",
        "",
        "Benchmark protocol: Y-PSNR (dB) of the uint8 outputs, `scale` border pixels cropped; each LR image made by the degradation named.",
        "",
    ]
    by_degradation = record.extra.get("y_psnr_by_degradation")
    if by_degradation:
        methods = list(next(iter(by_degradation.values())))
        lines += ["| LR made by | " + " | ".join(methods) + " | gain over bicubic |", "|---|" + "---|" * (len(methods) + 1)]
        for degradation, row in by_degradation.items():
            gain = f"{row['model'] - row['bicubic']:+.2f}" if {"model", "bicubic"} <= set(row) else ""
            lines.append(f"| {degradation} | " + " | ".join(f"{row[m]:.2f}" for m in methods) + f" | {gain} |")
    else:
        stats = record.test.get("benchmark") or next(iter(record.test.values()))
        lines += ["| method | PSNR dB |", "|---|---|", *[f"| {m} | {_pm(v['psnr'], 2)} |" for m, v in stats.items()]]
    return "\n".join(lines + [""])


def write_record_card(record: TrainingRecord, model_dir: str | os.PathLike) -> Path:
    """Write ``record_card(record)`` to ``<model_dir>/<model stem>.md`` (atomically) and return the path."""
    path = Path(model_dir) / (Path(record.model_file).stem + ".md")
    with atomic_write(path) as tmp:
        tmp.write_text(record_card(record))
    return path


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
    root = repo_root()
    metrics = json.loads((root / "model" / "metrics.json").read_text())
    write_model_cards(metrics, root / "model")
    changed = update_readme(root / "README.md", metrics)
    print("model cards written; README results table", "updated" if changed else "already up to date")
