"""Tests of sr_utils/images.py: validation and float <-> uint8 conversion of image batches."""

from __future__ import annotations

import numpy as np
import pytest

from sr_utils import images
from sr_utils.images import to_float, to_uint8


# --------------------------------------------------------------------------------------
# to_float
# --------------------------------------------------------------------------------------
def test_uint8_is_divided_by_255():
    x = np.array([0, 51, 102, 255], dtype=np.uint8).reshape(1, 2, 2, 1).repeat(3, axis=-1)
    out = to_float(x)
    assert out.dtype == np.float32 and out.shape == (1, 2, 2, 3)
    np.testing.assert_allclose(out[0, :, :, 0].ravel(), [0.0, 0.2, 0.4, 1.0], rtol=0, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_float_input_keeps_its_values_as_float32(dtype):
    x = np.linspace(0.0, 1.0, 2 * 3 * 4 * 3).reshape(2, 3, 4, 3).astype(dtype)
    out = to_float(x)
    assert out.dtype == np.float32 and out.shape == x.shape
    np.testing.assert_allclose(out, x.astype(np.float32), rtol=0, atol=0)
    assert out.min() == 0.0 and out.max() == 1.0  # both ends of [0, 1] are accepted


def test_list_input_and_other_channel_counts():
    out = to_float([[[[0.25]]]], channels=1)
    assert out.shape == (1, 1, 1, 1) and out.dtype == np.float32 and out[0, 0, 0, 0] == 0.25


def test_rank_3_gets_a_batch_axis_hint():
    with pytest.raises(ValueError, match=r"shape \(N, H, W, 3\).*\(8, 8, 3\).*add a batch axis with x\[None\]"):
        to_float(np.zeros((8, 8, 3), np.float32))


def test_other_ranks_get_no_hint():
    with pytest.raises(ValueError, match=r"got shape \(8, 8\)\.$"):
        to_float(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(1, 1, 8, 8, 3\)"):
        to_float(np.zeros((1, 1, 8, 8, 3), np.float32))


def test_name_appears_in_messages():
    with pytest.raises(ValueError, match=r"^hr_images must have 3 channels"):
        to_float(np.zeros((1, 4, 4, 4), np.float32), name="hr_images")


@pytest.mark.parametrize("shape", [(1, 4, 4, 1), (1, 4, 4, 4)])
def test_wrong_channel_count(shape):
    with pytest.raises(ValueError, match=r"must have 3 channels in the last axis"):
        to_float(np.zeros(shape, np.float32))


@pytest.mark.parametrize("shape", [(0, 4, 4, 3), (2, 0, 4, 3), (2, 4, 0, 3)])
def test_empty_batch(shape):
    with pytest.raises(ValueError, match=r"is empty"):
        to_float(np.zeros(shape, np.uint8))


@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint16, bool])
def test_unsupported_dtypes(dtype):
    with pytest.raises(ValueError, match=r"uint8 in \[0, 255\] or float in \[0, 1\], got dtype"):
        to_float(np.ones((1, 2, 2, 3), dtype))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values(bad):
    x = np.full((1, 2, 2, 3), 0.5, np.float32)
    x[0, 1, 0, 2] = bad
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        to_float(x)


def test_values_above_one_suggest_dividing_by_255():
    x = np.full((1, 2, 2, 3), 0.5, np.float32)
    x[0, 0, 0, 0] = 255.0
    with pytest.raises(ValueError, match=r"\[0, 1\], got values in \[0\.5, 255\] \(divide uint8-range data by 255\)"):
        to_float(x)


def test_negative_values_are_rejected_without_the_255_hint():
    x = np.full((1, 2, 2, 3), 0.5, np.float32)
    x[0, 0, 0, 0] = -0.1
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]") as e:
        to_float(x)
    assert "divide" not in str(e.value)


# --------------------------------------------------------------------------------------
# to_uint8
# --------------------------------------------------------------------------------------
def test_every_grey_level_round_trips():
    levels = np.arange(256, dtype=np.uint8).reshape(1, 16, 16, 1).repeat(3, axis=-1)
    back = to_uint8(to_float(levels))
    assert back.dtype == np.uint8
    np.testing.assert_array_equal(back, levels)
    np.testing.assert_array_equal(to_uint8(levels.astype(np.float64) / 255.0), levels)


def test_rounds_to_the_nearest_level_around_half_a_level():
    x = np.array([0.49, 0.51, 99.49, 99.51, 254.49, 254.51]) / 255.0
    np.testing.assert_array_equal(to_uint8(x), [0, 1, 99, 100, 254, 255])


def test_clips_before_scaling():
    out = to_uint8(np.array([[-0.3, -1e-9, 1.0 + 1e-9, 1.7, 0.5]]))
    np.testing.assert_array_equal(out, [[0, 0, 255, 255, 128]])  # 127.5 rounds half to even: 128
    assert out.shape == (1, 5) and out.dtype == np.uint8


def test_uint8_input_is_returned_unchanged():
    x = np.arange(12, dtype=np.uint8).reshape(1, 2, 2, 3)
    assert to_uint8(x) is x


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_to_uint8_rejects_non_finite(bad):
    with pytest.raises(ValueError, match=r"NaN or infinite"):
        to_uint8(np.array([0.1, bad]))


def test_check_int_accepts_python_and_numpy_integers():
    from sr_utils.images import check_int

    assert check_int(3, "scale", 2) == 3
    value = check_int(np.int64(4), "scale", 2)
    assert value == 4 and type(value) is int          # plain int: serializable in Keras configs
    for bad in (1, 2.0, True, "2", None):
        with pytest.raises(ValueError, match=r"scale must be an integer >= 2, got "):
            check_int(bad, "scale", 2)


def test_channel_stats_per_set_and_channel():
    x = np.zeros((2, 4, 4, 3), np.float32)
    x[..., 0], x[1, ..., 1] = 0.5, 1.0
    table = images.channel_stats({"A": x})
    assert list(table.index) == ["A R", "A G", "A B"] and list(table.columns) == ["mean", "std"]
    assert table.loc["A R"].tolist() == [0.5, 0.0] and table.loc["A G"].tolist() == [0.5, 0.5]


def test_symmetries_are_the_eight_distinct_flips_and_turns_and_invert():
    from sr_utils.images import inverse_symmetry, symmetry

    x = np.random.default_rng(0).random((2, 3, 5, 4))  # (N, H, W, C), not square
    turned = [symmetry(x, k) for k in range(8)]
    assert [t.shape for t in turned] == [(2, 3, 5, 4), (2, 5, 3, 4)] * 4
    assert len({t.tobytes() for t in turned}) == 8
    np.testing.assert_array_equal(turned[1], np.rot90(x, 1, axes=(1, 2)))
    np.testing.assert_array_equal(turned[4], x[:, :, ::-1])
    for k, t in enumerate(turned):
        np.testing.assert_array_equal(inverse_symmetry(t, k), x)
    with pytest.raises(ValueError, match="k must be 0-7"):
        symmetry(x, 8)
