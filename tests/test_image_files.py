"""Tests of sr_utils/image_files.py: the image reader (orientation, modes, bit depth, ICC, limits, errors) and the PNG writer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageOps

from sr_utils import image_files as F


def srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def ramp(h, w, channels=3, dtype=np.uint8):
    """Every pixel different (up to the dtype's range), so any flip or rotation shows."""
    values = np.arange(h * w * channels).reshape(h, w, channels) * (7 if dtype == np.uint8 else 997)
    return (values % (256 if dtype == np.uint8 else 65536)).astype(dtype)


# ---- orientation ------------------------------------------------------------------------
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillows_exif_transpose(tmp_path, orientation):
    path = tmp_path / "o.png"
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(ramp(3, 5)).save(path, exif=exif)
    pixels = F.read_image(path).pixels
    expected = np.asarray(ImageOps.exif_transpose(Image.open(path)))
    np.testing.assert_array_equal(pixels, expected)
    assert pixels.shape == ((3, 5, 3) if orientation < 5 else (5, 3, 3))


def test_a_jpeg_shown_upright_is_read_upright(tmp_path):
    """Orientation 6: the camera stored the picture rotated; a viewer turns it 90 degrees clockwise."""
    stored = np.zeros((20, 40, 3), np.uint8)
    stored[:, :20] = 255  # left half white as stored -> top half white when upright
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(tmp_path / "p.jpg", exif=exif, quality=95)
    upright = F.read_image(tmp_path / "p.jpg").pixels
    assert upright.shape == (40, 20, 3)
    assert upright[:18].mean() > 250 and upright[22:].mean() < 5


# ---- colour modes -----------------------------------------------------------------------
def palette_image(transparent: bool) -> Image.Image:
    im = Image.new("P", (6, 4), 0)
    im.putpalette([255, 0, 0, 0, 0, 255] + [0, 0, 0] * 254)
    im.paste(1, (0, 0, 3, 4))  # left half: index 1 (blue), right half: index 0 (red)
    if transparent:
        im.info["transparency"] = 1
    return im


@pytest.mark.parametrize("transparent", [False, True])
def test_palette_indices_become_colours_and_transparency_becomes_alpha(tmp_path, transparent):
    path = tmp_path / "p.png"
    im = palette_image(transparent)
    im.save(path, **({"transparency": 1} if transparent else {}))
    for source in (path, Image.open(path)):
        pixels = F.read_image(source).pixels
        assert pixels.shape == (4, 6, 4 if transparent else 3)
        np.testing.assert_array_equal(pixels[0, 5, :3], [255, 0, 0])  # red, not gray level 0
        np.testing.assert_array_equal(pixels[0, 0, :3], [0, 0, 255])
        if transparent:
            assert (pixels[:, :3, 3] == 0).all() and (pixels[:, 3:, 3] == 255).all()


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))  # no cyan or black, full magenta + yellow: red
    cmyk.save(tmp_path / "c.jpg", quality=95)
    pixels = F.read_image(tmp_path / "c.jpg").pixels
    assert pixels.shape == (16, 16, 3) and pixels.dtype == np.uint8
    assert np.abs(pixels.astype(int) - [255, 0, 0]).max() <= 3


def test_gray_alpha_and_one_bit(tmp_path):
    la = np.dstack([ramp(4, 5, 1)[..., 0], np.full((4, 5), 9, np.uint8)])
    Image.fromarray(la).save(tmp_path / "la.png")
    np.testing.assert_array_equal(F.read_image(tmp_path / "la.png").pixels, la)
    bits = Image.new("1", (8, 2), 0)
    bits.putpixel((3, 1), 1)
    bits.save(tmp_path / "b.png")
    pixels = F.read_image(tmp_path / "b.png").pixels
    assert pixels.dtype == np.uint8 and pixels.shape == (2, 8) and pixels[1, 3] == 255 and pixels.sum() == 255


@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_16_bit_pngs_keep_all_16_bits(tmp_path, channels):
    pixels = ramp(7, 9, channels, np.uint16)
    pixels = pixels[..., 0] if channels == 1 else pixels
    F.write_png(pixels, tmp_path / "deep.png")
    back = F.read_image(tmp_path / "deep.png").pixels
    assert back.dtype == np.uint16
    np.testing.assert_array_equal(back, pixels)
    assert len(np.unique(back & 0xFF)) > 1  # the low byte is there, not zero-filled


def test_32_bit_images_are_refused_or_narrowed(tmp_path):
    Image.fromarray(np.full((4, 4), 0.5, np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(ValueError, match=r"f\.tif has 32-bit floating-point pixels"):
        F.read_image(tmp_path / "f.tif")
    Image.fromarray(np.array([[0, 70000]] * 4, np.int32)).save(tmp_path / "i.tif")
    with pytest.raises(ValueError, match=r"i\.tif has 32-bit integer pixels from 0 to 70000"):
        F.read_image(tmp_path / "i.tif")
    Image.fromarray(np.array([[0, 65535]] * 4, np.int32)).save(tmp_path / "ok.tif")
    np.testing.assert_array_equal(F.read_image(tmp_path / "ok.tif").pixels, np.array([[0, 65535]] * 4, np.uint16))


# ---- ICC profile ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_icc_profile_is_read_and_written(tmp_path, dtype):
    profile = srgb_profile()
    F.write_png(ramp(4, 4, 3, dtype), tmp_path / "icc.png", icc_profile=profile)
    read = F.read_image(tmp_path / "icc.png")
    assert read.icc_profile == profile
    np.testing.assert_array_equal(read.pixels, ramp(4, 4, 3, dtype))
    Image.fromarray(ramp(4, 4)).save(tmp_path / "plain.png")
    assert F.read_image(tmp_path / "plain.png").icc_profile is None


# ---- refusals ---------------------------------------------------------------------------
def test_animated_images_are_refused(tmp_path):
    frames = [Image.new("RGB", (8, 8), colour) for colour in ("red", "green", "blue")]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    with pytest.raises(ValueError, match=r"a\.gif holds 3 frames .*Save the frame you want as a PNG"):
        F.read_image(tmp_path / "a.gif")


def test_pixel_limit_names_the_limit_and_the_flag(tmp_path):
    Image.fromarray(np.zeros((1000, 1500), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ValueError, match=r"big\.png is 1500x1000 pixels \(1\.5 megapixels\), over the limit of 1 "
                                         r"megapixels.*--max-megapixels 2 .*max_megapixels=2"):
        F.read_image(tmp_path / "big.png", max_megapixels=1)
    assert F.read_image(tmp_path / "big.png", max_megapixels=2).pixels.shape == (1000, 1500)
    assert F.read_image(tmp_path / "big.png", max_megapixels=None).pixels.shape == (1000, 1500)


def test_our_limit_replaces_pillows_while_reading(tmp_path, monkeypatch):
    """A limit raised by the user wins over Pillow's decompression-bomb error; Pillow's is restored after."""
    Image.fromarray(np.zeros((100, 100), np.uint8)).save(tmp_path / "p.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # Pillow alone would refuse 10,000 pixels
    assert F.read_image(tmp_path / "p.png").pixels.shape == (100, 100)
    assert Image.MAX_IMAGE_PIXELS == 1000


@pytest.mark.parametrize("content, error, match", [
    (b"", ValueError, r"empty\.png is not an image file that Pillow can read"),
    (b"GIF89a not really", ValueError, r"empty\.png"),
])
def test_unreadable_files(tmp_path, content, error, match):
    (tmp_path / "empty.png").write_bytes(content)
    with pytest.raises(error, match=match):
        F.read_image(tmp_path / "empty.png")


def test_truncated_missing_and_folder(tmp_path):
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)).save(tmp_path / "t.png")
    (tmp_path / "t.png").write_bytes((tmp_path / "t.png").read_bytes()[:2000])
    with pytest.raises(ValueError, match=r"cannot read .*t\.png: .*truncated or damaged"):
        F.read_image(tmp_path / "t.png")
    with pytest.raises(FileNotFoundError, match=r"nothing\.png does not exist"):
        F.read_image(tmp_path / "nothing.png")
    with pytest.raises(ValueError, match=r"is a folder, not an image file"):
        F.read_image(tmp_path)
    with pytest.raises(ValueError, match="source must be a path or a PIL image, got int"):
        F.read_image(3)


def test_image_array_passes_arrays_through():
    a = ramp(4, 4)
    assert F.image_array(a) is a
    np.testing.assert_array_equal(F.image_array(Image.fromarray(a)), a)


# ---- writer -----------------------------------------------------------------------------
@pytest.mark.parametrize("channels", [1, 2, 3, 4])
def test_write_png_across_bands_reads_back_exactly(tmp_path, channels):
    """150 rows: three bands of rows, the last one partial; Pillow reads back every pixel."""
    pixels = np.random.default_rng(channels).integers(0, 256, (150, 37, channels), dtype=np.uint8)
    pixels = pixels[..., 0] if channels == 1 else pixels
    F.write_png(pixels, tmp_path / "b.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "b.png")), pixels)


def test_write_png_compresses_photos_about_as_well_as_pillow(tmp_path):
    from sr_utils.cost import synthetic_photo

    photo = synthetic_photo(300, 400)
    F.write_png(photo, tmp_path / "ours.png")
    Image.fromarray(photo).save(tmp_path / "pillow.png")
    ours, pillows = (tmp_path / "ours.png").stat().st_size, (tmp_path / "pillow.png").stat().st_size
    assert ours < 1.1 * pillows, (ours, pillows)


def test_write_png_refuses_other_dtypes_and_leaves_existing_files(tmp_path):
    with pytest.raises(ValueError, match=r"pixels must be uint8 or uint16 .*got float32 \(4, 4, 3\)"):
        F.write_png(np.zeros((4, 4, 3), np.float32), tmp_path / "x.png")
    (tmp_path / "x.png").write_text("keep me")
    with pytest.raises(FileExistsError):
        F.write_png(ramp(4, 4), tmp_path / "x.png", overwrite=False)
    assert (tmp_path / "x.png").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.png"]
    F.write_png(ramp(4, 4)[..., :1], tmp_path / "x.png")
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "x.png")), ramp(4, 4)[..., 0])
