"""Tests of sr_utils.upscale: tiling without seams, bounded tiles, dtypes and channels, errors, the CLI."""

import re
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import keras
import numpy as np
import pytest
from keras import layers
from PIL import Image

from sr_utils import models, upscale as U


def small_x2_model(seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inputs)
    x = layers.Conv2DTranspose(8, 3, strides=2, padding="same", activation="relu")(x)
    outputs = layers.Conv2D(3, 3, padding="same", activation="sigmoid")(x)
    return keras.Model(inputs, outputs)


def image(h, w, channels=3, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(h, w, channels), dtype=np.uint8)


@pytest.mark.parametrize("build", [small_x2_model, lambda: models.build_residual_subpixel(3, filters=8, blocks=1)])
def test_tiled_output_equals_untiled_output(build):
    model = build()
    x = image(37, 53).astype(np.float32) / 255
    whole = U.upscale(x, model, tile=1000)
    tiled = U.upscale(x, model, tile=8, batch_size=3)
    scale = whole.shape[0] // 37
    assert whole.shape == (37 * scale, 53 * scale, 3)
    np.testing.assert_allclose(tiled, whole, atol=1e-5)


def test_tiles_and_batches_bound_what_the_model_sees(monkeypatch):
    model = small_x2_model()
    margin = U.receptive_margin(model)
    assert margin == 3  # three 3x3 convolutions
    seen = []
    predictor = U._predictor(model)
    monkeypatch.setattr(U, "_predictor", lambda m: lambda x: (seen.append(x.shape), predictor(x))[1])
    out = U.upscale(image(1000, 1000), model, tile=128, batch_size=2)
    assert out.shape == (2000, 2000, 3) and out.dtype == np.uint8
    # 8 x 8 tiles of 3 widths (first 131, middle 134, last 107 pixels with margins) in each direction:
    # 9 groups of equal shape, batched 2 at a time: 1+3+1 + 3+18+3 + 1+3+1 calls
    assert len(seen) == 34
    assert max(s[0] for s in seen) == 2
    assert max(max(s[1], s[2]) for s in seen) == 128 + 2 * margin


def test_fixed_size_models_are_made_fully_convolutional_with_the_same_weights():
    fixed = models.build_cifar10_x2()
    free = U.fully_convolutional(fixed)
    assert free.input_shape == (None, None, None, 3)
    x = image(16, 16).astype(np.float32)[None] / 255
    np.testing.assert_allclose(free.predict(x, verbose=0), fixed.predict(x, verbose=0), atol=1e-6)
    assert U.fully_convolutional(free) is free


def test_dtypes_and_channels():
    model = small_x2_model()
    rgb = image(20, 24)
    out = U.upscale(rgb, model)
    assert out.shape == (40, 48, 3) and out.dtype == np.uint8
    as_float = U.upscale(rgb.astype(np.float32) / 255, model)
    assert as_float.dtype == np.float32 and 0 <= as_float.min() and as_float.max() <= 1
    np.testing.assert_array_equal(np.round(as_float * 255).astype(np.uint8), out)
    assert U.upscale(rgb.astype(np.float64) / 255, model).dtype == np.float64
    # grayscale: (H, W) and (H, W, 1) keep their layout; the value is the mean of the RGB result
    gray = rgb[..., 0]
    g2 = U.upscale(gray, model)
    assert g2.shape == (40, 48) and g2.dtype == np.uint8
    assert U.upscale(gray[..., None], model).shape == (40, 48, 1)
    rgb_of_gray = U.upscale(np.repeat(gray[..., None], 3, axis=-1).astype(np.float32) / 255, model)
    np.testing.assert_array_equal(g2, np.round(rgb_of_gray.mean(axis=-1) * 255).astype(np.uint8))
    # RGBA: RGB through the model, alpha by bicubic interpolation
    rgba = np.dstack([rgb, np.full((20, 24), 200, np.uint8)])
    o4 = U.upscale(rgba, model)
    assert o4.shape == (40, 48, 4)
    np.testing.assert_array_equal(o4[..., :3], out)
    assert np.all(o4[..., 3] == 200)


def test_scale_is_taken_from_the_model_and_checked():
    model = small_x2_model()
    assert U.upscale(image(10, 10), model, scale=2).shape == (20, 20, 3)
    with pytest.raises(ValueError, match="does not match the model, which upscales x2"):
        U.upscale(image(10, 10), model, scale=3)


@pytest.mark.parametrize("bad, kwargs, match", [
    (np.zeros((4, 5, 6, 3), np.uint8), {}, "image must be"),
    (np.zeros((10, 10, 5), np.uint8), {}, "image must be"),
    (np.zeros((10, 10, 3), np.int64), {}, "got dtype int64"),
    (np.full((10, 10, 3), np.nan, np.float32), {}, "NaN or infinite"),
    (np.zeros((3, 40, 3), np.uint8), {}, "at least 4x4"),
    (np.full((10, 10, 3), 2.0, np.float32), {}, r"must lie in \[0, 1\]"),
    (np.zeros((10, 10, 3), np.uint8), {"tile": 4}, "tile must be an integer >= 8"),
    (np.zeros((10, 10, 3), np.uint8), {"batch_size": 0}, "batch_size must be an integer >= 1"),
    (np.zeros((10, 10, 3), np.uint8), {"batch_size": 2.5}, "batch_size must be an integer >= 1"),
])
def test_bad_input(bad, kwargs, match):
    with pytest.raises(ValueError, match=match):
        U.upscale(bad, small_x2_model(), **kwargs)


def test_model_errors(tmp_path):
    with pytest.raises(ValueError, match="pass a model or a scale"):
        U.upscale(image(8, 8))
    with pytest.raises(ValueError, match="no bundled model for scale 5"):
        U.upscale(image(8, 8), scale=5)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        U.upscale(image(8, 8), model=tmp_path / "missing.keras")


# ---- command line -----------------------------------------------------------------------
@pytest.fixture
def saved_model(tmp_path):
    path = tmp_path / "x2.keras"
    small_x2_model().save(path)
    return path


def test_cli_writes_upscaled_images(tmp_path, saved_model, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(image(12, 20)).save(src / "a.png")
    Image.fromarray(image(9, 9, seed=1)[..., 0]).save(src / "b.png")
    code = U.main([str(src / "a.png"), str(src / "b.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model)])
    assert code == 0
    assert np.asarray(Image.open(tmp_path / "out" / "a_x2.png")).shape == (24, 40, 3)
    assert np.asarray(Image.open(tmp_path / "out" / "b_x2.png")).shape == (18, 18)
    assert "2 of 2 images written" in capsys.readouterr().out


def test_cli_refuses_to_overwrite_an_input(tmp_path, saved_model, capsys):
    # c.png would be written to c_x2.png, which is itself one of the inputs
    for name in ("c.png", "c_x2.png"):
        Image.fromarray(image(8, 8)).save(tmp_path / name)
    before = (tmp_path / "c_x2.png").read_bytes()
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / "c.png"), str(tmp_path / "c_x2.png"), "-o", str(tmp_path), "--model", str(saved_model)])
    assert e.value.code == 2 and "refusing to overwrite the input" in capsys.readouterr().err
    assert (tmp_path / "c_x2.png").read_bytes() == before


def test_cli_argument_errors_stop_before_any_work(tmp_path, saved_model, capsys):
    Image.fromarray(image(8, 8)).save(tmp_path / "a.png")
    a = str(tmp_path / "a.png")
    (tmp_path / "a_file").write_text("x")
    not_keras = tmp_path / "m.keras"
    not_keras.write_text("not a zip")
    cases = [
        (["--scale", "5"], "no bundled model for scale 5"),
        (["--model", str(saved_model), "--scale", "3"], "does not match"),
        (["--model", str(tmp_path / "missing.keras")], "missing.keras does not exist"),
        (["--model", str(not_keras)], r"m.keras is not a Keras model file \(a .keras zip archive"),
        (["--model", str(saved_model), "--tile", "4"], "--tile must be an integer >= 8"),
        (["--model", str(saved_model), "--max-megapixels", "0"], "--max-megapixels must be > 0"),
        (["--model", str(saved_model), "--fast"], "--fast picks a bundled model and --model names one: pass one of them"),
        (["--model", "robust_x9_rsp1x1"], r"robust_x9_rsp1x1 does not exist; pass a .keras file, or the name of a bundled model: "
                                          r"cifar10_x2_original, .*robust_x2_rsp32x2"),
        (["--model", str(tmp_path / "natural_x2_rsp64x5.keras")], "for the bundled model, pass its bare name: --model natural_x2_rsp64x5"),
        (["--fast", "--scale", "6"], r"no fast bundled model for scale 6; scales with one: \[2, 3, 4\]"),
    ]
    for extra, match in cases:
        with pytest.raises(SystemExit) as e:
            U.main([a, "-o", str(tmp_path / "out"), *extra])
        assert e.value.code == 2, extra
        err = capsys.readouterr().err
        assert re.search(match, err) and "Traceback" not in err, (extra, err)
    # -o naming a file, or a folder that cannot be made
    for out in (tmp_path / "a_file", tmp_path / "a_file" / "sub"):
        with pytest.raises(SystemExit) as e:
            U.main([a, "-o", str(out), "--model", str(saved_model)])
        assert e.value.code == 2
        assert re.search(r"the output folder \(-o\) \S*a_file is a file|cannot write to the output folder \(-o\) "
                         r"\S*a_file/sub: Not a directory", capsys.readouterr().err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "a_file", "m.keras", "x2.keras"]


def test_cli_refuses_models_that_are_not_rgb_upscalers(tmp_path, capsys):
    inputs = keras.Input((None, None, 3))
    gray = layers.Conv2D(1, 3, padding="same")(layers.UpSampling2D(2)(inputs))  # one output channel
    keras.Model(inputs, gray).save(tmp_path / "gray.keras")
    with pytest.raises(SystemExit) as e:
        U.main([str(U.SAMPLE_IMAGE), "-o", str(tmp_path / "out"), "--model", str(tmp_path / "gray.keras")])
    assert e.value.code == 2
    assert "gray.keras: for a 16x16 RGB input the model outputs (1, 32, 32, 1)" in capsys.readouterr().err
    with pytest.raises(ValueError, match="must output one batch of RGB images"):
        U.upscale(image(8, 8), keras.Model(inputs, gray))


def test_one_bad_file_never_stops_the_batch(tmp_path, saved_model, capsys):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(image(8, 8)).save(src / "good1.png")
    (src / "broken.png").write_bytes(b"not an image")
    Image.fromarray(image(40, 40)).save(src / "huge.png")
    (src / "folder").mkdir()
    Image.fromarray(image(8, 8, seed=2)).save(src / "good2.png")
    names = ["good1.png", "broken.png", "missing.png", "huge.png", "folder", "good2.png"]
    code = U.main([str(src / n) for n in names] + ["-o", str(tmp_path / "out"), "--model", str(saved_model),
                                                   "--max-megapixels", "0.001"])
    assert code == 1
    out, err = capsys.readouterr()
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 4 and "Traceback" not in err
    assert re.search(r"broken\.png is not an image file", errors[0])
    assert re.search(r"missing\.png does not exist", errors[1])
    assert re.search(r"huge\.png is 40x40 pixels .*--max-megapixels 1", errors[2])
    assert re.search(r"folder is a folder, not an image file", errors[3])
    assert "2 of 6 images written" in out and "4 failed" in out
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good1_x2.png", "good2_x2.png"]


@pytest.mark.parametrize("names", [("a/p.png", "b/p.png"), ("pic.png", "pic.jpg"), ("Pic.png", "pic.png")])
def test_inputs_that_would_share_an_output_are_refused(tmp_path, saved_model, capsys, names):
    for name in names:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        Image.fromarray(image(8, 8)).save(tmp_path / name)
    with pytest.raises(SystemExit) as e:
        U.main([str(tmp_path / n) for n in names] + ["-o", str(tmp_path / "out"), "--model", str(saved_model)])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "would be written to the same output" in err and all(n in err for n in names)
    assert not (tmp_path / "out").exists()


def test_the_same_file_named_twice_is_upscaled_once(tmp_path, saved_model, capsys):
    Image.fromarray(image(8, 8)).save(tmp_path / "a.png")
    assert U.main([str(tmp_path / "a.png"), str(tmp_path / "." / "a.png"), "-o", str(tmp_path / "out"),
                   "--model", str(saved_model)]) == 0
    assert "1 of 1 images written" in capsys.readouterr().out


def test_a_temporary_name_cannot_be_an_input(tmp_path, saved_model):
    """The old temporary name <stem>_x2.tmp.png, given as an input, stays untouched."""
    Image.fromarray(image(8, 8)).save(tmp_path / "d.png")
    Image.fromarray(image(8, 8, seed=1)).save(tmp_path / "d_x2.tmp.png")
    before = {n: (tmp_path / n).read_bytes() for n in ("d.png", "d_x2.tmp.png", "x2.keras")}
    assert U.main([str(tmp_path / "d.png"), str(tmp_path / "d_x2.tmp.png"), "-o", str(tmp_path), "--model", str(saved_model)]) == 0
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png", "d_x2.png", "d_x2.tmp.png", "d_x2.tmp_x2.png", "x2.keras"]


def test_existing_outputs_are_skipped_unless_overwrite(tmp_path, saved_model, capsys):
    Image.fromarray(image(8, 8)).save(tmp_path / "a.png")
    Image.fromarray(image(8, 8, seed=1)).save(tmp_path / "b.png")
    out = tmp_path / "out"
    out.mkdir()
    (out / "a_x2.png").write_text("a file the user keeps")
    assert U.main([str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out), "--model", str(saved_model)]) == 0
    std = capsys.readouterr()
    assert (out / "a_x2.png").read_text() == "a file the user keeps"
    assert re.search(r"skipped .*a\.png: .*a_x2\.png exists \(--overwrite replaces it\)", std.err)
    assert "1 of 2 images written" in std.out and "1 skipped" in std.out
    assert U.main([str(tmp_path / "a.png"), "-o", str(out), "--model", str(saved_model), "--overwrite"]) == 0
    assert np.asarray(Image.open(out / "a_x2.png")).shape == (16, 16, 3)
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png", "b_x2.png"]


def test_ctrl_c_while_saving_leaves_no_partial_file(tmp_path, saved_model, capsys, monkeypatch):
    for name in ("a.png", "b.png", "c.png"):
        Image.fromarray(image(8, 8)).save(tmp_path / name)
    from sr_utils import image_files

    real_stream = image_files._png_stream

    def write_half_then_interrupt(a, f, icc_profile):
        if Path(f.name).name.startswith(".b_x2."):  # the temporary file of b_x2.png
            f.write(b"\x89PNG half")
            raise KeyboardInterrupt
        return real_stream(a, f, icc_profile)

    monkeypatch.setattr(image_files, "_png_stream", write_half_then_interrupt)
    out = tmp_path / "out"
    code = U.main([str(tmp_path / n) for n in ("a.png", "b.png", "c.png")] + ["-o", str(out), "--model", str(saved_model)])
    assert code == 130
    err = capsys.readouterr().err
    assert "interrupted: 1 of 3 images written, no partial file left" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["a_x2.png"]


def test_sigterm_exits_143_and_leaves_no_partial_file(tmp_path):
    inputs = keras.Input((None, None, 3))
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(inputs)
    model = keras.Model(inputs, layers.Conv2D(3, 3, padding="same")(layers.UpSampling2D(2)(x)))
    model.save(tmp_path / "m.keras")
    Image.fromarray(image(8, 8)).save(tmp_path / "small.png")
    Image.fromarray(image(1500, 1500)).save(tmp_path / "large.png")
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-m", "sr_utils.upscale", str(tmp_path / "small.png"), str(tmp_path / "large.png"),
                             "-o", str(out), "--model", str(tmp_path / "m.keras"), "--tile", "64"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not (out / "small_x2.png").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)  # into the large image
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err[-2000:]
    assert "terminated: 1 of 2 images written, no partial file left" in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == ["small_x2.png"]


# ---- what the CLI does with each kind of image ---------------------------------------------
def test_cli_keeps_16_bit_grayscale(tmp_path, saved_model):
    deep = (np.random.default_rng(0).integers(20000, 60000, (12, 10))).astype(np.uint16)
    Image.fromarray(deep).save(tmp_path / "g16.png")
    assert U.main([str(tmp_path / "g16.png"), "-o", str(tmp_path / "out"), "--model", str(saved_model)]) == 0
    written = Image.open(tmp_path / "out" / "g16_x2.png")
    assert written.mode.startswith("I")
    out = np.asarray(written).astype(np.uint16)
    np.testing.assert_array_equal(out, U.upscale(deep, saved_model))
    assert (out == 65535).mean() < 0.5 and len(np.unique(out)) > 100  # not clipped to white, not 8-bit steps


def test_cli_applies_orientation_and_keeps_transparency_and_profile(tmp_path, saved_model):
    from PIL import ImageCms

    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(image(10, 20)).save(tmp_path / "turned.jpg", exif=exif)
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 4, 8))
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    pal.save(tmp_path / "pal.png", transparency=1, icc_profile=profile)
    assert U.main([str(tmp_path / "turned.jpg"), str(tmp_path / "pal.png"), "-o", str(tmp_path / "out"),
                   "--model", str(saved_model)]) == 0
    assert np.asarray(Image.open(tmp_path / "out" / "turned_x2.png")).shape == (40, 20, 3)
    written = Image.open(tmp_path / "out" / "pal_x2.png")
    assert written.mode == "RGBA" and written.info.get("icc_profile") == profile
    rgba = np.asarray(written)
    assert (rgba[:, :6, 3] == 0).all() and (rgba[:, 10:, 3] == 255).all()  # transparent left half


# ---- the Python API --------------------------------------------------------------------------
def test_upscale_takes_paths_and_pil_images(tmp_path):
    model = small_x2_model()
    pal = Image.new("P", (8, 8), 0)
    pal.putpalette([255, 0, 0] + [0] * 765)  # index 0 is red
    pal.save(tmp_path / "red.png")
    from_path = U.upscale(tmp_path / "red.png", model)
    np.testing.assert_array_equal(from_path, U.upscale(np.full((8, 8, 3), [255, 0, 0], np.uint8), model))
    np.testing.assert_array_equal(U.upscale(Image.open(tmp_path / "red.png"), model), from_path)
    with pytest.raises(ValueError, match=r"over the limit of 1e-05 megapixels"):
        U.upscale(tmp_path / "red.png", model, max_megapixels=1e-5)


def test_uint16_and_alpha_are_tiled_exactly():
    model = small_x2_model()
    rng = np.random.default_rng(3)
    deep = rng.integers(0, 65536, (37, 29, 4)).astype(np.uint16)  # RGB + a random alpha
    whole = U.upscale(deep, model, tile=1000)
    assert whole.dtype == np.uint16 and whole.shape == (74, 58, 4)
    # float rounding differs between tile sizes by ~1e-7, which can move a 16-bit value by one step
    np.testing.assert_allclose(U.upscale(deep, model, tile=8, batch_size=3), whole, rtol=0, atol=1)
    as_float = U.upscale(deep.astype(np.float64) / 65535, model, tile=8)
    np.testing.assert_allclose(np.round(as_float * 65535).astype(np.uint16), whole, rtol=0, atol=1)
    gray_alpha = deep[..., 2:]  # (H, W, 2): gray + alpha
    two = U.upscale(gray_alpha, model, tile=8)
    assert two.shape == (74, 58, 2)
    np.testing.assert_allclose(two[..., 1], whole[..., 3], rtol=0, atol=1)  # the same alpha, however the colour is stored


def test_memory_is_the_output_plus_tiles():
    """Python-side allocations (NumPy reports to tracemalloc) stay within the uint8 output plus a few tiles:
    no full-size float copy of the image or the result."""
    model = small_x2_model()
    x = image(512, 512)
    U.upscale(x[:16, :16], model, tile=64)  # warm-up: Keras builds its functions once
    tracemalloc.start()
    out = U.upscale(x, model, tile=64)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert out.nbytes == 1024 * 1024 * 3
    assert peak < out.nbytes + 2_000_000, peak  # a float32 copy of the output alone would be 12.6 MB


def test_the_bundled_sample_is_the_projects_own_drawing():
    committed = np.asarray(Image.open(U.SAMPLE_IMAGE).convert("RGB"))
    drawn = U.draw_sample_image()
    assert committed.shape == drawn.shape == (192, 192, 3)
    assert np.mean(np.abs(committed.astype(int) - drawn.astype(int))) < 1.0


def test_cli_without_inputs_upscales_the_bundled_sample(tmp_path, saved_model):
    assert U.main(["-o", str(tmp_path), "--model", str(saved_model)]) == 0
    assert np.asarray(Image.open(tmp_path / "sample_x2.png")).shape == (384, 384, 3)


def test_cli_defaults_work_from_a_clone(tmp_path):
    """No input and no --model: the bundled sample through the committed default model of x2, x3 and x4."""
    for scale in U.DEFAULT_MODELS:
        assert U.default_model_path(scale).is_file(), f"bundled model for x{scale} is missing"
    assert U.main(["-o", str(tmp_path)]) == 0
    out = np.asarray(Image.open(tmp_path / "sample_x2.png"))
    assert out.shape == (384, 384, 3) and out.dtype == np.uint8
    assert U.main(["-o", str(tmp_path), "--scale", "3"]) == 0
    assert np.asarray(Image.open(tmp_path / "sample_x3.png")).shape == (576, 576, 3)
    assert U.main(["-o", str(tmp_path), "--scale", "4"]) == 0
    assert np.asarray(Image.open(tmp_path / "sample_x4.png")).shape == (768, 768, 3)


def test_cli_picks_the_fast_model_or_a_bundled_model_by_name(tmp_path, monkeypatch, saved_model):
    """--fast: the scale's fast model; --model NAME: a bundled model by its registry name, at its own
    scale unless --scale says otherwise; a file of that name in the working folder wins over the
    bundled one, a folder of that name does not; ./NAME is a path."""
    def out(name, *args):
        assert U.main(["-o", str(tmp_path / name), *args]) == 0
        [png] = (tmp_path / name).glob("*.png")
        return png.name, np.asarray(Image.open(png))
    sample = U.draw_sample_image()
    models = U.repo_root() / "model"
    name, fast = out("fast", "--fast", "--scale", "4")
    assert name == "sample_x4.png"
    np.testing.assert_array_equal(fast, U.upscale(sample, models / U.FAST_MODELS[4]))
    name, by_name = out("named", "--model", "natural_x3_rsp56x4")  # x3 without --scale
    assert name == "sample_x3.png"
    np.testing.assert_array_equal(by_name, U.upscale(sample, models / "natural_x3_rsp56x4.keras"))
    assert not np.array_equal(by_name, out("default", "--scale", "3")[1])  # not the default model
    assert U.model_path("natural_x2_rsp64x5") == U.model_path("natural_x2_rsp64x5.keras") == models / "natural_x2_rsp64x5.keras"
    assert U.default_model_path(3, fast=True) == models / "robust_x3_rsp32x2.keras"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "robust_x2_rsp64x5").mkdir()  # e.g. an output folder named after the model
    assert U.model_path("robust_x2_rsp64x5") == models / "robust_x2_rsp64x5.keras"
    with pytest.raises(FileNotFoundError, match=r"robust_x2_rsp64x5.keras does not exist; for the bundled model, pass its bare name: "
                                                r"--model robust_x2_rsp64x5\."):
        U.model_path("./robust_x2_rsp64x5.keras")
    (tmp_path / "natural_x2_rsp64x5.keras").write_bytes(saved_model.read_bytes())
    assert U.model_path("natural_x2_rsp64x5.keras") == Path("natural_x2_rsp64x5.keras")  # the file here wins
    _, local = out("local", "--model", "natural_x2_rsp64x5.keras")
    np.testing.assert_array_equal(local, U.upscale(sample, saved_model))


def test_bundled_models_are_the_robust_models_for_photos():
    """The defaults, at x2, x3 and x4, are notebook 06's: trained on whole photos, each photo degraded
    by the random mix at every visit (any common resizer), not on one degradation or a dataset of tiny images."""
    import json

    metrics_json = json.loads((U.repo_root() / "model" / "metrics.json").read_text())
    assert sorted(U.DEFAULT_MODELS) == [2, 3, 4]
    for scale, name in U.DEFAULT_MODELS.items():
        info = metrics_json["models"][name]
        assert info["scale"] == scale and info["train_data"].startswith("sr_train photos"), name
        assert info["training"]["notebook"] == "notebooks/06_robust_photos.ipynb", name
        assert info["training"]["degradation"].startswith("per photo visit, at random: one of benchmark, tf_bicubic"), name


def test_side_by_side_shows_the_input_bicubic_and_each_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((None, None, 3)), keras.layers.UpSampling2D(2)])  # nearest, as a model
    sample = U.draw_sample_image()
    views = U.side_by_side(sample, {"nearest model": model}, 2)
    assert list(views) == ["input (nearest)", "bicubic", "nearest model"]
    assert all(v.shape == (384, 384, 3) and v.dtype == np.uint8 for v in views.values())
    np.testing.assert_array_equal(views["nearest model"], views["input (nearest)"])
    floats = U.side_by_side(sample[:20, :20] / np.float32(255), {}, 3)
    assert floats["bicubic"].dtype == np.float32 and floats["input (nearest)"].shape == (60, 60, 3)
    crop = views["bicubic"][U.SAMPLE_CROP]
    assert crop.shape == (150, 240, 3)


def test_self_ensemble_averages_the_eight_turned_outputs_tiled_or_not(tmp_path, saved_model):
    from sr_utils.images import inverse_symmetry, symmetry

    model = keras.models.load_model(saved_model)
    x = image(11, 14).astype(np.float32) / 255
    expected = np.mean([inverse_symmetry(model.predict(np.ascontiguousarray(symmetry(x[None], k)), verbose=0), k)[0]
                        for k in range(8)], axis=0)
    whole = U.upscale(x, model, self_ensemble=True)
    np.testing.assert_allclose(whole, expected, atol=1e-5)
    np.testing.assert_allclose(U.self_ensembled(model)(x[None])[0], expected, atol=1e-5)
    assert np.abs(whole - U.upscale(x, model)).max() > 1e-3  # the model is not symmetric: the ensemble differs
    np.testing.assert_allclose(U.upscale(x, model, tile=8, batch_size=2, self_ensemble=True), whole, atol=1e-5)
    src = tmp_path / "a.png"
    Image.fromarray(image(11, 14)).save(src)
    assert U.main([str(src), "-o", str(tmp_path / "out"), "--model", str(saved_model), "--self-ensemble"]) == 0
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "out" / "a_x2.png")), U.upscale(image(11, 14), model, self_ensemble=True))
