"""States: h_t (and the LSTM's C_t) over time as heatmaps (units × time), with a cursor at t."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF

from .. import style
from .axes import TimeAxis, clipped32, nice_level, set_range_if_changed


class _StateRow:
    def __init__(self, layout, row, label):
        self.time_axis = TimeAxis("bottom")
        self.plot = layout.addPlot(row=row, col=0, axisItems={"bottom": self.time_axis})
        style.style_plot(self.plot, left=label)
        self.image = pg.ImageItem()
        self.cmap = pg.colormap.get(style.SIGNED_CMAP)
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        self.cursor = pg.InfiniteLine(angle=90, movable=False, pen=style.pen("#ff2d2d", 2))
        self.plot.addItem(self.cursor, ignoreBounds=True)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=self.cmap, interactive=False, width=14)
        layout.addItem(self.bar, row=row, col=1)
        self.levels = (-1.0, 1.0)
        self.plot.setMouseEnabled(x=True, y=False)

    def set_data(self, states: np.ndarray, tokens, fixed_unit_range: bool):
        """states (T+1, n), column t = state at step t."""
        T1, n = states.shape
        finite = np.isfinite(states)
        big = float(np.max(np.abs(states[finite]))) if finite.any() else 1.0
        # tanh-bounded states keep the fixed [−1, 1] scale; unbounded ones use a symmetric range
        m = 1.0 if fixed_unit_range else nice_level(max(big, 1e-12))
        self.levels = (-m, m)
        # the image holds h/m in [−1, 1] (float32-safe even when h reaches 10³⁰⁰); the colour bar
        # shows the true scale
        img = clipped32(np.asarray(states, dtype=np.float64).T / m, -1.0, 1.0)
        self.image.setImage(img, levels=(-1.0, 1.0), autoLevels=False)
        self.image.setRect(QRectF(-0.5, -0.5, T1, n))
        if tuple(self.bar.levels()) != self.levels:
            self.bar.setLevels(self.levels)
        set_range_if_changed(self.plot, (-0.5, T1 - 0.5), (-0.5, n - 0.5))
        self.time_axis.set_tokens(tokens)


class StatesView(pg.GraphicsLayoutWidget):
    def __init__(self, session, parent=None):
        super().__init__(parent)
        self.setObjectName("states_view")
        self.session = session
        self.h_row = _StateRow(self, 1, "h<sub>t</sub>")
        self.c_row = _StateRow(self, 2, "C<sub>t</sub>")
        session.analysis_changed.connect(self._on_analysis)
        session.step_changed.connect(self._on_step)

    def _on_analysis(self, a):
        tr = a.trace
        bounded = a.cell.kind != "rnn" or a.cell.nonlinearity in ("tanh", "sigmoid")
        self.h_row.set_data(tr.h, a.tokens, bounded)
        lstm = tr.c is not None
        self.c_row.plot.setVisible(lstm)
        self.c_row.bar.setVisible(lstm)
        if lstm:
            self.c_row.set_data(tr.c, a.tokens, False)
            self.ci.layout.setRowStretchFactor(2, 1)
        else:
            self.ci.layout.setRowStretchFactor(2, 0)
        self._on_step(self.session.step)

    def _on_step(self, t):
        self.h_row.cursor.setValue(t)
        self.c_row.cursor.setValue(t)
