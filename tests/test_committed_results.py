"""The committed results agree with each other: models, model/metrics.json, model cards and README.

The first tests need only the repository. The recomputation tests also need the real data
(``$SR_DATA_DIR`` or ``../shared/data``) and skip cleanly without it.
"""

import json
import os
from pathlib import Path

import keras
import numpy as np
import pytest

import sr_utils  # noqa: F401  (registers the custom metrics for plain load_model)
from sr_utils import data, degradation, models, registry, reporting

ROOT = Path(__file__).resolve().parents[1]
MODEL_DIR = ROOT / "model"


@pytest.fixture(scope="module")
def metrics_json():
    path = MODEL_DIR / "metrics.json"
    if not path.is_file():
        pytest.fail(f"{path} is missing: run notebooks/07_evaluation.ipynb (full profile) and commit its output.")
    return json.loads(path.read_text())


def test_every_committed_model_is_in_the_registry_and_evaluated(metrics_json):
    registry.check_folder(MODEL_DIR)  # every file has an entry and every entry a file
    assert list(metrics_json["models"]) == [info.file for info in registry.MODELS]
    for info in registry.MODELS:
        entry = metrics_json["models"][info.file]
        assert (entry["task"], entry["scale"], entry["antialias"]) == (info.task, info.scale, info.antialias)
        assert entry["test_sets"] == list(info.test_sets) and entry["cost"]["original_of_scale"] == registry.get(info.original).file


def test_every_training_record_has_the_same_fields():
    records = reporting.load_records(MODEL_DIR)  # refuses a record with a missing or an unknown field
    assert sorted(records) == sorted(info.file for info in registry.MODELS)
    for info in registry.MODELS:
        r = records[info.file]
        assert (r.scale, r.antialias, r.notebook) == (info.scale, info.antialias, info.notebook) and r.profile == "full"


def test_readme_table_is_generated_from_metrics_json(metrics_json):
    readme = (ROOT / "README.md").read_text()
    block = reporting.readme_block(metrics_json)
    assert f"{reporting.README_START}\n{block}{reporting.README_END}" in readme


def test_model_cards_are_generated_from_metrics_json(metrics_json):
    for model_file in metrics_json["models"]:
        card = MODEL_DIR / (Path(model_file).stem + ".md")
        assert card.read_text() == reporting.model_card(metrics_json, model_file), f"{card} is out of date"


def test_the_cifar_model_loads_with_plain_keras_and_has_the_published_size():
    model = keras.models.load_model(MODEL_DIR / "cifar10_x2_original.keras")
    assert model.count_params() == models.CIFAR10_X2_PARAMS == 225_027
    assert model.input_shape == (None, 16, 16, 3) and model.output_shape == (None, 32, 32, 3)


@pytest.mark.parametrize("scale", [6, 3])
def test_the_96px_original_models_load_and_map_to_96px(scale):
    model = keras.models.load_model(MODEL_DIR / f"natural96_x{scale}_original.keras")
    assert model.input_shape == (None, 96 // scale, 96 // scale, 3) and model.output_shape == (None, 96, 96, 3)


# ---- independent recomputation on the real data ------------------------------------------
def real_data_dir():
    for candidate in (os.environ.get(data.DATA_DIR_ENV), ROOT.parent / "shared" / "data"):
        if candidate and Path(candidate, "cifar10.npz").is_file() and Path(candidate, "natural96.npz").is_file():
            return Path(candidate)
    pytest.skip("real data not found (set SR_DATA_DIR to the folder with cifar10.npz and natural96.npz)")


def record(metrics_json, model_file, dataset, mode="rgb", metric="psnr"):
    return next(r for r in metrics_json["records"]
                if (r["model"], r["dataset"], r["mode"], r["metric"]) == (model_file, dataset, mode, metric))


def recompute(model_file, hr_u8, scale, antialias=False):
    """Test PSNR (RGB) of a committed model and of bicubic, computed here from scratch."""
    hr = hr_u8.astype(np.float64) / 255.0
    lr = degradation.downscale(hr.astype(np.float32), scale, antialias=antialias)
    sr = np.clip(keras.models.load_model(MODEL_DIR / model_file).predict(lr, verbose=0), 0, 1)
    bicubic = degradation.interpolate(lr, scale, "bicubic")
    psnr = lambda a: np.mean(10 * np.log10(1.0 / np.mean((a.astype(np.float64) - hr) ** 2, axis=(1, 2, 3))))  # noqa: E731
    return psnr(sr), psnr(bicubic)


def test_cifar_model_recomputed_matches_json_and_beats_bicubic(metrics_json):
    (_, _), (x_test, _) = data.load_cifar10(data_dir=real_data_dir(), download=False)
    model_psnr, bicubic_psnr = recompute("cifar10_x2_original.keras", x_test, 2)
    rec = record(metrics_json, "cifar10_x2_original.keras", "CIFAR-10 test")
    assert rec["n_images"] == len(x_test) == 1017
    assert model_psnr == pytest.approx(rec["mean"], abs=0.05)
    assert bicubic_psnr == pytest.approx(rec["baselines"]["bicubic"]["mean"], abs=0.05)
    assert model_psnr > bicubic_psnr


@pytest.mark.parametrize("model_file", ["natural96_x6_original.keras", "natural96_x3_original.keras", "natural96_x6_rsp88x6.keras",
                                        "natural96_x3_rsp56x4.keras", "natural_x2_rsp64x5.keras", "natural_x3_rsp56x4.keras",
                                        "natural_x4_rsp64x5.keras", "robust_x2_rsp64x5.keras", "robust_x3_rsp56x4.keras", "robust_x4_rsp64x5.keras",
                                        "robust_x2_rsp32x2.keras", "robust_x3_rsp32x2.keras", "robust_x4_rsp32x2.keras"])
def test_96px_test_set_recomputed_matches_json(metrics_json, model_file):
    _, x_val = data.load_natural96(real_data_dir())
    info = metrics_json["models"][model_file]
    model_psnr, bicubic_psnr = recompute(model_file, x_val, info["scale"], antialias=info["antialias"])
    rec = record(metrics_json, model_file, "natural96 test")
    assert model_psnr == pytest.approx(rec["mean"], abs=0.05)
    assert bicubic_psnr == pytest.approx(rec["baselines"]["bicubic"]["mean"], abs=0.05)


# ---- the targets of the better models, as the evaluation notebook measured them ----------------
def mean_psnr(metrics_json, model_file, dataset):
    rec = record(metrics_json, model_file, dataset)
    return rec["mean"], rec["baselines"]["bicubic"]["mean"]


def test_cifar_better_model_meets_its_targets(metrics_json):
    ours, _ = mean_psnr(metrics_json, "cifar10_x2_rsp64x5.keras", "CIFAR-10 test")
    original, _ = mean_psnr(metrics_json, "cifar10_x2_original.keras", "CIFAR-10 test")
    assert ours - original >= 1.0 and ours > 28.13   # +1.0 dB over the original architecture; the published figure


@pytest.mark.parametrize("scale, better", [(6, "natural96_x6_rsp88x6.keras"), (3, "natural96_x3_rsp56x4.keras")])
def test_96px_better_models_beat_bicubic_and_the_originals(metrics_json, scale, better):
    main, *others = metrics_json["models"][better]["test_sets"]
    for dataset in (main, *others):
        ours, bicubic = mean_psnr(metrics_json, better, dataset)
        original, _ = mean_psnr(metrics_json, f"natural96_x{scale}_original.keras", dataset)
        assert ours > bicubic + (0.3 if dataset == main else 0.2) and ours > original, dataset


def test_better_models_cost_no_more_than_the_original_of_their_scale(metrics_json):
    for name, info in metrics_json["models"].items():
        cost = info["cost"]
        original = metrics_json["models"][cost["original_of_scale"]]
        assert original["scale"] == info["scale"] or (info["scale"] == 4 and cost["original_of_scale"] == "natural_x3_rsp56x4.keras")
        assert cost["macs_ratio_to_original"] <= 1.0, name
        # Measured time depends on the processor (README): the ratio is reported, and must be the one of the
        # times measured in the same run; the 96x96 models and the x3 model for photos stay below 1 on every
        # processor measured so far.
        assert cost["time_ratio_to_original"] == pytest.approx(cost["ms_per_output_mp"] / original["cost"]["ms_per_output_mp"])
        if info["scale"] in (3, 6) and name != cost["original_of_scale"]:
            assert cost["time_ratio_to_original"] < 1.0, name


def test_models_for_photos_beat_bicubic_on_held_out_photos(metrics_json):
    bench = metrics_json["photo_benchmark"]["models"]
    assert sorted(bench) == ["natural_x2_rsp64x5.keras", "natural_x3_rsp56x4.keras", "natural_x4_rsp64x5.keras",
                             "robust_x2_rsp32x2.keras", "robust_x2_rsp64x5.keras", "robust_x3_rsp32x2.keras",
                             "robust_x3_rsp56x4.keras", "robust_x4_rsp32x2.keras", "robust_x4_rsp64x5.keras"]
    for name, r in bench.items():
        assert r["n_images"] == 46 and r["psnr"]["mean"] > r["baselines"]["bicubic"]["psnr"]["mean"] + 0.5, name
