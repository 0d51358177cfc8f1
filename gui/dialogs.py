"""User-facing messages in one place (tests replace `warn` to capture them)."""
from __future__ import annotations

from PySide6.QtWidgets import QMessageBox


def warn(parent, message: str, details: str = "") -> None:
    """A clear, specific message in a dialog; details (e.g. a traceback) behind a button."""
    box = QMessageBox(QMessageBox.Warning, "Gatescope", message, QMessageBox.Ok, parent)
    if details:
        box.setDetailedText(details)
    box.exec()
