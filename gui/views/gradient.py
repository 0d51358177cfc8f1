"""Gradient flow: log10 ‖∂s_t/∂s_0‖ against t beside σ₁ᵗ, every σᵢᵗ, Pascanu's bound and the
clipped norm, on a linear axis over log10 values with ticks read as powers of ten."""
from __future__ import annotations

import math
import re

import numpy as np
import pyqtgraph as pg
from gatescope.core.text import escape_html, format_norm, format_pow10, jacobian_norm_name, plain, power_readout
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QVBoxLayout, QWidget

from .. import style
from ..readout import Readout
from .axes import (
    PowerOfTenAxis,
    TimeAxis,
    add_growth_decay_shading,
    finite_or_nan,
    fit_legend_columns,
    nice_ceil,
    set_range_if_changed,
)

#: the LSTM's cell path ‖∂Cₜ/∂C₀‖
CELL_PATH = jacobian_norm_name("lstm", cell_path=True)


def distinct_rows(curves: np.ndarray, exclude: np.ndarray) -> np.ndarray:
    """The curves t·log10 σᵢ with distinct slopes (σᵢ equal to within 1e-12 relative drawn once),
    leaving out those identical to `exclude` (σ₁ᵗ, drawn on its own)."""
    if curves.shape[0] == 0 or curves.shape[1] < 2:
        return curves[:0]
    slopes = curves[:, 1]
    ref = exclude[1] if exclude.shape[0] > 1 else np.nan
    def close(a, b):
        return a == b or (np.isfinite(a) and np.isfinite(b) and abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b)))

    keep, seen = [], []
    for i, s in enumerate(slopes):
        if close(s, ref) or any(close(s, v) for v in seen):
            continue
        seen.append(s)
        keep.append(i)
    return curves[keep]


def _unbreakable(html_text: str) -> str:
    """One readout item kept on one line: no break at its spaces or after a "/" (a value or half
    a norm alone on the next line reads badly); the readout breaks between items only."""
    return re.sub(r"(<[^>]*>)|( )|(/)", lambda m: m.group(1) or ("&nbsp;" if m.group(2) else "/\u2060"),
                  html_text)


def show(item: pg.PlotCurveItem, x=None, y=None):
    """Draw y against x (non-finite values as gaps), or nothing; an empty curve stays untouched."""
    if x is None:
        if item.xData is not None and len(item.xData):
            item.setData([], [])
        return
    item.setData(x, finite_or_nan(y))


class GradientView(QWidget):
    def __init__(self, session, parent=None, *, theme=None):
        super().__init__(parent)
        self.theme = theme or style.DEFAULT
        self.setObjectName("gradient_view")
        self.session = session
        self.readout = Readout(lines=2, max_lines=3)
        self.readout.setObjectName("gradient_readout")
        self.time_axis = TimeAxis("bottom")
        # the legend has a row of its own above the plot: it never covers a curve
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.legend = pg.LegendItem(verSpacing=-4)
        self.plot_widget.addItem(self.legend, row=0, col=0)
        self.plot = self.plot_widget.addPlot(enableMenu=False, row=1, col=0, axisItems={"left": PowerOfTenAxis("left"),
                                                                    "bottom": self.time_axis})
        self.plot_widget.ci.layout.setRowStretchFactor(1, 1)
        self.plot_widget.ci.layout.setContentsMargins(2, 2, 2, 2)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self.readout)
        lay.addWidget(self.plot_widget, 1)
        self._build_items()
        self.apply_style()
        session.analysis_changed.connect(self._on_analysis)
        session.partial_analysis.connect(self._on_partial)
        session.step_changed.connect(self._on_step)
        # the hover box shows one setup's numbers at one moment: gone as soon as they change
        session.config_changed.connect(self.hide_hover)

    def _build_items(self):
        p = self.plot
        self.growth, self.decay, self.unit = add_growth_decay_shading(p)
        def curve(name, **kw):
            # bare curves (PlotCurveItem): setData costs a sixth of a PlotDataItem's
            item = pg.PlotCurveItem(name=name, connect="finite", **kw)
            p.addItem(item)
            return item

        self.sigma_i = curve("every σᵢᵗ (faint)", antialias=False)
        self.sigma1 = curve("σ₁ᵗ")
        self.pascanu = curve("Pascanu bound (γσ₁)ᵗ")
        self.clipped = curve("clipped ‖g‖")
        self.carousel = curve("∏ f (carousel)")
        self.cell_path = curve("‖∂C_t/∂C₀‖")
        self.rho = curve("ρᵗ (spectral radius)")
        self.stack = curve("‖∂S_t/∂S₀‖ (the whole stack)")       # a multi-layer model's state
        self.measured = curve("‖∂s_t/∂s₀‖")
        self.sigma1.setZValue(5)       # dashed σ₁ᵗ stays visible where it coincides with the curve
        self.rho.setZValue(6)          # so does ρᵗ, which the curve follows for a non-normal W
        self.cell_path.setZValue(4)    # and the LSTM's cell path, often right on the curve
        self.cursor = pg.InfiniteLine(pos=0, angle=90, movable=False)
        p.addItem(self.cursor, ignoreBounds=True)
        self.marker = pg.ScatterPlotItem(size=11)
        p.addItem(self.marker)
        p.setMouseEnabled(x=True, y=True)
        # hover: exact values at the step under the mouse
        self.hover = pg.TextItem(anchor=(0, 1), fill=pg.mkBrush(255, 255, 255, 230),
                                 border=pg.mkPen("#888888"))
        self.hover.setZValue(50)
        self.hover.hide()
        p.addItem(self.hover, ignoreBounds=True)
        self.plot_widget.scene().sigMouseMoved.connect(self._on_mouse)
        # the pointer leaving the plot (to another widget, or out of the window) moves nothing
        # in the scene: the box is hidden on the Leave event itself
        self._leave = _LeaveFilter(self.hide_hover, self)
        self.plot_widget.installEventFilter(self._leave)
        self.plot_widget.viewport().installEventFilter(self._leave)

    def apply_style(self, theme=None):
        if theme is not None:
            self.theme = theme
        self.readout.setFont(self.theme.font(2))
        self.theme.style_plot(self.plot, left=self._left_label(), bottom="time step t")
        self.plot.getAxis("left").fix_width()
        self.growth.setBrush(pg.mkBrush(style.on_white(self.theme.GROWTH)))
        self.decay.setBrush(pg.mkBrush(style.on_white(self.theme.DECAY)))
        self.sigma_i.setPen(self.theme.pen(self.theme.SIGMA_I, 1))
        self.sigma1.setPen(self.theme.pen(self.theme.SIGMA1, 2, Qt.DashLine))
        self.pascanu.setPen(self.theme.pen(self.theme.PASCANU, 2, Qt.DotLine))
        self.rho.setPen(self.theme.pen(self.theme.RHO, 2.5, Qt.DashDotDotLine))
        self.clipped.setPen(self.theme.pen(self.theme.CLIPPED, 2.5, Qt.DashDotLine))
        self.carousel.setPen(self.theme.pen(self.theme.CAROUSEL, 2, Qt.DotLine))
        # dashed and above the measured curve, which it often runs along
        self.cell_path.setPen(self.theme.pen(self.theme.CELL_PATH, 2.5, Qt.DashLine))
        self.stack.setPen(self.theme.pen(self.theme.CLIPPED, 3, Qt.DashDotLine))
        self.measured.setPen(self.theme.pen(self.theme.MEASURED, 3.5))
        self.cursor.setPen(self.theme.pen(self.theme.CURSOR, 1.5))
        self.marker.setBrush(pg.mkBrush(self.theme.MEASURED))
        self.marker.setPen(pg.mkPen("w", width=1.5))
        self.legend.setLabelTextSize(self.theme.legend_size())
        self._legend_key = None

    def _left_label(self) -> str:
        """The y-axis label, short when the plot is too short for the long one (small windows,
        large presentation scales)."""
        long = "gradient norm (log scale)"
        room = self.plot_widget.height() - self.plot.getAxis("bottom").height() - 24
        need = QFontMetrics(self.theme.font(0)).horizontalAdvance(long)
        return long if need <= room else "gradient norm"

    def resizeEvent(self, event):
        super().resizeEvent(event)
        fit_legend_columns(self.legend, self.plot_widget.width(), self.theme.font(-1))
        label = self._left_label()
        if label != self.plot.getAxis("left").labelText:
            style.set_axis_label(self.plot.getAxis("left"), label, **{
                "font-size": f"{style.BASE_POINT_SIZE * self.theme.scale:.0f}pt", "color": "#222222"})

    # -- session events --------------------------------------------------------------------------
    def _on_partial(self, a):
        """The first steps of a long run: the new curve's start is drawn at once, over the old
        picture's axes, and the whole curve follows with analysis_changed."""
        self.hide_hover()
        t = np.arange(a.steps + 1, dtype=np.float64)
        show(self.measured, t, a.trace.log10_jac_norm)
        show(self.sigma1, t, a.sigma_curves[0])
        self.partial_steps = a.steps

    def _on_analysis(self, a):
        self.partial_steps = None
        self.hide_hover()
        tr = a.trace
        T = tr.steps
        t = np.arange(T + 1, dtype=np.float64)
        kind = a.cell.kind
        # every σᵢᵗ as one item: curves joined by NaN separators (drawn as gaps); equal singular
        # values draw the same line, so each distinct one is drawn once
        curves = distinct_rows(a.sigma_curves[1:], a.sigma_curves[0])
        if len(curves):
            k = len(curves)
            xs = np.tile(np.append(t, np.nan), k)
            ys = np.concatenate([curves, np.full((k, 1), np.nan)], axis=1).ravel()
            show(self.sigma_i, xs, ys)
        else:
            show(self.sigma_i)
        show(self.sigma1, t, a.sigma_curves[0])
        show(self.measured, t, tr.log10_jac_norm)
        # Pascanu's bound (γσ₁)ᵗ: for the RNN; with γ = 1 (tanh, ReLU, identity) it is σ₁ᵗ itself,
        # so σ₁ᵗ's legend says so and no second, identical line is drawn
        show_pascanu = a.shows_pascanu
        show(self.pascanu, t, a.pascanu) if show_pascanu else show(self.pascanu)
        clip = a.config.clip
        show(self.clipped, t, a.clipped) if clip > 0 else show(self.clipped)
        # a non-normal W: ‖Wᵗ‖ ≤ σ₁ᵗ but ‖Wᵗ‖^(1/t) → ρ, so the plain RNN's curve ends up parallel
        # to ρᵗ, not to σ₁ᵗ (Gelfand's formula); drawn where it differs from σ₁ᵗ
        rho_curve = a.rho_curve
        show(self.rho, t, rho_curve) if rho_curve is not None else show(self.rho)
        if kind == "lstm":
            show(self.cell_path, t, tr.log10_cell_norm)
            show(self.carousel, t, tr.log10_carousel)
        else:
            show(self.cell_path)
            show(self.carousel)
        stack = getattr(a, "stack_log10_jac_norm", None)
        if stack is not None and len(stack) == T + 1:
            show(self.stack, t, stack)
        else:
            stack = None
            show(self.stack)
        self._set_legend(kind, show_pascanu, clip > 0, a.gamma == 1.0, rho_curve is not None,
                         stack is not None)
        self.time_axis.set_tokens(a.tokens)
        # fixed ranges: every curve but the faint ones, with a margin; at least 10^±1
        parts = [tr.log10_jac_norm, a.sigma_curves[0]]
        if kind == "lstm":
            parts += [tr.log10_cell_norm, tr.log10_carousel]
        if show_pascanu:
            parts.append(a.pascanu)
        if rho_curve is not None:
            parts.append(rho_curve)
        if stack is not None:
            parts.append(stack)
        vals = np.concatenate([np.asarray(v)[np.isfinite(v)] for v in parts])
        lo, hi = self._stable_range(min(-1.0, float(vals.min())), max(1.0, float(vals.max())))
        # at least 0.3 of a decade beyond the end decades, so their tick labels are drawn whole
        # (pyqtgraph drops a label cut by the axis' end: 10⁻¹…10² showed only 10⁰ and 10¹)
        pad = max(0.04 * (hi - lo), 0.3)
        # a little room right of the last step: its marker and its word are drawn whole
        xr = (0, max(T, 1) + max(0.5, 0.015 * T))
        set_range_if_changed(self.plot, xr, (lo - pad, hi + pad))
        self._on_step(self.session.step)

    def _stable_range(self, lo: float, hi: float) -> tuple[float, float]:
        """The y range in whole decades (coarser when wide), with hysteresis: it grows as soon as
        the data leave it and shrinks only when the data use less than half of it, so while σ₁
        is dragged the axis (costly to re-render) rarely changes."""
        span = hi - lo
        step = 1.0 if span <= 20 else 10.0 ** math.floor(math.log10(span) - 0.5)
        old = getattr(self, "_y_range", None)
        if old is not None:
            olo, ohi = old
            if olo <= lo and hi <= ohi and span >= 0.5 * (ohi - olo):
                return old
            # growing: leave a quarter of headroom on the side that grew, so the next ticks of a
            # drag stay inside
            if hi > ohi:
                hi += 0.25 * span
            if lo < olo:
                lo -= 0.25 * span
        want = (-nice_ceil(-lo, step), nice_ceil(hi, step))
        self._y_range = want
        return want

    def _set_legend(self, kind, pascanu, clipped, sigma1_is_bound=False, rho=False, stack=False):
        key = (kind, pascanu, clipped, sigma1_is_bound, rho, stack, self.theme.scale)
        if key == getattr(self, "_legend_key", None):
            return
        self._legend_key = key
        self.legend.clear()
        names = [(self.measured, f"{jacobian_norm_name(kind)} ({kind.upper()})")]
        if kind == "lstm":
            names += [(self.cell_path, f"{CELL_PATH} (cell path)"), (self.carousel, "∏ fₜ (carousel)")]
        names += [(self.sigma1, "σ₁ᵗ = Pascanu's bound (γ = 1)" if sigma1_is_bound else "σ₁ᵗ"),
                  (self.sigma_i, "σᵢᵗ, i > 1")]
        if rho:
            names.append((self.rho, "ρᵗ: W not normal, ‖Wᵗ‖^(1/t) → ρ"))
        if pascanu:
            names.append((self.pascanu, "(γσ₁)ᵗ bound (Pascanu)"))
        if clipped:
            names.append((self.clipped, "clipped ‖g‖"))
        if stack:
            names.append((self.stack, "‖∂Sₜ/∂S₀‖: the whole stack (every layer's state)"))
        for item, name in names:
            self.legend.addItem(item, name)
        fit_legend_columns(self.legend, self.plot_widget.width(), self.theme.font(-1))

    def _on_step(self, t: int):
        self.hide_hover()
        a = self.session.analysis
        if a is None:
            return
        tr = a.trace
        t = min(t, tr.steps)
        self.cursor.setValue(t)
        y = tr.log10_jac_norm[t]
        if np.isfinite(y):
            self.marker.setData([t], [y])
        else:
            self.marker.setData([], [])
        s1 = a.sigma1
        kind = a.cell.kind
        parts = [f"t = {t}", f"σ₁<sup>t</sup>: {power_readout(round(s1, 6), t)}",
                 f"{jacobian_norm_name(kind)} = <b style='color:{self.theme.MEASURED}'>{format_norm(y, a.smooth)}</b>"]
        if kind == "lstm":
            parts.append(f"{CELL_PATH} = "
                         f"<b style='color:{self.theme.CELL_PATH}'>{format_norm(tr.log10_cell_norm[t], a.smooth)}</b>")
        rho = a.rho_curve
        if rho is not None and len(rho) > t:
            parts.append(f"ρ<sup>t</sup> = <b style='color:{self.theme.RHO}'>{format_pow10(rho[t])}</b>")
        if a.config.clip > 0:
            parts.append(f"clipped = <b style='color:{self.theme.CLIPPED}'>{format_pow10(a.clipped[t])}</b>"
                         f" (threshold {a.config.clip:g})")
        if a.tokens and t > 0:
            parts.append(f"token “{escape_html(a.tokens[t - 1])}”")
        warning = None
        if tr.overflow_step is not None:       # long: may wrap, and comes first so it is seen
            warning = (f"<span style='color:#b00000'>h leaves float64 range at t = {tr.overflow_step}: "
                       f"shown up to t = {tr.steps}</span>")
        # each "name = value" stays on one line (a value alone on the next line reads badly)
        text = "&nbsp;&nbsp;· ".join(_unbreakable(p) for p in parts)
        self.readout.setText(text if warning is None else warning + "&nbsp;&nbsp;· " + text)

    def hover_text(self, t: int) -> str:
        """Exact values at step t, as shown when hovering the plot."""
        a = self.session.analysis
        tr = a.trace
        lines = [f"t = {t}" + (f"  “{plain(a.tokens[t - 1])}”" if a.tokens and t > 0 else ""),
                 f"{jacobian_norm_name(a.cell.kind)} = {format_norm(tr.log10_jac_norm[t], a.smooth)}"
                 f"  (log10 {tr.log10_jac_norm[t]:.6g})",
                 f"σ₁ᵗ = {format_pow10(a.sigma_curves[0][t])}"]
        if tr.log10_cell_norm is not None:
            lines.append(f"{CELL_PATH} = {format_norm(tr.log10_cell_norm[t], a.smooth)}")
            lines.append(f"∏ fₜ = {format_pow10(tr.log10_carousel[t])}")
        if a.cell.kind == "rnn":
            lines.append(f"(γσ₁)ᵗ = {format_pow10(a.pascanu[t])}")
            rho = a.rho_curve
            if rho is not None:
                lines.append(f"ρᵗ = {format_pow10(rho[t])}  (ρ = {a.spectral_radius:.4g})")
        if a.config.clip > 0:
            lines.append(f"clipped = {format_pow10(a.clipped[t])}")
        return "\n".join(lines)

    def _on_mouse(self, pos):
        a = self.session.analysis
        vb = self.plot.vb
        if a is None or not vb.sceneBoundingRect().contains(pos):
            self.hover.hide()
            return
        pt = vb.mapSceneToView(pos)
        t = int(round(pt.x()))
        if not 0 <= t <= a.steps:
            self.hover.hide()
            return
        self.hover.setText(self.hover_text(t), color="#111111")
        self.hover.setFont(self.theme.font(-1))
        self.hover.setPos(pt.x(), pt.y())
        self.hover.show()

    def hide_hover(self, *_):
        """Take the hover box away (the pointer left the plot, or the numbers it shows changed)."""
        if self.hover.isVisible():
            self.hover.hide()

    def hover_shown(self) -> str | None:
        """The hover box's text as shown, or None when it is hidden."""
        return self.hover.textItem.toPlainText() if self.hover.isVisible() else None

    def readout_text(self) -> str:
        """The readout as shown (plain text)."""
        return self.readout.plain_text()


class _LeaveFilter(QObject):
    """Calls `on_leave` when the watched widget gets a Leave event (the pointer left it)."""

    def __init__(self, on_leave, parent=None):
        super().__init__(parent)
        self._on_leave = on_leave

    def eventFilter(self, obj, event):
        if event.type() == QEvent.Leave:
            self._on_leave()
        return False

