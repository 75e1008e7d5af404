"""sr_utils: the reusable code behind the super-resolution notebooks.

Modules, by concern (the README's repository map draws how data flows through them): ``registry``
(every committed model and its facts), ``config`` (run profiles, repository paths, output folders,
device, precision, seeding), ``data`` (a package: one module per dataset, ``data.prepare_*`` for a
study's images in one call), ``degradation`` (HR -> LR: the benchmark's, the resizers of TF, Pillow and OpenCV, a random
mix; and the interpolation baselines), ``models``
(architectures), ``pipelines`` (tf.data training streams of images in memory), ``streaming`` (a
patch stream read from photo files of any number and size), ``training`` (recipes, resumable fits,
callbacks), ``train`` (training on a folder of photos or DIV2K, as a command), ``metrics`` (per-image PSNR / SSIM / MAE and Keras metrics), ``evaluation`` (models and
baselines scored under a protocol, or on the LR images any degradation makes), ``peers`` (OpenCV's
``dnn_superres`` models, the peers users compare with), ``cost`` (MACs, measured speed, the upscaler's peak memory),
``reporting`` (training records, ``model/metrics.json``, model cards, the README table), ``plotting``
(figures), ``saving`` (model files every Keras from 3.13 on opens), ``files`` (atomic writes),
``downloads`` (verified downloads), ``images`` and ``image_files`` (arrays and image files),
``upscale`` (tiled upscaling and its command line) and ``run_notebooks`` (the headless runner).
Run as programs: ``python -m sr_utils.upscale``, ``python -m sr_utils.train``, ``python -m sr_utils.run_notebooks``,
``python -m sr_utils.data`` (download the photo sets), ``python -m sr_utils.reporting``,
``python -m sr_utils.cost`` and ``python -m sr_utils.streaming`` (the patch stream's benchmark).

Importing the package registers its Keras objects, so a saved model loads with plain
``keras.models.load_model(path)`` afterwards; the modules not imported here (``cost``, ``evaluation``,
``registry``, ``reporting``, ``upscale``, ...) are imported on demand (``from sr_utils import evaluation``).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep its start-up chatter out of notebooks

from . import config, data, degradation, images, metrics, models, pipelines, plotting, training  # noqa: E402, F401

__version__ = "0.1.0"
