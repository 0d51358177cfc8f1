"""Hold a hidden view's updates until it is shown.

A view behind another tab (the compact layout of a lecture hall, or the Spectrum behind the
Directions tab) need not redraw at every σ₁ change or play step: `Hold` passes the session's
analysis and step on at once while the view is visible (and the first analysis always), and
otherwise keeps only the newest of each and hands them over from the view's next show event,
before its first paint."""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject


class Hold(QObject):
    """analysis(a) → on_analysis(a) now if `view` is visible, else at its next show; step(t)
    likewise (after the held analysis, if any). `flush()` hands over what is held at once (an
    export of a hidden view's plot)."""

    def __init__(self, view, on_analysis, on_step=None):
        super().__init__(view)
        self.view, self.on_analysis, self.on_step = view, on_analysis, on_step
        self._analysis = self._step = None
        self._drawn = False
        view.installEventFilter(self)

    def analysis(self, a):
        # the first is drawn at once, shown or not: the view is laid out with its data from the
        # start (drawing it at the first show placed a colour bar one pixel off a fresh start)
        if self.view.isVisible() or not self._drawn:
            self._analysis = None
            self._drawn = True
            self.on_analysis(a)
        else:
            self._analysis = a

    def step(self, t: int):
        if self.on_step is None:
            return
        if self.view.isVisible() and self._analysis is None:
            self._step = None
            self.on_step(t)
        else:
            self._step = t

    def held(self) -> bool:
        return self._analysis is not None or self._step is not None

    def flush(self):
        a, t = self._analysis, self._step
        self._analysis = self._step = None
        if a is not None:
            self.on_analysis(a)
        if t is not None and self.on_step is not None:
            self.on_step(t)

    def eventFilter(self, obj, event):          # noqa: N802 (Qt's name)
        if obj is self.view and event.type() == QEvent.Show and self.held():
            self.flush()
        return False
