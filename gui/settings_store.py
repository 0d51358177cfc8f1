"""The app's own stored state (window layout, recent files, the last session, first-run flag),
validated as strictly as a file the user opens: a value of the wrong type or size is ignored.

Stored with QSettings in an INI file under the platform's config folder, or at `path` (tests and
benchmarks pass a temporary one; `GATESCOPE_CONFIG_DIR` moves it for a whole process)."""
from __future__ import annotations

import os

from PySide6.QtCore import QByteArray, QSettings

MAX_RECENT = 8
MAX_PATH_CHARS = 4096
MAX_LAST_SESSION_CHARS = 1024 * 1024
MAX_GEOMETRY_BYTES = 64 * 1024


def default_path() -> str:
    """Where the settings live: $GATESCOPE_CONFIG_DIR/gatescope.ini, else Qt's per-user config."""
    folder = os.environ.get("GATESCOPE_CONFIG_DIR")
    if folder:
        return os.path.join(folder, "gatescope.ini")
    from PySide6.QtCore import QStandardPaths
    base = QStandardPaths.writableLocation(QStandardPaths.GenericConfigLocation) or os.path.expanduser("~")
    return os.path.join(base, "Gatescope", "gatescope.ini")


def _valid_path(p) -> bool:
    return isinstance(p, str) and 0 < len(p) <= MAX_PATH_CHARS and "\0" not in p


class SettingsStore:
    """Typed, validated access to the stored state; every getter returns a safe value."""

    def __init__(self, path: str | None = None):
        self.path = path or default_path()
        self.qsettings = QSettings(self.path, QSettings.IniFormat)

    def _get(self, key):
        try:
            return self.qsettings.value(key)
        except Exception:      # a corrupt INI value Qt cannot convert
            return None

    # -- recent files ---------------------------------------------------------------------------
    def recent(self) -> list[str]:
        value = self._get("recent")
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)):
            return []
        return [v for v in value if _valid_path(v)][:MAX_RECENT]

    def add_recent(self, path: str) -> list[str]:
        path = os.path.abspath(path)
        items = [path] + [p for p in self.recent() if p != path]
        self.qsettings.setValue("recent", items[:MAX_RECENT])
        return items[:MAX_RECENT]

    def clear_recent(self):
        self.qsettings.setValue("recent", [])

    # -- the last session -----------------------------------------------------------------------
    def last_session(self) -> str | None:
        raw = self._get("last_session")
        if not isinstance(raw, str) or len(raw) > MAX_LAST_SESSION_CHARS:
            return None
        return raw

    def set_last_session(self, text: str):
        self.qsettings.setValue("last_session", text)

    # -- window and flags -----------------------------------------------------------------------
    def blob(self, key: str) -> QByteArray | None:
        value = self._get(key)
        if isinstance(value, (bytes, bytearray)):
            value = QByteArray(bytes(value))
        if not isinstance(value, QByteArray) or value.size() > MAX_GEOMETRY_BYTES:
            return None
        return value

    def set_blob(self, key: str, value):
        self.qsettings.setValue(key, value)

    def flag(self, key: str) -> bool:
        value = self._get(key)
        if isinstance(value, bool):
            return value
        return isinstance(value, str) and value.lower() == "true"

    def set_flag(self, key: str, on: bool):
        self.qsettings.setValue(key, bool(on))

    def value(self, key):
        """Raw access (for tests that plant corrupt values)."""
        return self._get(key)

    def setValue(self, key, value):  # noqa: N802 - QSettings' spelling, for callers that used it
        self.qsettings.setValue(key, value)

    def sync(self):
        self.qsettings.sync()
