"""Compare mode: RNN, LSTM and GRU side by side on the same input and the same spectrum, in
lockstep as the user steps. Top: the three gradient curves log10 ‖∂s_t/∂s_0‖ overlaid with σ₁ᵗ
(the notes' argument in one picture: the RNN follows σ₁ᵗ, the gated cells don't). Below, one
column per cell: its states h_t and its key gate (RNN φ'(a_t), LSTM f_t, GRU z_t), units × time.

With a model loaded, the column of its kind is the layer and direction drawn in Explore (the
Session computes it from the model) while the other two are cells built from the setup: the
`notice` line and that column's title say so ("layer 2 of 3 (reverse)"), and what it reads."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from gatescope.core.text import escape_html, format_pow10, format_scale, jacobian_norm_name, power_readout
from gatescope.core.theory import state_bounded, state_level
from PySide6.QtCore import QRectF, Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from .. import style
from ..readout import Readout
from .axes import (
    HeatmapCursor,
    PowerOfTenAxis,
    TimeAxis,
    add_growth_decay_shading,
    colour_bar,
    finite_or_nan,
    fit_axis_label,
    fit_legend_columns,
)
from .compare_connectivity import CompareConnectivity, loaded_kind, model_tag
from .image import Heatmap
from .panel_parts import label_fitter, scroll_area

KINDS = ("rnn", "lstm", "gru")
#: σ₁ᵗ is drawn dark and dashed here: self.theme.SIGMA1 is the RNN's own red, and the RNN's curve
#: lies on σ₁ᵗ (that is the point of the picture), so the dashes must stay distinguishable.
SIGMA1_COMPARE = style.PALETTE["SIGMA1_COMPARE"][0]
CELL_PATH_COMPARE = style.PALETTE["CELL_PATH_COMPARE"][0]
# kind → (trace attribute or gate key, axis label, fixed levels, what it shows)
KEY_GATE = {
    "rnn": ("slope", "φ'(a<sub>t</sub>)", (0.0, 1.0)),
    "lstm": ("f", "f<sub>t</sub>", (0.0, 1.0)),
    "gru": ("z", "z<sub>t</sub>", (0.0, 1.0)),
}
#: states beyond this are clipped before the float32 cast (they are drawn at the scale's ends)
_F32_SAFE = 1e30


def model_notice(comparison) -> str:
    """One line (plain text) on which column is the loaded model and what the other two are;
    "" without a loaded model."""
    kind = loaded_kind(comparison)
    if kind is None:
        return ""
    a = comparison[kind]
    others = [k for k in KINDS if k != kind]
    ref = comparison[others[0]]
    x = a.trace.inputs[::-1] if a.reverse else a.trace.inputs
    same = x.shape == ref.trace.inputs.shape and np.array_equal(x, ref.trace.inputs)
    name = f"the loaded model {a.weights_name}" if a.weights_name else "the loaded model"
    drawn = f"{model_tag(a)} of {name}" if getattr(a, "layer_label", None) else name
    if a.layer > 0:
        reads = f"reading layer {a.layer}'s outputs"
    else:
        reads = "reading the same input" if same else "reading the input through its own encoding"
    if a.reverse:
        reads += ", from the last step back (its step t reads input T − t + 1)"
    c = a.config
    return (f"{kind.upper()}: {drawn}, as drawn in Explore, {reads}. "
            f"{' and '.join(k.upper() for k in others)}: cells built from the setup (σ₁ = {c.sigma1:g}, "
            f"{c.shape} spectrum, n = {c.hidden}) on the setup's input, not layers of the model.")


def _key_values(a, key: str) -> np.ndarray:
    tr = a.trace
    return np.asarray(tr.slope if key == "slope" else tr.gates[key], dtype=np.float64)


class _Column:
    """One cell's states and key-gate heatmaps in a shared GraphicsLayout column."""

    def __init__(self, layout: pg.GraphicsLayoutWidget, col: int, kind: str, theme):
        self.theme = theme
        self.kind = kind
        self.gate_key, gate_label, self.gate_levels = KEY_GATE[kind]
        self.scale_text = "±1"
        self.tag = ""                # what a loaded model's column is ("layer 2 of 3 (reverse)")
        self.bounded = True          # h on the shared ±1 colour bar (else on its own scale)
        self.title = pg.LabelItem(justify="center")
        layout.addItem(self.title, row=0, col=col)
        self.state_axis = TimeAxis("bottom")
        self.state_plot = layout.addPlot(enableMenu=False, row=1, col=col, axisItems={"bottom": self.state_axis})
        self.state_image = Heatmap()
        self.state_plot.addItem(self.state_image)
        self.state_cmap = pg.colormap.get(style.SIGNED_CMAP)
        self.state_image.setLookupTable(self.state_cmap.getLookupTable(nPts=256))
        self.state_levels = (-1.0, 1.0)
        self.gate_axis = TimeAxis("bottom")
        self.gate_plot = layout.addPlot(enableMenu=False, row=2, col=col, axisItems={"bottom": self.gate_axis})
        self.gate_image = Heatmap()
        self.gate_plot.addItem(self.gate_image)
        self.gate_cmap = pg.colormap.get(style.GATE_CMAP)
        self.gate_image.setLookupTable(self.gate_cmap.getLookupTable(nPts=256))
        self.state_cursor = HeatmapCursor()
        self.gate_cursor = HeatmapCursor()
        self.state_plot.addItem(self.state_cursor, ignoreBounds=True)
        self.gate_plot.addItem(self.gate_cursor, ignoreBounds=True)
        self.theme.style_plot(self.state_plot, left="h<sub>t</sub>")
        self.theme.style_plot(self.gate_plot, left=gate_label)
        for p in (self.state_plot, self.gate_plot):
            p.setMouseEnabled(x=True, y=False)
            p.showGrid(x=False, y=False)
        self.gate_plot.setXLink(self.state_plot)
        self.apply_style()
        self.states = np.zeros((1, 1))
        self.gates = np.zeros((1, 1))

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        for cursor in (self.state_cursor, self.gate_cursor):
            cursor.apply_style(self.theme)

    def set_data(self, a):
        tr = a.trace
        T, n = tr.steps, tr.h.shape[1]
        color = self.theme.KIND_COLORS[self.kind]
        # states h_t (T+1, n): bounded states (core.theory.state_bounded) on the shared colour
        # bar's fixed ±1 (by design, not their own 1-2-5 level: the three columns read alike);
        # unbounded ones on the 1-2-5 level above max |h| (as in Explore), capped for float32
        self.states = np.asarray(tr.h, dtype=np.float64)
        self.bounded = bounded = state_bounded(self.kind, a.cell.nonlinearity)
        m = 1.0 if bounded else float(min(state_level(self.states, False), _F32_SAFE))
        self.state_levels = (-m, m)
        img = np.clip(np.nan_to_num(self.states.T, nan=0.0, posinf=m, neginf=-m), -m, m)
        self.state_image.setImage(img.astype(np.float32), levels=self.state_levels, autoLevels=False)
        self.state_image.setRect(QRectF(-0.5, -0.5, T + 1, n))
        # key gate (T, n), row t−1 made step t
        self.gates = _key_values(a, self.gate_key)
        lo, hi = self.gate_levels
        gimg = np.clip(np.nan_to_num(self.gates.T, nan=0.0), lo, hi).astype(np.float32)
        self.gate_image.setImage(gimg, levels=self.gate_levels, autoLevels=False)
        self.gate_image.setRect(QRectF(0.5, -0.5, max(T, 1), n))
        for p in (self.state_plot, self.gate_plot):
            p.setRange(xRange=(-0.5, T + 0.5), yRange=(-0.5, n - 0.5), padding=0)
        self.state_axis.set_tokens(a.tokens)
        self.gate_axis.set_tokens(a.tokens)
        self.scale_text = "±1" if bounded else f"±{format_scale(m)}"
        size = (style.BASE_POINT_SIZE + 2) * self.theme.scale
        small = (style.BASE_POINT_SIZE - 1) * self.theme.scale
        self.tag = model_tag(a) if getattr(a, "model_line", None) else ""
        tag = f"&nbsp;&nbsp;{escape_html(self.tag)}" if self.tag else ""
        self.title.setText(f"<span style='color:{color}; font-size:{size:.0f}pt; font-weight:700'>"
                           f"{self.kind.upper()}</span><span style='font-size:{small:.0f}pt'>"
                           f"{tag}&nbsp;&nbsp;h<sub>t</sub> scale {self.scale_text}</span>")

    def set_step(self, t: int):
        self.state_cursor.setValue(t)
        self.gate_cursor.setValue(t)


#: the least heights (pixels at ×1) at which each part of the page stays readable: the gradient
#: plot with its legend row and three ticks, the three columns' state and gate heatmaps, the
#: connectivity rows with their readout
MIN_HEIGHTS = {"gradient": 260, "grid": 220, "connectivity": 330}


class CompareView(QWidget):
    """Public: curves[kind] (PlotDataItem), cell_path, sigma1, cursor, markers, readout (Readout),
    hint (QLabel), notice (QLabel: which column is a loaded model, shown only then), columns[kind]
    (state_image, gate_image, state_cursor, gate_cursor, tag, …)."""

    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("compare_view")
        self.session = session
        self.hint = QLabel()
        self.hint.setObjectName("compare_hint")
        self.hint.setWordWrap(True)
        self.hint.setAlignment(Qt.AlignCenter)
        self.readout = Readout(lines=2, max_lines=4)
        self.readout.setObjectName("compare_readout")
        self.notice = QLabel()
        self.notice.setObjectName("compare_model_notice")
        self.notice.setWordWrap(True)
        self.notice.setTextFormat(Qt.PlainText)
        self.notice.hide()
        self.time_axis = TimeAxis("bottom")
        # the legend has a row of its own above the plot: it never covers a curve
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.legend = pg.LegendItem(verSpacing=-4)
        self.plot_widget.addItem(self.legend, row=0, col=0)
        self.plot = self.plot_widget.addPlot(enableMenu=False, row=1, col=0, axisItems={"left": PowerOfTenAxis("left"),
                                                                    "bottom": self.time_axis})
        self.plot_widget.ci.layout.setRowStretchFactor(1, 1)
        self.plot_widget.ci.layout.setContentsMargins(2, 2, 2, 2)
        self.grid = pg.GraphicsLayoutWidget()
        self.grid.ci.setSpacing(4)
        self.content = QWidget()
        inner = QVBoxLayout(self.content)
        inner.setContentsMargins(0, 0, 0, 0)
        inner.addWidget(self.notice)
        inner.addWidget(self.readout)
        inner.addWidget(self.plot_widget, 5)
        # the states and key gates, and which input still reaches h_t in each cell
        self.connectivity = CompareConnectivity(session, theme=self.theme)
        lower = QSplitter(Qt.Vertical)
        lower.addWidget(self.grid)
        lower.addWidget(self.connectivity)
        lower.setSizes([300, 380])
        inner.addWidget(lower, 6)
        self.caption = QLabel()
        self.caption.setObjectName("compare_caption")
        self.caption.setTextFormat(Qt.RichText)
        self.caption.setWordWrap(True)
        inner.addWidget(self.caption)
        # the parts keep readable heights (MIN_HEIGHTS × the presentation scale) and the page
        # scrolls where the window is shorter than their sum: at 1280×720 ×1.5 they were squashed
        # to slivers (no gradient curve, heatmap labels on top of each other)
        self.lower = lower
        self.scroll = scroll_area(self.content, "compare_scroll")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.hint, 1)
        lay.addWidget(self.scroll, 1)
        self._build_items()
        self.columns = {k: _Column(self.grid, c, k, self.theme) for c, k in enumerate(KINDS)}
        self.state_bar = colour_bar((-1, 1), self.columns["rnn"].state_cmap)
        self.gate_bar = colour_bar((0, 1), self.columns["rnn"].gate_cmap)
        self.grid.addItem(self.state_bar, row=1, col=3)
        self.grid.addItem(self.gate_bar, row=2, col=3)
        for c in range(3):
            self.grid.ci.layout.setColumnStretchFactor(c, 1)
        self.grid.ci.layout.setColumnStretchFactor(3, 0)
        self._comparison = None
        self._label_timer = label_fitter(self, (self.plot,), self._fit_left_label)
        self.apply_style()
        session.comparison_changed.connect(self._on_comparison)
        session.compare_mode_changed.connect(self._on_mode)
        session.step_changed.connect(self._on_step)
        if session.comparison is not None:
            self._on_comparison(session.comparison)
        else:
            self._on_mode(session.compare_mode)

    def _build_items(self):
        p = self.plot
        self.growth, self.decay, self.unit = add_growth_decay_shading(p)
        self.curves = {k: p.plot() for k in KINDS}
        self.cell_path = p.plot()
        self.sigma1 = p.plot()
        self.sigma1.setZValue(5)      # the dashes stay visible on top of the RNN's curve
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=False)
        p.addItem(self.cursor, ignoreBounds=True)
        self.markers = pg.ScatterPlotItem(size=12)
        self.markers.setZValue(10)
        p.addItem(self.markers)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        self.hint.setFont(self.theme.font(2))
        k = self.theme.scale
        self.plot_widget.setMinimumHeight(round(MIN_HEIGHTS["gradient"] * k))
        self.grid.setMinimumHeight(round(MIN_HEIGHTS["grid"] * k))
        self.connectivity.setMinimumHeight(round(MIN_HEIGHTS["connectivity"] * k))
        self.notice.setFont(self.theme.font(0))
        self.readout.setFont(self.theme.font(1))
        self.caption.setFont(self.theme.font(-1))
        self.theme.style_plot(self.plot, left="gradient norm (log scale)", bottom="time step t")
        self.plot.getAxis("left").fix_width()
        if hasattr(self, "_label_timer"):
            self._label_timer.start()             # the short label, where the long one is too long
        self.growth.setBrush(pg.mkBrush(style.on_white(self.theme.GROWTH)))
        self.decay.setBrush(pg.mkBrush(style.on_white(self.theme.DECAY)))
        for k, item in self.curves.items():
            item.setPen(self.theme.pen(self.theme.KIND_COLORS[k], 3.5))
        self.cell_path.setPen(self.theme.pen(CELL_PATH_COMPARE, 2.5, Qt.DashLine))
        self.sigma1.setPen(self.theme.pen(SIGMA1_COMPARE, 2, Qt.DashLine))
        self.cursor.setPen(self.theme.pen(self.theme.CURSOR, 1.5))
        self.markers.setPen(pg.mkPen("w", width=1.5))
        self.legend.setLabelTextSize(self.theme.legend_size())
        columns = getattr(self, "columns", {})
        for col in columns.values():
            col.apply_style(self.theme)
        for bar in (getattr(self, "state_bar", None), getattr(self, "gate_bar", None)):
            if bar is not None:
                bar.axis.setTickFont(self.theme.font(-1))
        if getattr(self, "connectivity", None) is not None:
            self.connectivity.apply_style(self.theme)
        # a scale or theme change: redraw what carries sizes in its text (titles, legend)
        if getattr(self, "_comparison", None) is not None:
            self._on_comparison(self._comparison)

    # -- session events --------------------------------------------------------------------------
    def _show_content(self, on: bool):
        self.content.setVisible(on)
        self.hint.setVisible(not on)

    def _on_mode(self, on: bool):
        if not on:
            self._comparison = None
            self.hint.setText("Compare mode is off. Turn it on (View → Compare mode) to run RNN, LSTM "
                              "and GRU on the same input and the same spectrum, side by side.")
            self._show_content(False)
        elif self._comparison is None:
            self.hint.setText("Computing RNN, LSTM and GRU on the same input and spectrum…")
            self._show_content(False)

    def _on_comparison(self, comparison):
        if not comparison:
            self._on_mode(self.session.compare_mode)
            return
        self._comparison = comparison
        # a plain RNN whose state leaves float64 range stops early (its trace says where): each
        # cell is drawn over its own steps, the axis and σ₁ᵗ over the longest
        longest = max((comparison[k] for k in KINDS), key=lambda a: a.steps)
        T = longest.steps
        for k in KINDS:
            y = comparison[k].trace.log10_jac_norm
            self.curves[k].setData(np.arange(len(y), dtype=np.float64), finite_or_nan(y))
            self.columns[k].set_data(comparison[k])
        cp = comparison["lstm"].trace.log10_cell_norm
        self.cell_path.setData(np.arange(len(cp), dtype=np.float64), finite_or_nan(cp))
        self.sigma1.setData(np.arange(T + 1, dtype=np.float64), finite_or_nan(longest.sigma_curves[0]))
        self.time_axis.set_tokens(_forward(comparison).tokens)
        self._set_legend(comparison)
        notice = model_notice(comparison)
        self.notice.setText(notice)
        self.notice.setVisible(bool(notice))
        keep = "near 0 (the notes' convention)" if comparison["gru"].cell.convention == "seed" \
            else "near 1 (PyTorch's convention)"
        unbounded = [k.upper() for k in KINDS if not self.columns[k].bounded]
        own = f" ({', '.join(unbounded)} on its own scale: φ is unbounded)" if unbounded else ""
        self.caption.setText(
            "Rows are units, columns time steps. Top: states h<sub>t</sub> on ±1" + own + ". "
            "Bottom: each cell's key gate on [0, 1]: RNN φ'(a<sub>t</sub>) (≈ 0 where a unit "
            "saturates, which shrinks the gradient); LSTM forget gate f<sub>t</sub> (≈ 1 carries "
            f"C<sub>t</sub>); GRU update gate z<sub>t</sub> (keeps h<sub>t−1</sub> {keep}).")
        parts = [comparison[k].trace.log10_jac_norm for k in KINDS]
        parts += [comparison["lstm"].trace.log10_cell_norm, longest.sigma_curves[0]]
        # the legend judges every curve over the same steps: a shorter one ends in a gap
        parts = [np.concatenate([p, np.full(T + 1 - len(p), np.nan)]) for p in parts]
        vals = np.concatenate([np.asarray(v)[np.isfinite(v)] for v in parts])
        lo, hi = min(-1.0, float(vals.min())), max(1.0, float(vals.max()))
        pad = 0.06 * (hi - lo)
        xr = (0, max(T, 1) + max(0.5, 0.015 * T))        # the last step's markers drawn whole
        self.plot.setRange(xRange=xr, yRange=(lo - pad, hi + pad), padding=0)
        self._show_content(True)
        self._on_step(self.session.step)

    def _set_legend(self, comparison):
        self.legend.clear()
        for k in KINDS:
            self.legend.addItem(self.curves[k], f"{k.upper()}  {jacobian_norm_name(k)}")
        self.legend.addItem(self.cell_path, f"LSTM cell path {jacobian_norm_name('lstm', cell_path=True)}")
        self.legend.addItem(self.sigma1, f"σ₁ᵗ (σ₁ = {comparison['rnn'].sigma1:.4g})")
        fit_legend_columns(self.legend, self.plot_widget.width(), self.theme.font(-1))
        self._label_timer.start()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        fit_legend_columns(self.legend, self.plot_widget.width(), self.theme.font(-1))

    def _fit_left_label(self):
        """The long y label where the axis is tall enough for it (measured as drawn), else the
        short one: a label longer than its axis ran up over the legend (1920×1080 ×2)."""
        fit_axis_label(self.plot.getAxis("left"), ("gradient norm (log scale)", "gradient norm"),
                       **self.theme._label_style())

    def _on_step(self, t: int):
        comp = self._comparison
        if comp is None:
            return
        a0 = max((comp[k] for k in KINDS), key=lambda a: a.steps)
        t = min(max(0, int(t)), a0.steps)
        a0 = _forward(comp)          # the tokens and σ₁ in input order (not a reverse direction's)
        self.cursor.setValue(t)
        # past the end of a trace that stopped early (float64 overflow): no value, no marker
        ys = [comp[k].trace.log10_jac_norm[t] if t <= comp[k].steps else np.nan for k in KINDS]
        pts = [(t, y, k) for y, k in zip(ys, KINDS) if np.isfinite(y)]
        self.markers.setData([p[0] for p in pts], [p[1] for p in pts],
                             brush=[pg.mkBrush(self.theme.KIND_COLORS[p[2]]) for p in pts])
        for col in self.columns.values():
            col.set_step(t)
        parts = [f"<b>t = {t}</b>"]
        if a0.tokens and 0 < t <= len(a0.tokens):
            parts.append(f"token “{escape_html(a0.tokens[t - 1])}”")
        parts.append(f"σ₁<sup>t</sup>: {power_readout(round(a0.sigma1, 6), t)}")
        for k, y in zip(KINDS, ys):
            shown = format_pow10(y) if t <= comp[k].steps else \
                f"stopped at t = {comp[k].steps} (float64 overflow)"
            parts.append(f"{k.upper()} <b style='color:{self.theme.KIND_COLORS[k]}'>{shown}</b>")
        cell_path = format_pow10(comp['lstm'].trace.log10_cell_norm[t])
        parts.append(f"LSTM cell path <b style='color:{self.theme.CELL_PATH}'>{cell_path}</b>")
        self.readout.setText("&nbsp;&nbsp;·&nbsp;&nbsp;".join(parts))

    def readout_text(self) -> str:
        return self.readout.text()

    def notice_text(self) -> str:
        """The loaded-model line shown above the plot ("" when none is shown)."""
        return self.notice.text() if self.notice.isVisibleTo(self) else ""


def _forward(comparison):
    """The longest analysis in input order: a loaded reverse direction runs in its own time."""
    return max((comparison[k] for k in KINDS if not comparison[k].reverse), key=lambda a: a.steps)

