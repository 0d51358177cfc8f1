"""Directions: every singular value of ∂s_t/∂s₀, the Lyapunov spectrum, and which components of
a chosen ∂ℓ/∂h_t survive the trip back to h₀ (the notes' ∂ℓ/∂h₀ = Σᵢ σᵢᵗ vᵢuᵢᵀ ∂ℓ/∂h_t).

Top: log10 σᵢ(∂s_t/∂s₀) against t for every i (core.directions.log_singular_curves; coloured by
i from a sequential map, σ₁ on top and thicker), for a plain RNN the theory σᵢ(W)ᵗ dashed beside
them (analysis.sigma_curves), the step cursor. Bottom left: the Lyapunov spectrum λᵢ (nats per
step, core.lyapunov.lyapunov_spectrum) as bars beside ln σᵢ(W) (plain RNN). Bottom right: the
chosen g = ∂ℓ/∂h_t (a unit vector e_j, or the model readout's gradient) split along the singular
directions at step t (core.splits.SplitCache, shared with the Explain panel): bars of
log10 |σᵢ cᵢ|.

The curves and exponents are computed once per analysis, only while the view is visible, on a
Worker (a new analysis cancels the old job); that pass leaves checkpoints of the graded
recursion, so the split at the cursor advances from the previous step while playing, or at most
a checkpoint spacing after a jump: inline when quick, otherwise on its own Worker, newest
request only.
"""
from __future__ import annotations

import math
import time

import numpy as np
import pyqtgraph as pg
from gatescope.core.explain_directions import split_seconds as engine_seconds
from gatescope.core.lyapunov import lyapunov_spectrum
from gatescope.core.splits import splits_for
from gatescope.core.text import escape_html
from gatescope.core.theory import format_pow10
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QSpinBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from .. import style
from ..readout import Readout
from ..worker import Worker
from .axes import PowerOfTenAxis, ReadableAxis, TimeAxis, finite_or_nan, fit_axis_label
from .chaos import EdgeOfChaosView
from .connectivity import readout_head, throttled
from .panel_parts import label_fitter, scrolling_page, set_least_heights

#: σᵢ/σ₁ above this counts as a direction that is kept (the notes' 10⁻³)
KEEP_DECADES = 3.0
#: engine seconds estimated below this run on the GUI thread (the issue's 15 ms default setup)
INLINE_S = 0.015
#: a new analysis within this long of the previous one (a slider drag, a spin box held down)
#: waits until the changes rest this long: the drag's frames stay the other views' alone
SETTLE_MS = 120
CMAP = "viridis"
#: the least heights (pixels at ×1, times the presentation scale) of the σᵢ curves and of the row
#: of bars below them, axes included: three labelled ticks on every axis; where the panel is
#: shorter the page scrolls (at 1280×720 ×1.5 the three plots were squeezed into ≈ 350 px)
MIN_HEIGHTS = {"curves": 190, "bars": 160}
#: each axis label, longest first: the first that is no longer than its axis is shown
LABELS = {
    "curves": ("σ<sub>i</sub>(∂s<sub>t</sub>/∂s<sub>0</sub>)", "σ<sub>i</sub>"),
    "lyapunov": ("λ<sub>i</sub>, ln σ<sub>i</sub>(W) (nats/step)", "λ<sub>i</sub>, ln σ<sub>i</sub>(W)",
                 "λ<sub>i</sub> (nats/step)", "λ<sub>i</sub>"),
    "lyapunov_gated": ("λ<sub>i</sub> (nats/step)", "λ<sub>i</sub>"),     # no ln σᵢ(W) bars
    "split": ("|σ<sub>i</sub>c<sub>i</sub>| reaching h<sub>0</sub>", "|σ<sub>i</sub>c<sub>i</sub>|"),
}


def kept_directions(row, decades: float = KEEP_DECADES) -> int:
    """How many of the log10 σᵢ in `row` (descending) exceed σ₁ · 10^(−decades); 0 when σ₁ = 0."""
    r = np.asarray(row, dtype=np.float64)
    if not r.size or not np.isfinite(r[0]):
        return 0
    return int(np.count_nonzero(r > r[0] - decades))


def steady_range(current, lo: float, hi: float) -> tuple[float, float] | None:
    """A y range for bars from lo to hi (decades) that changes only when it must: None (keep
    `current`) while [lo, hi] lies inside it and fills at least half of it; otherwise whole
    decades around [lo, hi] with half a decade of room above. Re-ticking an axis at every
    step of play costs more than the rest of the view's frame."""
    c0, c1 = current
    if c0 <= lo and hi <= c1 and (hi - lo) >= 0.5 * (c1 - c0):
        return None
    return float(math.floor(lo)), float(math.ceil(hi + 0.5))


def directions_of(cell, trace, progress, splits) -> dict:
    """{"curves": (T+1, m) log10 σᵢ(∂s_t/∂s₀), "lyapunov": (m,) or None} for a trace (its own
    inputs, h0, c0); rows past a non-finite state NaN, rows where the trace's product is exactly
    zero −inf. splits: the run's SplitCache (core.splits), which computes the curves and keeps
    its checkpoints for the splits at the cursor."""
    T, m = trace.steps, cell.state_size
    h0, c0 = trace.h[0], (None if trace.c is None else trace.c[0])
    curves = trace.log10_singular_values
    if curves is None:
        curves = np.full((T + 1, m), np.nan)
        got = splits.curves(progress)
        curves[:got.shape[0]] = got
        curves[np.isneginf(np.asarray(trace.log10_jac_norm))] = -np.inf
    lyap = lyapunov_spectrum(cell, trace.inputs, h0, c0, progress=progress) if T else None
    return {"curves": np.asarray(curves), "lyapunov": lyap}


def readout_gradient(analysis, t: int) -> np.ndarray | None:
    """∂ŷ_k/∂h_t of the model's readout for its most probable class k at step t (softmax:
    ∂p_k/∂h = p_k (W_k − Σ_j p_j W_j); otherwise the logit's row W_k), or None."""
    head = readout_head(analysis)
    if head is None or t < 1:
        return None
    W, b = head["readout"], head["readout_bias"]
    z = W @ analysis.trace.h[t] + b
    if not np.all(np.isfinite(z)):
        return None
    k = int(np.argmax(z))
    if not head["softmax"]:
        return W[k].copy()
    p = np.exp(z - z.max())
    p /= p.sum()
    return p[k] * (W[k] - p @ W)


class DirectionsView(QWidget):
    """Public: curves_plot (PlotItem), curve_items (one PlotDataItem per σᵢ, index i), theory_items
    (dashed σᵢ(W)ᵗ), cursor, lyap_plot with lyap_bars (λᵢ) and sigma_bars (ln σᵢ(W)), split_plot
    with split_bars (log10 |σᵢcᵢ|), unit (QSpinBox: e_j), use_readout (QCheckBox), readout
    (Readout), progress, tabs (QTabWidget: this page, then `chaos`, an EdgeOfChaosView).
    Results: curves (T+1, m) or None, lyapunov (m,) or None, split (GradientSplit) or None,
    kept (k of "k of m directions"). Signals: directions_ready(dict),
    split_changed(object: GradientSplit or None), reading_changed(str)."""

    directions_ready = Signal(object)
    split_changed = Signal(object)
    reading_changed = Signal(str)

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("directions_view")
        self.session = session
        self._analysis = None
        self._gen = 0
        self._t = 0
        self._running = False
        self._split_running = None
        self._split_pending = False
        self._last_change = -math.inf             # perf_counter of the last analysis
        self._drawn_shape = None                  # (T+1, m) of the curves on screen
        self.settle = QTimer(self)                # the trailing edge of a burst of analyses
        self.settle.setSingleShot(True)
        self.settle.setInterval(SETTLE_MS)
        self.settle.timeout.connect(self._start)
        self.curves = self.lyapunov = self.split = None
        self.kept = 0
        self.curve_items: list = []
        self.theory_items: list = []
        self._build()
        self.worker = Worker("gatescope-directions")
        self.worker.finished.connect(self._on_directions)
        self.worker.failed.connect(self._on_failed)
        self.worker.progress.connect(self._on_progress)
        self.split_worker = Worker("gatescope-directions-split")
        self.split_worker.finished.connect(self._on_split)
        self.split_worker.failed.connect(self._on_split_failed)
        self.apply_style()
        session.analysis_changed.connect(self._on_analysis)
        session.step_changed.connect(self._on_step)
        session.add_idle_check(self.pending)
        if session.analysis is not None:
            self._on_analysis(session.analysis)

    # -- construction ----------------------------------------------------------------------------
    def _build(self):
        self.readout = Readout(lines=2, max_lines=5)
        self.readout.setObjectName("directions_readout")
        self.unit = QSpinBox()
        self.unit.setObjectName("directions_unit")
        self.unit.setPrefix("∂ℓ/∂h_t = e_")
        self.unit.setRange(1, 1)
        self.unit.setToolTip("The gradient ∂ℓ/∂h_t split below: the unit vector e_j")
        self.unit.valueChanged.connect(lambda _v: self._update_split())
        self.use_readout = QCheckBox("readout's gradient")
        self.use_readout.setObjectName("directions_use_readout")
        self.use_readout.setToolTip("Split ∂ŷ_k/∂h_t of the model's readout (its most probable "
                                    "class k at step t) instead of e_j")
        self.use_readout.hide()
        self.use_readout.toggled.connect(self._on_use_readout)
        self.progress = QProgressBar()
        self.progress.setObjectName("directions_progress")
        self.progress.setRange(0, 100)
        self.progress.setFormat("directions %p%")
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("directions_status")
        self.status.hide()
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress)
        top.addWidget(self.unit)
        top.addWidget(self.use_readout)
        self.graphs = pg.GraphicsLayoutWidget()
        self.curves_plot = self.graphs.addPlot(enableMenu=False, row=0, col=0, colspan=2, axisItems={
            "left": PowerOfTenAxis("left"), "bottom": TimeAxis("bottom")})
        self.cursor = pg.InfiniteLine(angle=90, movable=False)
        self.curves_plot.addItem(self.cursor, ignoreBounds=True)
        self.lyap_plot = self.graphs.addPlot(enableMenu=False, row=1, col=0, axisItems={
            "left": ReadableAxis("left"), "bottom": ReadableAxis("bottom", integer=True)})
        self.lyap_bars = pg.BarGraphItem(x=[], height=[], width=0.4)
        self.sigma_bars = pg.BarGraphItem(x=[], height=[], width=0.4)
        self.lyap_plot.addItem(self.lyap_bars)
        self.lyap_plot.addItem(self.sigma_bars)
        self.lyap_plot.addLine(y=0)
        self.split_plot = self.graphs.addPlot(enableMenu=False, row=1, col=1, axisItems={
            "left": PowerOfTenAxis("left"), "bottom": ReadableAxis("bottom", integer=True)})
        self.split_bars = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
        self.split_plot.addItem(self.split_bars)
        self.split_plot.disableAutoRange()       # steady_range: no re-ticking at every step
        for p in (self.curves_plot, self.lyap_plot, self.split_plot):
            p.setMouseEnabled(x=False, y=False)
        self.graphs.ci.layout.setRowStretchFactor(0, 3)
        self.graphs.ci.layout.setRowStretchFactor(1, 2)
        # the labels are fitted to their axes once the layout has placed them
        self._label_timer = label_fitter(self, (self.curves_plot, self.lyap_plot, self.split_plot),
                                         self._fit_labels)
        # the readout and the plots scroll where the panel is shorter than their least heights
        self.content, self.scroll = scrolling_page("directions", self.readout, self.graphs)
        self.page = QWidget()
        self.page.setObjectName("directions_page")
        inner = QVBoxLayout(self.page)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addLayout(top)
        inner.addWidget(self.scroll, 1)
        # the edge of chaos, on its own tab (it computes only while that tab is shown)
        self.chaos = EdgeOfChaosView(self.session, theme=self.theme)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("directions_tabs")
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(self.page, "Every direction")
        self.tabs.addTab(self.chaos, "Edge of chaos")
        self.tabs.currentChanged.connect(self._on_tab)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.tabs, 1)

    def _active(self) -> bool:
        """Shown, on the directions tab (a hidden view does no work)."""
        return self.isVisible() and self.tabs.currentIndex() == 0

    def _on_tab(self, index: int):
        if index == 0:
            self._start()
            self._update_split()
        else:
            self.worker.cancel()
            self.split_worker.cancel()

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        th = self.theme
        for w in (self.readout, self.unit, self.use_readout, self.status, self.progress, self.tabs):
            w.setFont(th.font(0))
        if theme is not None:
            self.chaos.apply_style(theme)
        th.style_plot(self.curves_plot, bottom="step t")
        th.style_plot(self.lyap_plot, bottom="direction i")
        th.style_plot(self.split_plot, bottom="direction i")
        set_least_heights(self.graphs, (((self.curves_plot,), MIN_HEIGHTS["curves"]),
                                        ((self.lyap_plot, self.split_plot), MIN_HEIGHTS["bars"])), th.scale)
        self._fit_labels()
        self.cursor.setPen(th.pen(th.CURSOR, 1.5, Qt.DashLine))
        self.lyap_bars.setOpts(brush=pg.mkBrush(th.MEASURED), pen=pg.mkPen(None))
        self.sigma_bars.setOpts(brush=pg.mkBrush(th.SV_REST), pen=pg.mkPen(None))
        self.split_bars.setOpts(brush=pg.mkBrush(th.SIGMA1), pen=pg.mkPen(None))
        self._colour_curves()

    def _fit_labels(self):
        """Each left label, the longest of LABELS that is no longer than its axis (a label longer
        than its axis ran over the plot above and below it)."""
        a = self._analysis
        lyap = "lyapunov" if a is None or a.cell.kind == "rnn" else "lyapunov_gated"
        style = self.theme._label_style()
        for plot, key in ((self.curves_plot, "curves"), (self.lyap_plot, lyap), (self.split_plot, "split")):
            fit_axis_label(plot.getAxis("left"), LABELS[key], **style)

    def _colour_curves(self):
        th, m = self.theme, len(self.curve_items)
        cmap = pg.colormap.get(CMAP)
        for i, item in enumerate(self.curve_items):
            colour = th.MEASURED if i == 0 else cmap.map(0.15 + 0.8 * i / max(m - 1, 1), mode="qcolor")
            item.setPen(th.pen(colour, 3.5 if i == 0 else 1.5))
            item.setZValue(10 if i == 0 else 5 - i / max(m, 1))
        for i, item in enumerate(self.theory_items):
            item.setPen(th.pen(th.SIGMA1 if i == 0 else th.SIGMA_I, 1.5 if i else 2.0, Qt.DashLine))
            item.setZValue(1)

    # -- public ----------------------------------------------------------------------------------
    def readout_text(self) -> str:
        return self.readout.plain_text()

    def pending(self) -> bool:
        """Shown and still to draw the curves of the current analysis (waiting for a drag to
        rest, or computing), or a split: Session.wait_until_idle waits for it."""
        if not self._active() or self._analysis is None:
            return False
        return self.settle.isActive() or self._running or self.split_worker.busy()

    def drawn_curves(self) -> np.ndarray:
        """What the σᵢ lines show, (T+1, m) (NaN where a line has a gap)."""
        ys = [np.asarray(item.getData()[1], dtype=np.float64) for item in self.curve_items
              if item.isVisible()]
        return np.stack(ys, axis=1) if ys else np.zeros((0, 0))

    def gradient(self) -> np.ndarray | None:
        """The g = ∂ℓ/∂h_t being split (n,), or None."""
        a = self._analysis
        if a is None:
            return None
        if self.use_readout.isChecked():
            return readout_gradient(a, self._t)
        g = np.zeros(a.cell.hidden_size)
        g[min(self.unit.value(), g.size) - 1] = 1.0
        return g

    def export_targets(self) -> dict:
        """name → pyqtgraph item, for PNG / SVG export (gui.exporting.export_item)."""
        return {"directions": self.graphs.ci, "directions_curves": self.curves_plot,
                "directions_lyapunov": self.lyap_plot, "directions_split": self.split_plot,
                **self.chaos.export_targets()}

    # -- visibility -----------------------------------------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        self._start()

    def hideEvent(self, event):
        super().hideEvent(event)
        self.settle.stop()
        self.worker.cancel()
        self.split_worker.cancel()

    # -- session events ------------------------------------------------------------------------
    def _on_analysis(self, a):
        """A new analysis: the old curves stay, dimmed, until the new ones are drawn (same shape:
        clearing and re-ranging 2m curves costs a frame), and the new ones are computed at once
        — or, within SETTLE_MS of the previous analysis (a drag), once the changes rest."""
        same_shape = (self._analysis is not None and self._drawn_shape is not None
                      and self._drawn_shape == (a.steps + 1, a.cell.state_size)
                      and a.cell.kind == self._analysis.cell.kind)
        now = time.perf_counter()
        burst, self._last_change = now - self._last_change < SETTLE_MS / 1e3, now
        self._analysis = a
        self._gen += 1
        self.worker.cancel()
        self.split_worker.cancel()
        self.curves = self.lyapunov = self.split = None
        self._t = min(max(0, self.session.step), a.steps)
        n = a.cell.hidden_size
        if self.unit.maximum() != n:              # setRange re-lays out the whole window, even unchanged
            self.unit.blockSignals(True)
            self.unit.setRange(1, n)
            self.unit.blockSignals(False)
        self.use_readout.setVisible(readout_head(a) is not None)
        if readout_head(a) is None and self.use_readout.isChecked():
            self.use_readout.setChecked(False)
        self._ensure_items(a.cell.state_size, a.cell.kind == "rnn")
        self._label_timer.start()                 # ln σᵢ(W) is named for a plain RNN only
        if same_shape:
            self._set_stale(True)                 # the old curves, dimmed, until the new ones
        else:
            self._clear()
        self.curves_plot.getAxis("bottom").set_tokens(list(a.tokens[:a.steps]) if a.tokens else None)
        if burst and self._active():
            self.settle.start()                   # restarted by every analysis of the burst
        else:
            self._start()

    def _set_stale(self, on: bool):
        """Dim the σᵢ curves, the bars and the readout while they show the previous analysis."""
        for w in (self.curves_plot, self.lyap_plot, self.split_plot):
            w.setOpacity(0.35 if on else 1.0)
        if on:
            self.readout.setText("updating every direction…")

    def _on_step(self, t: int):
        if self._analysis is None:
            return
        self._t = min(max(0, int(t)), self._analysis.steps)
        self.cursor.setValue(self._t)
        self._update_reading()
        self._update_split()

    def _on_use_readout(self, _on):
        self._update_split()

    # -- the curves and exponents ------------------------------------------------------------
    def _start(self):
        a = self._analysis
        if a is None or self._running or self.curves is not None or not self._active() \
                or self.settle.isActive():
            return
        cell, trace, gen = a.cell, a.trace, self._gen

        def job(ctx):
            return directions_of(cell, trace, throttled(ctx), splits_for(a))
        self._running = True
        inline = trace.log10_singular_values is not None or \
            engine_seconds(cell.state_size, trace.steps) <= INLINE_S
        self.worker.start(gen, job, inline=inline)

    def _on_directions(self, gen: int, result):
        self._running = False
        self.progress.hide()
        if gen != self._gen:
            self._start()
            return
        self.curves, self.lyapunov = result["curves"], result["lyapunov"]
        self._set_status("")
        self._set_stale(False)
        self._draw()
        self.directions_ready.emit(result)
        self._update_split()

    def _on_failed(self, gen: int, message: str, details: str):
        self._running = False
        self.progress.hide()
        if gen == self._gen and message:
            self._clear()
            self._set_status(f"directions: {message}")
            return
        self._start()                             # cancelled: the newest analysis, if shown

    def _on_progress(self, gen: int, fraction: float):
        if gen == self._gen:
            self.progress.show()
            self.progress.setValue(int(100 * fraction))

    def _set_status(self, text: str):
        if text != self.status.text():
            self.status.setText(text)
        self.status.setVisible(bool(text))

    # -- drawing ---------------------------------------------------------------------------
    def _ensure_items(self, m: int, theory: bool):
        grown = len(self.curve_items) < m
        while len(self.curve_items) < m:
            self.curve_items.append(self._curve_item())
        while len(self.theory_items) < m:
            self.theory_items.append(self._curve_item())
        for i, item in enumerate(self.curve_items):
            item.setVisible(i < m)
        n = self._analysis.cell.hidden_size if self._analysis is not None else m
        for i, item in enumerate(self.theory_items):
            item.setVisible(theory and i < n)
        if grown:
            self._colour_curves()

    def _curve_item(self) -> pg.PlotDataItem:
        """A σᵢ curve whose drawing is cached in device pixels: while playing only the cursor
        moves over up to 2·128 curves, which then are copied, not redrawn."""
        item = pg.PlotDataItem(connect="finite")
        item.curve.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.curves_plot.addItem(item)
        return item

    def _clear(self):
        self._set_stale(False)
        self._drawn_shape = None
        for item in self.curve_items + self.theory_items:
            item.setData([], [])
        self.lyap_bars.setOpts(x=[], height=[])
        self.sigma_bars.setOpts(x=[], height=[])
        self.split_bars.setOpts(x=[], y0=[], y1=[])
        self.readout.setText("computing every direction…" if self._active() else "")

    def _draw(self):
        a, C = self._analysis, self.curves
        T, m = C.shape[0] - 1, C.shape[1]
        self._drawn_shape = C.shape
        t = np.arange(T + 1, dtype=np.float64)
        for i in range(m):
            self.curve_items[i].setData(t, finite_or_nan(C[:, i]))
        if a.cell.kind == "rnn":
            for i, row in enumerate(np.asarray(a.sigma_curves)):
                self.theory_items[i].setData(t, finite_or_nan(row))
        fin = C[np.isfinite(C)]
        if fin.size:
            lo, hi = float(fin.min()), float(fin.max())
            pad = max(0.5, 0.05 * (hi - lo))
            self.curves_plot.setRange(xRange=(0, max(T, 1)), yRange=(lo - pad, hi + pad), padding=0)
        self.cursor.setValue(self._t)
        self._draw_lyapunov()
        self._update_reading()

    def _draw_lyapunov(self):
        a, lam = self._analysis, self.lyapunov
        if lam is None:
            self.lyap_bars.setOpts(x=[], height=[])
            return
        k = np.flatnonzero(np.isfinite(lam))
        self.lyap_bars.setOpts(x=(k + 1 - 0.2).astype(float), height=lam[k])
        if a.cell.kind == "rnn":
            with np.errstate(divide="ignore"):
                ls = np.log(np.asarray(a.singular_values[a.top_block], dtype=np.float64))
            j = np.flatnonzero(np.isfinite(ls))
            self.sigma_bars.setOpts(x=(j + 1 + 0.2).astype(float), height=ls[j])
        else:
            self.sigma_bars.setOpts(x=[], height=[])

    def lyapunov_bars(self) -> np.ndarray:
        """The heights of the λᵢ bars by direction i (m,), NaN where there is none."""
        return _bars(self.lyap_bars, len(self.lyapunov) if self.lyapunov is not None else 0, 0.2)

    def sigma_log_bars(self) -> np.ndarray:
        """The heights of the ln σᵢ(W) bars (n,), NaN where there is none."""
        n = self._analysis.cell.hidden_size if self._analysis is not None else 0
        return _bars(self.sigma_bars, n, -0.2)

    def split_heights(self) -> np.ndarray:
        """What the split bars show: log10 |σᵢcᵢ| by i (m,), NaN where there is no bar."""
        m = self._analysis.cell.state_size if self._analysis is not None else 0
        x, y1 = self.split_bars.opts.get("x"), self.split_bars.opts.get("y1")
        out = np.full(m, np.nan)
        if x is not None and len(x):
            out[np.asarray(x, dtype=np.intp) - 1] = np.asarray(y1, dtype=np.float64)
        return out

    def _update_reading(self):
        a, C = self._analysis, self.curves
        if a is None or C is None:
            return
        t, m = self._t, C.shape[1]
        row = C[min(t, C.shape[0] - 1)]
        self.kept = kept_directions(row)
        s = "" if t == 1 else "s"
        if not np.isfinite(row[0]):
            text = (f"after {t} step{s}, ∂s_t/∂s₀ is "
                    + ("exactly 0: no direction survives" if np.isneginf(row[0]) else "unknown"))
        else:
            text = (f"after {t} step{s}, <b>{self.kept} of {m}</b> directions keep more than "
                    f"10⁻³ of σ₁ = {escape_html(format_pow10(float(row[0])))}")
        if self.lyapunov is not None and np.isfinite(self.lyapunov[0]):
            verdict = "chaotic: nearby paths separate" if self.lyapunov[0] > 0 else \
                "every direction eventually vanishes"
            text += f"; λ₁ = {self.lyapunov[0]:.4g} per step ({escape_html(verdict)})"
        self.readout.setText(text)
        self.reading_changed.emit(self.readout.plain_text())

    # -- the split at step t ---------------------------------------------------------------
    def _update_split(self):
        a = self._analysis
        if a is None or self.curves is None or not self._active():
            return
        g, t = self.gradient(), self._t
        if g is None or t > a.steps:
            self.split = None
            self.split_bars.setOpts(x=[], y0=[], y1=[])
            self.split_changed.emit(None)
            return
        if self.split_worker.busy():          # newest request only: started when this one ends
            self._split_pending = True
            return
        self._split_pending = False
        splits = splits_for(a)             # checkpoints: play advances one step, a jump ≤ K

        def job(_ctx):
            return splits.split(t, g)
        self._split_running = (self._gen, t)
        self.split_worker.start(self._gen, job,
                                inline=engine_seconds(a.cell.state_size, splits.steps_to(t)) <= INLINE_S)

    def _on_split(self, gen: int, split):
        if self._split_pending:
            self.split_worker.wait(0.1)           # its job has ended: the thread is exiting
            self._update_split()
        if gen != self._gen or self._split_running is None or split.step != self._t:
            return
        self.split = split
        r = split.log10_reach
        k = np.flatnonzero(np.isfinite(r))
        floor = math.floor(float(r[k].min())) - 1.0 if k.size else 0.0
        self.split_bars.setOpts(x=(k + 1).astype(float), y0=np.full(k.size, floor), y1=r[k])
        if k.size:
            (x0, x1), (y0, y1) = self.split_plot.viewRange()
            span = steady_range((y0, y1), floor, float(r[k].max()))
            m = self._analysis.cell.state_size
            if span is not None or (x0, x1) != (0.4, m + 0.6):
                self.split_plot.setRange(xRange=(0.4, m + 0.6), yRange=span or (y0, y1), padding=0)
        self.split_changed.emit(split)

    def _on_split_failed(self, gen: int, message: str, details: str):
        if self._split_pending:
            self.split_worker.wait(0.1)           # its job has ended: the thread is exiting
            self._update_split()
        if gen == self._gen and message:
            self._set_status(f"directions: {message}")

    def shutdown(self):
        self.chaos.shutdown()
        self.worker.cancel()
        self.split_worker.cancel()
        self.worker.wait(0.25)
        self.split_worker.wait(0.25)


def _bars(item: pg.BarGraphItem, size: int, shift: float) -> np.ndarray:
    """Bar heights by index i (size,) from an item whose bars stand at x = i + 1 − shift."""
    out = np.full(size, np.nan)
    x, h = item.opts.get("x"), item.opts.get("height")
    if x is not None and len(x):
        idx = np.rint(np.asarray(x, dtype=np.float64) + shift - 1).astype(np.intp)
        out[idx] = np.asarray(h, dtype=np.float64)
    return out
