"""Tests of sr_utils/streaming.py: photo files found and checked, patches that are exact crops of the
whole degraded photo (under the eight symmetries), a seeded stream, the bounded cache, the disk cache,
errors."""

from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from sr_utils import streaming
from sr_utils.degradation import Degradation, DegradationMix, _opencv


def _photos(folder, sizes, seed=0, suffix=".png"):
    rng = np.random.default_rng(seed)
    paths = []
    for i, (h, w) in enumerate(sizes):
        path = folder / f"p{i}{suffix}"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path)
        paths.append(path)
    return paths


def _batches(ds, n):
    return [(a.numpy(), b.numpy()) for a, b in ds.take(n)]


def _variants(x):
    """The 8 symmetries of a square patch (H, W, C)."""
    return [np.rot90(f, k) for f in (x, x[:, ::-1]) for k in range(4)]


def _find(lr_patch, hr_patch, pairs, lp, s):
    """Which of the 8 symmetries of an aligned crop of one of the (LR, HR) ``pairs`` the patch pair
    is, or None."""
    for lr, hr in pairs:
        for y in range(lr.shape[0] - lp + 1):
            for x in range(lr.shape[1] - lp + 1):
                crops = zip(_variants(lr[y:y + lp, x:x + lp]), _variants(hr[y * s:(y + lp) * s, x * s:(x + lp) * s]))
                for v, (a, b) in enumerate(crops):
                    if np.array_equal(a, lr_patch) and np.array_equal(b, hr_patch):
                        return v
    return None


def test_image_files_lists_images_recursively_sorted(tmp_path):
    (tmp_path / "sub").mkdir()
    _photos(tmp_path, [(8, 8)], suffix=".PNG")
    _photos(tmp_path / "sub", [(8, 8)], suffix=".jpg")
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [p.relative_to(tmp_path).as_posix() for p in streaming.image_files(tmp_path)] == ["p0.PNG", "sub/p0.jpg"]


def test_image_files_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        streaming.image_files(tmp_path / "missing")
    (tmp_path / "a.txt").write_text("x")
    with pytest.raises(ValueError, match="holds no image files"):
        streaming.image_files(tmp_path)
    with pytest.raises(ValueError, match="is a file"):
        streaming.image_files(tmp_path / "a.txt")


def test_check_photos_names_unreadable_and_small_files(tmp_path):
    good, small = _photos(tmp_path, [(40, 50), (20, 50)])
    assert streaming.check_photos([good], 32) == [(40, 50)]
    with pytest.raises(ValueError, match=r"1 of 2 photos are smaller than a training patch \(32x32 pixels\): .*p1.png \(50x20\)"):
        streaming.check_photos([good, small], 32)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=r"1 of 2 files are not readable images: .*broken.png"):
        streaming.check_photos([good, broken], 8)
    with pytest.raises(ValueError, match="list of files is empty"):
        streaming.check_photos([], 8)


def test_large_enough_keeps_the_photos_of_a_patch_and_names_the_others(tmp_path):
    a, small, b, thin = _photos(tmp_path, [(40, 50), (20, 50), (32, 32), (50, 31)])
    kept, sizes, left_out = streaming.large_enough([a, small, b, thin], 32)
    assert (kept, sizes, left_out) == ([a, b], [(40, 50), (32, 32)], [small, thin])
    assert streaming.large_enough([str(a)], 40) == ([a], [(40, 50)], [])  # str paths become Paths
    with pytest.raises(ValueError, match=r"none of the 2 photos is 41x41 pixels or larger \(one training patch\); use a smaller patch"):
        streaming.large_enough([a, b], 41)
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG not really")
    with pytest.raises(ValueError, match=r"1 of 2 files are not readable images: .*broken.png"):
        streaming.large_enough([a, broken], 8)  # unreadable files are refused, not left out


def test_patches_are_crops_of_the_whole_degraded_photo(tmp_path):
    """Every LR patch is a crop of the degraded whole photo (made by Degradation.apply), under one
    of the 8 symmetries, and its HR patch is the same crop of the photo at the same place."""
    sizes = [(36, 42), (30, 30)]
    paths = _photos(tmp_path, sizes)
    photos = [np.asarray(Image.open(p)) for p in paths]
    deg = Degradation("cv2_cubic", blur_sigma=0.8, jpeg_quality=80)
    wholes = [deg.apply(im, 3, numpy_only=True) for im in photos]
    lp, s = 4, 3
    found, variants = 0, set()
    for lr_b, hr_b in _batches(streaming.photo_patch_dataset(paths, s, lp, 8, deg, seed=3, parallel=2), 4):
        assert lr_b.shape == (8, lp, lp, 3) and hr_b.shape == (8, lp * s, lp * s, 3)
        assert lr_b.dtype == hr_b.dtype == np.float32
        np.testing.assert_array_equal(np.round(lr_b * 255) / 255, lr_b)  # on uint8 levels
        for a, b in zip(lr_b, hr_b):
            v = _find(a, b, wholes, lp, s)
            assert v is not None, "a patch pair that is no crop of the degraded photo"
            variants.add(v)
            found += 1
    assert found == 32 and len(variants) >= 4  # rotated and flipped patches occur


def test_stream_is_seeded_and_mixes_photos(tmp_path):
    paths = _photos(tmp_path, [(40, 40)] * 6)
    mix = DegradationMix()
    first = _batches(streaming.photo_patch_dataset(paths, 2, 8, 4, mix, seed=5, parallel=3, pool=4), 6)
    again = _batches(streaming.photo_patch_dataset(paths, 2, 8, 4, mix, seed=5, parallel=1, pool=4, cache_mb=0), 6)
    other = _batches(streaming.photo_patch_dataset(paths, 2, 8, 4, mix, seed=6, parallel=3, pool=4), 6)
    for (a, b), (c, d) in zip(first, again):  # the same with other parallelism and no cache
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
    assert not np.array_equal(first[0][1], other[0][1])
    # a round of pool=4 visits: 4 photos x 7 patches, shuffled into 7 batches of 4 patches
    photos = [np.asarray(Image.open(p)).astype(np.float32) / 255 for p in paths]
    pairs = [(im, im) for im in photos]  # HR patches are crops of the photos (find them as "LR" and "HR" at x1)
    sources = [{i for b in hr_b for i, pair in enumerate(pairs) if _find(b, b, [pair], 16, 1) is not None}
               for _, hr_b in _batches(streaming.photo_patch_dataset(paths, 2, 8, 4, mix, seed=5, pool=4), 7)]
    assert len(set().union(*sources)) == 4
    assert max(len(s) for s in sources) >= 3  # batches mix photos


def test_patches_per_visit_follow_the_photo_area(tmp_path):
    big, small = _photos(tmp_path, [(64, 64), (32, 32)])
    visits = streaming._Visits([big, small], 2, 8, Degradation("benchmark"), 0, 1.0, False, streaming.PhotoCache(0))
    counts = {visits.photo(i): len(visits(i)[0]) for i in range(2)}
    assert counts == {0: 16, 1: 4}  # (64 / 16) ** 2 and (32 / 16) ** 2 HR patches of 16x16
    twice = streaming._Visits([big], 2, 8, Degradation("benchmark"), 0, 2.0, False, streaming.PhotoCache(0))
    assert len(twice(0)[0]) == 32


def test_every_pass_visits_each_photo_once_in_a_new_order(tmp_path):
    paths = _photos(tmp_path, [(16, 16)] * 5)
    visits = streaming._Visits(paths, 2, 4, Degradation("benchmark"), 0, 1.0, False, streaming.PhotoCache(0))
    passes = [[visits.photo(e * 5 + i) for i in range(5)] for e in range(3)]
    assert all(sorted(p) == list(range(5)) for p in passes)
    assert passes[0] != passes[1] or passes[1] != passes[2]


def test_photo_cache_is_bounded_and_least_recently_used():
    cache = streaming.PhotoCache(max_bytes=250)
    loads = []

    def load(key):
        loads.append(key)
        return np.zeros(100, np.uint8)

    for key in ["a", "b", "a", "c", "a", "b"]:
        assert cache.get(key, lambda k=key: load(k)).shape == (100,)
    # a, b kept; a used again; c evicts b (least recent); b is read again and evicts c
    assert loads == ["a", "b", "c", "b"]
    assert cache.nbytes == 200 and (cache.hits, cache.misses) == (2, 4)
    pair = streaming.PhotoCache(max_bytes=100)
    pair.get("x", lambda: (np.zeros(60, np.uint8), np.zeros(60, np.uint8)))  # 120 bytes: not kept
    assert pair.nbytes == 0


def test_rgb8_converts_gray_alpha_and_16_bits():
    gray = np.array([[0, 255]], np.uint8)
    assert streaming._rgb8(gray).shape == (1, 2, 3)
    rgba = np.zeros((1, 1, 4), np.uint8)
    assert streaming._rgb8(rgba).shape == (1, 1, 3)
    deep = np.array([[[0, 257, 65535]]], np.uint16)
    np.testing.assert_array_equal(streaming._rgb8(deep), [[[0, 1, 255]]])


def test_photo_patch_dataset_errors(tmp_path):
    paths = _photos(tmp_path, [(40, 40)])
    with pytest.raises(ValueError, match="smaller than a training patch"):
        streaming.photo_patch_dataset(paths, 4, 16, 2, Degradation("benchmark"))
    with pytest.raises(ValueError, match="Degradation or a DegradationMix"):
        streaming.photo_patch_dataset(paths, 2, 8, 2, "benchmark")
    with pytest.raises(ValueError, match="coverage must be > 0"):
        streaming.photo_patch_dataset(paths, 2, 8, 2, Degradation("benchmark"), coverage=0)
    with pytest.raises(ValueError, match="batch_size"):
        streaming.photo_patch_dataset(paths, 2, 8, 0, Degradation("benchmark"))


def test_synthetic_photos_differ_and_have_the_size(tmp_path):
    paths = streaming.write_synthetic_photos(tmp_path, n=3, size=(40, 56))
    images = [np.asarray(Image.open(p)) for p in paths]
    assert [p.name for p in paths] == ["0001.png", "0002.png", "0003.png"]
    assert all(im.shape == (40, 56, 3) and im.dtype == np.uint8 for im in images)
    assert len({im.tobytes() for im in images}) == 3


def test_rounds_smaller_than_a_batch_carry_over(tmp_path):
    """One small photo gives 4 patches a visit: batches of 6 take patches of two visits."""
    paths = _photos(tmp_path, [(16, 16)])
    batches = _batches(streaming.photo_patch_dataset(paths, 2, 4, 6, Degradation("benchmark"), pool=1, augment=False), 4)
    assert [b.shape for _, b in batches] == [(6, 8, 8, 3)] * 4


def test_gather_takes_the_patches_of_the_round_in_order():
    """A round's patches are gathered from its visits' stacks, as if concatenated and indexed."""
    rng = np.random.default_rng(5)
    parts = [(rng.integers(0, 256, (n, 2, 2, 3), dtype=np.uint8), rng.integers(0, 256, (n, 4, 4, 3), dtype=np.uint8))
             for n in (3, 1, 5)]
    owner, local = np.array([0, 0, 0, 1, 2, 2, 2, 2, 2]), np.array([0, 1, 2, 0, 0, 1, 2, 3, 4])
    take = np.array([8, 0, 3, 5, 1])
    lr, hr = streaming._gather(parts, owner, local, take)
    np.testing.assert_array_equal(lr, np.concatenate([p[0] for p in parts])[take])
    np.testing.assert_array_equal(hr, np.concatenate([p[1] for p in parts])[take])
    empty = streaming._gather(parts, owner, local, take[:0])
    assert empty[0].shape == (0, 2, 2, 3) and empty[1].shape == (0, 4, 4, 3)


def test_reuse_memory_sets_pillows_block_cache_once_and_respects_the_environment(monkeypatch):
    before = Image.core.get_blocks_max()
    try:
        Image.core.set_blocks_max(0)
        monkeypatch.setattr(streaming, "_REUSING", [])
        monkeypatch.setenv("PILLOW_BLOCKS_MAX", "0")
        monkeypatch.setenv("MALLOC_TOP_PAD_", "131072")
        assert streaming.reuse_memory() is False and Image.core.get_blocks_max() == 0  # the user's choice stands
        monkeypatch.setattr(streaming, "_REUSING", [])
        monkeypatch.delenv("PILLOW_BLOCKS_MAX")
        assert streaming.reuse_memory() is True and Image.core.get_blocks_max() == streaming.PILLOW_BLOCKS
        Image.core.set_blocks_max(0)
        assert streaming.reuse_memory() is False and Image.core.get_blocks_max() == 0  # once per process
    finally:
        Image.core.set_blocks_max(before)


def test_cut_turns_lr_and_hr_alike_into_all_eight_symmetries():
    lr = np.random.default_rng(0).integers(0, 256, (5, 6, 3), dtype=np.uint8)
    hr = np.repeat(np.repeat(lr, 2, 0), 2, 1)  # nearest upscale: stays so under any symmetry
    a, b = streaming._cut(lr, hr, 2, 3, 64, np.random.default_rng(1), augment=True)
    assert a.shape == (64, 3, 3, 3) and b.shape == (64, 6, 6, 3) and a.dtype == b.dtype == np.uint8
    np.testing.assert_array_equal(np.repeat(np.repeat(a, 2, 1), 2, 2), b)
    seen = {_find(x, y, [(lr, hr)], 3, 2) for x, y in zip(a, b)}
    assert seen == set(range(8))
    plain = streaming._cut(lr, hr, 2, 3, 64, np.random.default_rng(1))[0]
    assert {_find(x, x, [(lr, lr)], 3, 1) for x in plain} == {0}
    np.testing.assert_array_equal(a, streaming._cut(lr, hr, 2, 3, 64, np.random.default_rng(1), augment=True)[0])


def test_cut_copies_the_crops_at_its_random_corners():
    """Without augment, patch i is the crop at the i-th drawn corner, LR and HR alike (odd sizes
    and non-contiguous photos included)."""
    lr = np.random.default_rng(2).integers(0, 256, (9, 13, 3), dtype=np.uint8)
    hr = np.random.default_rng(3).integers(0, 256, (27, 39, 4), dtype=np.uint8)[..., :3]  # a strided view
    a, b = streaming._cut(lr, hr, 3, 4, 50, np.random.default_rng(7))
    rng = np.random.default_rng(7)
    ys, xs = rng.integers(0, 9 - 4 + 1, 50), rng.integers(0, 13 - 4 + 1, 50)
    for i, (y, x) in enumerate(zip(ys, xs)):
        np.testing.assert_array_equal(a[i], lr[y:y + 4, x:x + 4])
        np.testing.assert_array_equal(b[i], hr[3 * y:3 * y + 12, 3 * x:3 * x + 12])


@pytest.mark.parametrize("degradation", [Degradation("cv2_area", jpeg_quality=85), DegradationMix()], ids=["fixed", "mix"])
def test_disk_cache_gives_the_same_stream_and_keeps_exactly_one_file_per_photo_and_lr_image(tmp_path, monkeypatch, degradation):
    photos, cache = tmp_path / "photos", tmp_path / "cache"
    photos.mkdir()
    paths = _photos(photos, [(40, 48), (36, 36), (44, 40)])
    plain = _batches(streaming.photo_patch_dataset(paths, 2, 8, 4, degradation, seed=2, pool=3), 8)
    first = streaming.photo_patch_dataset(paths, 2, 8, 4, degradation, seed=2, pool=3, disk_cache=cache)
    cached = _batches(first, 8)
    assert first.disk_stats.hits + first.disk_stats.misses > 0
    stems = sorted(p.name.split(".")[0] for p in cache.iterdir())
    fixed = isinstance(degradation, Degradation)
    assert len(stems) == 3 * (2 if fixed else 1) and {s.split("-")[0] for s in stems} == {"p0", "p1", "p2"}
    assert sorted(p.name.split(".", 1)[1].split("-")[0] for p in cache.iterdir()) == (["hr.npy"] * 3 + ["lr"] * 3 if fixed else ["hr.npy"] * 3)
    assert not list(cache.glob(".*"))  # no temporary files left
    # a second run reads the cache only: decoding would fail
    monkeypatch.setattr(streaming, "read_image", lambda *a, **k: pytest.fail("decoded a photo the disk cache holds"))
    again = streaming.photo_patch_dataset(paths, 2, 8, 4, degradation, seed=2, pool=3, disk_cache=cache, cache_mb=0)
    for (a, b), (c, d), (e, f) in zip(plain, cached, _batches(again, 8)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, d)
        np.testing.assert_array_equal(a, e)
        np.testing.assert_array_equal(b, f)
    assert again.disk_stats.misses == 0 and again.disk_stats.hits > 0


def test_disk_cache_remakes_changed_photos_and_broken_files(tmp_path):
    cache = streaming.DiskCache(tmp_path / "cache")
    (photo,) = _photos(tmp_path, [(8, 8)])
    path = cache.path(photo, 2)
    assert cache.path(photo, 2) == path and cache.path(photo, 4) != path
    assert cache.path(photo, 2, Degradation("benchmark")) != cache.path(photo, 2, Degradation("cv2_cubic"))
    assert cache.get(path, lambda: np.arange(3, dtype=np.uint8)).tolist() == [0, 1, 2]
    assert cache.get(path, lambda: pytest.fail("made again")).tolist() == [0, 1, 2]
    path.write_bytes(path.read_bytes()[:-2])  # cut short: made again
    assert cache.get(path, lambda: np.arange(4, dtype=np.uint8)).tolist() == [0, 1, 2, 3]
    assert (cache.hits, cache.misses) == (1, 2)
    stat = photo.stat()
    _photos(tmp_path, [(8, 8)], seed=1)  # the same name, new pixels and time
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert cache.path(photo, 2) != path


def test_disk_cache_and_sizes_errors(tmp_path):
    paths = _photos(tmp_path, [(40, 40), (40, 40)])
    (tmp_path / "taken").write_text("a file")
    with pytest.raises(ValueError, match="photo cache folder .*taken is a file"):
        streaming.photo_patch_dataset(paths, 2, 8, 2, Degradation("benchmark"), disk_cache=tmp_path / "taken")
    with pytest.raises(ValueError, match="one \\(height, width\\) per file"):
        streaming.photo_patch_dataset(paths, 2, 8, 2, Degradation("benchmark"), sizes=[(40, 40)])
    with pytest.raises(ValueError, match="each side >= 16"):
        streaming.photo_patch_dataset(paths, 2, 8, 2, Degradation("benchmark"), sizes=[(40, 40), (40, 12)])


def test_benchmark_writes_its_readme_block(tmp_path, monkeypatch, capsys):
    """python -m sr_utils.streaming on a small folder: both streams measured in child processes, the
    table written between the README's markers and nowhere else (training rates stubbed: they
    take minutes)."""
    (tmp_path / "mine").mkdir()
    _photos(tmp_path / "mine", [(40, 48)] * 3)
    readme = tmp_path / "README.md"
    readme.write_text(f"before\n{streaming.STREAM_BENCHMARK_START}\nold\n{streaming.STREAM_BENCHMARK_END}\nafter\n")
    monkeypatch.setattr(streaming, "_training_rate", lambda *a: {"rsp_stub": 12.5})
    assert streaming.main(["--folder", str(tmp_path / "mine"), "--lr-patch", "8", "--batch-size", "4", "--seconds", "0.5",
                           "--warmup", "2", "--readme", str(readme)]) == 0
    text = readme.read_text()
    assert text.startswith(f"before\n{streaming.STREAM_BENCHMARK_START}\n| stream (x2, benchmark degradation, 8x8 LR patches, batches of 4")
    assert text.endswith(f"{streaming.STREAM_BENCHMARK_END}\nafter\n") and "old" not in text
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| ") and "patches/s" not in line]
    assert [r[0] for r in rows] == ["every visit reads its photo from the file (the default)",
                                    "the same, without `reuse_memory` (glibc's and Pillow's defaults)",
                                    "`disk_cache` (`--disk-cache`), once filled: a visit reads two `.npy` files",
                                    "a training step of `rsp_stub`, for comparison"]
    assert all(len(r) == 4 for r in rows) and all(float(r[1].replace(",", "")) > 0 for r in rows) and rows[3][1:] == ["12", "", ""]
    assert all(r[3].endswith("%") and 0 <= int(r[3][:-1]) <= 100 for r in rows[:3])  # the kernel's share of the CPU time
    assert "the photos of `mine/`" in text and str(tmp_path) not in text
    assert "One visit of a photo, in one thread (median of 3 photos): decoding " in text
    assert "ms by numpy), cutting and turning its 8 patches " in text  # 40x48 pixels: 8 areas of 16x16
    assert "disk-cache reads, 0 photos decoded; filling the disk cache took" in capsys.readouterr().out  # all read from the cache


def test_visit_costs_time_each_step_of_a_visit(tmp_path):
    paths = _photos(tmp_path, [(64, 80)] * 3)
    costs = streaming.visit_costs(paths, 2, 8, Degradation("benchmark"), n=2)
    assert costs["photos"] == 2 and costs["patches"] == 20  # 64x80 HR pixels: 20 areas of 16x16
    keys = {"decode", "degrade", "filter_numpy", "cut"} | ({"filter_opencv"} if _opencv() is not None else set())
    assert set(costs) == keys | {"photos", "patches"} and all(costs[k] > 0 for k in keys)
    with pytest.raises(ValueError, match="n must be"):
        streaming.visit_costs(paths, 2, 8, Degradation("benchmark"), n=0)
    with pytest.raises(ValueError, match="at least one photo"):
        streaming.visit_costs([], 2, 8, Degradation("benchmark"))


def test_benchmark_makes_the_synthetic_photos_once_and_states_their_size(tmp_path, monkeypatch, capsys):
    """Without --folder: the synthetic photos are made (here small, for speed) in --keep-photos, reused by the next
    run, and the table says how many and their average file size."""
    made = []
    write = streaming.write_synthetic_photos
    monkeypatch.setattr(streaming, "write_synthetic_photos", lambda folder, n: made.append(n) or write(folder, n, size=(40, 48)))
    monkeypatch.setattr(streaming, "_training_rate", lambda *a: {"rsp_stub": 12.5})
    args = ["--keep-photos", str(tmp_path / "photos"), "--images", "3", "--lr-patch", "8", "--batch-size", "4",
            "--seconds", "0.3", "--warmup", "2", "--no-disk-cache"]
    for _ in range(2):
        assert streaming.main(args) == 0
    assert made == [3] and sorted(p.name for p in (tmp_path / "photos").iterdir()) == ["0001.png", "0002.png", "0003.png"]
    mb = np.mean([p.stat().st_size for p in (tmp_path / "photos").iterdir()]) / 1e6
    out = capsys.readouterr().out
    assert f"on 3 synthetic DIV2K-sized photos (2040x1356 PNGs of {mb:.1f} MB on average; DIV2K's 800 training photos average 4.4 MB)" in out
    assert out.count("made 3 synthetic photos") == 1
