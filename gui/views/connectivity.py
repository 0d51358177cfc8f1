"""Connectivity: which input reaches which state. The T×T heatmap of log10 ‖∂h_t/∂x_k‖ (row t: the
state h_t, column k: the input x_k; a colour bar in decades), the current step's row as bars over
k = 1…t labelled with the tokens, and the "how to read it" line for the current step and a chosen
input k (hover or click a bar; default k = 1). With a model readout, a toggle shows ‖∂ŷ_t/∂x_k‖.

The sequence is prepared once per analysis (`core.connectivity.prepare`); the row at the cursor is
one backward sweep (`Connectivity.row(t)`, on the GUI thread when it is quick, else on a Worker),
the whole matrix is computed on a Worker with its progress in the view, cancelled by a new
analysis. A hidden view does no work: it catches up when shown.
"""
from __future__ import annotations

import csv
import io
import math
import time
import warnings

import numpy as np
import pyqtgraph as pg
from gatescope.core import connectivity as engine
from gatescope.core.explain_connectivity import how_to_read, prepare_seconds, row_seconds
from PySide6.QtCore import QObject, QRectF, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from .. import style
from ..readout import Readout
from ..worker import Worker
from .axes import (
    HeatmapCursor,
    PowerOfTenAxis,
    TimeAxis,
    colour_bar,
    fit_axis_label,
    pow10_label,
    style_colour_bar,
)
from .image import Heatmap
from .panel_parts import label_fitter, scrolling_page, set_least_heights

#: Rows expected to take less than this run on the GUI thread (a step's redraw), else on a Worker.
INLINE_S = 0.012
#: The forward pass of a new analysis, on the GUI thread only below this (a slider drag brings
#: one analysis a frame; the other views need the rest of the frame).
PREPARE_INLINE_S = 0.004
#: The heatmap shows at most this many steps a side (beyond: blocks of steps, their largest value).
MAX_IMAGE = 1024
#: CSV export: at most this many (t, k) entries (T ≤ 1413; a few seconds of writing).
MAX_CSV_ROWS = 1_000_000
CMAP = "viridis"
#: the least heights (pixels at ×1, times the presentation scale) of the heatmap and of the bars,
#: axes included: three labelled ticks on each axis; where the panel is shorter the page scrolls
MIN_HEIGHTS = {"heat": 230, "bars": 160}


def axis_labels(sym: str) -> dict:
    """Each axis label for the target `sym` (h or ŷ), longest first: the first that is no longer
    than its axis is shown."""
    t = f"{sym}<sub>t</sub>"
    return {"heat_left": (f"{t}: state at step t", f"state {t}", t),
            "heat_bottom": ("x<sub>k</sub>: input at step k", "input x<sub>k</sub>", "x<sub>k</sub>"),
            "bars_left": (f"‖∂{t}/∂x<sub>k</sub>‖", f"‖∂{sym}/∂x‖"),
            "bars_bottom": ("input k", "k")}


def readout_head(analysis) -> dict | None:
    """The Connectivity options for ‖∂ŷ_t/∂x_k‖ when the analysis carries a readout that reads h_t
    (`analysis.readout` with weight (p, n), bias (p,)), else None. Softmax outputs: ∂ of the
    probabilities; any other activation: of the logits W h + b."""
    ro = getattr(analysis, "readout", None)
    if ro is None:
        return None
    try:
        W = np.asarray(ro.weight, dtype=np.float64)
        b = np.asarray(getattr(ro, "bias", None) if getattr(ro, "bias", None) is not None
                       else np.zeros(W.shape[0]), dtype=np.float64)
    except (TypeError, ValueError, AttributeError):
        return None
    n = analysis.cell.hidden_size
    if W.ndim != 2 or W.shape[1] != n or b.shape != (W.shape[0],) or not (
            np.isfinite(W).all() and np.isfinite(b).all()):
        return None
    return {"readout": W, "readout_bias": b,
            "softmax": getattr(ro, "activation", "linear") == "softmax"}


def heat_image(A: np.ndarray, lo: float, hi: float, max_side: int = MAX_IMAGE):
    """(float32 image, stride s) of A (T, T) on the levels [lo, hi]: −inf below the diagonal (a
    path exactly 0) → lo, NaN (unknown) and k > t → NaN (drawn as gaps). When T > max_side, each
    pixel is a block of s × s steps showing its largest value."""
    T = A.shape[0]
    s = max(1, math.ceil(T / max_side))
    nb = math.ceil(T / s)
    out = np.full((nb, nb), np.nan, dtype=np.float32)
    cols = np.arange(T)
    for b0 in range(0, T, s * max(1, 256 // s)):            # bands of rows: bounded temporaries
        b1 = min(T, b0 + s * max(1, 256 // s))
        blk = np.array(A[b0:b1], dtype=np.float64)
        blk[cols[None, :] > np.arange(b0, b1)[:, None]] = np.nan
        blk[np.isneginf(blk)] = lo
        np.clip(blk, lo, hi, out=blk)                          # +inf → hi; NaN stays NaN
        if s > 1:
            r = blk.shape[0]
            pad = np.full((math.ceil(r / s) * s, nb * s), np.nan)
            pad[:r, :T] = blk
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # all-NaN blocks stay NaN
                blk = np.nanmax(pad.reshape(-1, s, nb, s), axis=(1, 3))
        out[b0 // s:b0 // s + blk.shape[0]] = blk
    return out, s


def decade_levels(values) -> tuple[float, float]:
    """Colour levels in whole decades around the finite values (at least one decade wide)."""
    v = np.asarray(values, dtype=np.float64)
    fin = v[np.isfinite(v)]
    if not fin.size:
        return (-1.0, 1.0)
    lo, hi = math.floor(float(fin.min())), math.ceil(float(fin.max()))
    return (float(lo), float(hi if hi > lo else lo + 1))


def decade_ticks(lo: float, hi: float, most: int = 5) -> list:
    """Whole decades inside [lo, hi] (at most `most`, 1-2-5 spaced) as (value, "10ᵏ")."""
    span = max(hi - lo, 1.0)
    step = next(m * 10 ** e for e in range(0, 6) for m in (1, 2, 5) if span / (m * 10 ** e) <= most - 1)
    first = math.ceil(lo / step) * step
    return [(float(v), pow10_label(v)) for v in np.arange(first, hi + 1e-9, step)]


def set_bars(item: pg.BarGraphItem, row, t: int, floor: float, brush=None):
    """Bars from `floor` up to row[k−1] at k = 1…t; only finite values get a bar (−inf: a path
    exactly 0, NaN: unknown — both drawn as gaps), so pyqtgraph only ever sees finite numbers."""
    r = np.asarray(row, dtype=np.float64)[:max(0, t)]
    k = np.flatnonzero(np.isfinite(r))
    opts = {"x": (k + 1).astype(np.float64), "y0": np.full(k.size, floor), "y1": r[k], "width": 0.8}
    if brush is not None:
        opts["brush"] = brush
    item.setOpts(**opts)


def bar_row(item: pg.BarGraphItem, T: int) -> np.ndarray:
    """What the bars show, as a row (T,): the bar heights at k = 1…T, NaN where there is no bar."""
    out = np.full(T, np.nan)
    x, y1 = item.opts.get("x"), item.opts.get("y1")
    if x is not None and y1 is not None and len(x):
        out[np.asarray(x, dtype=np.intp) - 1] = np.asarray(y1, dtype=np.float64)
    return out


class StepAxis(TimeAxis):
    """A TimeAxis that also works upright and on an inverted view box: on a left or right axis the
    token labels are spaced by the text's height (one label a line), not its width."""

    def tickValues(self, minVal, maxVal, size):
        minVal, maxVal = sorted((minVal, maxVal))           # an inverted view box gives (max, min)
        return super().tickValues(minVal, maxVal, size)

    def tickSpacing(self, minVal, maxVal, size):            # (used with tokens only)
        minVal, maxVal = sorted((minVal, maxVal))
        if self.orientation not in ("left", "right"):
            return super().tickSpacing(minVal, maxVal, size)
        px = size / max(maxVal - minVal, 1e-9)
        return [(float(max(1, math.ceil((self._font_metrics().height() + 6) / max(px, 1e-9)))), 0)]


def throttled(ctx, every_s: float = 0.05):
    """A progress callback for the engine: cancellation checked at every call, progress passed to
    the Worker at most every `every_s` (the engine reports every step on large setups)."""
    last = [0.0]

    def progress(fraction):
        if ctx.cancelled:
            return False
        now = time.perf_counter()
        if now - last[0] >= every_s:
            last[0] = now
            return ctx.progress(fraction)
        return True
    return progress


class RowSource(QObject):
    """The rows A[t−1, :] of one sequence, for the GUI thread. `set_sequence` forgets the last
    one; `row(t)` answers at once when the row is quick (≤ INLINE_S, on a Connectivity of the GUI
    thread) and otherwise returns None and delivers it later by `row_ready` (computed on its Worker,
    newest request only, with a Connectivity of that thread: the two never share mutable state).
    Preparing (the forward pass) is done the same way (inline ≤ PREPARE_INLINE_S). Inactive, it
    does nothing."""

    prepared = Signal()
    row_ready = Signal(int, object)      # t, (T,) row
    failed = Signal(str)

    def __init__(self, name: str = "gatescope-connectivity-rows", parent=None):
        super().__init__(parent)
        self.worker = Worker(name)
        self.worker.finished.connect(self._on_finished)
        self.worker.failed.connect(self._on_failed)
        self.cell = self.inputs = self.conn = None
        self.head: dict = {}
        self.active = False
        self._gen, self._running, self._want_t = 0, None, None
        self._slot: dict = {}

    # -- state -----------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.conn is not None

    @property
    def cache(self):
        return None if self.conn is None else self.conn.cache

    def set_sequence(self, cell, inputs, head: dict | None = None):
        self._gen += 1
        self.cell, self.inputs, self.head = cell, inputs, dict(head or {})
        self.conn, self._want_t, self._slot = None, None, {}
        self.worker.cancel()

    def set_head(self, head: dict | None):
        """Another head (the readout, or none) on the same prepared sequence."""
        self._gen += 1
        self.head, self._want_t, self._slot = dict(head or {}), None, {}
        if self.conn is not None:
            self.conn = engine.Connectivity(self.cell, self.conn.cache, **self.head)
        self.worker.cancel()

    def set_active(self, on: bool):
        self.active = bool(on)
        if not on:
            self.worker.cancel()
        else:
            self._next()

    def cheap(self, t: int) -> bool:
        q = None if self.head.get("readout") is None else self.head["readout"].shape[0]
        # a linear RNN's rows all come from one sweep of its T lags (then kept)
        steps = self.conn.T if self.conn is not None and self.conn.linear else t
        return row_seconds(self.cell, steps, q) <= INLINE_S

    # -- requests --------------------------------------------------------------------------------
    def ensure_prepared(self) -> bool:
        """Prepared now (True), or being prepared (False: `prepared` follows)."""
        if self.conn is None and self.cell is not None and self.active:
            if prepare_seconds(self.cell, len(self.inputs)) <= PREPARE_INLINE_S:
                self.conn = engine.prepare(self.cell, self.inputs, **self.head)
            else:
                self._next()
        return self.conn is not None

    def row(self, t: int):
        """Row t now, or None (then `row_ready(t, row)` follows, for the newest t asked)."""
        if not self.active or self.cell is None:
            return None
        if self.conn is not None and self.cheap(t):
            self._want_t = None
            return self.conn.row(t)
        self._want_t = int(t)
        self._next()
        return None

    def cancel(self):
        self._want_t = None
        self.worker.cancel()

    # -- the worker ------------------------------------------------------------------------------
    def _next(self):
        if self._running is not None or not self.active or self.cell is None:
            return
        if self.conn is None:
            job = self._prepare_job()
        elif self._want_t is not None:
            job, self._want_t = self._row_job(self._want_t), None
        else:
            return
        self._running = self._gen
        self.worker.start(self._gen, job)

    def _prepare_job(self):
        cell, inputs, head = self.cell, self.inputs, self.head

        def job(ctx):
            return "prepared", engine.prepare(cell, inputs, progress=throttled(ctx), **head)
        return job

    def _row_job(self, t: int):
        cell, cache, head, slot = self.cell, self.conn.cache, self.head, self._slot

        def job(ctx):
            if "conn" not in slot:                     # this thread's own Connectivity
                slot["conn"] = engine.Connectivity(cell, cache, **head)
            return "row", t, slot["conn"].row(t, progress=throttled(ctx))
        return job

    def _on_finished(self, gen: int, payload):
        self._running = None
        if gen == self._gen:
            if payload[0] == "prepared":
                self.conn = payload[1]
                self.prepared.emit()
            else:
                self.row_ready.emit(payload[1], payload[2])
        self._next()

    def _on_failed(self, gen: int, message: str, details: str):
        self._running = None
        if gen == self._gen and message:
            self.cell = None                            # a failure is not retried
            self.failed.emit(message)
        self._next()

    def shutdown(self):
        self.cancel()
        self.worker.wait(0.25)


class ConnectivityView(QWidget):
    """Public: heat (PlotItem), image (Heatmap of the matrix, row t−1 = h_t, column k−1 = x_k),
    colour_bar, cursor (row t), bars_plot, bars (the row at the current step), pick (the bar at k),
    readout (Readout, the how-to-read lines), output_toggle (QCheckBox), progress (QProgressBar),
    rows (RowSource), matrix_worker (Worker). Signals: matrix_ready(matrix (T, T)),
    reading_changed(Reading or None), k_changed(int)."""

    matrix_ready = Signal(object)
    reading_changed = Signal(object)
    k_changed = Signal(int)

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("connectivity_view")
        self.session = session
        self._analysis = None
        self._gen = 0
        self._matrices: dict = {}                 # mode ("input" / "output") → (T, T)
        self._drawings: dict = {}                 # mode → {matrix, levels, image: (img, stride)}
        self._running = None                      # (gen, mode) of the matrix job in flight
        self._k, self._hover_k = 1, None
        self._t, self._row = 0, None
        self._range = None                        # the bars' y range (lo, hi) in decades
        self._levels = (-1.0, 1.0)                # the matrix' colour levels in decades
        self.reading = None
        self.image_stride = 1
        self._build()
        self.rows = RowSource(parent=self)
        self.rows.prepared.connect(self._on_prepared)
        self.rows.row_ready.connect(self._on_row_ready)
        self.rows.failed.connect(self._on_failed_message)
        self.matrix_worker = Worker("gatescope-connectivity")
        self.matrix_worker.finished.connect(self._on_matrix)
        self.matrix_worker.failed.connect(self._on_matrix_failed)
        self.matrix_worker.progress.connect(self._on_progress)
        self.apply_style()
        session.analysis_changed.connect(self._on_analysis)
        session.step_changed.connect(self._on_step)
        if session.analysis is not None:
            self._on_analysis(session.analysis)

    # -- construction ----------------------------------------------------------------------------
    def _build(self):
        self.readout = Readout(lines=2, max_lines=8)
        self.readout.setObjectName("connectivity_readout")
        self.output_toggle = QCheckBox("output ŷ")
        self.output_toggle.setObjectName("connectivity_output")
        self.output_toggle.setToolTip("Show ‖∂ŷ_t/∂x_k‖, how much each input drives the model's "
                                      "prediction at step t, instead of ‖∂h_t/∂x_k‖")
        self.output_toggle.hide()
        self.output_toggle.toggled.connect(self._on_mode)
        self.progress = QProgressBar()
        self.progress.setObjectName("connectivity_progress")
        self.progress.setRange(0, 100)
        self.progress.setFormat("matrix %p%")
        self.progress.setMaximumWidth(160)
        self.progress.hide()
        self.status = QLabel()
        self.status.setObjectName("connectivity_status")
        self.status.hide()
        top = QHBoxLayout()
        top.addWidget(self.status, 1)
        top.addWidget(self.progress)
        top.addWidget(self.output_toggle)
        self.graphs = pg.GraphicsLayoutWidget()
        self.k_axis = TimeAxis("bottom")
        self.t_axis = StepAxis("left")
        self.heat = self.graphs.addPlot(enableMenu=False, row=0, col=0, axisItems={"left": self.t_axis,
                                                                 "bottom": self.k_axis})
        self.image = Heatmap()
        self.cmap = pg.colormap.get(CMAP)
        self.image.setLookupTable(self.cmap.getLookupTable(nPts=256))
        self.heat.addItem(self.image)
        self.heat.invertY(True)                   # row t = 1 at the top, as in the matrix A
        self.cursor = HeatmapCursor()
        self.cursor.setAngle(0)
        self.heat.addItem(self.cursor, ignoreBounds=True)
        self.marker = pg.ScatterPlotItem(size=9, symbol="s")
        self.heat.addItem(self.marker, ignoreBounds=True)
        self.colour_bar = colour_bar((-1, 1), self.cmap, widest="10⁻¹⁰⁰⁰⁰")
        self.graphs.addItem(self.colour_bar, row=0, col=1)
        self.bar_k_axis = TimeAxis("bottom")
        self.bars_plot = self.graphs.addPlot(enableMenu=False, row=1, col=0, axisItems={"left": PowerOfTenAxis("left"),
                                                                      "bottom": self.bar_k_axis})
        self.bars = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
        self.pick = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
        self.bars_plot.addItem(self.bars)
        self.bars_plot.addItem(self.pick)
        self.bars_plot.setXLink(self.heat)
        for p in (self.heat, self.bars_plot):
            p.setMouseEnabled(x=False, y=False)
        self.graphs.ci.layout.setRowStretchFactor(0, 3)
        self.graphs.ci.layout.setRowStretchFactor(1, 2)
        self.graphs.scene().sigMouseMoved.connect(self._on_mouse)
        self.graphs.scene().sigMouseClicked.connect(self._on_click)
        # the labels are fitted to their axes once the layout has placed them
        self._label_timer = label_fitter(self, (self.heat, self.bars_plot), self._fit_labels)
        # the readout and the plots scroll where the panel is shorter than their least heights
        self.content, self.scroll = scrolling_page("connectivity", self.readout, self.graphs)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addWidget(self.scroll, 1)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        th = self.theme
        for w in (self.readout, self.output_toggle, self.status, self.progress):
            w.setFont(th.font(0))
        self._styled_symbol = self.target_symbol()
        th.style_plot(self.heat)
        th.style_plot(self.bars_plot)
        self._fit_labels()
        set_least_heights(self.graphs, (((self.heat,), MIN_HEIGHTS["heat"]),
                                        ((self.bars_plot,), MIN_HEIGHTS["bars"])), th.scale)
        self.heat.showGrid(x=False, y=False)
        self._align_axes()
        self.cursor.apply_style(th)
        style_colour_bar(self.colour_bar, th)
        self.bars.setOpts(brush=pg.mkBrush(th.MEASURED), pen=pg.mkPen(None))
        self.pick.setOpts(brush=pg.mkBrush(th.SIGMA1), pen=th.pen(th.CURSOR, 1))
        self.marker.setBrush(pg.mkBrush(th.SIGMA1))
        self.marker.setPen(th.pen("#ffffff", 1.5))

    def _fit_labels(self):
        """Each axis label, the longest of `axis_labels` that is no longer than its axis (a label
        longer than its axis ran over the plot below it)."""
        labels, style = axis_labels(self._styled_symbol), self.theme._label_style()
        for plot, key in ((self.heat, "heat"), (self.bars_plot, "bars")):
            for name in ("left", "bottom"):
                fit_axis_label(plot.getAxis(name), labels[f"{key}_{name}"], **style)

    def _align_axes(self):
        """Both left axes equally wide (the powers of ten below, the tokens above), so that bar k
        stands under column k of the heatmap."""
        from PySide6.QtGui import QFontMetrics
        fm = QFontMetrics(self.theme.font(-1))
        tokens = self._tokens() if getattr(self, "_analysis", None) is not None else None
        longest = max((fm.horizontalAdvance(t) for t in tokens), default=0) if tokens else 0
        # the widest power of ten (PowerOfTenAxis.fix_width) or token, and the axis title
        text = max(fm.horizontalAdvance("10⁻¹⁰⁰⁰⁰"), min(longest, 16 * fm.averageCharWidth()))
        width = text + 2 * fm.height() + 8
        self.bars_plot.getAxis("left").setWidth(width)
        self.t_axis.setWidth(width)

    # -- public ----------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        """"output" (‖∂ŷ_t/∂x_k‖ through the model's readout) or "input" (‖∂h_t/∂x_k‖)."""
        return "output" if self.output_toggle.isChecked() and self._head() else "input"

    def target_symbol(self) -> str:
        return "ŷ" if getattr(self, "_analysis", None) is not None and self.mode == "output" else "h"

    @property
    def k(self) -> int:
        """The input the how-to-read line is about (hovered, else chosen), 1 ≤ k ≤ t."""
        k = self._hover_k if self._hover_k is not None else self._k
        return max(1, min(k, max(self._t, 1)))

    def set_k(self, k: int):
        """Choose input k (as a click on its bar does)."""
        self._k = max(1, int(k))
        self._hover_k = None
        self._update_reading()
        self.k_changed.emit(self.k)

    def matrix(self) -> np.ndarray | None:
        """The (T, T) matrix of the current mode, once computed (else None)."""
        return self._matrices.get(self.mode)

    def row(self) -> np.ndarray | None:
        """The row drawn at the current step (T,), or None."""
        return self._row

    def bar_row(self) -> np.ndarray:
        """What the bars show, as a row (T,) (NaN where there is no bar)."""
        a = self._analysis
        return bar_row(self.bars, a.steps if a is not None else 0)

    def readout_text(self) -> str:
        return self.readout.plain_text()

    def export_targets(self) -> dict:
        """name → pyqtgraph item, for PNG / SVG export (gui.exporting.export_item)."""
        return {"connectivity": self.graphs.ci, "connectivity_matrix": self.heat,
                "connectivity_row": self.bars_plot}

    def write_csv(self, fh):
        """The matrix of the current mode as CSV rows k, token, t, log10_influence for every
        1 ≤ k ≤ t ≤ T (−inf: a path exactly 0; nan: unknown). ValueError (one line) while the
        matrix is not computed yet or when it has more than MAX_CSV_ROWS entries."""
        A = self.matrix()
        if A is None:
            raise ValueError("the connectivity matrix is not computed yet: show the Connectivity "
                             "view and wait for it")
        T = A.shape[0]
        if T * (T + 1) // 2 > MAX_CSV_ROWS:
            raise ValueError(f"T = {T}: {T * (T + 1) // 2:,} entries are too many for CSV (at most "
                             f"{MAX_CSV_ROWS:,}); write an NPZ with simulate --connectivity")
        tokens = self._tokens() or [""] * T
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["k", "token", "t", "log10_influence"])
        for t in range(1, T + 1):
            vals = A[t - 1]
            w.writerows([k, tokens[k - 1], t, repr(float(vals[k - 1]))] for k in range(1, t + 1))

    def csv_text(self) -> str:
        buf = io.StringIO()
        self.write_csv(buf)
        return buf.getvalue()

    # -- visibility: a hidden view does no work ----------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        self._align_axes()                        # (an axis hidden when sized reserves no room)
        self.rows.set_active(True)
        self._refresh()

    def hideEvent(self, event):
        super().hideEvent(event)
        self.rows.set_active(False)
        self.matrix_worker.cancel()

    def _active(self) -> bool:
        return self.isVisible()

    # -- session events ----------------------------------------------------------------------
    def _head(self):
        return readout_head(self._analysis) if self._analysis is not None else None

    def _tokens(self):
        a = self._analysis
        return list(a.tokens[:a.steps]) if a is not None and a.tokens else None

    def _on_analysis(self, a):
        if a is self._analysis:                   # the same analysis again (a restyle): redraw
            self._redraw()
            return
        self._analysis = a
        self._gen += 1
        self._matrices, self._drawings, self._range, self._row = {}, {}, None, None
        self.matrix_worker.cancel()
        head = self._head()
        self.output_toggle.setVisible(head is not None)
        self.rows.set_sequence(a.cell, a.trace.inputs, head if self.mode == "output" else None)
        T = a.steps
        tokens = self._tokens()
        for ax in (self.k_axis, self.t_axis, self.bar_k_axis):
            ax.set_tokens(tokens)
        self.image.clear()
        self.heat.setRange(xRange=(0.5, T + 0.5), yRange=(0.5, T + 0.5), padding=0)
        self.progress.hide()
        if self.target_symbol() != self._styled_symbol:
            self.apply_style()                    # the axis labels name h or ŷ
        self._t = min(self.session.step, T)
        if self._active():
            self._refresh()
        else:
            self._clear_row("")

    def _redraw(self):
        self.apply_style()
        A = self.matrix()
        if A is not None:
            self._draw_matrix(A)
        elif self._row is not None:
            self._draw_row(self._t, self._row)

    def _on_mode(self, _on=None):
        if self._analysis is None:
            return
        if self._running is not None and self._running[1] != self.mode:
            self.matrix_worker.cancel()           # the other mode's matrix: the one asked for first
        self._range, self._row = None, None
        self.rows.set_head(self._head() if self.mode == "output" else None)
        self.apply_style()
        A = self.matrix()
        if A is not None:
            self._draw_matrix(A)
        else:
            self.image.clear()
        if self._active():
            self._refresh()

    def _on_step(self, t: int):
        if self._analysis is None:
            return
        self._t = min(max(0, int(t)), self._analysis.steps)
        self.cursor.setValue(self._t)
        if self._active():
            self._show_row()

    def _refresh(self):
        """Catch up on what a hidden view skipped: prepare, the row at the step, the matrix."""
        if self._analysis is None or not self._active():
            return
        self._t = min(self.session.step, self._analysis.steps)
        self.cursor.setValue(self._t)
        if self.rows.ensure_prepared():
            self._show_row()
            self._start_matrix()
        else:
            self._clear_row("preparing the sequence…")

    def _on_prepared(self):
        self._show_row()
        self._start_matrix()

    # -- the row at the cursor ---------------------------------------------------------------
    def _show_row(self):
        t = self._t
        if t <= 0:
            self._clear_row("t = 0: no input has been read yet; step forward")
            return
        A = self.matrix()
        row = None
        if self.rows.ready and self.rows.cheap(t):
            row = self.rows.row(t)
        elif A is not None:
            row = A[t - 1]
        else:
            row = self.rows.row(t)
        if row is None:
            self._set_status(f"computing row {t}…")
            return
        self._draw_row(t, row)

    def _on_row_ready(self, t: int, row):
        if t == self._t and self._active():
            self._draw_row(t, row)

    def _draw_row(self, t: int, row):
        self._row = np.asarray(row, dtype=np.float64)
        lo, hi = self._bar_range(self._row[:t])
        set_bars(self.bars, self._row, t, lo)
        if getattr(self, "_y_shown", None) != (lo, hi):        # a new range re-renders the axis
            self._y_shown = (lo, hi)
            self.bars_plot.setYRange(lo, hi, padding=0.1)     # the end decades' labels drawn whole
        self._update_reading()
        a = self._analysis
        note = ""
        if a.trace.overflow_step is not None:
            note = (f"h leaves float64 range at t = {a.trace.overflow_step}: shown up to "
                    f"t = {a.steps}")
        elif np.isnan(self._row[:t]).any():
            note = f"row {t} is unknown where the state left float64 range (gaps)"
        self._set_status(note)

    def _bar_range(self, row) -> tuple[float, float]:
        """Whole decades covering the matrix (once known) and every row drawn, growing only."""
        A = self.matrix()
        parts = [decade_levels(row)] + ([self._levels] if A is not None else [])
        if self._range is not None:
            parts.append(self._range)
        self._range = (min(p[0] for p in parts), max(p[1] for p in parts))
        return self._range

    def _clear_row(self, message: str):
        self._row = None
        set_bars(self.bars, [], 0, 0.0)
        set_bars(self.pick, [], 0, 0.0)
        self.marker.setData([], [])
        self.readout.setText(message)
        self._set_status("")
        self._set_reading(None)

    def _update_reading(self):
        t, row = self._t, self._row
        if row is None or t <= 0:
            return
        k = self.k
        lo = self._range[0] if self._range else 0.0
        val = row[k - 1]
        if np.isfinite(val):
            set_bars(self.pick, np.where(np.arange(row.size) == k - 1, row, np.nan), t, lo)
            self.marker.setData([float(k)], [float(t)])
        else:
            set_bars(self.pick, [], 0, lo)
            self.marker.setData([], [])
        reading = how_to_read(row, t, k, tokens=self._tokens(), target=self.target_symbol())
        self.readout.setText(reading.html())
        self._set_reading(reading)

    def _set_reading(self, reading):
        self.reading = reading
        self.reading_changed.emit(reading)

    # -- the whole matrix, off the GUI thread ------------------------------------------------
    def _start_matrix(self):
        mode = self.mode
        if (self._running is not None or mode in self._matrices or not self.rows.ready
                or not self._active()):
            return
        cell, cache = self._analysis.cell, self.rows.cache
        head = self._head() if mode == "output" else {}

        def job(ctx):
            A = engine.Connectivity(cell, cache, **head).matrix(progress=throttled(ctx))
            levels = decade_levels(A)
            return {"matrix": A, "levels": levels, "image": heat_image(A, *levels)}
        self._running = (self._gen, mode)
        self.matrix_worker.start(self._gen, job)

    def _on_matrix(self, gen: int, result):
        running, self._running = self._running, None
        if gen == self._gen and running is not None:
            self._matrices[running[1]] = result["matrix"]
            self._drawings[running[1]] = result
            self.progress.hide()
            if running[1] == self.mode:
                self._draw_matrix(result["matrix"])
                self.matrix_ready.emit(result["matrix"])
        self._start_matrix()

    def _on_matrix_failed(self, gen: int, message: str, details: str):
        self._running = None
        self.progress.hide()
        if gen == self._gen and message:
            self._on_failed_message(message)
            return
        self._start_matrix()                   # cancelled: the newest analysis or mode, if any

    def _on_failed_message(self, message: str):
        self._set_status(f"connectivity: {message}")

    def _set_status(self, text: str):
        """The status line, shown only when it says something (no empty row above the plots)."""
        if text != self.status.text():
            self.status.setText(text)
        if self.status.isHidden() == bool(text):
            self.status.setVisible(bool(text))

    def _on_progress(self, gen: int, fraction: float):
        if gen == self._gen:
            self.progress.show()
            self.progress.setValue(int(100 * fraction))

    def _draw_matrix(self, A):
        """The heatmap of A, from the image the worker made of it (levels, image, stride)."""
        T = A.shape[0]
        drawing = self._drawings.get(self.mode)
        if drawing is None or drawing["matrix"] is not A:
            levels = decade_levels(A)
            drawing = {"matrix": A, "levels": levels, "image": heat_image(A, *levels)}
        self._levels = lo, hi = drawing["levels"]
        img, s = drawing["image"]
        self.image_stride = s
        self.image.setImage(img, levels=(lo, hi), autoLevels=False)
        self.image.setRect(QRectF(0.5, 0.5, img.shape[1] * s, img.shape[0] * s))
        self.heat.setRange(xRange=(0.5, T + 0.5), yRange=(0.5, T + 0.5), padding=0)
        self.colour_bar.setLevels((lo, hi))
        self.colour_bar.axis.setTicks([decade_ticks(lo, hi)])
        if self._row is not None:
            self._draw_row(self._t, self._row)

    # -- picking k ---------------------------------------------------------------------------
    def _k_at(self, pos) -> int | None:
        for plot in (self.bars_plot, self.heat):
            if plot.vb.sceneBoundingRect().contains(pos):
                k = int(round(plot.vb.mapSceneToView(pos).x()))
                return k if 1 <= k <= max(self._t, 0) else None
        return None

    def _on_mouse(self, pos):
        k = self._k_at(pos)
        if k != self._hover_k:
            self._hover_k = k
            self._update_reading()

    def _on_click(self, event):
        k = self._k_at(event.scenePos())
        if k is not None:
            self.set_k(k)

    def shutdown(self):
        self.rows.shutdown()
        self.matrix_worker.cancel()
        self.matrix_worker.wait(0.25)
