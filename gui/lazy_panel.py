"""A panel built the first time it is needed: an empty holder until it is first shown (or its
view is asked for), then the view made by `factory()` inside it. The Explore tabs that are not
on screen at start (Connectivity, Directions) cost nothing until they are opened."""
from __future__ import annotations

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget


class LazyPanel(QWidget):
    """Holds the view `factory()` makes, built on the first show or the first `view` access.
    Signal: built(view), once, right after the view was made and placed."""

    built = Signal(object)

    def __init__(self, factory, parent=None):
        super().__init__(parent)
        self._factory = factory
        self._view = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)

    @property
    def view(self):
        """The view, built now if it was not yet."""
        if self._view is None:
            self._view = self._factory()
            self.layout().addWidget(self._view)
            if self.isVisible():
                self._view.show()                # now, not at the next pass of the event loop
            self.built.emit(self._view)
        return self._view

    @property
    def built_view(self):
        """The view if it was built, else None (never builds)."""
        return self._view

    def showEvent(self, event):              # noqa: N802 (Qt's name)
        super().showEvent(event)
        if self._view is None:
            # built just after the show event, not inside it: a view made within the event never
            # received its workers' queued results
            QTimer.singleShot(0, self._build_if_shown)

    def _build_if_shown(self):
        if self.isVisible():
            self.view                        # noqa: B018 - built when first shown
