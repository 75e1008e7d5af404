"""Tests of sr_utils/reporting.py: results JSON, the Markdown results table, model cards and the
README block, on a small synthetic results dict with the keys the notebooks write."""

from __future__ import annotations

import datetime
import json
import platform

import numpy as np
import pytest

from sr_utils import degradation, evaluation, reporting


def metric(mean: float, std: float) -> dict:
    return {"mean": mean, "std": std}


TRAINING = {
    "description": "The original CIFAR-10 x2 CNN.",
    "architecture": "5 conv + transpose conv",
    "n_train": 4653,
    "n_val": 517,
    "split": "seeded 90/10 split, seed 42",
    "degradation": "TF bicubic, no antialias",
    "recipe": "Adam 1e-3, MSE, batch 64",
    "epochs_run": 20,
    "steps": 1460,
    "train_seconds": 750.0,
    "notebook": "notebooks/01_cifar10_x2.ipynb",
    "env": {"hardware": "CPU only; 2 CPU cores; x86_64", "python": "3.11.7", "tensorflow": "2.21.0",
            "keras": "3.15.1", "date": "2025-01-02", "numpy": "2.4.6"},
}

# (mode, metric) -> (model, bicubic, nearest) as (mean, std)
SCORES = {
    ("rgb", "psnr"): ((28.5, 2.25), (26.5, 2.0), (24.0, 1.5)),
    ("rgb", "ssim"): ((0.91234, 0.01), (0.85, 0.02), (0.8, 0.03)),
    ("rgb", "mae"): ((0.0231, 0.004), (0.03, 0.005), (0.04, 0.006)),
    ("y", "psnr"): ((30.125, 2.5), (28.0, 2.0), (25.0, 1.0)),
    ("y", "ssim"): ((0.93, 0.01), (0.88, 0.02), (0.82, 0.03)),
}


def records(model: str, dataset: str, n_images: int, shift: float = 0.0) -> list[dict]:
    """The records metrics.json holds for one model on one test set (``shift`` moves the model's means)."""
    out = []
    for (mode, name), (own, bicubic, nearest) in SCORES.items():
        out.append({
            "model": model, "dataset": dataset, "mode": mode, "metric": name, "n_images": n_images,
            "mean": own[0] + shift, "std": own[1],
            "baselines": {"bicubic": metric(*bicubic), "nearest": metric(*nearest)},
        })
    return out


def model_entry(train_data: str, test_sets: list[str], params: int, ratio: float) -> dict:
    entry = {
        "task": "x2 (16 -> 32)",
        "train_data": train_data,
        "test_sets": test_sets,
        "cost": {"params": params, "macs_per_output_mp": 1.2345e10, "images_per_s": 1234.4,
                 "ms_per_output_mp": 789.6, "original_of_scale": "cifar10_x2.keras", "macs_ratio_to_original": 0.5 * ratio,
                 "time_ratio_to_original": ratio},
        "training": TRAINING,
    }
    return entry


@pytest.fixture
def metrics_json() -> dict:
    """What the evaluation notebook writes to model/metrics.json: two models, one with two test sets."""
    return {
        "generated_by": "notebooks/07_evaluation.ipynb",
        "env": {"date": "2025-02-03", "hardware": "CPU only; 2 CPU cores; x86_64"},
        "ssim_implementation": "Gaussian SSIM (test)",
        "models": {
            "cifar10_x2.keras": model_entry("CIFAR-10 (partial)", ["CIFAR-10 test", "STL-10 subset"], 225027, 1.0),
            "other_x2.keras": model_entry("natural96", ["natural96 val"], 1234567, 2.5),
        },
        "records": (records("cifar10_x2.keras", "CIFAR-10 test", 1017)
                    + records("cifar10_x2.keras", "STL-10 subset", 256, shift=-0.1)
                    + records("other_x2.keras", "natural96 val", 272, shift=-2.5)),
    }


@pytest.fixture
def result() -> dict:
    """A training record's fields, as ``reporting.write_record`` saves them (model/<name>.results.json)."""
    return dict(TRAINING, model_file="cifar10_x2.keras", params=225027, scale=2, antialias=False, train_data="CIFAR-10 train",
                n_test=1017, test_data="CIFAR-10 test", profile="full", test={"rgb": {"model": {"psnr": metric(28.5, 2.25)}}},
                extra={})


# --------------------------------------------------------------------------------------
# write_json, training records, environment
# --------------------------------------------------------------------------------------
def test_write_json_round_trips(tmp_path, result):
    path = tmp_path / "model" / "a.results.json"
    assert reporting.write_json(result, path) == path
    assert json.loads(path.read_text()) == result
    assert [p.name for p in path.parent.iterdir()] == ["a.results.json"]  # no .tmp left
    assert path.read_text().endswith("\n")
    reporting.write_json({"x": [1, 2.5, None]}, str(path))  # replaces the file
    assert json.loads(path.read_text()) == {"x": [1, 2.5, None]}


def test_write_json_keeps_key_order(tmp_path):
    path = reporting.write_json({"z": 1, "a": 2, "m": 3}, tmp_path / "o.json")
    assert list(json.loads(path.read_text())) == ["z", "a", "m"]


def test_records_round_trip_and_come_sorted_by_file_name(tmp_path, result):
    second = reporting.TrainingRecord(**dict(result, model_file="b.keras"))
    assert reporting.write_record(second, tmp_path) == tmp_path / "b.results.json"
    reporting.write_record(reporting.TrainingRecord(**result), tmp_path)
    (tmp_path / "notes.json").write_text("{}")  # not a results file
    loaded = reporting.load_records(tmp_path)
    assert list(loaded) == ["b.keras", "cifar10_x2.keras"]
    assert loaded["cifar10_x2.keras"] == reporting.TrainingRecord(**result)
    assert list(json.loads((tmp_path / "b.results.json").read_text())) == list(reporting.TrainingRecord.__dataclass_fields__)
    assert reporting.load_records(tmp_path / "nothing_here") == {}


def test_a_record_not_written_by_write_record_is_refused(tmp_path, result):
    old = {k: v for k, v in result.items() if k != "antialias"} | {"task": "x2"}  # the format before TrainingRecord
    reporting.write_json(old, tmp_path / "m.results.json")
    with pytest.raises(ValueError, match=r"m.results.json is not a training record \(no antialias\); re-run the notebook"):
        reporting.load_records(tmp_path)
    reporting.write_json({k: v for k, v in result.items() if k != "env"}, tmp_path / "m.results.json")
    with pytest.raises(ValueError, match=r"not a training record \(no env\)"):  # never filled in from this machine
        reporting.load_records(tmp_path)
    reporting.write_json(result | {"task": "x2"}, tmp_path / "m.results.json")
    with pytest.raises(ValueError, match=r"m.results.json is not a training record .*unexpected keyword argument 'task'"):
        reporting.load_records(tmp_path)


def test_record_checks_its_fields(result):
    with pytest.raises(ValueError, match="must be a .keras file name"):
        reporting.TrainingRecord(**dict(result, model_file="m.h5"))
    with pytest.raises(ValueError, match=r"test must map protocols .* got \['psnr'\]"):
        reporting.TrainingRecord(**dict(result, test={"psnr": {}}))
    record = reporting.TrainingRecord(**dict(result, train_seconds=12.345, steps=np.int64(7)))
    assert record.train_seconds == 12.3 and type(record.steps) is int


def test_new_record_takes_what_the_entry_fit_and_data_know():
    from types import SimpleNamespace

    from sr_utils import registry

    info = registry.get("natural96_x6_rsp88x6")
    fit = SimpleNamespace(model=SimpleNamespace(count_params=lambda: 1234), epochs=3, steps=1500, seconds=61.26)
    data = SimpleNamespace(train_data="natural96 train", test_data="natural96 test crops", split="seeded", main_test="t",
                           hr={"train": np.zeros((9, 1)), "val": np.zeros((2, 1))}, tests={"t": np.zeros((4, 1))})
    record = reporting.new_record(info, fit, data, description="d", architecture="a", recipe="r", profile="full",
                                  test={"rgb": {}})
    assert (record.model_file, record.scale, record.antialias, record.notebook) == (info.file, 6, False, info.notebook)
    assert (record.params, record.epochs_run, record.steps, record.train_seconds) == (1234, 3, 1500, 61.3)
    assert (record.n_train, record.n_val, record.n_test, record.split) == (9, 2, 4, "seeded")
    assert record.degradation == "sr_utils.degradation.downscale(hr, 6, antialias=False) (TF bicubic, no antialiasing)"
    with pytest.raises(TypeError, match="n_train"):  # without data, the counts must be given
        reporting.new_record(info, fit, description="d", architecture="a", recipe="r", profile="full", test={"rgb": {}})


def test_findings_render_as_a_markdown_list():
    findings = reporting.Findings("A is 1.00 dB.", "B beats C.")
    assert findings._repr_markdown_() == "**What we found**\n\n* A is 1.00 dB.\n* B beats C."
    assert repr(findings) == "What we found:\n- A is 1.00 dB.\n- B beats C."
    with pytest.raises(ValueError, match="at least one non-empty sentence"):
        reporting.Findings()
    with pytest.raises(ValueError, match="at least one non-empty sentence"):
        reporting.Findings("ok", " ")


def test_environment():
    import keras
    import tensorflow as tf

    env = reporting.environment()
    assert env["tensorflow"] == tf.__version__ and env["keras"] == keras.__version__
    assert env["numpy"] == np.__version__ and env["python"] == platform.python_version()
    assert datetime.date.fromisoformat(env["date"])
    assert env["hardware"].startswith(("GPU: ", "CPU only")) and "CPU cores" in env["hardware"]


# --------------------------------------------------------------------------------------
# results_table
# --------------------------------------------------------------------------------------
def test_results_table(metrics_json):
    table = reporting.results_table(metrics_json)
    lines = table.rstrip("\n").split("\n")
    assert len(lines) == 4  # header, separator, one row per model
    assert lines[0].startswith("| model | task |") and lines[1] == "|" + "---|" * 15
    assert all(line.count("|") == 16 for line in lines)  # 15 columns everywhere
    cells = [c.strip() for c in lines[2].split("|")[1:-1]]
    # the model's first test set only; gain = 28.50 - 26.50
    assert cells == ["`cifar10_x2.keras`", "x2 (16 -> 32)", "CIFAR-10 (partial)", "CIFAR-10 test (1,017)",
                     "28.50 ± 2.25", "26.50 ± 2.00", "+2.00", "0.9123 ± 0.0100", "0.8500 ± 0.0200",
                     "30.12 ± 2.50", "28.00 ± 2.00", "225,027", "12.3", "0.50x", "1.00x"]
    other = [c.strip() for c in lines[3].split("|")[1:-1]]
    assert other[0] == "`other_x2.keras`" and other[3] == "natural96 val (272)"
    assert other[4] == "26.00 ± 2.25" and other[6] == "-0.50"  # worse than bicubic: negative gain
    assert other[11:] == ["1,234,567", "12.3", "1.25x", "2.50x"]
    assert table.endswith("\n")


def test_results_table_without_models(metrics_json):
    table = reporting.results_table(dict(metrics_json, models={}))
    assert table.count("\n") == 2  # header and separator only


# --------------------------------------------------------------------------------------
# model_card, write_model_cards
# --------------------------------------------------------------------------------------
def test_model_card(metrics_json):
    text = reporting.model_card(metrics_json, "cifar10_x2.keras")
    lines = text.split("\n")
    assert lines[0] == "# `cifar10_x2.keras`" and lines[2] == "The original CIFAR-10 x2 CNN."
    assert "| architecture | 5 conv + transpose conv (225,027 parameters) |" in lines
    assert ("| training data | CIFAR-10 (partial): 4,653 training / 517 validation images "
            "(seeded 90/10 split, seed 42) |") in lines
    assert "| training | 20 epochs, 1,460 optimizer steps, 12.5 min on CPU only; 2 CPU cores; x86_64 |" in lines  # 750 s
    assert "| software | Python 3.11.7, TensorFlow 2.21.0, Keras 3.15.1 (2025-01-02) |" in lines
    assert any(line.startswith("| trained by | `notebooks/01_cifar10_x2.ipynb`;") and "(2025-02-03)" in line
               for line in lines)
    assert any(line.startswith("| cost | 12.3 GMACs per output megapixel; 1234 images/s, 790 ms")
               and "(0.50x the MACs and 1.00x the time per output pixel of `cifar10_x2.keras`, timed in the same run)" in line
               for line in lines)
    # one section per test set, in order, each with the model and every baseline
    assert [line for line in lines if line.startswith("## ")] == [
        "## CIFAR-10 test (1,017 images), mean ± std over images",
        "## STL-10 subset (256 images), mean ± std over images",
    ]
    first = lines.index("## CIFAR-10 test (1,017 images), mean ± std over images")
    assert lines[first + 4:first + 7] == [
        "| **model** | 28.50 ± 2.25 | 0.9123 ± 0.0100 | 0.0231 ± 0.0040 | 30.12 ± 2.50 | 0.9300 ± 0.0100 |",
        "| bicubic | 26.50 ± 2.00 | 0.8500 ± 0.0200 | 0.0300 ± 0.0050 | 28.00 ± 2.00 | 0.8800 ± 0.0200 |",
        "| nearest | 24.00 ± 1.50 | 0.8000 ± 0.0300 | 0.0400 ± 0.0060 | 25.00 ± 1.00 | 0.8200 ± 0.0300 |",
    ]
    assert "Gain over bicubic: +2.00 dB mean RGB PSNR." in lines
    assert "Gain over bicubic: +1.90 dB mean RGB PSNR." in lines  # STL-10 subset: shifted by -0.1
    assert "SSIM: Gaussian SSIM (test)." in text


def test_model_card_skips_test_sets_without_records(metrics_json):
    metrics_json["models"]["other_x2.keras"]["test_sets"] = ["natural96 val", "never scored"]
    text = reporting.model_card(metrics_json, "other_x2.keras")
    assert "## natural96 val (272 images)" in text and "never scored" not in text
    assert "Gain over bicubic: -0.50 dB" in text


def test_model_without_test_data_is_reported_not_scored(metrics_json):
    # what the evaluation notebook (06) writes (to its scratch folder) when no test set of a model could be loaded
    metrics_json["models"]["other_x2.keras"]["test_sets"] = []
    metrics_json["records"] = [r for r in metrics_json["records"] if r["model"] != "other_x2.keras"]
    lines = reporting.results_table(metrics_json).rstrip("\n").split("\n")
    assert all(line.count("|") == 16 for line in lines)
    cells = [c.strip() for c in lines[3].split("|")[1:-1]]
    assert cells == ["`other_x2.keras`", "x2 (16 -> 32)", "natural96", "not scored (no test data in this run)",
                     "–", "–", "–", "–", "–", "–", "–", "1,234,567", "12.3", "1.25x", "2.50x"]
    card = reporting.model_card(metrics_json, "other_x2.keras")
    assert "Not scored in this run: none of its test sets could be loaded." in card and "## " not in card


def test_write_model_cards(tmp_path, metrics_json):
    paths = reporting.write_model_cards(metrics_json, tmp_path)
    assert paths == [tmp_path / "cifar10_x2.md", tmp_path / "other_x2.md"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cifar10_x2.md", "other_x2.md"]  # no .tmp left
    assert paths[1].read_text() == reporting.model_card(metrics_json, "other_x2.keras")


# --------------------------------------------------------------------------------------
# update_readme
# --------------------------------------------------------------------------------------
def test_update_readme_replaces_only_the_block(tmp_path, metrics_json):
    head = "# Study\n\nIntro text.\n\n"
    tail = "\n\n## Later section\n\nMore text.\n"
    readme = tmp_path / "README.md"
    readme.write_text(f"{head}{reporting.README_START}\nold table\n{reporting.README_END}{tail}")
    assert reporting.update_readme(readme, metrics_json) is True
    text = readme.read_text()
    expected = f"{head}{reporting.README_START}\n{reporting.readme_block(metrics_json)}{reporting.README_END}{tail}"
    assert text == expected
    assert "old table" not in text and "`other_x2.keras`" in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]  # no .tmp left
    mtime = readme.stat().st_mtime_ns
    assert reporting.update_readme(str(readme), metrics_json) is False  # already up to date
    assert readme.read_text() == expected and readme.stat().st_mtime_ns == mtime


def test_update_readme_picks_up_new_results(tmp_path, metrics_json):
    readme = tmp_path / "README.md"
    readme.write_text(f"{reporting.README_START}\n{reporting.README_END}\n")
    fewer = dict(metrics_json, models={"cifar10_x2.keras": metrics_json["models"]["cifar10_x2.keras"]})
    assert reporting.update_readme(readme, fewer)
    assert "`other_x2.keras`" not in readme.read_text()
    assert reporting.update_readme(readme, metrics_json)
    assert "`other_x2.keras`" in readme.read_text()


@pytest.mark.parametrize("content", ["# no markers\n", f"only {reporting.README_START}\n",
                                     f"only {reporting.README_END}\n"])
def test_update_readme_without_markers(tmp_path, metrics_json, content):
    readme = tmp_path / "README.md"
    readme.write_text(content)
    with pytest.raises(ValueError, match=r"has no <!-- results:start --> \.\.\. <!-- results:end --> block"):
        reporting.update_readme(readme, metrics_json)
    assert readme.read_text() == content


def test_model_card_reports_published_figures_and_diagnostics(metrics_json):
    info = metrics_json["models"]["cifar10_x2.keras"]
    info["training"] = {**info["training"], "extra": {"published": {"psnr": 28.13, "ssim": 0.9077, "steps": 14_000},
                                                      "diagnostics": {"bn_recalibrated_db": 21.54, "bicubic_db": 24.07}}}
    text = reporting.model_card(metrics_json, "cifar10_x2.keras")
    assert ("Published for this architecture: 28.13 dB PSNR / 0.9077 SSIM after about 14,000 optimizer steps on the "
            "full training set; this model had 1,460 steps on the data above.") in text
    assert "scores 21.54 dB against bicubic's 24.07 dB" in text
    plain = reporting.model_card(metrics_json, "other_x2.keras")  # its training record has neither
    assert "Published for this architecture" not in plain and "Diagnostic" not in plain


# --------------------------------------------------------------------------------------
# Benchmark protocol on photos
# --------------------------------------------------------------------------------------
@pytest.fixture
def with_photos(metrics_json) -> dict:
    stat = lambda m, s: {"psnr": metric(m, s), "ssim": metric(0.9, 0.05)}  # noqa: E731
    metrics_json["photo_benchmark"] = {
        "dataset": "held-out photos", "protocol": "MATLAB-style bicubic LR, Y channel, border crop",
        "published": {"BSD100": {"2": {"bicubic": 29.56, "SRCNN": 31.36, "FSRCNN": 31.53}},
                      "Set5": {"2": {"bicubic": 33.66, "SRCNN": 36.66, "FSRCNN": 37.00}}},
        "models": {"other_x2.keras": {"scale": 2, "n_images": 46, **stat(31.234, 3.0),
                                      "baselines": {"bicubic": stat(29.5, 2.5), "lanczos3": stat(29.75, 2.5)}}},
    }
    return metrics_json


def test_photo_benchmark_table(with_photos):
    lines = reporting.photo_benchmark_table(with_photos).rstrip("\n").split("\n")
    assert len(lines) == 3 and all(line.count("|") == 12 for line in lines)
    assert lines[0].endswith("| published gain on BSD100: SRCNN / FSRCNN | published gain on Set5: SRCNN / FSRCNN |")
    cells = [c.strip() for c in lines[2].split("|")[1:-1]]
    assert cells == ["`other_x2.keras`", "x2", "held-out photos (46)", "31.23 ± 3.00", "29.50 ± 2.50", "29.75 ± 2.50",
                     "+1.73", "0.9000 ± 0.0500", "0.9000 ± 0.0500", "+1.80 / +1.97", "+3.00 / +3.34"]


def test_readme_block_adds_the_photo_table_only_when_there_is_one(with_photos, metrics_json):
    plain = dict(metrics_json, photo_benchmark={"models": {}})
    assert reporting.readme_block(plain) == reporting.results_table(plain) and reporting.photo_benchmark_table(plain) == ""
    block = reporting.readme_block(with_photos)
    assert block.startswith(reporting.results_table(with_photos)) and block.endswith(reporting.photo_benchmark_table(with_photos))


def test_model_card_of_a_model_for_photos(with_photos):
    text = reporting.model_card(with_photos, "other_x2.keras")
    assert "## Benchmark protocol: 46 held-out photos, whole" in text
    assert "| **model** | 31.23 ± 3.00 | 0.9000 ± 0.0500 |\n| bicubic | 29.50 ± 2.50 | 0.9000 ± 0.0500 |\n| lanczos3 |" in text
    assert "Gain over bicubic: +1.73 dB Y-PSNR." in text
    assert "Benchmark protocol" not in reporting.model_card(with_photos, "cifar10_x2.keras")


def test_metrics_json_names_the_notebook_of_a_model_without_a_record():
    from sr_utils import registry

    info = registry.get("natural96_x3_rsp56x4")
    with pytest.raises(ValueError, match=r"natural96_x3_rsp56x4.keras has no training record .*run notebooks/04_better_models_96.ipynb"):
        reporting.metrics_json({}, {}, {}, {}, infos=[info], profile="full", skipped={}, reference=info.file, generated_by="x")


def _field():
    """A photo_field section from real Results of two sets at x2 (bicubic and nearest as the 'methods')."""
    sets = {"Set5": [(np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3) * 255).astype(np.uint8)],
            "held-out photos": [(np.linspace(1, 0, 30 * 24 * 3).reshape(30, 24, 3) * 255).astype(np.uint8)] * 2}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_cubic"))
    results = {2: evaluation.score_on_degradations({"model": "nearest"}, sets, 2, degradations=cases, baselines=("bicubic",))}
    return reporting.photo_field_json(results, {2: {"model": 12.5, "bicubic": 1.5}}, {"model": "model"}, {"LapSRN": "no file"}, (64, 64)), results


def test_photo_field_json_holds_every_score_and_timing():
    field, results = _field()
    json.dumps(field)  # JSON-ready
    sc = field["scales"]["2"]
    assert sc["methods"] == {"model": {"kind": "model", "ms_per_output_mp": 12.5}, "bicubic": {"kind": "baseline", "ms_per_output_mp": 1.5}}
    assert list(sc["scores"]) == ["Set5", "held-out photos"] and list(sc["scores"]["Set5"]) == ["benchmark", "cv2_cubic"]
    got = sc["scores"]["held-out photos"]["cv2_cubic"]["bicubic"]
    assert got["n_images"] == 2 and got["psnr"] == results[2]["held-out photos", "cv2_cubic"].mean("bicubic", "benchmark")
    assert field["published"]["Set14"]["4"]["VDSR"] == 28.01 and field["skipped"] == {"LapSRN": "no file"}


def test_benchmark_sets_table_puts_published_rows_over_the_measured_ones():
    field, results = _field()
    table = reporting.benchmark_sets_table({"photo_field": field}).splitlines()
    assert table[0] == "| method | Set5 x2 |"
    assert table[2] == "| bicubic (published) | 33.66 |" and table[5] == "| VDSR (published) | 37.53 |"
    assert table[6] == f"| model | {results[2]['Set5', 'benchmark'].mean('model', 'benchmark'):.2f} |"
    assert reporting.benchmark_sets_table({}) == ""


def test_degradation_tables_mark_the_best_method_of_each_row():
    field, results = _field()
    text = reporting.degradation_tables({"photo_field": field})
    lines = text.splitlines()
    assert lines[0] == "x2, held-out photos (n = 2), Y-PSNR dB by how the LR images were made:"
    assert lines[2] == "| LR made by | model | bicubic |"
    bicubic = results[2]["held-out photos", "cv2_cubic"].mean("bicubic", "benchmark")
    assert lines[5] == f"| cv2_cubic | {results[2]['held-out photos', 'cv2_cubic'].mean('model', 'benchmark'):.2f} | **{bicubic:.2f}** |"
    assert reporting.degradation_tables({"photo_field": field}, "Set14") == ""


def test_readme_block_adds_the_field_tables_only_when_there_is_a_field():
    field, _ = _field()
    base = {"models": {}, "records": [], "photo_benchmark": {"models": {}}}
    without = reporting.readme_block(base)
    with_field = reporting.readme_block({**base, "photo_field": field})
    assert with_field.startswith(without) and "Set5 and Set14 (test sets only)" not in without
    assert reporting.benchmark_sets_table({"photo_field": field}) in with_field
    assert reporting.degradation_tables({"photo_field": field}) in with_field


def test_model_card_field_section_sets_the_model_beside_bicubic_and_the_best_peer():
    sets = {"Set5": [(np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3) * 255).astype(np.uint8)]}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_cubic"))
    results = {2: evaluation.score_on_degradations({"robust": "nearest", "OpenCV FSRCNN": "bilinear"}, sets, 2, degradations=cases,
                                                   baselines=("bicubic",))}
    field = reporting.photo_field_json(results, {2: {"robust": 40.0, "OpenCV FSRCNN": 20.0}},
                                       {"robust": "model", "OpenCV FSRCNN": "peer"}, {}, (64, 48))
    lines = reporting.field_card_section({"photo_field": field, "env": {"hardware": "a test CPU"}}, "robust")
    assert lines[0] == "## In the field: LR images made every way, x2"
    assert lines[2].endswith("`best peer`: the best of OpenCV's models on that row (OpenCV FSRCNN).")
    r = results[2]["Set5", "cv2_cubic"]
    model, bicubic, peer = (r.mean(m, "benchmark") for m in ("robust", "bicubic", "OpenCV FSRCNN"))
    assert lines[7] == (f"| Set5 (n = 1) | cv2_cubic | **{model:.2f}** | {bicubic:.2f} | {peer:.2f} (OpenCV FSRCNN) | "
                        f"{model - bicubic:+.2f} | {model - peer:+.2f} |")
    assert lines[-2] == ("Time: 40 ms per output megapixel at 64x48 LR pixels per call; OpenCV FSRCNN 20 "
                         "(timed in turns in one run, on a test CPU).")
    assert reporting.field_card_section({"photo_field": field}, "natural_x2_rsp64x5") == []
    assert reporting.field_card_section({}, "robust") == []


def test_field_margins_table_gives_each_models_smallest_margins_and_where():
    sets = {"Set5": [(np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3) * 255).astype(np.uint8)]}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_cubic"))
    methods = {"robust": "bilinear", "robust x8": "bilinear", "OpenCV ESPCN": "nearest"}
    results = {2: evaluation.score_on_degradations(methods, sets, 2, degradations=cases, baselines=("bicubic",))}
    field = reporting.photo_field_json(results, {}, {"robust": "model", "robust x8": "model", "OpenCV ESPCN": "peer"}, {}, (8, 8))
    table = reporting.field_margins_table({"photo_field": field}).splitlines()
    assert len(table) == 3  # the header, its rule, one row: the x8 self-ensemble is not a model of its own
    rows = {label: results[2]["Set5", label] for label in ("benchmark", "cv2_cubic")}
    vs_bicubic = {k: r.mean("robust", "benchmark") - r.mean("bicubic", "benchmark") for k, r in rows.items()}
    vs_peer = {k: r.mean("robust", "benchmark") - r.mean("OpenCV ESPCN", "benchmark") for k, r in rows.items()}
    worst_b, worst_p = min(vs_bicubic, key=vs_bicubic.get), min(vs_peer, key=vs_peer.get)
    assert table[2] == (f"| x2 | `robust` | {vs_bicubic[worst_b]:+.2f} (Set5, {worst_b}) | {sum(v < 0 for v in vs_bicubic.values())} of 2 | "
                        f"{vs_peer[worst_p]:+.2f} (Set5, {worst_p}) | {sum(v < 0 for v in vs_peer.values())} of 2 |  |  |")  # no FSRCNN
    assert reporting.field_margins_table({}) == ""
    assert reporting.field_margins_table({"photo_field": reporting.photo_field_json(results, {}, {"robust": "model"}, {}, (8, 8))}
                                         ).splitlines()[2].endswith("| no peer could run |  |  |  |")


def test_field_findings_state_each_models_rows_below_bicubic_and_the_best_peer():
    sets = {"Set5": [(np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3) * 255).astype(np.uint8)]}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_cubic"))
    results = {2: evaluation.score_on_degradations({"robust": "bilinear", "OpenCV ESPCN": "nearest"}, sets, 2, degradations=cases,
                                                   baselines=("bicubic",))}
    metrics = {"photo_field": reporting.photo_field_json(results, {}, {"robust": "model", "OpenCV ESPCN": "peer"}, {}, (8, 8))}
    [margins] = reporting.field_margins(metrics)
    rows = {label: results[2]["Set5", label] for label in ("benchmark", "cv2_cubic")}
    vs_peer = {k: r.mean("robust", "benchmark") - r.mean("OpenCV ESPCN", "benchmark") for k, r in rows.items()}
    worst = min(vs_peer, key=vs_peer.get)
    assert margins["scale"] == 2 and margins["model"] == "robust" and margins["rows"] == 2
    assert margins["peer"] == {"worst": vs_peer[worst], "where": f"Set5, {worst}", "below": sum(v < 0 for v in vs_peer.values())}
    [sentence] = reporting.field_findings(metrics)
    b = margins["bicubic"]
    assert sentence == (f"robust (x2): below bicubic on {b['below']} of 2 rows (test set x degradation; smallest margin {b['worst']:+.2f} dB, "
                        f"{b['where']}); below the best OpenCV peer on {margins['peer']['below']} of 2 (smallest margin "
                        f"{vs_peer[worst]:+.2f} dB, Set5, {worst}).")
    assert reporting.field_findings({}) == [] and reporting.field_margins({"photo_field": None}) == []


def test_field_margins_measure_each_model_against_opencvs_fsrcnn_in_time_and_quality():
    """The fast models' targets: no slower per output pixel than OpenCV's FSRCNN of the scale (not
    FSRCNN-small), and above it on every row."""
    sets = {"Set5": [(np.linspace(0, 1, 24 * 30 * 3).reshape(24, 30, 3) * 255).astype(np.uint8)]}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_cubic"))
    methods = {"fast": "bilinear", "OpenCV FSRCNN x2": "nearest", "OpenCV FSRCNN-small x2": "bicubic"}
    results = {2: evaluation.score_on_degradations(methods, sets, 2, degradations=cases, baselines=("bicubic",))}
    kinds = {"fast": "model", "OpenCV FSRCNN x2": "peer", "OpenCV FSRCNN-small x2": "peer"}
    timings = {2: {"fast": 30.0, "OpenCV FSRCNN x2": 40.0, "OpenCV FSRCNN-small x2": 10.0}}
    metrics = {"photo_field": reporting.photo_field_json(results, timings, kinds, {}, (8, 8))}
    [margins] = reporting.field_margins(metrics)
    vs = {k: results[2]["Set5", k].mean("fast", "benchmark") - results[2]["Set5", k].mean("OpenCV FSRCNN x2", "benchmark")
          for k in ("benchmark", "cv2_cubic")}
    worst = min(vs, key=vs.get)
    assert margins["fsrcnn"] == {"worst": vs[worst], "where": f"Set5, {worst}", "below": sum(v < 0 for v in vs.values()), "time_ratio": 0.75}
    assert reporting.field_margins_table(metrics).splitlines()[2].endswith(f"| 0.75x | {margins['fsrcnn']['below']} of 2 |")
    assert reporting.field_findings(metrics)[0].endswith(
        f"Against OpenCV's FSRCNN: below it on {margins['fsrcnn']['below']} of 2 rows, 0.75x its time per output pixel.")
    untimed = {"photo_field": reporting.photo_field_json(results, {}, kinds, {}, (8, 8))}
    assert reporting.field_margins(untimed)[0]["fsrcnn"]["time_ratio"] is None
    assert reporting.field_margins_table(untimed).splitlines()[2].endswith("| not timed | " f"{margins['fsrcnn']['below']} of 2 |")
