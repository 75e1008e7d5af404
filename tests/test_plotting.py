"""Tests of sr_utils/plotting.py: every figure is a Matplotlib Figure saved as a valid PNG."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from sr_utils import plotting

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def is_png(path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 100


def image_batch(n: int, size: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, size, size, 3), dtype=np.uint8)


HISTORY = {"loss": [0.05, 0.03, 0.02], "val_loss": [0.06, 0.04, 0.035], "psnr": [20.0, 22.0, 23.5]}


# --------------------------------------------------------------------------------------
# save_figure
# --------------------------------------------------------------------------------------
def test_save_figure_writes_png_and_no_temporary(tmp_path):
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    path = tmp_path / "sub" / "f.png"
    plotting.save_figure(fig, path)
    assert is_png(path)
    assert [p.name for p in path.parent.iterdir()] == ["f.png"]
    path.write_bytes(b"old")
    plotting.save_figure(fig, str(path))  # replaces an existing file
    assert is_png(path)


@pytest.mark.parametrize("name", ["f.jpg", "f.pdf", "f", "f.PNG.txt"])
def test_save_figure_rejects_other_formats(tmp_path, name):
    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match=r"path must end in \.png"):
        plotting.save_figure(fig, tmp_path / name)
    assert not list(tmp_path.iterdir())


def test_save_figure_none_saves_nothing(tmp_path, monkeypatch):
    fig, _ = plt.subplots()
    monkeypatch.chdir(tmp_path)
    assert plotting.save_figure(fig, None) is None
    assert not list(tmp_path.iterdir())


# --------------------------------------------------------------------------------------
# plot_history
# --------------------------------------------------------------------------------------
def test_plot_history_panels_and_curves(tmp_path):
    path = tmp_path / "history.png"
    fig = plotting.plot_history(HISTORY, title="run 1", path=path, loss="mse")
    assert isinstance(fig, Figure) and is_png(path)
    assert len(fig.axes) == 2  # loss and psnr; ssim is absent from the history and skipped
    loss_ax, psnr_ax = fig.axes
    assert loss_ax.get_title() == "loss (MSE)" and psnr_ax.get_title() == "PSNR"
    assert len(loss_ax.lines) == 2 and len(psnr_ax.lines) == 1  # train + validation / train only
    np.testing.assert_allclose(loss_ax.lines[0].get_xdata(), [1, 2, 3])  # epochs start at 1
    np.testing.assert_allclose(loss_ax.lines[0].get_ydata(), HISTORY["loss"])
    np.testing.assert_allclose(loss_ax.lines[1].get_ydata(), HISTORY["val_loss"])
    np.testing.assert_allclose(psnr_ax.lines[0].get_ydata(), HISTORY["psnr"])
    assert fig._suptitle.get_text() == "run 1"


@pytest.mark.parametrize("loss, title", [("mean_absolute_error", "loss (L1)"), ("mae", "loss (L1)"),
                                         ("mean_squared_error", "loss (MSE)"), ("huber", "loss (huber)"), (None, "loss")])
def test_plot_history_names_the_loss_it_was_given(loss, title):
    assert plotting.plot_history(HISTORY, metrics=("loss",), loss=loss).axes[0].get_title() == title


def test_plot_history_selected_metrics_without_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    fig = plotting.plot_history(HISTORY, metrics=("psnr",))
    assert len(fig.axes) == 1 and fig.axes[0].get_title() == "PSNR"
    assert not list(tmp_path.iterdir())


def test_plot_history_without_requested_metrics():
    with pytest.raises(ValueError, match=r"none of \('ssim', 'mae'\) is in the history \(keys: \['loss', 'psnr', 'val_loss'\]\)"):
        plotting.plot_history(HISTORY, metrics=("ssim", "mae"))


# --------------------------------------------------------------------------------------
# plot_image_rows and its wrappers
# --------------------------------------------------------------------------------------
def test_plot_image_rows_enlarges_small_images_with_nearest(tmp_path):
    lr, hr = image_batch(3, 4, seed=0), image_batch(3, 12, seed=1)
    path = tmp_path / "rows.png"
    fig = plotting.plot_image_rows({"LR": lr, "HR": hr}, n=2, title="t", path=path)
    assert isinstance(fig, Figure) and is_png(path)
    assert len(fig.axes) == 4  # 2 rows x 2 columns
    for i, ax in enumerate(fig.axes):
        shown = np.asarray(ax.images[0].get_array())
        assert shown.shape == (12, 12, 3)  # everything at the size of the largest
        source = (lr if i < 2 else hr)[i % 2].astype(np.float32) / 255.0
        if i < 2:
            # every 3x3 block repeats one LR pixel: nearest neighbour, no smoothing
            np.testing.assert_allclose(shown, source.repeat(3, axis=0).repeat(3, axis=1), atol=1e-7)
            np.testing.assert_allclose(shown[::3, ::3], source, atol=1e-7)
        else:
            np.testing.assert_allclose(shown, source, atol=1e-7)
    assert fig.axes[0].get_ylabel() == "LR" and fig.axes[2].get_ylabel() == "HR"
    assert fig.axes[1].get_ylabel() == ""  # the label is on the first column only


def test_plot_image_rows_uses_the_shortest_row():
    fig = plotting.plot_image_rows({"a": image_batch(2, 8, 2), "b": image_batch(5, 8, 3)}, n=6)
    assert len(fig.axes) == 4  # min(6, 2, 5) = 2 columns, 2 rows


def test_plot_image_rows_empty():
    with pytest.raises(ValueError, match=r"rows is empty"):
        plotting.plot_image_rows({})


def test_plot_image_rows_checks_images_by_label():
    with pytest.raises(ValueError, match=r"^SR must have shape \(N, H, W, 3\).*add a batch axis"):
        plotting.plot_image_rows({"HR": image_batch(1, 8, 0), "SR": image_batch(1, 8, 1)[0]})


def test_plot_hr_lr(tmp_path):
    hr = image_batch(3, 16, seed=4)
    lr = image_batch(3, 8, seed=5)
    fig = plotting.plot_hr_lr(hr, lr, n=3, path=tmp_path / "hr_lr.png")
    assert is_png(tmp_path / "hr_lr.png") and len(fig.axes) == 6
    assert fig.axes[0].get_ylabel() == "HR 16x16" and fig.axes[3].get_ylabel() == "LR 8x8"
    assert fig._suptitle.get_text() == "HR vs LR"
    assert np.asarray(fig.axes[3].images[0].get_array()).shape == (16, 16, 3)


def test_plot_triplets(tmp_path):
    lr = image_batch(2, 8, seed=6)
    sr, hr = image_batch(2, 16, seed=7), image_batch(2, 16, seed=8)
    fig = plotting.plot_triplets(lr, sr, hr, n=2, title="x2", path=tmp_path / "t.png")
    assert isinstance(fig, Figure) and is_png(tmp_path / "t.png") and len(fig.axes) == 6
    assert [fig.axes[i].get_ylabel() for i in (0, 2, 4)] == ["LR (nearest)", "SR (model)", "HR (target)"]
    np.testing.assert_allclose(np.asarray(fig.axes[5].images[0].get_array()), hr[1] / 255.0, atol=1e-6)


# --------------------------------------------------------------------------------------
# plot_learning_curve
# --------------------------------------------------------------------------------------
def test_plot_learning_curve(tmp_path):
    path = tmp_path / "lc.png"
    fig = plotting.plot_learning_curve([10, 100, 1000], [0.1, 0.8, 1.5], title="curve", path=path)
    assert isinstance(fig, Figure) and is_png(path)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_title() == "curve"
    np.testing.assert_allclose(ax.lines[0].get_xdata(), [10, 100, 1000])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), [0.1, 0.8, 1.5])
    np.testing.assert_allclose(ax.lines[1].get_ydata(), [0, 0])  # the bicubic baseline at 0 dB
    assert len(ax.lines) == 2


def test_plot_learning_curve_with_reference():
    fig = plotting.plot_learning_curve([10, 100], [0.1, 0.8],
                                       reference={"label": "published", "steps": 5000, "gain_db": 2.1})
    ax = fig.axes[0]
    assert len(ax.lines) == 3
    assert list(ax.lines[2].get_xdata()) == [5000] and list(ax.lines[2].get_ydata()) == [2.1]
    assert "published" in [t.get_text() for t in ax.get_legend().get_texts()]


@pytest.mark.parametrize("steps, gain", [([1, 2, 3], [0.1, 0.2]), ([], []), ([[1, 2]], [[0.1, 0.2]])])
def test_plot_learning_curve_bad_arrays(steps, gain):
    with pytest.raises(ValueError, match=r"steps and gain_db must be equal-length 1-D arrays"):
        plotting.plot_learning_curve(steps, gain)


# --------------------------------------------------------------------------------------
# plot_zoomed_crops
# --------------------------------------------------------------------------------------
def zoom_sets():
    """bicubic and model differ only in a 4x4 patch at rows 10..13, cols 3..6; HR is the reference."""
    hr = np.random.default_rng(9).random((2, 20, 16, 3)).astype(np.float32)
    bicubic = np.full_like(hr, 0.5)
    model = bicubic.copy()
    model[:, 10:14, 3:7] = 1.0
    return {"bicubic": bicubic, "model": model, "HR": hr}


def test_plot_zoomed_crops_finds_where_the_methods_differ(tmp_path):
    sets = zoom_sets()
    path = tmp_path / "zoom.png"
    fig = plotting.plot_zoomed_crops(sets, indices=[1, 0], labels=["+1.0 dB", "-0.2 dB"], crop=4, title="z", path=path)
    assert isinstance(fig, Figure) and is_png(path)
    assert len(fig.axes) == 2 * 4  # per row: the whole reference, then one crop per set
    whole = fig.axes[0]
    np.testing.assert_allclose(np.asarray(whole.images[0].get_array()), sets["HR"][1])
    box = whole.patches[0]
    assert (box.get_x(), box.get_y(), box.get_width(), box.get_height()) == (3 - 0.5, 10 - 0.5, 4, 4)
    for c, name in enumerate(["bicubic", "model", "HR"], start=1):
        shown = np.asarray(fig.axes[c].images[0].get_array())
        np.testing.assert_allclose(shown, sets[name][1, 10:14, 3:7])
    assert fig.axes[0].get_ylabel() == "+1.0 dB" and fig.axes[4].get_ylabel() == "-0.2 dB"
    assert fig.axes[0].get_title() == "HR (whole)" and fig.axes[2].get_title() == "model (zoom)"


def test_plot_zoomed_crops_default_labels_and_window_inside_the_image():
    sets = zoom_sets()
    sets["model"][:, -2:, -2:] = 0.0  # the largest difference sits in the corner now
    sets["model"][:, 10:14, 3:7] = 0.5
    fig = plotting.plot_zoomed_crops(sets, indices=[0], crop=6)
    assert fig.axes[0].get_ylabel() == "#0"
    box = fig.axes[0].patches[0]
    assert (box.get_x() + 0.5, box.get_y() + 0.5) == (16 - 6, 20 - 6)  # the crop stays inside
    assert np.asarray(fig.axes[1].images[0].get_array()).shape == (6, 6, 3)


def test_plot_zoomed_crops_errors():
    sets = zoom_sets()
    with pytest.raises(ValueError, match=r"at least two labelled sets"):
        plotting.plot_zoomed_crops({"HR": sets["HR"]}, [0])
    with pytest.raises(ValueError, match=r"same shape"):
        plotting.plot_zoomed_crops({"a": sets["HR"], "b": sets["HR"][:, :8]}, [0])
    for crop in (0, 17):
        with pytest.raises(ValueError, match=rf"crop must be between 1 and 16 pixels, got {crop}"):
            plotting.plot_zoomed_crops(sets, [0], crop=crop)


# --------------------------------------------------------------------------------------
# plot_gain_histogram
# --------------------------------------------------------------------------------------
def test_plot_gain_histogram(tmp_path):
    gains = {"cnn": np.array([-0.5, 0.5, 1.0, 2.0]), "other": [0.0, 0.1]}
    path = tmp_path / "gains.png"
    fig = plotting.plot_gain_histogram(gains, title="gains", path=path)
    assert isinstance(fig, Figure) and is_png(path)
    ax = fig.axes[0]
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["cnn (mean +0.75 dB, 75% > 0)", "other (mean +0.05 dB, 50% > 0)"]
    assert ax.get_title() == "gains"
    assert len(ax.patches) == 2  # one step outline per model


def test_plot_gain_histogram_all_equal_and_empty():
    fig = plotting.plot_gain_histogram({"flat": [0.3, 0.3, 0.3]})  # no spread: default bins
    assert "flat (mean +0.30 dB, 100% > 0)" in [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    with pytest.raises(ValueError, match=r"gains is empty"):
        plotting.plot_gain_histogram({})


def test_plot_pixel_histograms_one_curve_per_set_and_channel(tmp_path):
    hr, lr = image_batch(2, 16, seed=6), image_batch(2, 8, seed=7)
    fig = plotting.plot_pixel_histograms({"HR": hr, "LR": lr}, title="pixels", path=tmp_path / "h.png")
    assert is_png(tmp_path / "h.png") and len(fig.axes) == 1
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["HR R", "HR G", "HR B", "LR R", "LR G", "LR B"]
    assert ax.get_ylabel() == "count (HR pixels; LR counts are 1/4 as many)" and ax.get_title() == "pixels"
    assert len(ax.patches) == 6


def test_plot_best_and_worst_orders_by_gain(tmp_path, monkeypatch):
    hr = image_batch(8, 12, seed=8)
    outputs = {"bicubic": image_batch(8, 12, seed=9), "model": image_batch(8, 12, seed=10)}
    gain = np.array([0.5, -2.0, 3.0, 0.1, 1.0, -0.5, 2.0, 0.0])
    seen = {}
    monkeypatch.setattr(plotting, "plot_zoomed_crops", lambda images, indices, **kw: seen.update(indices=indices, **kw))
    plotting.plot_best_and_worst(hr, outputs, gain, n=2, title="t", path=tmp_path / "b.png")
    assert [int(i) for i in seen["indices"]] == [2, 6, 1, 5]  # the two largest gains, then the two smallest
    assert seen["labels"] == ["#2: +3.00 dB", "#6: +2.00 dB", "#1: -2.00 dB", "#5: -0.50 dB"] and seen["crop"] == 4


def test_pareto_front_keeps_the_points_nothing_beats():
    points = {"fast": (1.0, 30.0), "slow_bad": (10.0, 29.0), "mid": (3.0, 31.0), "slow_best": (20.0, 32.0), "tie_slower": (4.0, 31.0)}
    assert plotting.pareto_front(points) == ["fast", "mid", "slow_best"]


def test_plot_pareto_writes_a_figure(tmp_path):
    fig = plotting.plot_pareto({"bicubic": (5.0, 33.7), "model": (900.0, 36.9)}, title="x2", path=tmp_path / "p.png")
    assert (tmp_path / "p.png").stat().st_size > 1000
    assert fig.axes[0].get_xscale() == "log" and len(fig.axes[0].texts) == 2
    with pytest.raises(ValueError, match="points is empty"):
        plotting.plot_pareto({})
