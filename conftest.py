"""Shared pytest set-up for the unit tests and for the notebooks run with ``pytest --nbmake``.

Notebooks under the test suite use the quick profile (``sr_utils.config.get_profile``) and
never download (``SR_OFFLINE=1``, set here): a notebook whose data has no local copy (``$SR_DATA_DIR`` or the Keras cache)
is skipped with the reason, instead of starting a download or failing.
"""

import os

import pytest

# No test and no notebook run under pytest downloads anything: sr_utils.downloads refuses every
# URL off this machine while SR_OFFLINE is 1 (notebook kernels inherit it). Download tests use a
# server on 127.0.0.1.
os.environ["SR_OFFLINE"] = "1"

# notebook name prefix -> (what it needs, a loader that raises FileNotFoundError without a local copy)
_NOTEBOOK_DATA = {
    "00_": ("CIFAR-10", lambda data: data.load_cifar10(download=False)),
    "01_": ("CIFAR-10", lambda data: data.load_cifar10(download=False)),
    "02_": ("natural96 or STL-10", lambda data: data.load_study96("auto", download=False)),
    "03_": ("CIFAR-10", lambda data: data.load_cifar10(download=False)),
    "04_": ("natural96 or STL-10", lambda data: data.load_study96("auto", download=False)),
    "05_": ("sr_train photos", lambda data: data.load_sr_images("val", limit=1, download=False)),
    # 07_evaluation scores whatever it can load and says what it skipped: it always runs
}


def pytest_collection_modifyitems(config, items):
    notebooks = [item for item in items if item.path.suffix == ".ipynb"]
    if not notebooks:
        return
    from sr_utils import data

    available = {}
    for item in notebooks:
        prefix = item.path.name[:3]
        if prefix not in _NOTEBOOK_DATA:
            continue
        what, load = _NOTEBOOK_DATA[prefix]
        if what not in available:
            try:
                load(data)
                available[what] = True
            except FileNotFoundError:
                available[what] = False
        if not available[what]:
            item.add_marker(pytest.mark.skip(
                reason=f"no local copy of {what} and the test suite never downloads: set {data.DATA_DIR_ENV} (see data/README.md)"))
