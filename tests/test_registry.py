"""Tests of sr_utils/registry.py: the committed models' facts, the checks, and what adding a model
takes (one entry and the notebook that trains it), shown end to end with a tiny model."""

from __future__ import annotations

from types import SimpleNamespace

import keras
import numpy as np
import pytest
from synthetic import smooth_images

from sr_utils import cost, evaluation, models, registry, reporting, saving, upscale


def test_the_registry_names_every_committed_model_once_with_consistent_facts():
    registry.check()
    names = [m.name for m in registry.MODELS]
    assert names == ["cifar10_x2_original", "cifar10_x2_rsp64x5", "natural96_x6_original", "natural96_x3_original",
                     "natural96_x6_rsp88x6", "natural96_x3_rsp56x4", "natural_x2_rsp64x5", "natural_x3_rsp56x4",
                     "natural_x4_rsp64x5", "robust_x2_rsp64x5", "robust_x3_rsp56x4", "robust_x4_rsp64x5",
                     "robust_x2_rsp32x2", "robust_x3_rsp32x2", "robust_x4_rsp32x2"]
    for m in registry.MODELS:
        assert m.name.split("_x")[1].startswith(f"{m.scale}_") and m.file == f"{m.name}.keras"
        original = registry.get(m.original)
        if m.scale == 4:  # no original study has x4: compared per output pixel with the x3 model for photos
            assert original.name == "natural_x3_rsp56x4"
        else:
            assert original.name.endswith("_original") and original.scale == m.scale
        assert m.photos == m.antialias and m.test_sets[0] in registry.TEST_SETS
    assert registry.get(registry.REFERENCE).original == registry.REFERENCE
    assert {m.scale: m.name for m in registry.MODELS if m.cli_default} == {2: "robust_x2_rsp64x5", 3: "robust_x3_rsp56x4", 4: "robust_x4_rsp64x5"}
    assert upscale.DEFAULT_MODELS == {2: "robust_x2_rsp64x5.keras", 3: "robust_x3_rsp56x4.keras", 4: "robust_x4_rsp64x5.keras"}
    assert upscale.FAST_MODELS == {s: f"robust_x{s}_rsp32x2.keras" for s in (2, 3, 4)}
    assert not any(m.cli_default and m.cli_fast for m in registry.MODELS)


def test_get_accepts_file_names_and_names_the_fix():
    assert registry.get("cifar10_x2_original.keras") is registry.get("cifar10_x2_original")
    with pytest.raises(ValueError, match=r"no model 'cifar10_x2_seed' in the registry.*Add a ModelInfo entry"):
        registry.get("cifar10_x2_seed")


def test_trained_on_other_data_renames_the_model_and_its_original():
    info = registry.trained_on("natural96_x6_rsp88x6", "stl10")
    assert (info.name, info.original, info.train_data) == ("stl10_x6_rsp88x6", "stl10_x6_original", "stl10 train")
    assert registry.trained_on("natural96_x6_rsp88x6", "natural96") is registry.get("natural96_x6_rsp88x6")


def entry(name, **changes):
    base = dict(task="toy x2", scale=2, antialias=False, train_data="toy", test_sets=("CIFAR-10 test",), lr_shape=(8, 8, 3),
                original=name, notebook="notebooks/toy.ipynb")
    return registry.ModelInfo(name, **{**base, **changes})


def test_inconsistent_entries_are_refused():
    with pytest.raises(ValueError, match="test_sets must be a non-empty choice"):
        entry("a", test_sets=("Set5",))
    with pytest.raises(ValueError, match="scale must be an integer >= 2"):
        entry("a", scale=1)
    with pytest.raises(ValueError, match=r"duplicate model names in the registry: \['a'\]"):
        registry.check((entry("a"), entry("a")))
    with pytest.raises(ValueError, match=r"two command-line default models for x2: \['a', 'b'\]; set cli_default=True on one"):
        registry.check((entry("a", cli_default=True), entry("b", cli_default=True)))
    with pytest.raises(ValueError, match=r"two command-line fast models for x2: \['a', 'b'\]; set cli_fast=True on one"):
        registry.check((entry("a", cli_fast=True), entry("b", cli_fast=True)))
    registry.check((entry("a", cli_default=True), entry("b", cli_fast=True), entry("c", scale=3, cli_fast=True)))
    with pytest.raises(ValueError, match="its original 'b' has another scale"):
        registry.check((entry("o"), entry("a", original="b"), entry("b", scale=3)))  # x2 has an original, "o"
    # a scale that no original study has compares its models with a model of another scale
    registry.check((entry("b", scale=3), entry("c", scale=4, original="b")))
    with pytest.raises(ValueError, match="its original 'b' has another scale"):
        registry.check((entry("b", scale=3), entry("c", scale=4, original="b"), entry("d", scale=4)))


def test_check_folder_names_the_missing_entry_and_the_missing_file(tmp_path):
    (tmp_path / "a.keras").write_bytes(b"")
    registry.check_folder(tmp_path, (entry("a"),))
    (tmp_path / "stray.keras").write_bytes(b"")
    with pytest.raises(ValueError, match=r"without a registry entry: \['stray'\]; add a ModelInfo entry"):
        registry.check_folder(tmp_path, (entry("a"),))
    with pytest.raises(ValueError, match=r"entries without a file .*\['b'\]; train them with their notebooks \(notebooks/toy.ipynb\)"):
        registry.check_folder(tmp_path, (entry("a"), entry("b"), entry("stray")))


def test_adding_a_model_is_one_entry_and_its_training_run(tmp_path):
    """What a notebook does for a new model, with a tiny one: save it and its record; the evaluation
    then scores it from the registry entry alone, and its card and table row follow."""
    infos = (entry("toy_x2_original"), entry("toy_x2_rsp4x1", original="toy_x2_original"))
    hr = smooth_images(6, 16, 16, seed=1)
    for i, info in enumerate(infos):
        keras.utils.set_random_seed(i)
        model = models.build_residual_subpixel(2, filters=4, blocks=i)
        saving.save_model(model, tmp_path / info.file)
        fit = SimpleNamespace(model=model, epochs=1, steps=2, seconds=1.0)
        scores = evaluation.score({"model": model}, hr, 2, protocols=("rgb", "y"), antialias=False)
        data = SimpleNamespace(train_data="toy", test_data="toy", split="none", main_test="t",
                               hr={"train": hr, "val": hr[:2]}, tests={"t": hr})
        reporting.write_record(reporting.new_record(info, fit, data, description="toy", architecture="toy", recipe="none",
                                                    profile="full", test=scores.summary()), tmp_path)
    registry.check_folder(tmp_path, infos)
    loaded = {i.file: (keras.models.load_model(tmp_path / i.file), i) for i in infos}
    results = evaluation.score_models(loaded, {"CIFAR-10 test": hr, "natural96 test": hr})
    assert list(results) == [(i.file, "CIFAR-10 test") for i in infos]  # only the test sets of each entry
    costs = cost.model_costs({f: (m, i.lr_shape) for f, (m, i) in loaded.items()}, {f: i.original + ".keras" for f, (_, i) in loaded.items()},
                             infos[0].file, batch_size=2, batches=1, warmup=0, repeats=1)
    out = reporting.metrics_json(results, costs, reporting.load_records(tmp_path), {}, infos=infos, profile="full", skipped={},
                                 reference=infos[0].file, generated_by="notebooks/toy_evaluation.ipynb")
    assert list(out["models"]) == [i.file for i in infos] and len(out["records"]) == 2 * 2 * 3
    rec = next(r for r in out["records"] if (r["model"], r["mode"], r["metric"]) == (infos[1].file, "y", "psnr"))
    assert rec["mean"] == pytest.approx(results[infos[1].file, "CIFAR-10 test"].mean(protocol="y"))
    assert sorted(rec["baselines"]) == sorted(evaluation.BASELINES)
    assert out["models"][infos[1].file]["cost"]["original_of_scale"] == infos[0].file
    assert "test" not in out["models"][infos[1].file]["training"]
    table = reporting.results_table(out)
    assert "| `toy_x2_rsp4x1.keras` | toy x2 | toy | CIFAR-10 test (6) |" in table
    cards = reporting.write_model_cards(out, tmp_path)
    assert [p.name for p in cards] == ["toy_x2_original.md", "toy_x2_rsp4x1.md"]
    assert "evaluated by `notebooks/toy_evaluation.ipynb`" in cards[1].read_text()
    assert np.isfinite(out["models"][infos[1].file]["cost"]["time_ratio_to_original"])
