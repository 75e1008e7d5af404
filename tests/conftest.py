"""Shared test set-up: a headless Matplotlib backend, chosen before anything imports pyplot.

Synthetic image helpers live in ``synthetic.py`` (a plain module: a second ``conftest`` at the
repository root makes ``from conftest import ...`` ambiguous).
"""

import matplotlib

matplotlib.use("Agg")
