"""Presets: JSON files in assets/presets, each {"name", "description", "config": {…}}."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .config import Config, ConfigError

PRESET_DIR = Path(__file__).resolve().parent.parent / "assets" / "presets"


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    config: Config
    order: int = 0


def load_preset_file(path) -> Preset:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path.name}: cannot read preset ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict):
        raise ConfigError(f"{path.name}: a preset needs a 'config' object")
    return Preset(path.stem, str(data.get("title", path.stem)), str(data.get("description", "")),
                  Config.from_dict(data["config"]), int(data.get("order", 0)))


def list_presets() -> list[Preset]:
    """All presets, in their display order."""
    presets = [load_preset_file(p) for p in PRESET_DIR.glob("*.json")]
    return sorted(presets, key=lambda p: (p.order, p.name))


def get_preset(name: str) -> Preset:
    for p in list_presets():
        if p.name == name:
            return p
    names = ", ".join(p.name for p in list_presets())
    raise ConfigError(f"unknown preset '{name}'; choose one of {names}")
