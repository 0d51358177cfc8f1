"""Presets: JSON files in assets/presets, each {"name", "description", "config": {…}}."""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .config import Config, ConfigError
from .resources import asset


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    config: Config
    order: int = 0


def load_preset_file(path) -> Preset:
    """A preset from a JSON file (a path, or a Traversable of the package data)."""
    path = path if hasattr(path, "read_text") and not isinstance(path, str) else Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read preset ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ConfigError(f"{path.name}: a preset needs a 'config' object")
    stem = path.name.rsplit(".", 1)[0]
    return Preset(stem, str(data.get("title", stem)), str(data.get("description", "")),
                  Config.from_dict(data["config"]), int(data.get("order", 0)))


def list_presets() -> list[Preset]:
    """All presets, in their display order."""
    return list(_shipped())


@lru_cache(maxsize=1)
def _shipped() -> tuple[Preset, ...]:
    """The package's presets, read once (package data; Preset and Config are frozen)."""
    presets = [load_preset_file(p) for p in asset("presets").iterdir() if p.name.endswith(".json")]
    return tuple(sorted(presets, key=lambda p: (p.order, p.name)))


def get_preset(name: str) -> Preset:
    for p in list_presets():
        if p.name == name:
            return p
    names = ", ".join(p.name for p in list_presets())
    raise ConfigError(f"unknown preset '{name}'; choose one of {names}")
