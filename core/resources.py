"""The package data (presets, notes, icon), read through `importlib.resources`.

Installed, the data live in `gatescope.assets`; in a checkout, in `<checkout>/assets`, which the
`gatescope` package maps to the same name. Either way `asset("presets")` is a Traversable."""
from __future__ import annotations

from importlib import resources
from pathlib import Path

_PARENT = __package__.rpartition(".")[0]  # "gatescope" when installed or run through the package


def asset(*parts: str):
    """The Traversable (file or folder) at assets/<parts…>."""
    if _PARENT:
        base = resources.files(f"{_PARENT}.assets")
    else:  # `core` imported as a top-level package from a checkout (python -m core.sweep)
        base = Path(__file__).resolve().parent.parent / "assets"
    for part in parts:
        base = base / part
    return base
