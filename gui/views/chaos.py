"""The edge of chaos: the largest Lyapunov exponent λ₁ (nats per step) against the gain, for the
current cell and input (core.lyapunov.edge_of_chaos), the current value marked.

Two knobs: "scale W" multiplies the current cell's recurrent weights by g (W_hh → g·W_hh, any
cell; the axis shows g·σ₁, the scaled σ₁, with the current cell at g = 1), "random W" a vanilla
RNN with Gaussian W_hh of gain g (entries N(0, g²/n), core.lyapunov.gaussian_rnn; Sompolinsky,
Crisanti & Sommers 1988: chaotic above g ≈ 1) on the same input. λ₁ < 0: every gradient
direction eventually vanishes; λ₁ > 0: nearby trajectories separate.

The range is computed on a Worker while the view is visible (progress, Cancel); a new analysis
cancels it and starts again.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.lyapunov import edge_of_chaos, gaussian_rnn, scaled_cell, top_lyapunov_exponent
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import style
from ..readout import Readout
from ..worker import Worker
from .axes import ReadableAxis, finite_or_nan, fit_axis_label
from .panel_parts import label_fitter, scrolling_page

MODES = ("scale", "random")
#: the random W's seed (fixed: the same network for every gain)
SEED = 0
#: the plot's least height (pixels at ×1, times the presentation scale), axes included: three
#: labelled ticks on each axis; where the panel is shorter the page scrolls
MIN_HEIGHT = 250
#: the axis labels, longest first: the first that is no longer than its axis is shown
LEFT_LABELS = ("λ<sub>1</sub> (nats per step)", "λ<sub>1</sub> (nats/step)", "λ<sub>1</sub>")
BOTTOM_LABELS = {"scale": ("σ₁ of g·W", "σ₁"), "random": ("gain g of a random W", "gain g")}


def chaos_factory(cell, mode: str, sigma1: float):
    """(factory gain → Cell, x of a gain) for edge_of_chaos: "scale": scaled_cell(cell, g),
    plotted at g·σ₁; "random": gaussian_rnn(n, g) with the cell's input size, plotted at g."""
    if mode == "scale":
        return (lambda g: scaled_cell(cell, g)), (lambda g: np.asarray(g) * sigma1)
    phi = cell.nonlinearity if cell.kind == "rnn" and cell.nonlinearity != "identity" else "tanh"
    return (lambda g: gaussian_rnn(cell.hidden_size, g, input_size=cell.input_size, seed=SEED,
                                   nonlinearity=phi)), (lambda g: np.asarray(g, dtype=np.float64))


class EdgeOfChaosView(QWidget):
    """Public: plot (PlotItem), curve (λ₁ against the gain), points, current (the current cell's
    marker, "scale" mode), mode (QComboBox: scale / random), low, high (QDoubleSpinBox), count
    (QSpinBox), run_button, cancel_button, progress, readout. Results: gains (the factors given
    to edge_of_chaos), x (plotted gains), lambdas (λ₁ per gain) or None, current_lambda.
    Signals: chaos_ready(gains, lambdas), cancelled()."""

    chaos_ready = Signal(object, object)
    cancelled = Signal()

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("chaos_view")
        self.session = session
        self._analysis = None
        self._gen = 0
        self._running = False
        self._stale = True
        self.gains = self.x = self.lambdas = None
        self.current_lambda = None
        self._build()
        self.worker = Worker("gatescope-chaos")
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.worker.progress.connect(self._on_progress)
        self.apply_style()
        session.analysis_changed.connect(self._on_analysis)
        if session.analysis is not None:
            self._on_analysis(session.analysis)

    def _build(self):
        self.mode = QComboBox()
        self.mode.setObjectName("chaos_mode")
        self.mode.addItem("scale this W", "scale")
        self.mode.addItem("random W, gain g", "random")
        self.low, self.high = QDoubleSpinBox(), QDoubleSpinBox()
        for box, v, name in ((self.low, 0.5, "from"), (self.high, 2.0, "to")):
            box.setObjectName(f"chaos_{name}")
            box.setRange(0.01, 10.0)
            box.setDecimals(2)
            box.setSingleStep(0.1)
            box.setValue(v)
            box.setPrefix(f"{name} ")
        self.count = QSpinBox()
        self.count.setObjectName("chaos_count")
        self.count.setRange(2, 200)
        self.count.setValue(16)
        self.count.setSuffix(" gains")
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("chaos_run")
        self.run_button.clicked.connect(self.run)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("chaos_cancel")
        self.cancel_button.clicked.connect(self.cancel)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("chaos_progress")
        self.progress.setRange(0, 100)
        self.progress.setMaximumWidth(140)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("chaos_status")
        self.readout = Readout(lines=1, max_lines=4)
        self.readout.setObjectName("chaos_readout")
        # two rows: the range, then running it (in one row the boxes' texts were cut at ×1.5)
        top, run = QHBoxLayout(), QHBoxLayout()
        for w in (self.mode, self.low, self.high):
            top.addWidget(w)
        top.addStretch(1)
        for w in (self.count, self.run_button, self.cancel_button, self.progress):
            run.addWidget(w)
        run.addWidget(self.status, 1)
        self.graphs = pg.GraphicsLayoutWidget()
        self.plot = self.graphs.addPlot(enableMenu=False, axisItems={"bottom": ReadableAxis("bottom"),
                                                   "left": ReadableAxis("left")})
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.addLine(y=0)
        self.curve = pg.PlotDataItem(connect="finite")
        self.points = pg.ScatterPlotItem(size=6)
        self.current = pg.ScatterPlotItem(size=14, symbol="o")
        self.current_line = pg.InfiniteLine(angle=90, movable=False)
        for item in (self.curve, self.points, self.current):
            self.plot.addItem(item)
        self.plot.addItem(self.current_line, ignoreBounds=True)
        self._label_timer = label_fitter(self, (self.plot,), self._fit_labels)
        # the readout and the plot scroll where the panel is shorter than the plot's least height
        self.content, self.scroll = scrolling_page("chaos", self.readout, self.graphs)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(run)
        lay.addWidget(self.scroll, 1)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        th = self.theme
        for w in (self.mode, self.low, self.high, self.count, self.run_button, self.cancel_button,
                  self.progress, self.status, self.readout):
            w.setFont(th.font(0))
        th.style_plot(self.plot)
        self.graphs.setMinimumHeight(round(MIN_HEIGHT * th.scale))
        self._fit_labels()
        self.curve.setPen(th.pen(th.MEASURED, 2.0))
        self.points.setBrush(pg.mkBrush(th.MEASURED))
        self.points.setPen(pg.mkPen(None))
        self.current.setBrush(pg.mkBrush(th.SIGMA1))
        self.current.setPen(th.pen("#ffffff", 1.5))
        self.current_line.setPen(th.pen(th.SIGMA1, 1.0, Qt.DashLine))

    def _fit_labels(self):
        """Each axis label, the longest of its candidates that is no longer than its axis."""
        style = self.theme._label_style()
        fit_axis_label(self.plot.getAxis("left"), LEFT_LABELS, **style)
        fit_axis_label(self.plot.getAxis("bottom"), BOTTOM_LABELS[self.mode_name], **style)

    @property
    def mode_name(self) -> str:
        return self.mode.currentData() or "scale"

    def export_targets(self) -> dict:
        """name → pyqtgraph item, for PNG / SVG export."""
        return {"edge_of_chaos": self.plot}

    def gain_range(self) -> np.ndarray:
        """The gains given to edge_of_chaos: `count` values from `low` to `high` (in σ₁ units
        in "scale" mode, divided by the current σ₁ to give the factors)."""
        lo, hi = sorted((self.low.value(), self.high.value()))
        g = np.linspace(lo, hi, self.count.value())
        if self.mode_name == "scale" and self._analysis is not None:
            g = g / max(float(self._analysis.sigma1), 1e-300)
        return g

    # -- running ---------------------------------------------------------------------------
    def run(self):
        """Start the range for the current analysis and settings (a running one is cancelled)."""
        a = self._analysis
        if a is None:
            return
        self._gen += 1
        self.worker.cancel()
        cell, trace, mode = a.cell, a.trace, self.mode_name
        if trace.steps < 1:
            self._set_status("λ₁ needs at least one step")
            return
        h0, c0 = trace.h[0], (None if trace.c is None else trace.c[0])
        gains = self.gain_range()
        factory, _ = chaos_factory(cell, mode, float(a.sigma1))
        random_h0 = np.zeros(cell.hidden_size) if mode == "random" else h0
        random_c0 = None if mode == "random" else c0

        def job(ctx):
            lam = edge_of_chaos(factory, gains, trace.inputs, random_h0, random_c0,
                                progress=lambda f: not ctx.cancelled and ctx.progress(f))
            now = top_lyapunov_exponent(cell, trace.inputs, h0, c0) if mode == "scale" else None
            return gains, lam, now, mode
        self._running, self._stale = True, False
        self.cancel_button.setEnabled(True)
        self._set_status("")
        self.apply_style()
        self.worker.start(self._gen, job)

    def cancel(self):
        if self._running:
            self.worker.cancel()

    def showEvent(self, event):
        super().showEvent(event)
        if self._stale and not self._running:
            self.run()

    def hideEvent(self, event):
        super().hideEvent(event)
        if self._running:
            self.worker.cancel()
            self._stale = True

    def _on_analysis(self, a):
        self._analysis = a
        self._stale = True
        if self._running:
            self.worker.cancel()
        if self.isVisible():
            self.run()

    def _on_finished(self, gen: int, result):
        if gen != self._gen:
            return
        self._running = False
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        gains, lam, now, mode = result
        _, to_x = chaos_factory(self._analysis.cell, mode, float(self._analysis.sigma1))
        self.gains, self.lambdas, self.x = gains, lam, np.asarray(to_x(gains), dtype=np.float64)
        self.current_lambda = now
        y = finite_or_nan(lam)
        self.curve.setData(self.x, y)
        keep = np.isfinite(y)
        self.points.setData(self.x[keep], y[keep])
        if now is not None and np.isfinite(now):
            self.current.setData([float(self._analysis.sigma1)], [float(now)])
            self.current_line.setValue(float(self._analysis.sigma1))
        else:
            self.current.setData([], [])
            self.current_line.setValue(1.0)
        self.readout.setText(self._reading())
        self.chaos_ready.emit(gains, lam)

    def _reading(self) -> str:
        x, lam = self.x, self.lambdas
        fin = np.isfinite(lam)
        sign = np.sign(lam[fin])
        cross = np.flatnonzero(np.diff(sign) > 0)
        text = ("λ₁ crosses 0 between " + f"{x[fin][cross[0]]:.3g} and {x[fin][cross[0] + 1]:.3g}"
                if cross.size else ("λ₁ < 0 over the whole range: every direction vanishes"
                                    if fin.any() and (lam[fin] < 0).all() else
                                    "λ₁ ≥ 0 over part of the range"))
        if self.current_lambda is not None and np.isfinite(self.current_lambda):
            text += f"; this cell: σ₁ = {self._analysis.sigma1:.4g}, λ₁ = {self.current_lambda:.4g}"
        return text

    def _on_failed(self, gen: int, message: str, details: str):
        if gen != self._gen:
            return
        self._running = False
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        if message:
            self._set_status(f"edge of chaos: {message}")
        else:
            self._stale = True
            self._set_status("cancelled")
            self.cancelled.emit()

    def _on_progress(self, gen: int, fraction: float):
        if gen == self._gen:
            self.progress.show()
            self.progress.setValue(int(100 * fraction))

    def _set_status(self, text: str):
        self.status.setText(text)

    def shutdown(self):
        self.worker.cancel()
        self.worker.wait(0.25)
