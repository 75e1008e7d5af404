"""Saving models that every supported Keras release can open (Keras >= ``OLDEST_KERAS``).

A ``.keras`` file is a zip of ``config.json`` (how to rebuild each layer), ``metadata.json`` and
``model.weights.h5``. The weights file is the same across Keras 3 releases; the config is not:
each release writes every constructor argument it knows, and an older release refuses an
argument it does not (Keras 3.15 writes ``GlorotUniform(input_axes=None, output_axes=None)`` and
``BatchNormalization(renorm=False, ...)``, which 3.13, Colab's release, cannot build).

``portable_config`` therefore drops every argument whose value is the constructor's default:
what is left is what makes the model differ from a default one (filters, kernel sizes,
activations, names), and an older release rebuilds the same model from its own defaults. The
weights are untouched, so the outputs are identical. ``save_model`` writes such a file
atomically; ``make_portable`` rewrites an existing one.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import tempfile
import zipfile
from pathlib import Path

import keras

from .files import atomic_write

# The oldest Keras the committed models are tested with (Google Colab's release, see
# requirements-colab.txt); README and pyproject.toml state the same.
OLDEST_KERAS = "3.13"

_EMPTY = inspect.Parameter.empty


def _resolve_class(entry: dict):
    """The Python class a serialized Keras object names, or None when it cannot be found."""
    registered = entry.get("registered_name")
    if registered:
        cls = keras.saving.get_registered_object(registered)
        if cls is not None:
            return cls
    module, name = entry.get("module"), entry.get("class_name")
    if not isinstance(module, str) or not isinstance(name, str) or not module.startswith("keras"):
        return None
    try:
        return getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None


def _defaults(function) -> dict:
    """Argument name -> default value of ``function`` (arguments without a default left out)."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return {}
    return {p.name: p.default for p in parameters
            if p.default is not _EMPTY and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _same(value, default) -> bool:
    """Whether a JSON value equals a Python default (tuples are lists in JSON)."""
    if isinstance(default, tuple):
        default = list(default)
    if isinstance(default, (list, dict, str, int, float, bool)) or default is None:
        return type(value) is type(default) and value == default
    return False


def _without_defaults(config: dict, defaults: dict) -> dict:
    return {key: portable_config(value) for key, value in config.items()
            if not (key in defaults and _same(value, defaults[key]))}


_MIXED_POLICIES = ("mixed_float16", "mixed_bfloat16")


def portable_config(node):
    """A copy of a model's ``config.json`` content without constructor arguments at their defaults.

    Walks the whole structure: every serialized object (a dict with ``class_name`` and a dict
    ``config``) whose class is found loses the arguments equal to its ``__init__`` defaults, and
    ``compile_config`` loses those equal to ``keras.Model.compile``'s. Objects of unknown classes
    and everything else are copied unchanged. The result rebuilds the same model in the Keras
    that wrote it and in every older release that knows the remaining arguments.

    Mixed-precision dtype policies (a model trained on a GPU) become ``float32``: the weights are
    float32 already, and the file then computes in float32 on every device, as a CPU needs.

    Args:
        node: the parsed ``config.json`` (or any part of it).

    Returns:
        The same structure, new objects throughout (``node`` is not modified).
    """
    if isinstance(node, list):
        return [portable_config(item) for item in node]
    if not isinstance(node, dict):
        return node
    if node.get("class_name") == "DTypePolicy" and isinstance(node.get("config"), dict) \
            and node["config"].get("name") in _MIXED_POLICIES:
        node = {**node, "config": {**node["config"], "name": "float32"}}
    out = {}
    cls = _resolve_class(node) if "class_name" in node else None
    for key, value in node.items():
        if key == "config" and isinstance(value, dict) and cls is not None:
            out[key] = _without_defaults(value, _defaults(cls.__init__))
        elif key == "compile_config" and isinstance(value, dict):
            out[key] = _without_defaults(value, _defaults(keras.Model.compile))
        else:
            out[key] = portable_config(value)
    return out


def _mixed_precision(node) -> bool:
    """Whether a config holds a mixed-precision dtype policy anywhere."""
    if isinstance(node, list):
        return any(_mixed_precision(item) for item in node)
    if not isinstance(node, dict):
        return False
    if node.get("class_name") == "DTypePolicy" and (node.get("config") or {}).get("name") in _MIXED_POLICIES:
        return True
    return any(_mixed_precision(value) for value in node.values())


def _check_keras_file(path: Path) -> None:
    if path.suffix != ".keras":
        raise ValueError(f"model path must end in .keras, got {str(path)!r}.")


def _write_portable_copy(source: Path, target: Path) -> None:
    """Copy the zip ``source`` to ``target`` with its ``config.json`` made portable."""
    try:
        with zipfile.ZipFile(source) as zin:
            names = zin.namelist()
            if "config.json" not in names:
                raise ValueError(f"{source} has no config.json: it is not a Keras 3 .keras file.")
            config = json.loads(zin.read("config.json"))
            portable = portable_config(config)
            if _mixed_precision(config):  # its optimizer is a loss-scale one that float32 would not rebuild
                portable.pop("compile_config", None)
            with zipfile.ZipFile(target, "w") as zout:
                for info in zin.infolist():
                    if info.filename == "config.json":
                        zout.writestr(info, json.dumps(portable))
                    else:
                        with zin.open(info) as src, zout.open(info, "w") as dst:
                            while chunk := src.read(1 << 20):
                                dst.write(chunk)
    except zipfile.BadZipFile as error:
        raise ValueError(f"{source} is not a .keras file (not a zip archive: {error}).") from None


def save_model(model: keras.Model, path: str | os.PathLike) -> Path:
    """Save ``model`` to ``path`` (``.keras``) so that Keras >= ``OLDEST_KERAS`` can load it.

    The file is written through a temporary file and a rename: an interrupted save leaves the
    previous file (or none) at ``path``, never a half-written one. Weights, optimizer state and
    compile settings are saved as Keras saves them; only the config loses default arguments
    (see ``portable_config``). A model trained in mixed precision is saved for inference:
    float32 layers and no compile settings (its loss-scale optimizer's state is not reloaded;
    ``model.compile`` again to train it further).

    Returns:
        ``path`` as a Path.
    """
    path = Path(path)
    _check_keras_file(path)
    with tempfile.TemporaryDirectory() as scratch, atomic_write(path) as final:
        plain = Path(scratch) / path.name
        model.save(plain)
        _write_portable_copy(plain, final)
    return path


def make_portable(path: str | os.PathLike) -> Path:
    """Rewrite an existing ``.keras`` file in place with a portable config (atomically).

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a ``.keras`` zip with a ``config.json``.
    """
    path = Path(path)
    _check_keras_file(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}.")
    with atomic_write(path) as tmp:
        _write_portable_copy(path, tmp)
    return path
