"""A text readout that never re-lays out the window and repaints only itself.

A QLabel above a plot is costly to update on every frame: `setText` asks the layouts for new
geometry unless its size is fixed (a layout pass of the whole window, ≈ 4 ms measured), a rich-text
label paints twice per change (its text control posts a second update after laying out), and a
label is transparent, so every parent beneath it (group box, splitter, tab page) is painted again.
This widget keeps its height fixed (`lines` text lines), lays its text out once per change in a
QTextDocument, and paints opaquely (WA_OpaquePaintEvent): one paint of its own rectangle only.
"""
from __future__ import annotations

import math

from gatescope.core.text import plain
from PySide6.QtCore import Qt
from PySide6.QtGui import QAbstractTextDocumentLayout, QPainter, QPalette, QTextDocument, QTextOption
from PySide6.QtWidgets import QSizePolicy, QWidget


class Readout(QWidget):
    def __init__(self, lines: int = 2, parent=None, *, plain: bool = False, align=Qt.AlignLeft,
                 max_lines: int | None = None):
        super().__init__(parent)
        self.lines = lines
        # with max_lines, the height grows (up to max_lines) when a text needs more lines and
        # shrinks back to `lines`: a re-layout only when the number of lines changes
        self.min_lines, self.max_lines = lines, max_lines or lines
        self.plain = plain                  # True: the text is shown as is, no HTML (core.text.plain)
        self._text = ""
        self._doc = QTextDocument(self)
        self._doc.setDocumentMargin(2)
        self._doc.setDefaultTextOption(QTextOption(align))
        self._doc.setDefaultFont(self.font())
        self.setAttribute(Qt.WA_OpaquePaintEvent)
        self.setAutoFillBackground(False)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
        self._fit_height()

    def _fit_height(self):
        self.setFixedHeight(self.lines * self.fontMetrics().lineSpacing() + 6)

    def setFont(self, font):
        super().setFont(font)
        self._doc.setDefaultFont(font)
        self._fit_height()
        self._layout_text(shrink=True)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._doc.setTextWidth(max(1, event.size().width()))
            self._fit_lines(shrink=True)
        self.update()

    def _layout_text(self, shrink: bool = False):
        if self.plain:
            # user text too (tokens, file names): a lone surrogate, which Qt would drop silently,
            # shows as U+FFFD, and a bidi override cannot reverse the rest of the line
            self._doc.setPlainText(plain(self._text))
        else:
            self._doc.setHtml(self._text)
        self._doc.setTextWidth(max(1, self.width()))
        self._fit_lines(shrink)
        self.setAccessibleName(self._doc.toPlainText())    # what a screen reader says
        self.update()

    def _fit_lines(self, shrink: bool = False):
        """Grow to the lines the text needs (up to max_lines). Shrink back only when the width or
        the font changed (`shrink`): texts that alternate between two heights (stepping through
        words) must not move the plot below up and down."""
        if self.max_lines == self.min_lines:
            return
        spacing = self.fontMetrics().lineSpacing()
        need = math.ceil((self._doc.size().height() - 4) / spacing - 0.2)
        lines = max(self.min_lines, min(self.max_lines, need))
        if lines > self.lines or (shrink and lines != self.lines):
            self.lines = lines
            self._fit_height()

    def setText(self, text: str):
        if text != self._text:
            self._text = text
            self._layout_text()

    def text(self) -> str:
        return self._text

    def plain_text(self) -> str:
        """What is shown, as plain text (no markup; non-breaking spaces as spaces)."""
        return self._doc.toPlainText().replace("\u00a0", " ").replace("\u2060", "")

    def sizeHint(self):
        hint = super().sizeHint()
        hint.setHeight(self.height())
        return hint

    def paintEvent(self, event):
        painter = QPainter(self)
        painter.fillRect(event.rect(), self.palette().color(QPalette.Window))
        # vertically centred, like the label it replaces; clipped to this widget
        y = max(0.0, (self.height() - self._doc.size().height()) / 2)
        painter.translate(0, y)
        ctx = QAbstractTextDocumentLayout.PaintContext()
        ctx.palette.setColor(QPalette.Text, self.palette().color(QPalette.WindowText))
        self._doc.documentLayout().draw(painter, ctx)
        painter.end()
