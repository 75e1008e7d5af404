"""sr_utils: the reusable code behind the super-resolution notebooks.

Modules: ``data`` (datasets and splits), ``images`` (array checks), ``degradation`` (HR -> LR
and interpolation baselines), ``metrics`` (PSNR / SSIM / MAE and Keras metrics), ``models``
(architectures), ``plotting`` (figures), ``training`` (profiles, seeds, callbacks, saving) and
``reporting`` (results JSON, model cards, the README table).

Importing the package registers its Keras objects, so a saved model loads with plain
``keras.models.load_model(path)`` afterwards.
"""

from . import data, degradation, images, metrics, models, plotting, reporting, training  # noqa: F401

__version__ = "0.1.0"
