"""The resizers users make LR images with (``RESIZERS``, ``resize_down``) and the random
degradation mix (``Degradation``, ``DegradationMix``), checked against the libraries themselves."""

import io

import numpy as np
import pytest
from PIL import Image

from sr_utils import degradation
from sr_utils.degradation import RESIZERS, Degradation, DegradationMix, make_pair, resize_down



def _photo(h=48, w=60, seed=0):
    """A uint8 test picture: smooth waves plus texture, so that every kernel tap matters."""
    yy, xx = np.mgrid[0:h, 0:w]
    waves = np.stack([128 + 90 * np.sin(xx / 5 + yy / 7), 128 + 80 * np.cos(yy / 4), 110 + 70 * np.sin((xx + yy) / 6)], -1)
    noise = np.random.default_rng(seed).normal(0, 25, (h, w, 3))
    return np.clip(np.round(waves + noise), 0, 255).astype(np.uint8)


def _levels(x):
    return np.round(np.asarray(x, np.float64) * 255)


def _library_resize(name, image, scale):
    h, w = image.shape[0] // scale, image.shape[1] // scale
    if name.startswith("cv2"):
        cv = pytest.importorskip("cv2")
        flag = {"cv2_cubic": cv.INTER_CUBIC, "cv2_linear": cv.INTER_LINEAR, "cv2_area": cv.INTER_AREA}[name]
        return cv.resize(image, (w, h), interpolation=flag)
    assert name == "pil_bicubic"
    return np.asarray(Image.fromarray(image).resize((w, h), Image.BICUBIC))


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", ["pil_bicubic", "cv2_cubic", "cv2_linear", "cv2_area"])
def test_each_imitated_resizer_matches_its_library_within_rounding(name, scale):
    image = _photo()
    ours = _levels(resize_down(image[None], scale, name)[0])
    theirs = _library_resize(name, image, scale).astype(np.float64)
    assert ours.shape == theirs.shape == (48 // scale, 60 // scale, 3)
    diff = np.abs(ours - theirs)
    assert diff.max() <= 1, f"{name} x{scale}: {diff.max()} levels off"
    assert (diff > 0).mean() < 0.25  # ties and the library's fixed-point rounding only


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_resizers_really_differ(scale):
    """Different kernels give different LR images: the mix covers distinct cases. At odd scales the
    three resizers without antialiasing all take every third pixel (their kernels are sampled at 0)."""
    image = _photo(seed=1)[None]
    out = {name: _levels(resize_down(image, scale, name)) for name in ("tf_bicubic", "cv2_cubic", "cv2_linear", "cv2_area")}
    assert np.abs(out["cv2_area"] - out["cv2_cubic"]).mean() > 2.0
    if scale % 2:
        assert np.array_equal(out["tf_bicubic"], out["cv2_cubic"]) and np.array_equal(out["cv2_linear"], out["cv2_cubic"])
        np.testing.assert_array_equal(out["cv2_cubic"][0], image[0, 1::3, 1::3])
    else:
        assert np.abs(out["tf_bicubic"] - out["cv2_cubic"]).mean() > 0.5


@pytest.mark.parametrize("name, antialias", [("benchmark", True), ("tf_bicubic", False)])
def test_the_tensorflow_resizers_are_downscale_itself(name, antialias):
    image = _photo()[None]
    np.testing.assert_array_equal(resize_down(image, 2, name), degradation.downscale(image, 2, antialias=antialias))


def test_own_filter_with_tensorflow_kernels_equals_tensorflow():
    """The separable filter, given TF's kernel and border rule, reproduces tf.image.resize: the
    same machinery is behind the Pillow and OpenCV imitations."""
    image = degradation.to_float(_photo()[None])
    for scale in (2, 3, 4):
        for name, antialias in (("benchmark", True), ("tf_bicubic", False)):
            ours = np.clip(degradation._separable(image.astype(np.float64), scale, RESIZERS[name]), 0, 1)
            np.testing.assert_allclose(ours, degradation.downscale(image, scale, antialias=antialias), atol=2e-6)


def test_area_resize_is_the_block_mean():
    image = _photo()[None]
    blocks = image.astype(np.float64).reshape(1, 12, 4, 15, 4, 3).mean(axis=(2, 4)) / 255
    np.testing.assert_allclose(resize_down(image, 4, "cv2_area"), blocks, atol=1e-6)


def test_resize_down_shapes_and_errors():
    out = resize_down(np.zeros((2, 12, 18, 3), np.float32), 3, "cv2_cubic")
    assert out.shape == (2, 4, 6, 3) and out.dtype == np.float32
    with pytest.raises(ValueError, match="resizer must be one of"):
        resize_down(np.zeros((1, 8, 8, 3)), 2, "cv2_lanczos")
    with pytest.raises(ValueError, match="not divisible by scale 3"):
        resize_down(np.zeros((1, 8, 9, 3)), 3, "cv2_area")
    with pytest.raises(ValueError, match="scale must be an integer"):
        resize_down(np.zeros((1, 8, 8, 3)), 1, "cv2_area")


def test_benchmark_degradation_equals_make_pair():
    image = _photo(50, 61)
    lr, hr = Degradation("benchmark").apply(image, 3)
    lr_ref, hr_ref = make_pair(image, 3, antialias=True, quantize=True)
    np.testing.assert_array_equal(hr, hr_ref)
    np.testing.assert_array_equal(lr, lr_ref)
    assert lr.shape == (16, 20, 3) and hr.shape == (48, 60, 3)


def test_each_step_of_a_degradation_is_applied():
    image = _photo()
    plain, _ = Degradation("cv2_area").apply(image, 2)
    assert np.array_equal(_levels(plain), np.round(_levels(plain)))  # on uint8 levels
    blurred, _ = Degradation("cv2_area", blur_sigma=1.5).apply(image, 2)
    assert np.abs(np.diff(blurred, axis=1)).mean() < 0.8 * np.abs(np.diff(plain, axis=1)).mean()
    noisy, _ = Degradation("cv2_area", noise_sigma=3).apply(image, 2, np.random.default_rng(0))
    assert 2.0 < (_levels(noisy) - _levels(plain)).std() < 4.0
    jpeg, _ = Degradation("cv2_area", jpeg_quality=75).apply(image, 2)
    buffer = io.BytesIO()
    Image.fromarray(_levels(plain).astype(np.uint8)).save(buffer, format="JPEG", quality=75)
    np.testing.assert_array_equal(_levels(jpeg), np.asarray(Image.open(buffer).convert("RGB")))


def test_degradation_describe_and_errors():
    assert DegradationMix().describe().startswith("per patch, at random: one of benchmark, tf_bicubic, pil_bicubic, cv2_cubic")
    assert DegradationMix(("cv2_area",)).describe("photo visit").startswith("per photo visit, at random: one of cv2_area (")
    assert Degradation("cv2_cubic").describe() == "cv2_cubic"
    assert Degradation("cv2_area", 1.2, 2, 80).describe() == "blur 1.2 + cv2_area + noise 2 + JPEG 80"
    with pytest.raises(ValueError, match="resizer must be one of"):
        Degradation("bicubic")
    with pytest.raises(ValueError, match="jpeg_quality"):
        Degradation("cv2_area", jpeg_quality=0)
    with pytest.raises(ValueError, match="blur_sigma"):
        Degradation("cv2_area", blur_sigma=-1)
    with pytest.raises(ValueError, match="pass rng"):
        Degradation("cv2_area", noise_sigma=2).apply(_photo(), 2)
    with pytest.raises(ValueError, match="smaller than the scale"):
        Degradation("cv2_area").apply(np.zeros((2, 8, 3), np.uint8), 3)
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        Degradation("cv2_area").apply(np.zeros((8, 8), np.uint8), 2)


def test_mix_is_seeded_and_covers_every_option():
    mix = DegradationMix()
    draws = [mix.draw(np.random.default_rng(7), 2) for _ in range(2)]
    assert draws[0] == draws[1]
    rng = np.random.default_rng(0)
    many = [mix.draw(rng, 4) for _ in range(600)]
    assert {d.resizer for d in many} == set(RESIZERS)
    blurs = [d.blur_sigma for d in many if d.blur_sigma]
    qualities = [d.jpeg_quality for d in many if d.jpeg_quality is not None]
    noises = [d.noise_sigma for d in many if d.noise_sigma]
    for values, probability in ((blurs, mix.blur_probability), (qualities, mix.jpeg_probability), (noises, mix.noise_probability)):
        assert abs(len(values) / len(many) - probability) < 0.07
    assert 0.8 <= min(blurs) and max(blurs) <= 2.4  # (0.2, 0.6) per unit of scale, at x4
    assert 70 <= min(qualities) and max(qualities) <= 95 and len(set(qualities)) > 15
    assert 1.0 <= min(noises) and max(noises) <= 4.0


def test_mix_apply_gives_a_reproducible_pair():
    image = _photo(64, 64)
    a = DegradationMix().apply(image, 2, np.random.default_rng(3))
    b = DegradationMix().apply(image, 2, np.random.default_rng(3))
    assert a[0].shape == (32, 32, 3) and a[1].shape == (64, 64, 3)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].dtype == np.float32 and 0 <= a[0].min() and a[0].max() <= 1


def test_mix_errors():
    with pytest.raises(ValueError, match="resizers must be"):
        DegradationMix(resizers=("cv2_area", "magic"))
    with pytest.raises(ValueError, match="resizers must be"):
        DegradationMix(resizers=())
    with pytest.raises(ValueError, match="jpeg_probability must lie in"):
        DegradationMix(jpeg_probability=1.5)


def test_same_resize_finds_the_resizers_that_coincide():
    image = _photo()[None]
    for scale in (2, 3, 4):
        for a in RESIZERS:
            for b in RESIZERS:
                diff = np.abs(resize_down(image, scale, a) - resize_down(image, scale, b)).max()
                same = diff < 1e-5 if {a, b} & {"tf_bicubic", "benchmark"} else diff == 0  # TF computes in float32
                assert degradation.same_resize(a, b, scale) == same, (a, b, scale)
    assert degradation.same_resize("pil_bicubic", "benchmark", 2) and not degradation.same_resize("cv2_cubic", "tf_bicubic", 2)


@pytest.mark.parametrize("resizer", ["benchmark", "tf_bicubic", "cv2_area", "pil_bicubic"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_numpy_only_lr_equals_the_tensorflow_one(resizer, scale):
    """Degradation.lr_uint8(numpy_only=True) on uint8 (what the streaming pipeline's threads run)
    gives apply()'s LR image: TensorFlow's for the TF resizers to within one level (over 99% equal: values on a rounding boundary),
    the same computation, hence equal, for the others."""
    from sr_utils.cost import synthetic_photo

    image = synthetic_photo(48 * scale, 40 * scale, seed=scale)
    d = degradation.Degradation(resizer)
    reference = np.round(d.apply(image, scale)[0] * 255).astype(int)
    lr = d.lr_uint8(image, scale, numpy_only=True).astype(int)
    assert lr.shape == reference.shape == (48, 40, 3)
    assert np.abs(lr - reference).max() <= 1 and (lr != reference).mean() < 0.01
    if resizer not in ("benchmark", "tf_bicubic"):
        np.testing.assert_array_equal(lr, reference)


@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_opencv_filter_of_large_images_equals_numpys(monkeypatch, dtype, scale):
    """Images of 2**16 pixels or more are filtered by OpenCV (the whole image, then subsampled; the
    renormalized borders by numpy): the same taps and weights as numpy's strided filter, so the same
    result to float rounding, borders included, for every resizer; uint8 LR images equal after
    rounding (over 99.99%), within one level."""
    pytest.importorskip("cv2")
    from sr_utils.cost import synthetic_photo

    image = synthetic_photo(264 * scale // 2 * 2, 250 * scale // 2 * 2, seed=scale)[None]  # over 2**16 pixels
    assert image.shape[1] * image.shape[2] >= degradation._CV2_MIN_PIXELS
    x = image if dtype == np.uint8 else image.astype(dtype) / dtype(255)
    calls = []
    opencv = degradation._separable_opencv
    monkeypatch.setattr(degradation, "_separable_opencv", lambda *args: calls.append(1) or opencv(*args))
    for name in RESIZERS:
        ours = degradation._separable(x, scale, RESIZERS[name])
        assert len(calls) == 1, name  # OpenCV filtered it
        calls.clear()
        with monkeypatch.context() as m:
            m.setattr(degradation, "_CV2", [None])  # as without OpenCV
            plain = degradation._separable(x, scale, RESIZERS[name])
        assert ours.dtype == plain.dtype == (np.float32 if dtype == np.uint8 else dtype)
        assert ours.shape == plain.shape == (1, image.shape[1] // scale, image.shape[2] // scale, 3)
        np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-4 if dtype == np.uint8 else 1e-6, err_msg=name)
        if dtype == np.uint8:
            a, b = np.round(np.clip(ours, 0, 255)), np.round(np.clip(plain, 0, 255))
            assert np.abs(a - b).max() <= 1 and (a != b).mean() < 1e-4, name


def test_opencv_filter_handles_one_channel_and_strided_views(monkeypatch):
    pytest.importorskip("cv2")
    from sr_utils.cost import synthetic_photo

    image = synthetic_photo(300, 280, seed=1)[None].astype(np.float32)[..., ::-1][..., :1]  # one channel, a view
    ours = degradation._separable(image, 2, RESIZERS["benchmark"])
    monkeypatch.setattr(degradation, "_CV2", [None])
    plain = degradation._separable(image, 2, RESIZERS["benchmark"])
    assert ours.shape == plain.shape == (1, 150, 140, 1)
    np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape", [(4, 16384), (16384, 4), (8, 10000), (12, 6000), (24, 3000), (3, 30000)])
def test_opencv_filter_of_thin_strips_equals_numpys(monkeypatch, shape):
    """A side too short to have a pixel away from both borders: OpenCV's filter uses the shared taps
    of a long side, and numpy recomputes every output of the short side that differs from them."""
    pytest.importorskip("cv2")
    image = np.random.default_rng(sum(shape)).random((1, *shape, 3))
    for scale in (2, 3, 4):
        x = image[:, :shape[0] // scale * scale, :shape[1] // scale * scale]
        if min(x.shape[1:3]) < scale:
            continue
        for name in RESIZERS:
            ours = degradation._separable(x, scale, RESIZERS[name])
            plain = degradation._separable(x, scale, RESIZERS[name], opencv=False)
            assert ours.shape == plain.shape == (1, x.shape[1] // scale, x.shape[2] // scale, 3)
            np.testing.assert_allclose(ours, plain, rtol=0, atol=1e-9, err_msg=f"{name} x{scale}")
