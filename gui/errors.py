"""Unexpected exceptions anywhere in the GUI (a slot, a timer, a paint): a dialog with a short
message and the details, a log file in the platform's app-data folder, and the app keeps running."""
from __future__ import annotations

import datetime
import os
import sys
import traceback

from PySide6.QtCore import QStandardPaths, QTimer

_state = {"showing": False, "parent": None}


def log_path() -> str:
    """$GATESCOPE_CONFIG_DIR/gatescope.log (tests, benchmarks), else the platform's app-data folder."""
    folder = os.environ.get("GATESCOPE_CONFIG_DIR") or QStandardPaths.writableLocation(
        QStandardPaths.AppDataLocation) or os.path.expanduser("~/.gatescope")
    os.makedirs(folder, exist_ok=True)
    return os.path.join(folder, "gatescope.log")


def write_log(text: str) -> str | None:
    try:
        path = log_path()
        if os.path.exists(path) and os.path.getsize(path) > 1_000_000:   # keep the log small
            os.replace(path, path + ".1")
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(f"--- {datetime.datetime.now().isoformat(timespec='seconds')}\n{text}\n")
        return path
    except OSError:
        return None


def handle_exception(exc_type, exc, tb):
    """sys.excepthook: log, then show one dialog at a time (deferred, never inside a paint)."""
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    details = "".join(traceback.format_exception(exc_type, exc, tb))
    path = write_log(details)
    print(details, file=sys.stderr)
    if _state["showing"]:
        return
    _state["showing"] = True
    message = (f"Something went wrong: {exc_type.__name__}: {exc}\n\nGatescope keeps running; "
               f"the details are below" + (f" and in {path}." if path else "."))

    def show():
        from . import dialogs
        try:
            dialogs.warn(_state["parent"], message, details)
        finally:
            _state["showing"] = False

    QTimer.singleShot(0, show)


def install(parent=None):
    _state["parent"] = parent
    sys.excepthook = handle_exception
