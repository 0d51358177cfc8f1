"""Pieces the views' panels share: a page that scrolls instead of squeezing its plots, the least
heights that make it scroll, and a timer that refits axis labels once the layout has placed
the axes."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QFrame, QScrollArea, QVBoxLayout, QWidget


def scroll_area(widget: QWidget, name: str) -> QScrollArea:
    """`widget` in a frameless scroll area that scrolls vertically only (its width follows)."""
    scroll = QScrollArea()
    scroll.setObjectName(name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setWidget(widget)
    return scroll


def scrolling_page(prefix: str, *widgets) -> tuple[QWidget, QScrollArea]:
    """(content, scroll): the widgets stacked in `content` (the last one stretches), in a scroll
    area; object names `{prefix}_content` and `{prefix}_scroll`."""
    content = QWidget()
    content.setObjectName(f"{prefix}_content")
    body = QVBoxLayout(content)
    body.setContentsMargins(0, 0, 0, 0)
    for w in widgets[:-1]:
        body.addWidget(w)
    body.addWidget(widgets[-1], 1)
    return content, scroll_area(content, f"{prefix}_scroll")


def set_least_heights(graphs, rows, scale: float) -> None:
    """Each row of `graphs` (a GraphicsLayoutWidget), given as (plots, pixels at ×1), at least that
    tall times the presentation scale, axes included (three labelled ticks on every axis), and
    `graphs` at least their sum with the spacing between them: where the panel is shorter, its
    page scrolls instead of squeezing them."""
    for plots, px in rows:
        for p in plots:
            p.setMinimumHeight(round(px * scale))
    spacing = max(graphs.ci.layout.verticalSpacing(), 0)
    graphs.setMinimumHeight(round(sum(px for _, px in rows) * scale + spacing * (len(rows) - 1) + 24))


class _OnResize(QObject):
    """Starts `timer` at every resize of the widget it filters."""

    def __init__(self, owner, timer):
        super().__init__(owner)
        self.timer = timer
        owner.installEventFilter(self)

    def eventFilter(self, obj, event):              # noqa: N802 (Qt's name)
        if event.type() == QEvent.Resize:
            self.timer.start()
        return False


def label_fitter(owner, plots, fit) -> QTimer:
    """A zero-delay timer, started whenever `owner` is resized or an axis of `plots` changes
    geometry, that calls `fit` once the layout has settled (the labels fitted to the axes as
    placed)."""
    timer = QTimer(owner)
    timer.setSingleShot(True)
    timer.setInterval(0)
    timer.timeout.connect(fit)
    for p in plots:
        for name in ("left", "bottom"):
            p.getAxis(name).geometryChanged.connect(timer.start)
    _OnResize(owner, timer)
    return timer
