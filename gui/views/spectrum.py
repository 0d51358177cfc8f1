"""Spectrum: the singular values of the recurrent weights as bars (σ₁ highlighted; an area under
a step line when there are more than BARS_MAX, as at n = 256, where bars would be slivers), their
eigenvalues on the complex plane with the unit circle, and the notes' table σ³⁶⁵ live for σ₁."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from gatescope.core.theory import NOTES_TABLE, power_readout
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QVBoxLayout, QWidget

from .. import style
from ..readout import Readout
from .axes import ReadableAxis, nice_ceil, set_range_if_changed
from .hold import Hold

#: up to this many singular values are drawn as bars; more as one filled area (a bar under ≈ 4 px
#: wide in a panel of ordinary size is a sliver, and hundreds of them a grey smear)
BARS_MAX = 48
AREA_COLOUR = (150, 150, 150)
_NO_EDGES, _NO_VALUES = np.zeros(1), np.zeros(0)      # an empty step curve: n + 1 edges, n values

BLOCK_LABEL = {"h": "W_hh", "i": "W_hi", "f": "W_hf", "g": "W_hg", "o": "W_ho", "r": "W_hr",
               "z": "W_hz", "n": "W_hn"}


class SpectrumView(QWidget):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("spectrum_view")
        self.session = session
        self.block = QComboBox()
        self.block.setObjectName("spectrum_block")
        self.block.setToolTip("Which recurrent weight matrix to show. Gatescope gives every block "
                              "the same singular values; loaded weights may differ.")
        self.block.currentIndexChanged.connect(lambda _: self._draw())
        self.header = Readout(lines=2, max_lines=3)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(self.block)
        self.graphs = pg.GraphicsLayoutWidget()
        self.sv_plot = self.graphs.addPlot(enableMenu=False, row=0, col=0, axisItems={
            "left": ReadableAxis("left"), "bottom": ReadableAxis("bottom", integer=True, chars=3)})
        self.eig_plot = self.graphs.addPlot(enableMenu=False, row=0, col=1, axisItems={
            "left": ReadableAxis("left"), "bottom": ReadableAxis("bottom", chars=3)})
        self.bars = pg.BarGraphItem(x=[1], height=[1], width=0.7)
        self.sv_plot.addItem(self.bars)
        # many values: σ_i as a step line over i − ½ … i + ½, filled down to 0, and σ₁ as a marker
        self.area = pg.PlotCurveItem(x=_NO_EDGES, y=_NO_VALUES, stepMode="center", fillLevel=0.0,
                                     brush=pg.mkBrush(*AREA_COLOUR), pen=pg.mkPen(90, 90, 90, width=1))
        self.area.setVisible(False)
        self.sv_plot.addItem(self.area)
        self.top = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(self.theme.SIGMA1), pen=pg.mkPen("w"))
        self.top.setZValue(5)
        self.sv_plot.addItem(self.top)
        self.one = pg.InfiniteLine(pos=1, angle=0, movable=False, pen=self.theme.pen("#888888", 1, Qt.DashLine))
        self.sv_plot.addItem(self.one)
        circle = np.exp(1j * np.linspace(0, 2 * np.pi, 361))
        ang = np.linspace(0, 2 * np.pi, 181)
        self._unit = np.cos(ang), np.sin(ang)           # the ρ and σ₁ circles, scaled per setup
        self.circle = self.eig_plot.plot(circle.real, circle.imag, pen=self.theme.pen("#888888", 1.5))
        # bare curves: their setData costs a sixth of a PlotDataItem's
        self.rho_circle = pg.PlotCurveItem(pen=self.theme.pen(self.theme.RHO, 1.5, Qt.DashLine))
        self.sigma_circle = pg.PlotCurveItem(pen=self.theme.pen(self.theme.SIGMA1, 1, Qt.DotLine))
        self.eig_plot.addItem(self.rho_circle)
        self.eig_plot.addItem(self.sigma_circle)
        self._brushes = []
        self.eigs = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(self.theme.RHO), pen=pg.mkPen("w"))
        self.eig_plot.addItem(self.eigs)
        self.eig_plot.setAspectLocked(True)
        self.theme.style_plot(self.sv_plot, left="singular value σ<sub>i</sub>", bottom="i")
        self.theme.style_plot(self.eig_plot, left="Im λ", bottom="Re λ")
        self.graphs.setToolTip("Left: singular values σᵢ (σ₁ red). Right: eigenvalues λ with the unit "
                               "circle (grey), the spectral radius ρ (teal dashed) and σ₁ (red dotted).")
        for p in (self.sv_plot, self.eig_plot):
            p.setMouseEnabled(x=False, y=False)
        self.table = Readout(lines=3, max_lines=5)       # 4 with the Gelfand line (non-normal W)
        self.table.setObjectName("notes_table")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.graphs, 1)
        lay.addWidget(self.table)
        self.apply_style()
        # hidden (another tab): drawn when shown, not at every change
        self.hold = Hold(self, self._on_analysis)
        session.analysis_changed.connect(self.hold.analysis)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        self._fit_table()

    def _fit_table(self):
        # small panels (1280×720, or a large presentation scale): the plots keep at least 170 px
        # (scaled) and the table goes to the plots' tooltip
        room = self.height() - self.header.height() - self.table.height() - 16
        self.table.setVisible(room >= 170 * self.theme.scale)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        for w in (self.header, self.table, self.block):
            w.setFont(self.theme.font(0))
        self._fit_table()
        self.top.setBrush(pg.mkBrush(self.theme.SIGMA1))
        if self._brushes:                     # σ₁'s bar in the theme's colour
            self._brushes = []
            self._draw()

    def _on_analysis(self, a):
        keys = list(a.singular_values)
        if keys != [self.block.itemData(i) for i in range(self.block.count())]:
            current = self.block.currentData()
            self.block.blockSignals(True)
            self.block.clear()
            for k in keys:
                self.block.addItem(BLOCK_LABEL.get(k, k), k)
            top = max(keys, key=lambda k: a.singular_values[k][0])
            self.block.setCurrentIndex(keys.index(current) if current in keys else keys.index(top))
            self.block.blockSignals(False)
            self.block.setVisible(len(keys) > 1)
        self._draw()

    def selected(self):
        a = self.session.analysis
        key = self.block.currentData() or next(iter(a.singular_values))
        return a, key

    def as_area(self) -> bool:
        """Whether the singular values are drawn as an area (more than BARS_MAX of them)."""
        return self.area.isVisible()

    def _draw_values(self, s: np.ndarray):
        """σ_1 ≥ … ≥ σ_n as bars (σ₁ red), or for n > BARS_MAX as one area with σ₁ marked."""
        n = len(s)
        i = np.arange(1, n + 1, dtype=np.float64)
        many = n > BARS_MAX
        if many:
            self.area.setData(np.arange(n + 1, dtype=np.float64) + 0.5, np.asarray(s, dtype=np.float64))
            self.bars.setOpts(x=[], height=[], width=0.7, brushes=[])
            self._brushes = []
            self.top.setData([1.0], [float(s[0])])
        else:
            if len(self._brushes) != n:
                self._brushes = [pg.mkBrush(self.theme.SIGMA1)] + [pg.mkBrush(*AREA_COLOUR)] * (n - 1)
            self.bars.setOpts(x=i, height=s, width=0.7, brushes=self._brushes)
            self.area.setData(_NO_EDGES, _NO_VALUES)
            self.top.setData([], [])
        self.area.setVisible(many)
        self.bars.setVisible(not many)
        self.top.setVisible(many)
        # hundreds of eigenvalues: smaller dots, so the cloud keeps its shape
        self.eigs.setSize(9 if n <= BARS_MAX else 6)

    def _draw(self):
        a = self.session.analysis
        if a is None:
            return
        a, key = self.selected()
        s = a.singular_values[key]
        ev = a.eigenvalues[key]
        n = len(s)
        self._draw_values(s)
        set_range_if_changed(self.sv_plot, (0.3, n + 0.7), (0, max(1.5, nice_ceil(float(s[0]) * 1.05, 0.5))))
        self.eigs.setData(ev.real, ev.imag)
        rho = float(np.max(np.abs(ev)))
        cos, sin = self._unit
        self.rho_circle.setData(rho * cos, rho * sin)
        self.sigma_circle.setData(s[0] * cos, s[0] * sin)
        r = max(1.5, nice_ceil(float(s[0]) * 1.05, 0.5))
        set_range_if_changed(self.eig_plot, (-r, r), (-r, r))
        normal = a.is_normal(key)
        self.header.setText(
            f"<b>{BLOCK_LABEL.get(key, key)}</b>: σ₁ = <b style='color:{self.theme.SIGMA1}'>{s[0]:.3f}</b>, "
            f"ρ = <b style='color:{self.theme.RHO}'>{rho:.3f}</b> — "
            + ("normal W: ‖Wᵗ‖ = σ₁ᵗ exactly" if normal else
               "non-normal W: ‖Wᵗ‖ ≤ σ₁ᵗ and ‖Wᵗ‖<sup>1/t</sup> → ρ"))
        s1 = a.sigma1
        T = a.steps
        rows = [power_readout(v, 365) for v in NOTES_TABLE]
        live = [power_readout(round(s1, 6), 365)]
        if T != 365:                                  # the setup's own length, when it differs
            live.append(power_readout(round(s1, 6), T))
        self.graphs.setToolTip(self.graphs.toolTip().split("\n\n")[0] + "\n\n" + "\n".join(rows))
        self.table.setText(
            "<b>Notes' table:</b> " + " · ".join(rows)
            + "<br><b>Live:</b> " + " · ".join(f"<span style='color:{self.theme.SIGMA1}'>{v}</span>" for v in live)
            + (f" · Gelfand: ρ<sup>T</sup> = {power_readout(round(rho, 6), T)}"
               if not normal and math.isfinite(rho) else ""))
