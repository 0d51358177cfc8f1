"""A text readout whose new text never re-lays out the window.

QLabel.setText asks the parent layout for new geometry unless the label's size is fixed in both
directions; for a readout above a plot that costs a layout pass of the whole window on every step
(≈ 4 ms measured). Here the label is given a fixed size equal to its container's, which follows
the layout instead."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class Readout(QWidget):
    def __init__(self, lines: int = 2, parent=None):
        super().__init__(parent)
        self.lines = lines
        self.label = QLabel(self)
        self.label.setTextFormat(Qt.RichText)
        self.label.setWordWrap(True)
        self.label.setAlignment(Qt.AlignLeft | Qt.AlignVCenter)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)

    def setFont(self, font):
        super().setFont(font)
        self.label.setFont(font)
        self.setFixedHeight(self.lines * self.label.fontMetrics().lineSpacing() + 6)
        self.label.setFixedSize(self.size())

    def resizeEvent(self, event):
        self.label.setFixedSize(event.size())
        super().resizeEvent(event)

    def setText(self, text: str):
        if text != self.label.text():
            self.label.setText(text)

    def text(self) -> str:
        return self.label.text()

    def setObjectName(self, name):
        super().setObjectName(name)
        self.label.setObjectName(name + "_label")
