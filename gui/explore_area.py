"""The Explore page's layout: the five panels as a grid (gradient and flow above; gates, states
and spectrum below) when there is room for it, or one panel at a time under a row of tabs when
the window is small or the presentation scale large — a lecture hall's 1280×720 at ×1.5 gets
panels it can read from the back row instead of five slivers. The Explain panel joins the tabs
in the compact layout (beside the plots, not squeezing them)."""
from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QSplitter, QStackedWidget, QTabWidget, QVBoxLayout, QWidget

#: Below these sizes per panel (in pixels at ×1, multiplied by the presentation scale) the grid
#: would shrink a plot past three labelled ticks: the compact layout takes over.
MIN_PANEL_W = 430
MIN_PANEL_H = 300
ORDER = ("gradient", "flow", "gates", "states", "spectrum", "connectivity", "directions")
#: panels that share the grid's last slot, as tabs of their own
SHARED = ("spectrum", "connectivity", "directions")
TAB_TITLES = {"gradient": "Gradient flow", "flow": "Cell-state flow", "gates": "Gates",
              "states": "States", "spectrum": "Spectrum", "connectivity": "Connectivity",
              "directions": "Directions", "explain": "Explain"}


class ExploreArea(QWidget):
    layout_changed = Signal(str)         # "grid" or "tabs"

    def __init__(self, frames: dict, parent=None):
        super().__init__(parent)
        self.setObjectName("explore_area")
        self.frames = frames
        self.scale = 1.0
        self.mode = None
        self.explain = None            # (widget, dock) once attached
        self._resizing = False
        self._switched_at = None
        self.stack = QStackedWidget()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack)
        # the grid
        self.top = QSplitter(Qt.Horizontal)
        self.bottom = QSplitter(Qt.Horizontal)
        self.grid = QSplitter(Qt.Vertical)
        self.grid.setObjectName("central")
        self.grid.addWidget(self.top)
        self.grid.addWidget(self.bottom)
        self.shared = QTabWidget()            # the grid's last slot: spectrum, connectivity, …
        self.shared.setObjectName("analysis_tabs")
        self.shared.setDocumentMode(True)
        # the tabs
        self.tabs = QTabWidget()
        self.tabs.setObjectName("explore_tabs")
        self.tabs.setDocumentMode(True)
        self.stack.addWidget(self.grid)
        self.stack.addWidget(self.tabs)
        self.set_mode("grid")

    # -- which layout ----------------------------------------------------------------------------
    def wanted_mode(self, width: int, height: int) -> str:
        """Grid or tabs for this size, with a margin: the grid comes back only when there is
        clearly room for it (each layout has its own minimum size, so a size on the boundary
        would otherwise flip between them)."""
        s = max(self.scale, 1.0)
        margin = 1.0 if self.mode != "tabs" else 1.1
        if self.mode == "tabs" and self.explain_wanted():
            # back in the grid the Explain panel would be a dock beside it: count its width
            width -= max(self.explain[1].width(), int(430 * s))
        fits = width >= 2 * MIN_PANEL_W * s * margin and height >= 2 * MIN_PANEL_H * s * margin
        return "grid" if fits else "tabs"

    def set_scale(self, scale: float):
        self.scale = float(scale)
        self._switched_at = None                 # a new scale: judge afresh
        self.set_mode(self.wanted_mode(self.width(), self.height()))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if not self._resizing:          # a mode change resizes us: judge once, when it settles
            self._resizing = True
            QTimer.singleShot(0, self._settle)

    def _settle(self):
        self._resizing = False
        want = self.wanted_mode(self.width(), self.height())
        last = self._switched_at
        if want != self.mode and last is not None and \
                abs(self.width() - last[0]) < 40 and abs(self.height() - last[1]) < 40:
            return       # the switch itself moved the size a little (docks, bars): stay put
        self.set_mode(want)

    def set_mode(self, mode: str):
        if mode == self.mode:
            return
        self._switched_at = (self.width(), self.height())
        current = self.current_panel()
        self.mode = mode
        if mode == "grid":
            self.tabs.clear()
            for k in ("gradient", "flow"):
                self.top.addWidget(self.frames[k])
            for k in ("gates", "states"):
                self.bottom.addWidget(self.frames[k])
            self.shared.clear()
            for k in SHARED:
                if k in self.frames and self.frames[k].property("user_visible") is not False:
                    i = self.shared.addTab(self.frames[k], TAB_TITLES[k])
                    self.shared.setTabToolTip(i, self.frames[k].full_title)
            self.bottom.addWidget(self.shared)
            for k in self.keys():
                if k not in SHARED:
                    self.frames[k].setVisible(self.frames[k].property("user_visible") is not False)
                self.frames[k].set_title_shown(k not in SHARED)
            self.top.setSizes([700, 620])
            self.bottom.setSizes([520, 420, 520])
            self.grid.setSizes([520, 440])
            self.stack.setCurrentWidget(self.grid)
        else:
            self.shared.clear()
            for k in self.keys():
                if self.frames[k].property("user_visible") is not False:
                    # the tab names the panel; its whole title is the tab's tooltip
                    self.frames[k].set_title_shown(False)
                    i = self.tabs.addTab(self.frames[k], TAB_TITLES[k])
                    self.tabs.setTabToolTip(i, self.frames[k].full_title)
            self.stack.setCurrentWidget(self.tabs)
        self._place_explain()
        if current:
            self.show_panel(current)
        self.layout_changed.emit(mode)

    # -- panels ----------------------------------------------------------------------------------
    def keys(self) -> list[str]:
        return [k for k in ORDER if k in self.frames]

    def current_panel(self) -> str | None:
        if self.mode != "tabs":
            return None
        w = self.tabs.currentWidget()
        for k, f in self.frames.items():
            if f is w:
                return k
        if self.explain and w is self.explain[0]:
            return "explain"
        return None

    def show_panel(self, key: str):
        """Bring a panel to the front (a tab of the compact layout, or of the grid's shared slot)."""
        if self.mode == "grid" and key in SHARED and key in self.frames:
            if self.shared.indexOf(self.frames[key]) >= 0:
                self.shared.setCurrentWidget(self.frames[key])
            return
        if self.mode == "tabs":
            w = self.explain[0] if key == "explain" and self.explain else self.frames.get(key)
            if w is not None and self.tabs.indexOf(w) >= 0:
                self.tabs.setCurrentWidget(w)

    def set_panel_visible(self, key: str, on: bool):
        frame = self.frames[key]
        frame.setProperty("user_visible", bool(on))
        if self.mode == "grid" and key not in SHARED:
            frame.setVisible(on)
        else:
            mode, self.mode = self.mode, None
            self.set_mode(mode)

    # -- the Explain panel -----------------------------------------------------------------------
    def attach_explain(self, widget, dock):
        """The Explain widget lives in `dock` beside the grid, and as a tab in the compact
        layout (when the user has asked for it)."""
        self.explain = (widget, dock)
        self._wanted_explain = dock.isVisible()
        dock.visibilityChanged.connect(self._on_dock_visibility)
        self._place_explain()

    def _on_dock_visibility(self, visible: bool):
        if self.mode == "grid":
            self._wanted_explain = visible

    def explain_wanted(self) -> bool:
        return bool(self.explain) and self._wanted_explain

    def set_explain_wanted(self, on: bool):
        if not self.explain:
            return
        self._wanted_explain = bool(on)
        self._place_explain()
        if on:
            self.show_panel("explain")

    def _place_explain(self):
        if not self.explain:
            return
        widget, dock = self.explain
        if self.mode == "tabs":
            dock.blockSignals(True)
            dock.hide()
            dock.blockSignals(False)
            if self._wanted_explain and self.tabs.indexOf(widget) < 0:
                self.tabs.addTab(widget, TAB_TITLES["explain"])
            elif not self._wanted_explain and self.tabs.indexOf(widget) >= 0:
                self.tabs.removeTab(self.tabs.indexOf(widget))
        else:
            if dock.widget() is not widget:
                dock.setWidget(widget)
            dock.blockSignals(True)
            dock.setVisible(self._wanted_explain)
            dock.blockSignals(False)
