"""Train a photo model of the residual sub-pixel family on a folder of your own photos, or on DIV2K.

Command line (``python -m sr_utils.train --help`` lists every option)::

    python -m sr_utils.train --data my_photos/ --scale 4 --steps 200          # a quick try on a CPU
    python -m sr_utils.train --div2k --scale 2 --degradation mix               # DIV2K, on a GPU (or several)

It streams patches from the photo files (``streaming.photo_patch_dataset``: any size, any number),
degrades them as asked (the benchmark bicubic, any resizer of ``degradation.RESIZERS``, or the
random ``mix`` the robust models are trained on), validates on photos kept apart (a seeded 10% of
the folder, or DIV2K's own validation photos) and trains with the better recipe
(``training.fit_sr``): L1 loss, Adam on a cosine schedule, the best validation check kept.

* **Resumable**: stopped at any time (Ctrl-C), the same command continues from the last
  validation check; run again once finished, it only scores the model again.
* **Devices**: mixed precision on a GPU (``--precision``); with several GPUs, every one of them
  through ``tf.distribute.MirroredStrategy`` (``--devices`` chooses; ``--devices cpu:2`` splits
  the CPU into two logical devices, to try the multi-device path without GPUs).
* **Outputs**, in ``--out`` (default ``trained/``): ``<name>.keras`` (opens with
  ``keras.models.load_model`` after ``import sr_utils``, and with ``python -m sr_utils.upscale
  --model``), ``<name>.results.json`` (the training record) and ``<name>.md`` (the model card);
  ``backup/`` holds what a resumed run needs.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import re
import shlex
import sys
from pathlib import Path

import numpy as np

SCORED_PHOTOS = 10  # validation photos scored whole at the end (centre crops, see SCORE_CROP)
SCORE_CROP = 512    # HR side of those centre crops: a CPU scores them in seconds


def strategy_for(devices: str):
    """The ``tf.distribute`` strategy for ``--devices``.

    * ``"auto"``: every GPU through ``MirroredStrategy`` when there are several; otherwise the one
      GPU, or the CPU.
    * ``"cpu"``: the CPU only, even with GPUs.
    * ``"cpu:N"``: the CPU split into N logical devices, mirrored (trying the multi-device path on
      a machine without GPUs; it must come before TensorFlow has started).
    * ``"GPU:0,GPU:1"`` (any list of device names): those devices, mirrored when more than one.

    Raises:
        ValueError: a device that does not exist, or ``cpu:N`` once TensorFlow has started.
    """
    import tensorflow as tf

    text = devices.strip()
    if text == "auto":
        gpus = tf.config.list_logical_devices("GPU")
        if len(gpus) > 1:
            return tf.distribute.MirroredStrategy([g.name for g in gpus])
        return tf.distribute.OneDeviceStrategy(gpus[0].name if gpus else "/cpu:0")
    if text.lower() == "cpu":
        return tf.distribute.OneDeviceStrategy("/cpu:0")
    match = re.fullmatch(r"(?i)cpu:(\d+)", text)
    if match:
        n = int(match.group(1))
        if n < 1:
            raise ValueError(f"--devices cpu:N needs N >= 1, got {text!r}.")
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * n)
        except RuntimeError:
            if len(tf.config.list_logical_devices("CPU")) != n:
                raise ValueError(f"--devices {text}: TensorFlow has already started with "
                                 f"{len(tf.config.list_logical_devices('CPU'))} CPU device(s); "
                                 "split the CPU in a fresh process (the command line does).") from None
        names = [d.name for d in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(names) if n > 1 else tf.distribute.OneDeviceStrategy(names[0])
    wanted = [d.strip() for d in text.split(",") if d.strip()]
    known = {d.name.split("device:")[-1].upper(): d.name for d in tf.config.list_logical_devices()}
    missing = [d for d in wanted if d.upper() not in known]
    if not wanted or missing:
        raise ValueError(f"--devices {text!r}: no device {', '.join(missing) or '(empty list)'} here; "
                         f"this machine has {', '.join(sorted(known)) or 'none'}.")
    names = [known[d.upper()] for d in wanted]
    return tf.distribute.MirroredStrategy(names) if len(names) > 1 else tf.distribute.OneDeviceStrategy(names[0])


def parse_degradation(text: str):
    """``--degradation``: ``"mix"`` (``DegradationMix()``), or a resizer of ``RESIZERS`` (``"benchmark"``,
    ``"cv2_cubic"``, ...) as a ``Degradation``."""
    from .degradation import RESIZERS, Degradation, DegradationMix

    if text == "mix":
        return DegradationMix()
    if text not in RESIZERS:
        raise ValueError(f"--degradation must be 'mix' or one of {', '.join(RESIZERS)}; got {text!r}.")
    return Degradation(text)


def split_photos(files: list[Path], val_fraction: float, seed: int) -> tuple[list[Path], list[Path]]:
    """Training and validation photos, split by photo: a seeded random ``val_fraction`` of them (at
    least one) for validation, the rest for training, each list in the files' order.

    Raises:
        ValueError: fewer than 2 photos, or ``val_fraction`` outside (0, 1).
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"--val-fraction must lie strictly between 0 and 1, got {val_fraction:g}.")
    if len(files) < 2:
        raise ValueError(f"need at least 2 photos (one to train on, one to validate on), found {len(files)}.")
    n_val = min(len(files) - 1, max(1, round(val_fraction * len(files))))
    chosen = set(np.random.default_rng([seed, 3]).permutation(len(files))[:n_val].tolist())
    return [f for i, f in enumerate(files) if i not in chosen], [f for i, f in enumerate(files) if i in chosen]


def schedule(steps: int, check_every: int | None) -> tuple[int, int]:
    """``(total_steps, steps_per_check)``: validation checks every ``check_every`` steps (default:
    about every 500), ``steps`` rounded up to a whole number of checks."""
    if steps < 1:
        raise ValueError(f"--steps must be >= 1, got {steps}.")
    if check_every is None:
        check_every = math.ceil(steps / math.ceil(steps / 500))
    if check_every < 1:
        raise ValueError(f"--check-every must be >= 1, got {check_every}.")
    check_every = min(check_every, steps)
    return math.ceil(steps / check_every) * check_every, check_every


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m sr_utils.train", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="Outputs go to --out: <name>.keras, <name>.results.json, <name>.md, and backup/ for resuming.")
    data = p.add_mutually_exclusive_group(required=True)
    data.add_argument("--data", type=Path, help="a folder of photos (PNG, JPEG, ...; subfolders too), each at least one HR patch a side")
    data.add_argument("--div2k", action="store_true", help="DIV2K's 800 training photos (validated on its 100 validation photos); "
                                                          "found in $SR_DATA_DIR/DIV2K or the cache, else downloaded (about 3.5 GB)")
    p.add_argument("--scale", type=int, required=True, help="upscaling factor: 2, 3 or 4 (others take --filters and --blocks)")
    p.add_argument("--degradation", default="benchmark",
                   help="how LR patches are made: 'benchmark' (MATLAB-style bicubic, default), 'mix' (random resizers, blur, "
                        "noise and JPEG, as the robust models), or a resizer of sr_utils.degradation.RESIZERS")
    p.add_argument("--fast", action="store_true", help="the fast architecture (32 filters, 2 blocks) instead of the scale's default")
    p.add_argument("--filters", type=int, help="filters of the residual sub-pixel network (default: the scale's plan)")
    p.add_argument("--blocks", type=int, help="residual blocks (default: the scale's plan)")
    p.add_argument("--steps", type=int, help="optimizer steps (default: the scale's plan, 4x as many on a GPU)")
    p.add_argument("--check-every", type=int, help="steps between validation checks (default: about 500)")
    p.add_argument("--batch-size", type=int, default=16, help="patches per step, over all devices (default 16)")
    p.add_argument("--lr-patch", type=int, default=32, help="LR patch side (default 32)")
    p.add_argument("--val-fraction", type=float, default=0.1, help="share of the photos kept for validation (default 0.1)")
    p.add_argument("--val-patches", type=int, default=128, help="fixed validation patches checked (default 128)")
    p.add_argument("--out", type=Path, default=Path("trained"), help="output folder (default: trained/)")
    p.add_argument("--name", help="model name (default: <data folder>_x<scale>_rsp<filters>x<blocks>)")
    p.add_argument("--devices", default="auto", help="'auto' (all GPUs), 'cpu', 'cpu:N' or a list such as GPU:0,GPU:1")
    p.add_argument("--precision", choices=("auto", "mixed", "float32"), default="auto",
                   help="'auto': mixed_float16 on a GPU, float32 on a CPU")
    p.add_argument("--reparameterize", action="store_true", help="train every 3x3 convolution of the body with extra 1x1 and "
                   "identity branches (models.RepConv3x3), folded into plain 3x3 convolutions when training ends: the "
                   "written model has the architecture and speed of one trained without")
    p.add_argument("--cache-mb", type=float, default=1024, help="decoded photos kept in memory, in MB (default 1024)")
    p.add_argument("--disk-cache", type=Path, help="keep decoded photos (and, for a fixed degradation, their LR images) as .npy "
                   "files in this folder: later passes and runs read them instead of decoding; DIV2K at x2 takes about 8.3 GB")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--quiet", action="store_true", help="one line per validation check instead of a progress bar")
    return p


def _name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")
    return name or "photos"


def main(argv=None) -> int:
    """The command line; returns 0 when the model is trained (or already was), 130 on Ctrl-C
    (run the same command to continue); bad arguments exit with 2 and a message."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return _run(parser, args, argv if argv is not None else sys.argv[1:])
    except KeyboardInterrupt:
        print("\ninterrupted: run the same command again to continue from the last validation check", file=sys.stderr)
        return 130


def _setup(args):
    """Everything checked before any training: ``(strategy, degradation, train files, val files, their
    sizes (train, val), model name, data label, split, architecture, recipe, out folder)``. Raises
    ValueError / FileNotFoundError."""
    strategy = strategy_for(args.devices)  # first: splitting the CPU must come before TensorFlow starts
    from . import streaming
    from .config import get_profile
    from .files import check_writable_folder
    from .models import ResidualSubpixel
    from .training import BetterRecipe, photo_plan

    if args.scale < 2:
        raise ValueError(f"--scale must be an integer >= 2, got {args.scale}.")
    if args.name is not None and not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", args.name):
        raise ValueError(f"--name {args.name!r} must be a file name of letters, digits, '_', '.' and '-'.")
    degradation = parse_degradation(args.degradation)
    if args.scale in (2, 3, 4):
        arch, plan = photo_plan(args.scale, get_profile("full"), fast=args.fast)
    elif args.filters is None or args.blocks is None:
        raise ValueError(f"there is no plan for x{args.scale}: pass --filters, --blocks and --steps.")
    else:
        arch, plan = ResidualSubpixel(args.filters, args.blocks), None
    arch = ResidualSubpixel(arch.filters if args.filters is None else args.filters, arch.blocks if args.blocks is None else args.blocks)
    if arch.filters < 1 or arch.blocks < 0:
        raise ValueError(f"--filters must be >= 1 and --blocks >= 0, got {arch.filters} and {arch.blocks}.")
    steps = args.steps or (plan.total_steps if plan else None)
    if steps is None:
        raise ValueError(f"there is no plan for x{args.scale}: pass --steps.")
    total, per_check = schedule(steps, args.check_every)
    replicas = strategy.num_replicas_in_sync
    if args.batch_size < 1 or args.batch_size % replicas:
        raise ValueError(f"--batch-size {args.batch_size} must be a positive multiple of the {replicas} devices.")
    if args.val_patches < args.batch_size:
        raise ValueError(f"--val-patches must be at least one batch ({args.batch_size}), got {args.val_patches}.")
    recipe = BetterRecipe(total, steps_per_epoch=per_check, batch_size=args.batch_size, lr_patch=args.lr_patch)
    hr_patch = args.lr_patch * args.scale
    if args.div2k:
        from .data.div2k import div2k_images

        train_files, val_files, label = div2k_images("train_hr"), div2k_images("valid_hr"), "div2k"
        split = "DIV2K's own split: 800 training and 100 validation photos"
    else:
        files = streaming.image_files(args.data)
        train_files, val_files = split_photos(files, args.val_fraction, args.seed)
        label = _name(Path(args.data).resolve().name)
        split = f"by photo: a seeded random {args.val_fraction:g} of the {len(files)} photos (seed {args.seed}) for validation"
    sizes = streaming.check_photos(train_files + val_files, hr_patch)
    sizes = sizes[:len(train_files)], sizes[len(train_files):]
    if args.disk_cache is not None:
        check_writable_folder(args.disk_cache, "the photo cache folder (--disk-cache)")
    out = check_writable_folder(args.out, "the output folder (--out)")
    return strategy, degradation, train_files, val_files, sizes, args.name or arch.name(label, args.scale), label, split, arch, recipe, out


def _run(parser: argparse.ArgumentParser, args, argv: list[str]) -> int:
    try:
        strategy, degradation, train_files, val_files, sizes, name, label, split, arch, recipe, out = _setup(args)
    except (ValueError, FileNotFoundError) as e:
        parser.exit(2, f"error: {e}\n")
    import keras
    import tensorflow as tf

    from . import config, evaluation, reporting, saving, streaming, training
    from .models import RepConv3x3, fold_reparameterized
    from .degradation import Degradation, DegradationMix

    described = degradation.describe("photo visit") if isinstance(degradation, DegradationMix) else degradation.describe()
    config.set_precision({"auto": None, "mixed": True, "float32": False}[args.precision])
    config.set_seed(args.seed)
    print(config.describe_device(), f"| devices: {', '.join(strategy.extended.worker_devices)}")
    print(f"{name}: {len(train_files)} training and {len(val_files)} validation photos of {label}, x{args.scale}, "
          f"degradation: {described}; {recipe.total_steps:,} steps, a validation check every {recipe.steps_per_epoch:,}")
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.OFF  # batches are split, not files
    stream = streaming.photo_patch_dataset(train_files, args.scale, args.lr_patch, recipe.batch_size, degradation,
                                           seed=args.seed, cache_mb=args.cache_mb, disk_cache=args.disk_cache, sizes=sizes[0]).with_options(options)
    val = streaming.photo_patch_dataset(val_files, args.scale, args.lr_patch, args.batch_size, degradation, seed=args.seed + 1,
                                        augment=False, cache_mb=0, pool=min(16, len(val_files)), sizes=sizes[1])
    batches = [(a.numpy(), b.numpy()) for a, b in val.take(args.val_patches // args.batch_size)]
    val_data = (np.concatenate([a for a, _ in batches]), np.concatenate([b for _, b in batches]))
    try:
        with strategy.scope():
            fit = training.fit_sr(arch.build(args.scale, name=name, reparameterized=args.reparameterize), stream, val_data, recipe, out / f"{name}.keras",
                                  out / "backup" / name, verbose=2 if args.quiet else 1, fresh=False)
    except ValueError as e:
        if "logs another run" not in str(e):
            raise
        parser.exit(2, f"error: {e} Or pass another --name.\n")  # nothing was trained or overwritten
    if any(isinstance(layer, RepConv3x3) for layer in fit.model.layers):  # a finished run's file is folded already
        fit = dataclasses.replace(fit, model=fold_reparameterized(fit.model))
        saving.save_model(fit.model, out / f"{name}.keras")
    # score whole validation photos (centre crops) on the degradations trained for
    from .data.photos import read_photo

    crops = []
    for f in val_files[:SCORED_PHOTOS]:
        photo = read_photo(f)
        h, w = (min(SCORE_CROP, s) // args.scale * args.scale for s in photo.shape[:2])
        y, x = (photo.shape[0] - h) // 2, (photo.shape[1] - w) // 2
        crops.append(photo[y:y + h, x:x + w])
    tests = evaluation.test_degradations(args.scale) if not isinstance(degradation, Degradation) else (degradation,)
    scores = {d.describe(): evaluation.score_degraded({"model": fit.model}, crops, args.scale, d, baselines=("bicubic",),
                                                      dataset="validation photos") for d in tests}
    main_scores = next(iter(scores.values()))
    record = reporting.TrainingRecord(
        model_file=f"{name}.keras",
        description=f"Residual sub-pixel network ({arch.filters} filters, {arch.blocks} residual block(s), bicubic global skip), "
                    f"x{args.scale}, trained with `python -m sr_utils.train` on {label}"
                    + (" with re-parameterised 3x3 convolutions (3x3 + 1x1 + identity branches, folded after training)." if args.reparameterize else "."),
        architecture=arch.describe(args.scale), params=fit.model.count_params(), scale=args.scale,
        antialias=degradation == Degradation("benchmark"), degradation=described,
        train_data=f"{len(train_files) + len(val_files)} photos of {label}", n_train=len(train_files), n_val=len(val_files), n_test=len(crops),
        split=split, test_data=f"centre crops (at most {SCORE_CROP}x{SCORE_CROP} HR pixels) of the first {len(crops)} validation photos",
        recipe=recipe.describe(fit.epochs, f"{len(val_data[0])} fixed patches of the validation photos"),
        epochs_run=fit.epochs, steps=fit.steps, train_seconds=fit.seconds, notebook="python -m sr_utils.train",
        profile="full", test=main_scores.summary(), env=reporting.environment(),
        extra={"command": "python -m sr_utils.train " + shlex.join(argv), "devices": list(strategy.extended.worker_devices),
               "precision": keras.mixed_precision.global_policy().name,
               "y_psnr_by_degradation": {d: {m: round(r.mean(m, "benchmark"), 4) for m in r.methods} for d, r in scores.items()}})
    written = [reporting.write_record(record, out), reporting.write_record_card(record, out)]
    for d, r in scores.items():
        print(f"validation photos, {d}: model {r.mean('model', 'benchmark'):.2f} dB, bicubic {r.mean('bicubic', 'benchmark'):.2f} dB Y-PSNR")
    print("wrote", ", ".join(config.shown(p) for p in [out / f"{name}.keras", *written]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
