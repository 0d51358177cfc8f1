"""Compare: the connectivity rows of RNN, LSTM and GRU side by side on the same input — at the
current step t, bars over k = 1…t of log10 ‖∂h_t/∂x_k‖ for each cell, on one shared scale, with the
"how to read it" line of each for the chosen input k (hover or click a bar; default k = 1). The
plain RNN's row falls like σ₁ᵗ⁻ᵏ, the gated cells' stay flatter: the notes' argument seen from the
inputs. Rows come from each kind's prepared sequence (`RowSource`), only while the widget shows.
With a model loaded, its kind's title names the layer drawn ("layer 2 of 3 (reverse)"): its inputs
x_k are that layer's (the layer below's outputs; a reverse direction's in its own time)."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.explain_connectivity import as_html, how_to_read
from gatescope.core.text import escape_html
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .. import style
from ..readout import Readout
from .axes import PowerOfTenAxis, TimeAxis
from .connectivity import RowSource, bar_row, decade_levels, set_bars

KINDS = ("rnn", "lstm", "gru")


def loaded_kind(comparison) -> str | None:
    """The kind whose column is the loaded model's (its analysis has a model line), or None."""
    return next((k for k in KINDS if getattr(comparison[k], "model_line", None)), None)


def model_tag(a) -> str:
    """What a loaded model's column is: "layer 2 of 3 (reverse)", or the model's name."""
    label = getattr(a, "layer_label", None)
    return label.split(",")[0] if label else (a.weights_name or "the loaded model")


class CompareConnectivity(QWidget):
    """Public: plots[kind] (PlotItem), bars[kind], picks[kind] (the bar at k), titles[kind],
    sources[kind] (RowSource), readout (Readout), hint (QLabel); rows() → {kind: (T,) row or
    None}; bar_row(kind); set_k(k); export_targets(). Signal: rows_changed(dict)."""

    rows_changed = Signal(object)

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("compare_connectivity")
        self.session = session
        self._comparison = None
        self.tags: dict = {k: "" for k in KINDS}      # a loaded model's layer, in its kind's title
        self._rows: dict = {k: None for k in KINDS}
        self._t, self._k, self._hover_k = 0, 1, None
        self._range = None
        self.hint = QLabel()
        self.hint.setObjectName("compare_connectivity_hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignCenter)
        self.readout = Readout(lines=3, max_lines=7)      # three cells, each may wrap
        self.readout.setObjectName("compare_connectivity_readout")
        self.graphs = pg.GraphicsLayoutWidget()
        self.plots, self.bars, self.picks, self.titles, self.axes = {}, {}, {}, {}, {}
        for c, kind in enumerate(KINDS):
            self.titles[kind] = pg.LabelItem(justify="center")
            self.graphs.addItem(self.titles[kind], row=0, col=c)
            self.axes[kind] = TimeAxis("bottom")
            p = self.graphs.addPlot(enableMenu=False, row=1, col=c, axisItems={"left": PowerOfTenAxis("left"),
                                                           "bottom": self.axes[kind]})
            p.setMouseEnabled(x=False, y=False)
            self.bars[kind] = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
            self.picks[kind] = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
            p.addItem(self.bars[kind])
            p.addItem(self.picks[kind])
            if c:
                p.setYLink(self.plots[KINDS[0]])
            self.plots[kind] = p
        # the first column also holds the shared y labels: more room, so that its data area
        # is about as wide as the others'
        for c, stretch in enumerate((3, 2, 2)):
            self.graphs.ci.layout.setColumnStretchFactor(c, stretch)
        self.graphs.scene().sigMouseMoved.connect(self._on_mouse)
        self.graphs.scene().sigMouseClicked.connect(self._on_click)
        self.sources = {k: RowSource(f"gatescope-connectivity-{k}", self) for k in KINDS}
        for kind, src in self.sources.items():
            src.prepared.connect(self._show_rows)
            src.row_ready.connect(lambda t, row, kind=kind: self._on_row(kind, t, row))
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.hint)
        lay.addWidget(self.readout)
        lay.addWidget(self.graphs, 1)
        self.apply_style()
        session.comparison_changed.connect(self._on_comparison)
        session.compare_mode_changed.connect(self._on_mode)
        session.step_changed.connect(self._on_step)
        if session.comparison is not None:
            self._on_comparison(session.comparison)
        else:
            self._on_mode(session.compare_mode)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        th = self.theme
        self.hint.setFont(th.font(1))
        self.readout.setFont(th.font(0))
        for kind, p in self.plots.items():
            th.style_plot(p, left="‖∂h<sub>t</sub>/∂x<sub>k</sub>‖" if kind == KINDS[0] else "",
                          bottom="input k")
            if kind == KINDS[0]:      # as wide as its labels need (the range changes rarely)
                p.getAxis("left").fit_width(*getattr(self, "_y_shown", None) or (-1.0, 1.0))
            else:        # y linked to the first column: its labels read for all three, and the
                ax = p.getAxis("left")      # width they took gives each column room for 3 ticks
                ax.setStyle(showValues=False)
                ax.setWidth(8)
            self.bars[kind].setOpts(brush=pg.mkBrush(th.KIND_COLORS[kind]), pen=pg.mkPen(None))
            self.picks[kind].setOpts(brush=pg.mkBrush(th.CURSOR), pen=pg.mkPen(None))
            self._set_title(kind)

    def _set_title(self, kind: str):
        th = self.theme
        size = (style.BASE_POINT_SIZE + 2) * th.scale
        tag = self.tags.get(kind, "")
        tag = (f"<span style='font-size:{(style.BASE_POINT_SIZE - 1) * th.scale:.0f}pt'>&nbsp;&nbsp;"
               f"{escape_html(tag)}</span>") if tag else ""
        self.titles[kind].setText(f"<span style='color:{th.KIND_COLORS[kind]}; font-size:"
                                  f"{size:.0f}pt; font-weight:700'>{kind.upper()}</span>{tag}")

    # -- public ----------------------------------------------------------------------------------
    @property
    def k(self) -> int:
        k = self._hover_k if self._hover_k is not None else self._k
        return max(1, min(k, max(self._t, 1)))

    def set_k(self, k: int):
        self._k, self._hover_k = max(1, int(k)), None
        self._update_text()

    def rows(self) -> dict:
        """kind → the row drawn at the current step (T_kind,), or None."""
        return dict(self._rows)

    def bar_row(self, kind: str) -> np.ndarray:
        a = (self._comparison or {}).get(kind)
        return bar_row(self.bars[kind], a.steps if a is not None else 0)

    def readout_text(self) -> str:
        return self.readout.plain_text()

    def export_targets(self) -> dict:
        return {"compare_connectivity": self.graphs.ci}

    # -- visibility: a hidden widget does no work --------------------------------------------
    def showEvent(self, event):
        super().showEvent(event)
        for src in self.sources.values():
            src.set_active(True)
        self._show_rows()

    def hideEvent(self, event):
        super().hideEvent(event)
        for src in self.sources.values():
            src.set_active(False)

    # -- session events ----------------------------------------------------------------------
    def _on_mode(self, on: bool):
        if not on or self._comparison is None:
            self.hint.setText("Compare mode is off: turn it on (View → Compare mode) to see which "
                              "inputs reach RNN, LSTM and GRU states." if not on else
                              "Computing RNN, LSTM and GRU on the same input…")
            self.hint.show()
            if not on:
                self._comparison = None
                for src in self.sources.values():
                    src.set_sequence(None, None)
                self._clear()

    def _on_comparison(self, comparison):
        if not comparison:
            self._on_mode(self.session.compare_mode)
            return
        if comparison is self._comparison:
            self._show_rows()
            return
        self._comparison = comparison
        self._range = None
        self.hint.hide()
        mine = loaded_kind(comparison)
        for kind in KINDS:
            self.tags[kind] = model_tag(comparison[kind]) if kind == mine else ""
            self._set_title(kind)
        for kind in KINDS:
            a = comparison[kind]
            self.sources[kind].set_sequence(a.cell, a.trace.inputs)
            self._rows[kind] = None
            tokens = list(a.tokens[:a.steps]) if a.tokens else None
            self.axes[kind].set_tokens(tokens)
            self.plots[kind].setXRange(0.5, max(a.steps, 1) + 0.5, padding=0)
        self._show_rows()

    def _on_step(self, t: int):
        if self._comparison is not None:
            self._show_rows()

    def _show_rows(self):
        comp = self._comparison
        if comp is None or not self.isVisible():
            return
        longest = max(comp[k].steps for k in KINDS)
        self._t = t = min(max(0, self.session.step), longest)
        for kind in KINDS:
            src, T = self.sources[kind], comp[kind].steps
            # None while it is prepared or computed off the GUI thread (a signal calls back)
            self._rows[kind] = src.row(t) if 1 <= t <= T and src.ensure_prepared() else None
        self._draw()

    def _on_row(self, kind: str, t: int, row):
        if t == self._t and self.isVisible():
            self._rows[kind] = row
            self._draw()

    # -- drawing -----------------------------------------------------------------------------
    def _clear(self):
        for kind in KINDS:
            self._rows[kind] = None
            set_bars(self.bars[kind], [], 0, 0.0)
            set_bars(self.picks[kind], [], 0, 0.0)
        self.readout.setText("")

    def _draw(self):
        t = self._t
        shown = [r[:t] for r in self._rows.values() if r is not None]
        parts = [decade_levels(np.concatenate(shown))] if shown else []
        if self._range is not None:
            parts.append(self._range)
        if parts:
            self._range = (min(p[0] for p in parts), max(p[1] for p in parts))
        lo, hi = self._range or (-1.0, 1.0)
        for kind in KINDS:
            row = self._rows[kind]
            set_bars(self.bars[kind], [] if row is None else row, t if row is not None else 0, lo)
        if getattr(self, "_y_shown", None) != (lo, hi):        # a new range re-renders the axes
            self._y_shown = (lo, hi)
            self.plots[KINDS[0]].getAxis("left").fit_width(lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo))
            self.plots[KINDS[0]].setYRange(lo, hi, padding=0.1)
        self._update_text()
        self.rows_changed.emit(self.rows())

    def _update_text(self):
        comp, t = self._comparison, self._t
        if comp is None:
            return
        if t <= 0:
            self.readout.setText("t = 0: no input has been read yet; step forward")
            return
        k, lines = self.k, []
        lo = self._range[0] if self._range else 0.0
        for kind in KINDS:
            row, a = self._rows[kind], comp[kind]
            name = f"<b style='color:{self.theme.KIND_COLORS[kind]}'>{kind.upper()}</b> "
            if t > a.steps:
                lines.append(name + f"stopped at t = {a.steps} (float64 overflow)")
                set_bars(self.picks[kind], [], 0, lo)
                continue
            if row is None:
                lines.append(name + f"computing row {t}…")
                continue
            pick = np.where(np.arange(row.size) == k - 1, row, np.nan)
            set_bars(self.picks[kind], pick, t, lo)
            tokens = list(a.tokens[:a.steps]) if a.tokens else None
            r = how_to_read(row, t, k, tokens=tokens)
            lines.append(name + as_html(r.influence_text) + f" · {r.verdict} row")
        self.readout.setText("<br>".join(lines))

    # -- picking k ---------------------------------------------------------------------------
    def _k_at(self, pos):
        for p in self.plots.values():
            if p.vb.sceneBoundingRect().contains(pos):
                k = int(round(p.vb.mapSceneToView(pos).x()))
                return k if 1 <= k <= max(self._t, 0) else None
        return None

    def _on_mouse(self, pos):
        k = self._k_at(pos)
        if k != self._hover_k:
            self._hover_k = k
            self._update_text()

    def _on_click(self, event):
        k = self._k_at(event.scenePos())
        if k is not None:
            self.set_k(k)

    def shutdown(self):
        for src in self.sources.values():
            src.shutdown()
