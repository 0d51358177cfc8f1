"""Gatescope: see why an RNN's gradient vanishes or explodes like σ₁ᵗ, and how LSTM and GRU
gates keep information flowing.

Installed, the package holds `gatescope.core` (the engine, NumPy only), `gatescope.gui` (the Qt
app) and `gatescope.assets` (presets, notes, icon). In a checkout those folders sit at the
repository's top level, beside this one; the package's search path is extended to them.
"""
from __future__ import annotations

import os as _os

__version__ = "0.2.0"

_here = _os.path.dirname(_os.path.abspath(__file__))
_root = _os.path.dirname(_here)
if not _os.path.isdir(_os.path.join(_here, "core")) and _os.path.isfile(
        _os.path.join(_root, "core", "__init__.py")):
    __path__.append(_root)  # a checkout: gatescope.core → <checkout>/core, and so on


def show(model_or_path=None, inputs=None, **options):
    """Open the app on a model (a PyTorch module, duck-typed through `state_dict()`) or a file."""
    from .gui.notebook import show as _show
    return _show(model_or_path, inputs, **options)
