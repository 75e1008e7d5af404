"""sr_utils: the reusable code behind the super-resolution notebooks.

Modules: ``data`` (datasets and splits), ``images`` (array checks), ``degradation`` (HR -> LR
and interpolation baselines), ``metrics`` (PSNR / SSIM / MAE and Keras metrics), ``models``
(architectures), ``plotting`` (figures), ``training`` (profiles, seeds, callbacks, saving, the
augmented pipeline), ``reporting`` (results JSON, model cards, the README table), ``benchmark``
(MACs, measured speed, the upscaler's peak memory), ``image_files`` (reading image files of every
common kind, a streaming PNG writer), ``files`` (atomic writes), ``saving`` (model files every Keras
from 3.13 on opens), ``locations`` (where datasets are looked for), ``downloads`` (verified
downloads) and ``photo_sets`` (the training photos, natural96 and the STL-10 subset). Run as
programs: ``python -m sr_utils.upscale`` (upscale images of any size), ``python -m
sr_utils.run_notebooks`` (the whole study headless), ``python -m sr_utils.photo_sets`` (download
the photo sets), ``python -m sr_utils.reporting`` and ``python -m sr_utils.benchmark``.

``benchmark``, ``reporting``, ``upscale``, ``image_files``, ``files`` and ``run_notebooks`` are
imported on demand (``from sr_utils import reporting``). Importing the package registers its Keras objects, so a saved model loads with plain
``keras.models.load_model(path)`` afterwards.
"""

from . import data, degradation, images, metrics, models, plotting, training  # noqa: F401

__version__ = "0.1.0"
