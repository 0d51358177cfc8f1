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
        """A banner in the window's layout, above the transport bar: it takes its own room and
        never covers a panel; closing it gives the room back."""
        window = self.parentWidget()
        central = window.centralWidget() if hasattr(window, "centralWidget") else None
        lay = central.layout() if central is not None else None
        if lay is not None:
            lay.insertWidget(max(0, lay.count() - 1), self)
        else:
            self.adjustSize()
            self.move(20, max(0, window.height() - self.height() - 90))
            self.raise_()

    def closeEvent(self, event):
        if self._on_close:
            self._on_close()
        super().closeEvent(event)
