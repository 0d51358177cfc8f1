"""A word-wrapped QLabel that is always as tall as its text needs.

Qt's layouts ask a wrapped label for its height once, for the width it had then: a longer text
set later (a preset's description after a short one, the whole dock at ×2) keeps the old height
and is cut off at the bottom. This label sets its minimum height to heightForWidth(width) when
its text, font or width changes, so the layout (and a scroll area around it) makes room.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QLabel


class WrappedLabel(QLabel):
    def __init__(self, text: str = "", parent=None):
        super().__init__(text, parent)
        self.setWordWrap(True)

    def _fit(self):
        old = self.minimumHeight()
        self.setMinimumHeight(0)             # heightForWidth is never below the minimum height
        need = self.heightForWidth(max(1, self.width()))
        self.setMinimumHeight(max(need, 0) if need > 0 else old)

    def setText(self, text: str):
        super().setText(text)
        self._fit()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._fit()

    def changeEvent(self, event):               # a new font or style (setFont sends FontChange)
        super().changeEvent(event)
        if event.type() in (QEvent.FontChange, QEvent.StyleChange):
            self._fit()
