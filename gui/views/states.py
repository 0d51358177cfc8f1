"""States: h_t (and the LSTM's C_t) over time as heatmaps (units × time), with a cursor at t."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.text import WIDEST_TICK, format_scale, format_tick
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPalette

from .. import style
from ..readout import Readout
from .axes import (
    HeatmapCursor,
    ReadableAxis,
    TimeAxis,
    clipped32,
    colour_bar,
    label_colour_bar,
    set_range_if_changed,
    style_colour_bar,
)
from .hold import Hold
from .image import Heatmap


class _StateRow:
    def __init__(self, layout, row, label):
        self.theme = layout.theme
        self.time_axis = TimeAxis("bottom")
        self.plot = layout.addPlot(enableMenu=False, row=row, col=0, axisItems={"bottom": self.time_axis,
                                                              "left": ReadableAxis("left", integer=True)})
        self.theme.style_plot(self.plot, left=label)
        self.image = Heatmap()
        self.cmap = pg.colormap.get(style.SIGNED_CMAP)
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        self.cursor = HeatmapCursor()
        self.plot.addItem(self.cursor, ignoreBounds=True)
        # relabelled in state units as the scale changes: sized for the widest label of its class
        self.bar = colour_bar((-1, 1), self.cmap, widest="−0.8")
        layout.addItem(self.bar, row=row, col=1)
        self.levels = (-1.0, 1.0)
        self.plot.setMouseEnabled(x=True, y=False)

    def set_data(self, states: np.ndarray, tokens, level: tuple[bool, float]):
        """states (T+1, n), column t = state at step t; level = (bounded, m) from the analysis
        (Analysis.state_levels): the symmetric 1-2-5 scale ±m, never beyond ±1 if bounded."""
        T1, n = states.shape
        bounded, m = level
        self.levels = (-m, m)
        # the bar's ticks read in units of the state (−0.8·m, 0, 0.8·m), not of the image; a
        # bounded state's labels are short, so its bar is narrow (width set only when this changes)
        # two width classes, by the kind of state: a dragged σ₁ never re-lays the plot out
        widest = "−0.8" if bounded else WIDEST_TICK
        if widest != self.bar._gatescope_widest:
            self.bar._gatescope_widest = widest
            style_colour_bar(self.bar, self.theme)
        label_colour_bar(self.bar, (-1.0, 1.0), m, format_tick)
        # the image holds h/m in [−1, 1] (float32-safe even when h reaches 10³⁰⁰) on the colour
        # bar's fixed [−1, 1]; the scale m is written beside it (StatesView.scale_label), so an
        # exploding state never re-renders the colour bar
        img = clipped32(np.asarray(states, dtype=np.float64).T / m, -1.0, 1.0)
        self.image.setImage(img, levels=(-1.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, T1, n))
        set_range_if_changed(self.plot, (-0.5, T1 - 0.5), (-0.5, n - 0.5))
        self.time_axis.set_tokens(tokens)


class StatesView(pg.GraphicsLayoutWidget):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("states_view")
        self.session = session
        self.h_row = _StateRow(self, 1, "h<sub>t</sub>")
        self.c_row = None                 # the LSTM's C_t row: built for the first LSTM shown
        # an overlay that paints only itself: new text never re-lays out or repaints the plots
        self.scale_label = Readout(lines=1, parent=self, plain=True, align=Qt.AlignRight)
        self.scale_label.setObjectName("states_scale")
        pal = self.scale_label.palette()
        pal.setColor(QPalette.Window, QColor("white"))
        pal.setColor(QPalette.WindowText, QColor("#333333"))
        self.scale_label.setPalette(pal)
        self.apply_style()
        # hidden (another tab): drawn when shown, not at every change
        self.hold = Hold(self, self._on_analysis, self._on_step)
        session.analysis_changed.connect(self.hold.analysis)
        session.step_changed.connect(self.hold.step)

    def _on_analysis(self, a):
        tr = a.trace
        levels = a.state_levels
        self.h_row.set_data(tr.h, a.tokens, levels["h"])
        lstm = tr.c is not None
        scales = [("h", self.h_row.levels[1])] + ([("C", 0.0)] if lstm else [])
        if lstm and self.c_row is None:
            self.c_row = _StateRow(self, 2, "C<sub>t</sub>")      # styled at the theme of now
            style_colour_bar(self.c_row.bar, self.theme)
            self.c_row.cursor.apply_style(self.theme)
        if self.c_row is not None:
            self.c_row.plot.setVisible(lstm)
            self.c_row.bar.setVisible(lstm)
        if lstm:
            self.c_row.set_data(tr.c, a.tokens, levels["c"])
            scales[1] = ("C", self.c_row.levels[1])
            self.ci.layout.setRowStretchFactor(2, 1)
        else:
            self.ci.layout.setRowStretchFactor(2, 0)
        text = "scale: " + ", ".join(f"{k} ±{format_scale(m)}" for k, m in scales)
        if self.scale_label.text() != text:
            self.scale_label.setText(text)
        self._on_step(self.session.step)

    def rows(self) -> list:
        """The rows built: h_t, and C_t once an LSTM was shown."""
        return [self.h_row] + ([self.c_row] if self.c_row is not None else [])

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        """Fonts for the current presentation scale; the plots start below the overlay."""
        self.scale_label.setFont(self.theme.font(-1))
        self.ci.setContentsMargins(4, self.scale_label.height() + 4, 4, 4)
        self._place_label()
        for row in self.rows():
            row.theme = self.theme
            style_colour_bar(row.bar, self.theme)
            row.cursor.apply_style(self.theme)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if not hasattr(self, "scale_label"):          # pyqtgraph resizes during __init__
            return
        self._place_label()

    def _place_label(self):
        w = min(320 * self.theme.scale, self.width() - 8)
        self.scale_label.setGeometry(int(self.width() - w - 4), 2, int(w), self.scale_label.height())

    def _on_step(self, t):
        self.h_row.cursor.setValue(t)
        if self.c_row is not None:
            self.c_row.cursor.setValue(t)
