"""The first-run hint: points at the σ₁ slider and the play button, once."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton

from . import style


class FirstRunHint(QFrame):
    def __init__(self, parent, on_close=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("first_run_hint")
        self.setFrameShape(QFrame.StyledPanel)
        self.setStyleSheet("#first_run_hint { background: #fff8d6; border: 2px solid #e0b000; "
                           "border-radius: 8px; }")
        lay = QHBoxLayout(self)
        text = QLabel("<b>Start here.</b> Drag <b>σ₁</b> in the controls (left) and watch the gradient "
                      "curve follow σ₁ᵗ; press <b>▶ play</b> at the bottom (or Space) to step through "
                      "the sequence. Presets menu: one example for each point of the notes.")
        text.setWordWrap(True)
        text.setTextFormat(Qt.RichText)
        text.setFont(self.theme.font(1))
        ok = QPushButton("Got it")
        ok.setObjectName("first_run_ok")
        ok.clicked.connect(self.close)
        lay.addWidget(text, 1)
        lay.addWidget(ok)
        self._on_close = on_close

    def place(self):
        p = self.parentWidget()
        w = min(720, p.width() - 420)
        self.setFixedWidth(max(360, w))
        self.adjustSize()
        self.move(380, p.height() - self.height() - 90)
        self.raise_()

    def closeEvent(self, event):
        if self._on_close:
            self._on_close()
        super().closeEvent(event)
