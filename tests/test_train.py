"""Tests of sr_utils/train.py (python -m sr_utils.train): arguments refused with clear messages, the
split by photo, the schedule, a whole tiny run (model, record, card; run again: nothing retrained),
and two logical devices training the same weights as one."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest
from PIL import Image

from sr_utils import models, train

TINY = ["--scale", "2", "--filters", "4", "--blocks", "1", "--steps", "4", "--check-every", "2", "--batch-size", "4",
        "--lr-patch", "8", "--val-patches", "8", "--devices", "cpu", "--quiet"]


def _photos(folder, n=5, size=(40, 48), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size[1])[None, :, None] * np.ones((size[0], 1, 3))
    for i in range(n):
        image = np.clip(base + rng.normal(0, 20, base.shape), 0, 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"photo{i}.png")
    return folder


def _refused(capsys, argv, message):
    with pytest.raises(SystemExit) as e:
        train.main(argv)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert "Traceback" not in err


def test_bad_arguments_are_refused_with_clear_messages(tmp_path, capsys):
    photos = _photos(tmp_path / "photos")
    out = ["--out", str(tmp_path / "out")]
    empty = tmp_path / "empty"
    empty.mkdir()
    _refused(capsys, ["--data", str(empty), *TINY, *out], "holds no image files")
    _refused(capsys, ["--data", str(tmp_path / "nowhere"), *TINY, *out], "does not exist")
    small = _photos(tmp_path / "small", size=(12, 40))
    _refused(capsys, ["--data", str(small), *TINY, "--lr-patch", "8", *out], "smaller than a training patch (16x16 pixels)")
    broken = _photos(tmp_path / "broken")
    (broken / "photo0.png").write_bytes(b"not an image")
    _refused(capsys, ["--data", str(broken), *TINY, *out], "1 of 5 files are not readable images")
    (tmp_path / "a_file").write_text("x")
    _refused(capsys, ["--data", str(photos), *TINY, "--out", str(tmp_path / "a_file")], "is a file, not a folder")
    _refused(capsys, ["--data", str(photos), *TINY, *out, "--disk-cache", str(tmp_path / "a_file")],
             "the photo cache folder (--disk-cache) " + str(tmp_path / "a_file") + " is a file")
    _refused(capsys, ["--data", str(photos), *TINY, "--degradation", "lanczos", *out], "--degradation must be 'mix' or one of")
    _refused(capsys, ["--data", str(_photos(tmp_path / "one", n=1)), *TINY, *out], "need at least 2 photos")
    _refused(capsys, ["--data", str(photos), *TINY, "--devices", "GPU:7", *out], "no device GPU:7 here")
    _refused(capsys, ["--data", str(photos), *TINY, "--val-fraction", "1.5", *out], "--val-fraction must lie strictly between 0 and 1")
    _refused(capsys, ["--data", str(photos), *TINY, "--scale", "1", *out], "--scale must be an integer >= 2")
    _refused(capsys, ["--data", str(photos), *TINY, "--name", "../elsewhere", *out], "must be a file name")
    _refused(capsys, ["--data", str(photos), *TINY, "--batch-size", "6", "--val-patches", "4", *out], "--val-patches must be at least one batch")
    assert not (tmp_path / "out").exists()  # nothing refused left an output folder behind


def test_split_photos_is_by_photo_seeded_and_keeps_one_of_each(tmp_path):
    files = [tmp_path / f"{i}.png" for i in range(20)]
    train_a, val_a = train.split_photos(files, 0.1, 42)
    assert len(val_a) == 2 and len(train_a) == 18 and not set(train_a) & set(val_a)
    assert train.split_photos(files, 0.1, 42) == (train_a, val_a)
    assert train.split_photos(files, 0.1, 43)[1] != val_a
    assert [len(v) for _, v in (train.split_photos(files[:2], 0.01, 0), train.split_photos(files[:2], 0.99, 0))] == [1, 1]


def test_schedule_rounds_steps_up_to_whole_checks():
    assert train.schedule(200, None) == (200, 200)
    assert train.schedule(1200, None) == (1200, 400)
    assert train.schedule(1201, None) == (1203, 401)
    assert train.schedule(10, 4) == (12, 4)
    with pytest.raises(ValueError, match="--steps must be >= 1"):
        train.schedule(0, None)


def test_a_tiny_run_writes_model_record_and_card_and_resumes(tmp_path, capsys):
    photos = _photos(tmp_path / "my photos")
    argv = ["--data", str(photos), *TINY, "--out", str(tmp_path / "out"), "--disk-cache", str(tmp_path / "cache")]
    assert train.main(argv) == 0
    out = tmp_path / "out"
    cached = sorted(p.name.split(".", 1)[1][:2] for p in (tmp_path / "cache").iterdir())
    assert cached == ["hr"] * 4 + ["lr"] * 4  # the 4 training photos and their benchmark LR images
    name = "my_photos_x2_rsp4x1"
    assert sorted(p.name for p in out.iterdir()) == ["backup", f"{name}.keras", f"{name}.keras.best.json", f"{name}.md", f"{name}.results.json"]
    model = keras.models.load_model(out / f"{name}.keras")
    assert model.predict(np.zeros((1, 8, 8, 3), np.float32), verbose=0).shape == (1, 16, 16, 3)
    record = json.loads((out / f"{name}.results.json").read_text())
    assert (record["steps"], record["epochs_run"], record["n_train"], record["n_val"]) == (4, 2, 4, 1)
    assert record["extra"]["command"].startswith("python -m sr_utils.train --data")
    scores = record["extra"]["y_psnr_by_degradation"]["benchmark"]
    assert set(scores) == {"model", "bicubic"} and all(10 < v < 60 for v in scores.values())
    card = (out / f"{name}.md").read_text()
    assert f"# `{name}.keras`" in card and "| benchmark |" in card and "| training data | 5 photos of my_photos: 4 training / 1 validation photos" in card
    weights = model.get_weights()
    capsys.readouterr()
    assert train.main(argv) == 0  # finished: the model is scored again, not retrained
    assert "already trained" in capsys.readouterr().out
    again = keras.models.load_model(out / f"{name}.keras").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(weights, again))
    _refused(capsys, [*argv, "--steps", "6"], "logs another run")


def test_reparameterize_trains_branches_and_writes_the_folded_plain_model(tmp_path):
    photos = _photos(tmp_path / "photos")
    argv = ["--data", str(photos), *TINY, "--out", str(tmp_path / "out"), "--reparameterize"]
    assert train.main(argv) == 0
    model = keras.models.load_model(tmp_path / "out" / "photos_x2_rsp4x1.keras")
    assert [type(layer).__name__ for layer in model.layers if "conv" in layer.name or layer.name in ("head", "body_out")] == ["Conv2D"] * 4
    assert model.count_params() == models.build_residual_subpixel(2, filters=4, blocks=1).count_params()
    record = json.loads((tmp_path / "out" / "photos_x2_rsp4x1.results.json").read_text())
    assert "re-parameterised" in record["description"] and record["params"] == model.count_params()
    assert train.main(argv) == 0  # finished: loaded (already folded) and scored again
    assert keras.models.load_model(tmp_path / "out" / "photos_x2_rsp4x1.keras").count_params() == model.count_params()


_TWO_DEVICES = """
import sys
from sr_utils import models, train
sys.exit(train.main(sys.argv[1:]))
"""


def test_two_logical_devices_train_the_weights_of_one(tmp_path):
    """MirroredStrategy over two logical CPU devices, each step's global batch of 4 split 2 + 2,
    ends with the weights of one device on the same batches: to within 1e-5 after 6 Adam steps."""
    photos = _photos(tmp_path / "photos", n=6)
    weights = []
    for devices in ("cpu:1", "cpu:2"):
        out = tmp_path / devices.replace(":", "_")
        args = ["--data", str(photos), *TINY, "--steps", "6", "--check-every", "6", "--devices", devices, "--out", str(out), "--name", "m"]
        proc = subprocess.run([sys.executable, "-c", _TWO_DEVICES, *args], capture_output=True, text=True, check=False,
                              env={**os.environ, "CUDA_VISIBLE_DEVICES": ""}, timeout=600)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert ("CPU:1" in proc.stdout) == (devices == "cpu:2")
        weights.append(keras.models.load_model(out / "m.keras").get_weights())
    diffs = [float(np.abs(a - b).max()) for a, b in zip(*weights)]
    assert max(diffs) < 1e-5, diffs
    assert any(np.abs(w).max() > 0 for w in weights[0])
