"""Tests of sr_utils.evaluation: the three protocols, the Results object, mean ± std, published figures."""

import math

import keras
import numpy as np
import pandas as pd
import pytest
from keras import layers
from synthetic import smooth_images

from sr_utils import degradation, evaluation, metrics
from sr_utils.evaluation import Results, mean_std, score


def bench(images, scale, upscaler):
    """One upscaler under the benchmark protocol: ``{"psnr", "ssim"}`` per image."""
    return score({"up": upscaler}, images, scale, protocols=("benchmark",), antialias=True, baselines=()).per_image["benchmark"]["up"]


# ---- the benchmark protocol: whole images of any size -------------------------------------
def smooth_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([np.sin(3 * xx + p) * np.cos(2 * yy + p) for p in rng.random(3) * 6], axis=-1)
    return np.round((base * 0.4 + 0.5) * 255).astype(np.uint8)


def test_benchmark_with_a_perfect_upscaler_gives_infinite_psnr_and_ssim_one():
    images = [smooth_image(37, 41), smooth_image(30, 24, seed=1)]
    crops = [img[: 37 - 37 % 3, : 41 - 41 % 3] for img in images[:1]] + [images[1]]
    it = iter(crops)
    result = bench(images, 3, lambda lr: next(it)[None] / np.float32(255))
    assert np.all(np.isinf(result["psnr"]))
    np.testing.assert_allclose(result["ssim"], 1.0)


def test_benchmark_golden_value_for_a_constant_error():
    # the "upscaler" returns the HR crop plus 10 grey levels on every channel: Y moves by
    # (65.481 + 128.553 + 24.966) * 10 / 255 = 8.588... levels, so PSNR = 20 log10(255 / 8.588...)
    img = smooth_image(24, 24) // 2  # room for +10 without clipping
    result = bench([img], 2, lambda lr: (img[None] + 10) / np.float32(255))
    dy = (65.481 + 128.553 + 24.966) * 10 / 255
    assert result["psnr"][0] == pytest.approx(20 * np.log10(255 / dy), abs=1e-9)


def test_benchmark_bicubic_beats_nearest_on_smooth_images_and_accepts_models():
    images = [smooth_image(48, 48, seed=s) for s in range(3)]
    bicubic = bench(images, 2, "bicubic")
    nearest = bench(images, 2, "nearest")
    assert bicubic["psnr"].shape == (3,) and np.all(bicubic["psnr"] > nearest["psnr"])
    inputs = keras.Input((None, None, 3))
    upsample = keras.Model(inputs, layers.UpSampling2D(2)(inputs))  # a Keras model doing nearest
    np.testing.assert_allclose(bench(images, 2, upsample)["psnr"], nearest["psnr"], atol=1e-6)


def test_benchmark_errors():
    img = smooth_image(24, 24)
    with pytest.raises(ValueError, match="returned"):
        bench([img], 2, lambda lr: lr)
    with pytest.raises(ValueError, match="upscaler must be"):
        bench([img], 2, 42)
    with pytest.raises(ValueError, match="method must be one of"):
        bench([img], 2, "cubic-spline")


def test_benchmark_protocol_always_antialiases_and_stands_alone():
    images = [smooth_image(24, 24)]
    with pytest.raises(ValueError, match="always antialiases: pass antialias=True"):
        score({}, images, 2, protocols=("benchmark",), antialias=False, baselines=("bicubic",))
    with pytest.raises(ValueError, match="apart from 'rgb' / 'y'"):
        score({}, images, 2, protocols=("benchmark", "y"), antialias=True, baselines=("bicubic",))
    r = score({}, images, 2, protocols=("benchmark",), antialias=True, baselines=("bicubic", "lanczos3"))
    assert r.protocols == ("benchmark",) and r.methods == ("bicubic", "lanczos3") and r.lr is None and not r.outputs
    assert r.per_image["benchmark"]["bicubic"]["psnr"].shape == (1,)


# ---- rgb and y: batches of equal-sized images --------------------------------------------
def test_score_rgb_and_y_equal_metrics_evaluate_on_the_same_lr():
    hr = smooth_images(5, 24, 24, seed=3)
    double = lambda lr: degradation.interpolate(lr, 2, "bilinear")  # noqa: E731
    r = score({"model": double}, hr, 2, protocols=("rgb", "y"), antialias=False, dataset="toy", keep=("model", "bicubic"))
    lr = degradation.downscale(hr, 2, antialias=False)
    np.testing.assert_array_equal(r.lr, lr)
    assert r.dataset == "toy" and r.scale == 2 and r.n_images == 5
    assert r.methods == ("model", *evaluation.BASELINES) and r.protocols == ("rgb", "y")
    for protocol in ("rgb", "y"):
        expected = metrics.evaluate(degradation.interpolate(lr, 2, "bicubic"), hr, mode=protocol, scale=2)
        for k, v in expected.items():
            np.testing.assert_array_equal(r.per_image[protocol]["bicubic"][k], v)
    # the "model" here is bilinear: its scores are bilinear's, to the bit
    for k in ("psnr", "ssim", "mae", "mse"):
        np.testing.assert_array_equal(r.per_image["y"]["model"][k], r.per_image["y"]["bilinear"][k])
    assert sorted(r.outputs) == ["bicubic", "model"] and r.outputs["model"].shape == hr.shape


def test_score_uses_the_degradation_it_is_given():
    hr = smooth_images(2, 24, 24, seed=4)
    plain = score({}, hr, 2, protocols=("rgb",), antialias=False, baselines=("bicubic",))
    smooth = score({}, hr, 2, protocols=("rgb",), antialias=True, baselines=("bicubic",))
    np.testing.assert_array_equal(smooth.lr, degradation.downscale(hr, 2, antialias=True))
    assert not np.array_equal(plain.lr, smooth.lr)


def test_score_clips_model_outputs_and_accepts_keras_models():
    hr = smooth_images(3, 16, 16, seed=5)
    inputs = keras.Input((None, None, 3))
    bright = keras.Model(inputs, layers.UpSampling2D(2)(inputs) * 3.0)  # far outside [0, 1]
    r = score({"model": bright}, hr, 2, protocols=("rgb",), antialias=False, baselines=(), keep=("model",))
    assert r.outputs["model"].min() >= 0 and r.outputs["model"].max() == 1.0
    assert np.all(np.isfinite(r.per_image["rgb"]["model"]["psnr"]))


def test_results_statistics_gains_and_table_by_hand():
    per_image = {"rgb": {"model": {"psnr": np.array([30.0, 34.0]), "ssim": np.array([0.5, 0.7])},
                         "bicubic": {"psnr": np.array([29.0, 31.0]), "ssim": np.array([0.4, 0.6])}}}
    r = Results("toy", 2, per_image)
    assert r.stats("rgb") == {"model": {"psnr": {"mean": 32.0, "std": 2.0}, "ssim": {"mean": pytest.approx(0.6), "std": pytest.approx(0.1)}},
                              "bicubic": {"psnr": {"mean": 30.0, "std": 1.0}, "ssim": {"mean": pytest.approx(0.5), "std": pytest.approx(0.1)}}}
    np.testing.assert_array_equal(r.gain(), [1.0, 3.0])
    assert r.mean("bicubic") == 30.0 and r.n_images == 2
    table = r.table("rgb")
    assert isinstance(table, pd.DataFrame) and list(table.index) == ["model", "bicubic"]
    assert table.loc["model", "psnr"] == "32.00 ± 2.00" and table.loc["bicubic", "ssim"] == "0.5000 ± 0.1000"
    assert list(r.table("rgb", metrics=("ssim",), digits=2).columns) == ["ssim"]
    with pytest.raises(ValueError, match=r"no 'y' scores here; this result holds \('rgb',\)"):
        r.stats("y")
    with pytest.raises(ValueError, match="no method 'lanczos3'"):
        r.gain(baseline="lanczos3")


def test_score_errors():
    hr = smooth_images(1, 16, 16)
    with pytest.raises(TypeError, match="antialias"):  # no default: every caller names the degradation
        score({}, hr, 2, protocols=("rgb",))
    with pytest.raises(ValueError, match="protocols must be distinct names"):
        score({}, hr, 2, protocols=("psnr",), antialias=False)
    with pytest.raises(ValueError, match="protocols must be distinct names"):
        score({}, hr, 2, protocols=(), antialias=False)
    with pytest.raises(ValueError, match="'bicubic' is both an upscaler and a baseline"):
        score({"bicubic": "bicubic"}, hr, 2, protocols=("rgb",), antialias=False)
    with pytest.raises(ValueError, match="nothing to score"):
        score({}, hr, 2, protocols=("rgb",), antialias=False, baselines=())


# ---- mean ± std and the published figures ------------------------------------------------
def test_mean_std_is_the_population_std_as_floats():
    assert mean_std(np.array([20.0, 40.0])) == {"mean": 30.0, "std": 10.0}
    out = mean_std([1.0, 2.0, 3.0, 4.0])
    assert out == {"mean": 2.5, "std": pytest.approx(math.sqrt(1.25))} and all(type(v) is float for v in out.values())
    with pytest.raises(ValueError, match="non-empty 1-D"):
        mean_std([])


def test_published_gains_over_bicubic():
    assert evaluation.published_gains(2) == "BSD100: SRCNN +1.80, FSRCNN +1.97; Set5: SRCNN +3.00, FSRCNN +3.34"
    assert evaluation.published_gains(3) == "BSD100: SRCNN +1.20, FSRCNN +1.32; Set5: SRCNN +2.36, FSRCNN +2.79"
    assert evaluation.published_gains(4) == "BSD100: SRCNN +0.94, FSRCNN +1.02; Set5: SRCNN +2.06, FSRCNN +2.30"


def test_published_gains_unknown_scale():
    with pytest.raises(ValueError, match=r"no published figures for x5; PUBLISHED_PSNR has x2, x3, x4"):
        evaluation.published_gains(5)


def test_per_class_gains_by_hand():
    per_image = {"rgb": {"model": {"psnr": np.array([30.0, 32.0, 20.0, 26.0])}, "bicubic": {"psnr": np.array([29.0, 29.0, 21.0, 21.0])}}}
    other = {"rgb": {"model": {"psnr": np.array([29.0, 29.0, 22.0, 22.0])}, "bicubic": per_image["rgb"]["bicubic"]}}
    table = evaluation.per_class({"a": Results("t", 2, per_image), "b": Results("t", 2, other)}, np.array([1, 1, 0, 0]),
                                 ["cat", "dog", "ship"])
    assert list(table.index) == ["cat", "dog"]  # no "ship" image: no row
    assert table.loc["dog"].to_dict() == {"images": 2, "bicubic": 29.0, "a gain": 2.0, "b gain": 0.0}
    assert table.loc["cat", "a gain"] == 2.0 and table.loc["cat", "b gain"] == 1.0
    with pytest.raises(ValueError, match="one label per image: 3 labels for 4 images"):
        evaluation.per_class({"a": Results("t", 2, per_image)}, np.array([0, 1, 1]), ["cat", "dog"])


def test_tables_stack_every_protocol():
    hr = smooth_images(2, 16, 16, seed=6)
    r = score({}, hr, 2, protocols=("rgb", "y"), antialias=False, baselines=("nearest", "bicubic"))
    tables = r.tables()
    assert list(tables.index) == [("rgb", "nearest"), ("rgb", "bicubic"), ("y", "nearest"), ("y", "bicubic")]
    assert tables.loc[("y", "bicubic"), "psnr"] == r.table("y").loc["bicubic", "psnr"]
    assert r.summary() == {"rgb": r.stats("rgb"), "y": r.stats("y")}


def test_score_models_equals_scoring_each_model_alone():
    from types import SimpleNamespace

    hr = smooth_images(3, 24, 24, seed=7)
    inputs = keras.Input((None, None, 3))
    near = keras.Model(inputs, layers.UpSampling2D(2)(inputs))
    info = lambda scale, antialias, tests: SimpleNamespace(scale=scale, antialias=antialias, test_sets=tests)  # noqa: E731
    models = {"a": (near, info(2, False, ("t1", "t2"))), "b": (near, info(2, False, ("t1",))), "c": (near, info(2, True, ("t1", "none")))}
    results = evaluation.score_models(models, {"t1": hr, "t2": hr[:2]}, baselines=("bicubic", "nearest"))
    assert list(results) == [("a", "t1"), ("a", "t2"), ("b", "t1"), ("c", "t1")]
    for (name, t), r in results.items():
        alone = score({"model": near}, {"t1": hr, "t2": hr[:2]}[t], 2, protocols=("rgb", "y"), antialias=models[name][1].antialias,
                      baselines=("bicubic", "nearest"), keep=("model", "bicubic"))
        assert r.methods == alone.methods == ("model", "bicubic", "nearest") and r.dataset == t
        for p in ("rgb", "y"):
            for m in r.methods:
                for k, v in alone.per_image[p][m].items():
                    np.testing.assert_array_equal(r.per_image[p][m][k], v)
        np.testing.assert_array_equal(r.outputs["bicubic"], alone.outputs["bicubic"])
    assert not np.array_equal(results["a", "t1"].outputs["bicubic"], results["c", "t1"].outputs["bicubic"])  # other degradation
    bare = evaluation.score_models({"a": models["a"]}, {"t1": hr}, baselines=())
    assert bare["a", "t1"].methods == ("model",)


# ---- scoring on the LR images users make ---------------------------------------------------
def test_score_degraded_shares_one_lr_image_per_photo_between_methods():
    """Every method upscales the same LR images, made once: a noisy degradation would otherwise
    differ between methods. Bicubic scored as a callable equals the bicubic baseline."""
    photos = [(smooth_images(1, 30, 26, seed=s)[0] * 255).round().astype(np.uint8) for s in range(3)]
    seen = []

    def bicubic(lr):
        seen.append(lr.copy())
        return degradation.interpolate(lr, 2, "bicubic")

    noisy = degradation.Degradation("cv2_cubic", noise_sigma=3.0)
    r = evaluation.score_degraded({"mine": bicubic}, photos, 2, noisy, baselines=("bicubic",), seed=5)
    assert r.protocols == ("benchmark",) and r.methods == ("mine", "bicubic") and r.n_images == 3
    np.testing.assert_array_equal(r.per_image["benchmark"]["mine"]["psnr"], r.per_image["benchmark"]["bicubic"]["psnr"])
    lr, _ = noisy.apply(photos[1], 2, np.random.default_rng([5, 1]))  # image i's noise: rng([seed, i])
    np.testing.assert_array_equal(seen[1][0], lr)
    again = evaluation.score_degraded({}, photos, 2, noisy, baselines=("bicubic",), seed=5)
    np.testing.assert_array_equal(again.per_image["benchmark"]["bicubic"]["psnr"], r.per_image["benchmark"]["bicubic"]["psnr"])


def test_score_degraded_benchmark_equals_the_benchmark_protocol_and_degradations_matter():
    photos = [(smooth_images(1, 36, 33, seed=s)[0] * 255).round().astype(np.uint8) for s in range(2)]
    plain = score({}, photos, 3, protocols=("benchmark",), antialias=True, baselines=("bicubic",))
    same = evaluation.score_degraded({}, photos, 3, degradation.Degradation("benchmark"), baselines=("bicubic",))
    np.testing.assert_array_equal(plain.per_image["benchmark"]["bicubic"]["psnr"], same.per_image["benchmark"]["bicubic"]["psnr"])
    jpeg = evaluation.score_degraded({}, photos, 3, degradation.Degradation("benchmark", jpeg_quality=30), baselines=("bicubic",))
    assert jpeg.mean("bicubic", "benchmark") < same.mean("bicubic", "benchmark") - 0.2


def test_score_degraded_errors():
    with pytest.raises(ValueError, match="images is empty"):
        evaluation.score_degraded({}, [], 2, degradation.Degradation("cv2_area"), baselines=("bicubic",))
    with pytest.raises(ValueError, match=r"images\[1\]: image of 1x9 pixels is smaller than the scale 2"):
        evaluation.score_degraded({}, [np.zeros((8, 8, 3), np.uint8), np.zeros((1, 9, 3), np.uint8)], 2,
                                  degradation.Degradation("cv2_area"), baselines=("bicubic",))


def test_test_degradations_cover_every_distinct_resizer_and_the_extra_steps():
    """One row per distinct LR image: resizers that compute the same pixels at a scale are scored once."""
    resizers = {s: [c.resizer for c in evaluation.test_degradations(s) if c == degradation.Degradation(c.resizer)] for s in (2, 3, 4)}
    assert resizers[2] == ["benchmark", "tf_bicubic", "cv2_cubic", "cv2_area"]  # pil_bicubic = benchmark, cv2_linear = cv2_area
    assert resizers[3] == ["benchmark", "tf_bicubic", "cv2_area"]  # cv2_cubic and cv2_linear keep tf_bicubic's pixels
    assert resizers[4] == ["benchmark", "tf_bicubic", "cv2_cubic", "cv2_area", "cv2_linear"]
    labels = [c.describe() for c in evaluation.test_degradations(3)]
    assert len(set(labels)) == len(labels)
    assert labels[-3:] == ["blur 1.2 + tf_bicubic", "cv2_area + JPEG 80", "cv2_cubic + noise 2"]


def test_score_on_degradations_and_its_table():
    sets = {"A": [(smooth_images(1, 24, 30, seed=s)[0] * 255).round().astype(np.uint8) for s in range(2)],
            "B": [(smooth_images(1, 30, 24, seed=9)[0] * 255).round().astype(np.uint8)]}
    cases = (degradation.Degradation("benchmark"), degradation.Degradation("cv2_area", jpeg_quality=60))
    results = evaluation.score_on_degradations({"nearest!": "nearest"}, sets, 2, degradations=cases, baselines=("bicubic",))
    assert list(results) == [("A", "benchmark"), ("A", "cv2_area + JPEG 60"), ("B", "benchmark"), ("B", "cv2_area + JPEG 60")]
    alone = evaluation.score_degraded({"nearest!": "nearest"}, sets["B"], 2, cases[1], baselines=("bicubic",), dataset="B")
    np.testing.assert_array_equal(results["B", "cv2_area + JPEG 60"].per_image["benchmark"]["bicubic"]["psnr"],
                                  alone.per_image["benchmark"]["bicubic"]["psnr"])
    table = evaluation.degradation_table(results)
    assert table.index.names == ["test set", "degradation"] and list(table.columns) == ["nearest!", "bicubic"]
    assert table.loc[("A", "benchmark"), "bicubic"] == pytest.approx(results["A", "benchmark"].mean("bicubic", "benchmark"))
    assert (table["bicubic"] > table["nearest!"]).all()  # smooth images: bicubic beats nearest under every degradation
    assert evaluation.degradation_table(results, "ssim").max().max() <= 1
    default = evaluation.score_on_degradations({}, {"B": sets["B"]}, 3, baselines=("bicubic",))
    assert [label for _, label in default] == [d.describe() for d in evaluation.test_degradations(3)]
    with pytest.raises(ValueError, match="results is empty"):
        evaluation.degradation_table({})


def test_published_benchmarks_are_consistent_with_the_gains_table():
    for name, by_scale in evaluation.PUBLISHED_BENCHMARKS.items():
        assert set(by_scale) == {2, 3, 4}
        for s, methods in by_scale.items():  # each method better than the one before it, as published
            values = [methods[m] for m in ("bicubic", "SRCNN", "FSRCNN", "VDSR")]
            assert values == sorted(values), (name, s)
    assert evaluation.PUBLISHED_PSNR["Set5"][3] == {"bicubic": 30.39, "SRCNN": 32.75, "FSRCNN": 33.18}


def test_field_methods_takes_the_photo_models_of_the_scale_their_self_ensembles_and_the_peers(monkeypatch):
    from sr_utils import peers, registry

    def info(name, scale, antialias):
        return registry.ModelInfo(name, "t", scale, antialias=antialias, train_data="d", test_sets=("natural96 test",),
                                  lr_shape=(8, 8, 3), original=name, notebook="n")

    def model(scale):
        return keras.Sequential([keras.Input((None, None, 3)), layers.UpSampling2D(scale)])

    given = [(model(2), info("photo_x2", 2, True)), (model(3), info("photo_x3", 3, True)), (model(2), info("tiny_x2", 2, False))]
    monkeypatch.setattr(peers, "peers_at", lambda scale, download: ({f"OpenCV ESPCN x{scale}": "espcn"}, {"LapSRN": "no weight file"}))
    methods, kinds, skipped = evaluation.field_methods(given, 2, self_ensembled=["photo_x2", "photo_x3"], download=False)
    assert list(methods) == ["photo_x2", "photo_x2 x8", "OpenCV ESPCN x2"]
    assert kinds == {"photo_x2": "model", "photo_x2 x8": "model", "OpenCV ESPCN x2": "peer"}
    assert skipped == {"OpenCV LapSRN x2": "no weight file"}
    lr = np.random.default_rng(0).random((1, 4, 6, 3)).astype(np.float32)
    ensembled = methods["photo_x2 x8"](lr)  # nearest upscaling commutes with every flip and turn
    np.testing.assert_allclose(ensembled, np.asarray(given[0][0](lr)), atol=1e-6)
    with pytest.raises(ValueError, match=r"self_ensembled names models that are not given: \['nope'\]"):
        evaluation.field_methods(given, 2, self_ensembled=["nope"], download=False)
