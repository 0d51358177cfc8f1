"""Axis helpers shared by the views: powers of ten from log10 values, and token labels on time."""
from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from gatescope.core.text import minus, plain, pow10_label  # pow10_label: still importable from here
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem, QGraphicsRectItem, QGraphicsTextItem


def _label_px(axis: pg.AxisItem) -> float:
    """A tick label's height in pixels at the axis' tick font."""
    font = axis.style.get("tickFont")
    pt = font.pointSizeF() if font is not None and font.pointSizeF() > 0 else 9.0
    return pt * 1.33 * 1.2


class ReadableAxis(pg.AxisItem):
    """A linear axis whose ticks stay readable at every size and presentation scale: a 1-2-5
    spacing wide enough for its labels never to touch, ticks only where their labels are drawn
    whole (pyqtgraph drops a label that would cross the axis' end), and at least three of them
    wherever three fit. `integer=True` for unit indices and the like."""

    def __init__(self, orientation, *, integer: bool = False, chars: int = 4, **kw):
        super().__init__(orientation, **kw)
        self.integer, self.chars = integer, chars

    def _extent_px(self) -> float:
        """A label's extent along the axis: its height (left/right) or its width (top/bottom),
        measured with the tick font."""
        from PySide6.QtGui import QFontMetricsF
        font = self.style.get("tickFont")
        if font is None:
            h = _label_px(self)
            return h if self.orientation in ("left", "right") else 0.62 * h * self.chars
        fm = QFontMetricsF(font)
        return fm.height() if self.orientation in ("left", "right") else fm.horizontalAdvance("0" * self.chars)

    def updateAutoSIPrefix(self):                  # noqa: N802 (pyqtgraph's name)
        """No SI scaling: these labels are the values themselves (tickStrings ignores the scale),
        so the axis label must never say "(x0.001)". The label is still re-rendered, as
        pyqtgraph does here (the layouts rely on that pass)."""
        self.autoSIPrefixScale = 1.0
        self.labelUnitPrefix = ""
        self._updateLabel()

    def _least_label_px(self) -> float:
        """A lower bound of `_label_extent` for any ticks: spacings finer than it are skipped
        unmeasured (measuring the hundreds of labels of a fine spacing cost milliseconds a
        repaint). Numeric labels hold at least one digit; other labels (tokens) only the 2 px."""
        if self.orientation in ("left", "right"):
            return self._extent_px()
        font = self.style.get("tickFont")
        if font is None or not self._numeric_labels():
            return 2.0
        key = (font.key(), "digit")
        if getattr(self, "_least_key", None) != key:
            from PySide6.QtGui import QFontMetricsF
            fm = QFontMetricsF(font)
            self._least_key = key
            self._least = 2.0 + 0.9 * min(fm.horizontalAdvance(d) for d in "0123456789")
        return self._least

    def _numeric_labels(self) -> bool:
        """Whether every tick label is a number (a subclass labelling ticks otherwise says no)."""
        return type(self).tickStrings in (ReadableAxis.tickStrings, PowerOfTenAxis.tickStrings)

    def _label_extent(self, values, step) -> float:
        """The widest (bottom/top) or tallest (left/right) of these ticks' labels, in pixels."""
        if self.orientation in ("left", "right") or not values:
            return self._extent_px()
        from PySide6.QtGui import QFontMetricsF
        font = self.style.get("tickFont")
        if font is None:
            return self._extent_px()
        fm = QFontMetricsF(font)
        return max(fm.horizontalAdvance(t) for t in self.tickStrings(values, 1.0, step)) + 2

    def tickValues(self, minVal, maxVal, size):
        span = maxVal - minVal
        if not (math.isfinite(minVal) and math.isfinite(maxVal) and math.isfinite(span)) \
                or span <= 0 or size <= 0:
            return []
        per_px = span / size
        e0 = min(max(math.floor(math.log10(span)) - 3, -300), 300)      # 10^e stays finite
        mults = (1, 2, 3, 4, 5) if self.integer else (1, 2, 2.5, 5)
        steps = [m * 10.0 ** e for e in range(e0, e0 + 6) for m in mults]
        if self.integer:
            steps = [v for v in steps if v >= 1 and float(v).is_integer()] or [1.0]

        def ticks(step, ext):
            margin = (0.5 * ext + 1.5) * per_px                  # half a label: drawn whole
            lo, hi = minVal + margin, maxVal - margin
            if hi < lo:
                return []
            first = math.ceil(lo / step - 1e-9)
            return [k * step for k in range(first, int(math.floor(hi / step + 1e-9)) + 1)]

        best = None
        least = self._least_label_px()
        for step in steps:                                       # the finest readable spacing
            if step < 1.15 * least * per_px:      # no label is narrower than `least`: they'd touch
                continue
            ext = self._label_extent(ticks(step, self._extent_px()), step)
            vals = ticks(step, ext)
            if step < 1.15 * ext * per_px:                       # labels would touch
                continue
            if 3 <= len(vals) <= 7:
                return [(step, vals)]
            if len(vals) < 3:
                best = best or (step, vals)
                break
        if self.integer:       # three whole numbers spread over the room, if they are readable
            ext = self._label_extent([math.ceil(minVal), math.floor(maxVal)], 1.0)   # their own width
            margin = (0.5 * ext + 1.5) * per_px
            first, last = math.ceil(minVal + margin), math.floor(maxVal - margin)
            step = (last - first) // 2
            if step >= max(1, 1.15 * ext * per_px):
                return [(float(step), [first, first + step, first + 2 * step])]
        return [best] if best else []

    def tickStrings(self, values, scale, spacing):
        if self.integer or all(abs(v - round(v)) < 1e-9 for v in values):
            return [minus(f"{round(v):d}") for v in values]
        decimals = next((d for d in range(1, 5) if all(abs(round(v, d) - v) < 1e-9 for v in values)), 4)
        return [minus(f"{v:.{decimals}f}") for v in values]


def readable_axes(left: pg.AxisItem) -> dict:
    """axisItems for a plot of whole-number x (iterations, steps, gaps): the given left axis and
    a ReadableAxis at the bottom."""
    return {"left": left, "bottom": ReadableAxis("bottom", integer=True)}


def _pow10_tick(v: float) -> str:
    """A tick at log10 value v: "10⁻¹" for a whole decade, "2×10⁻¹" for log10 2 − 1."""
    if not math.isfinite(v) or abs(v - round(v)) < 1e-9:
        return pow10_label(v)
    e = math.floor(v + 1e-12)
    m = 10.0 ** (v - e)
    if abs(m - round(m)) < 1e-6:
        return f"{round(m)}×{pow10_label(e)}"
    return pow10_label(v)


class PowerOfTenAxis(ReadableAxis):
    """A linear axis over log10 values whose ticks read as powers of ten, at whole exponents,
    spaced and placed like every ReadableAxis (three labelled ticks wherever three fit).

    pyqtgraph's own log mode exponentiates the data and breaks beyond float range (10^±308);
    this axis never leaves log space, so 10^±600 is drawn correctly."""

    def __init__(self, orientation, **kw):
        super().__init__(orientation, integer=True, chars=4, **kw)

    def tickValues(self, minVal, maxVal, size):
        """Whole decades; where fewer than three fit in the range (a curve spanning 0.1 … 1),
        steps within the decades (1-2-5, or 1-3: log10 2, log10 5 or log10 3 above each), the
        finest whose labels never touch."""
        ticks = super().tickValues(minVal, maxVal, size)
        if (ticks and len(ticks[0][1]) >= 3) or not (math.isfinite(minVal) and math.isfinite(maxVal)) \
                or not 0 < maxVal - minVal < 4 or size <= 0:
            return ticks
        ext = self._extent_px()
        per_px = (maxVal - minVal) / size
        margin = (0.5 * ext + 1.5) * per_px
        lo, hi = minVal + margin, maxVal - margin
        for mults in ((1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 5), (1, 2, 5), (1, 3)):   # finest first
            vals = [e + math.log10(m) for e in range(math.floor(lo), math.ceil(hi) + 1) for m in mults]
            vals = [v for v in vals if lo <= v <= hi]
            gaps = np.diff(vals) / per_px if len(vals) > 1 else [np.inf]
            if len(vals) >= 3 and min(gaps) >= 1.15 * ext:
                return [(float(min(np.diff(vals))), vals)]
        return ticks

    def tickStrings(self, values, scale, spacing):
        return [_pow10_tick(v) for v in values]

    def _width_for(self, labels) -> None:
        """A fixed width for the widest of these tick labels, the axis label and its margins."""
        from PySide6.QtGui import QFontMetrics
        font = self.style.get("tickFont")
        fm = QFontMetrics(font) if font is not None else QFontMetrics(self.font())
        self.setWidth(max(fm.horizontalAdvance(t) for t in labels) + 2 * fm.height() + 8)

    def fit_width(self, lo: float, hi: float):
        """A width for the labels of the whole decades in [lo, hi] (log10), where the range is
        known and changes rarely: room for the data beside it in narrow columns."""
        ks = range(math.floor(lo), math.ceil(hi) + 1) if math.isfinite(lo) and math.isfinite(hi) else [0]
        self._width_for([pow10_label(k) for k in ks])

    def fix_width(self):
        """A fixed width that fits labels up to "10⁻¹⁰⁰⁰⁰": a new range never changes the plot's
        layout (which would re-render the other axes too)."""
        self._width_for(["10⁻¹⁰⁰⁰⁰"])


#: a token axis keeps at least this many labels (long tokens are cut to fit)
MIN_TOKEN_LABELS = 4


class TimeAxis(ReadableAxis):
    """Time steps (whole numbers, spaced like every ReadableAxis); where the input is text, tick t
    is labelled with the token read at step t, every k-th step so that the labels never overlap."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, integer=True, chars=4, **kwargs)
        self._tokens: list[str] | None = None

    def set_tokens(self, tokens):
        # user text, shown as plain text: lone surrogates, control and bidi characters made safe
        tokens = [plain(t) for t in tokens] if tokens else None
        if tokens == self._tokens:
            return                      # keep the cached drawing
        self._tokens = tokens
        self.picture = None
        self.update()

    def _font_metrics(self):
        from PySide6.QtGui import QFontMetrics
        font = self.style.get("tickFont")
        return QFontMetrics(font) if font is not None else QFontMetrics(self.font())

    def _char_px(self) -> float:
        font = self.style.get("tickFont")
        return 0.62 * font.pointSizeF() * 1.35 if font is not None else 8.0

    def _chars(self, size) -> int:
        """How many characters a token label may keep so that at least MIN_TOKEN_LABELS fit along
        `size` pixels (a long word at ×2 left two labels on a narrow plot); longer ones are cut
        with '…'."""
        longest = max(len(t) for t in self._tokens)
        room = (size / MIN_TOKEN_LABELS - 14) / self._char_px()
        return max(3, min(longest, int(room)))

    def tickSpacing(self, minVal, maxVal, size):
        px_per_step = size / max(maxVal - minVal, 1e-9)
        self._limit = self._chars(size)
        need = (self._limit * self._char_px() + 14) / max(px_per_step, 1e-9)
        return [(float(max(1, math.ceil(need))), 0)]

    def tickValues(self, minVal, maxVal, size):
        if not self._tokens:
            return super().tickValues(minVal, maxVal, size)
        step = self.tickSpacing(minVal, maxVal, size)[0][0]
        first = max(1, math.ceil(minVal))
        values = [v for v in np.arange(first, math.floor(maxVal) + 1, step) if v <= len(self._tokens)]
        return [(step, values)]

    def _numeric_labels(self) -> bool:
        return not self._tokens          # step numbers, or the tokens read

    def tickStrings(self, values, scale, spacing):
        if not self._tokens:
            return super().tickStrings(values, scale, spacing)
        limit = getattr(self, "_limit", None) or max(len(t) for t in self._tokens)
        out = []
        for v in values:
            k = int(round(v))
            t = self._tokens[k - 1] if 1 <= k <= len(self._tokens) else ""
            out.append(t if len(t) <= limit else t[:limit - 1] + "…")
        return out


def finite_or_nan(a) -> np.ndarray:
    """Plot-safe copy: ±inf and NaN become NaN (drawn as gaps, never as garbage)."""
    a = np.array(a, dtype=np.float64)
    a[~np.isfinite(a)] = np.nan
    return a


def clipped32(a, lo: float, hi: float) -> np.ndarray:
    """float32 copy for an image on fixed levels [lo, hi]: NaN → the middle, ±inf and anything beyond
    the levels → the nearest level (clipped in float64 first, so nothing overflows the cast)."""
    a = np.array(a, dtype=np.float64)
    a = np.nan_to_num(a, nan=0.5 * (lo + hi), posinf=hi, neginf=lo)
    return np.clip(a, lo, hi).astype(np.float32)


def add_growth_decay_shading(plot: pg.PlotItem):
    """Shade growth (log10 > 0) and decay (log10 < 0) behind a log-norm plot, with the 10⁰ line.
    Plain rectangles in data coordinates (cheaper to paint than LinearRegionItems), kept to the
    view's range: fixed rectangles 10⁷ units wide became ≈ 2·10⁹ device pixels on a short, large
    plot, past the painter's integer range, and were drawn in the wrong colours or not at all.
    Returns (growth, decay, unit line); brushes are set by the view's apply_style."""
    growth, decay = QGraphicsRectItem(), QGraphicsRectItem()
    for region in (growth, decay):
        region.setPen(pg.mkPen(None))
        region.setZValue(-100)
        plot.addItem(region, ignoreBounds=True)

    def follow(_vb=None, ranges=None):
        (x0, x1), (y0, y1) = ranges if ranges is not None else plot.vb.viewRange()
        dx, dy = x1 - x0, y1 - y0                          # a margin: panning never shows an edge
        left, width = x0 - dx, 3 * dx
        growth.setRect(QRectF(left, 0.0, width, max(0.0, y1 + dy)))
        decay.setRect(QRectF(left, min(0.0, y0 - dy), width, max(0.0, -(y0 - dy))))
    plot.vb.sigRangeChanged.connect(follow)
    follow()
    unit = pg.InfiniteLine(pos=0, angle=0, movable=False, pen=pg.mkPen("#888888", width=1))
    plot.addItem(unit, ignoreBounds=True)
    return growth, decay, unit


def nice_ceil(x: float, step: float) -> float:
    """x rounded up to a multiple of `step`: plot ranges that move in steps, not with every
    slider tick, so the axes (costly to re-render) stay cached while a slider is dragged."""
    return math.ceil(x / step - 1e-9) * step


def set_range_if_changed(plot: pg.PlotItem, x: tuple, y: tuple):
    """setRange only when the range differs from the last one set (no axis re-render)."""
    key = (tuple(round(v, 9) for v in x), tuple(round(v, 9) for v in y))
    if getattr(plot, "_gatescope_range", None) != key:
        plot._gatescope_range = key
        plot.setRange(xRange=x, yRange=y, padding=0)


def colour_bar(levels, cmap, widest: str | None = None) -> pg.ColorBarItem:
    """A fixed, non-interactive colour bar whose ticks sit 10 % inside its ends, so the labels of
    bars stacked in one column never collide."""
    bar = pg.ColorBarItem(values=tuple(levels), colorMap=cmap, interactive=False, width=14)
    bar._gatescope_widest = widest          # the widest label it will ever show (relabelled bars)
    for name in ("right", "top", "bottom"):      # hidden: no label HTML re-rendered at every range
        bar.getAxis(name).enableAutoSIPrefix(False)
    label_colour_bar(bar, levels)
    style_colour_bar(bar)
    return bar


def style_colour_bar(bar: pg.ColorBarItem, theme=None):
    """Tick labels at the theme's tick size (and the presentation scale)."""
    from .. import style
    bar.axis.setTickFont((theme or style.DEFAULT).font(-1))
    # drawn from a cache, re-rendered only when relabelled (the plots beside repaint every frame);
    # a new theme drops the old cache: it was drawn at another sub-pixel position, and a pixmap
    # moved by a fraction of a pixel is not what a fresh drawing there gives
    bar.axis.setCacheMode(QGraphicsItem.NoCache)
    bar.axis.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
    _fit_bar_width(bar)


def _fit_bar_width(bar: pg.ColorBarItem):
    """ColorBarItem fixes its axis at 45 px, and pyqtgraph drops the tick labels that do not fit:
    the width is set, at the tick font, for the widest label the bar will show — for a bar
    relabelled as a scale changes, its widest possible label, so a new scale never re-lays out
    the plot (that cost a frame's budget whenever a label grew)."""
    from PySide6.QtGui import QFontMetrics
    font = bar.axis.style.get("tickFont")
    fm = QFontMetrics(font) if font is not None else QFontMetrics(bar.axis.font())
    widest = getattr(bar, "_gatescope_widest", None)
    texts = [widest] if widest else [t for _, t in (getattr(bar, "_gatescope_ticks", None) or [[(0, "−0.88")]])[0]]
    need = max(fm.horizontalAdvance(t) for t in texts) + 14
    if need != bar.axis.minimumWidth():
        bar.axis.setWidth(need)


def label_colour_bar(bar: pg.ColorBarItem, levels, scale: float = 1.0, fmt=None):
    """Ticks 10 % inside the bar's ends (and its middle), labelled with the value they stand for:
    level × scale (a bar on fixed levels [−1, 1] showing data divided by `scale`). Relabelled only
    when the labels change, so the bar's axis is re-rendered only then."""
    lo, hi = levels
    inset = 0.1 * (hi - lo)
    fmt = fmt or (lambda v: f"{v:g}")
    ticks = [[(v, minus(fmt(v * scale))) for v in (lo + inset, 0.5 * (lo + hi), hi - inset)]]
    if getattr(bar, "_gatescope_ticks", None) != ticks:
        bar._gatescope_ticks = ticks
        bar.axis.setTicks(ticks)
        if not getattr(bar, "_gatescope_widest", None):
            _fit_bar_width(bar)


class HeatmapCursor(pg.InfiniteLine):
    """The step cursor over a heatmap: a dark line on a white halo, visible on every colour of
    every colour map (a red line vanished on red cells)."""

    def __init__(self):
        from .. import style
        super().__init__(angle=90, movable=False)
        self.apply_style(style.DEFAULT)

    def apply_style(self, theme):
        self.setPen(theme.pen(theme.CURSOR, 2))
        halo = theme.pen("#ffffff", 5)
        self._halo = halo
        self.setHoverPen(halo)        # never hovered (not movable); widens the bounding rect
        self.prepareGeometryChange()
        self._boundingRect = None     # recomputed with the (maybe wider) halo

    def paint(self, p, *args):
        pen = self.currentPen
        self.currentPen = self._halo
        super().paint(p, *args)
        self.currentPen = pen
        super().paint(p, *args)


def fit_legend_columns(legend, width: float, font=None) -> int:
    """As many legend columns as fit in `width` pixels (the legend sits in a row of its own above
    its plot, so its text can grow with the presentation scale without covering a curve). The
    labels are measured with `font` (the legend's), not their laid-out size, which lags a font
    change."""
    from PySide6.QtGui import QFontMetricsF
    items = legend.items
    if not items or width <= 0:
        return legend.columnCount
    fm = QFontMetricsF(font) if font is not None else None
    # a sample, the label (its laid-out text runs a little wider than measured) and the spacing
    widest = max(sample.boundingRect().width() + 40 +
                 (1.08 * fm.horizontalAdvance(label.text) if fm is not None else label.boundingRect().width())
                 for sample, label in items)
    cols = int(max(1, min(len(items), (width - 16) // max(widest, 1.0))))
    if cols != legend.columnCount:
        legend.setColumnCount(cols)
    return cols


def place_legend(legend, vb, curves, xr, yr):
    """Anchor `legend` in the corner of the view box `vb` that the curves (each sampled at
    t = 0, 1, …) cross least, x range xr and y range yr as set; re-anchored only when the corner
    changes. → the corner (left/right 0/1, top/bottom 0/1)."""
    legend._gatescope_last = (vb, curves, xr, yr)
    if not getattr(legend, "_gatescope_follows", False):      # the sizes change: judge again
        legend._gatescope_follows = True
        again = lambda *_: place_legend(legend, *legend._gatescope_last)     # noqa: E731
        vb.sigResized.connect(again)
        legend.geometryChanged.connect(again)
    if getattr(legend, "_gatescope_busy", False):     # our own re-layout of the legend calling back
        return getattr(legend, "_gatescope_corner", None)
    legend._gatescope_busy = True
    try:
        return _place_legend(legend, vb, curves, xr, yr)
    finally:
        legend._gatescope_busy = False


def _place_legend(legend, vb, curves, xr, yr):
    box, lg = vb.boundingRect(), legend.boundingRect()
    # a short plot (small window, large fonts): the legend in two columns, back to one when it
    # would fit again (hysteresis, so it never flips frame to frame)
    cols = legend.columnCount
    if box.height() > 0 and lg.height() > 0:
        if cols == 1 and lg.height() > 0.5 * box.height() and len(legend.items) > 2:
            legend.setColumnCount(2)
            if legend.boundingRect().width() > 0.9 * box.width():    # two columns would not fit
                legend.setColumnCount(1)
        elif cols == 2 and (lg.height() < 0.22 * box.height() or lg.width() > 0.9 * box.width()):
            legend.setColumnCount(1)
        if legend.columnCount != cols:
            lg = legend.boundingRect()
    fw = min(1.0, (lg.width() + 10) / box.width()) if box.width() > 0 and lg.width() > 0 else 0.35
    fh = min(1.0, (lg.height() + 10) / box.height()) if box.height() > 0 and lg.height() > 0 else 0.45
    curves = [np.asarray(c, dtype=np.float64) for c in curves if c is not None and len(c)]
    corner = getattr(legend, "_gatescope_corner", None)
    if curves:
        n = min(len(c) for c in curves)
        # 80 samples in t (every step when there are fewer: a short curve's segments count)
        idx = np.unique(np.linspace(0, n - 1, 80).astype(np.intp)) if n > 1 else np.zeros(1, np.intp)
        xs = (idx - xr[0]) / (xr[1] - xr[0])
        ys = (np.array([c[idx] for c in curves]) - yr[0]) / (yr[1] - yr[0])
        ys[~np.isfinite(ys)] = -1.0                                      # gaps count nowhere
        left, right = xs <= fw, xs >= 1 - fw
        top, bottom = ys >= 1 - fh, (ys <= fh) & (ys >= 0)
        hits = {(0, 0): np.count_nonzero(top & left), (1, 0): np.count_nonzero(top & right),
                (0, 1): np.count_nonzero(bottom & left), (1, 1): np.count_nonzero(bottom & right)}
        pick = min(hits, key=lambda c: (hits[c], c != corner))
        # move only for a clearly emptier corner: a legend that hops between two nearly equal
        # corners on every slider tick re-lays itself out each time
        if corner in hits and hits[pick] + 3 > hits[corner]:
            pick = corner
    else:
        pick = corner or (0, 0)
    if pick != corner:
        legend._gatescope_corner = pick
        cx, cy = pick
        legend.anchor(itemPos=(cx, cy), parentPos=(cx, cy), offset=(-10 if cx else 10, -10 if cy else 10))
    return pick


#: pixels an axis label keeps free of its axis' ends
LABEL_CLEARANCE = 4.0


def label_px(axis: pg.AxisItem, text: str, style: dict | None = None) -> float:
    """The length along `axis` of `text` drawn as its label (the label's font; `style`, default
    the axis' own label style), measured off the axis (nothing on it changes): the document
    margin left out; a left or right label is drawn rotated, so its width is its length."""
    saved = axis.labelText, axis.labelStyle
    axis.labelText = text
    if style is not None:
        axis.labelStyle = style
    try:
        html = pg.AxisItem.labelString(axis)      # pyqtgraph's own: no subclass' short form
    finally:
        axis.labelText, axis.labelStyle = saved
    font = axis.label.font()
    key = (html, font.key())
    cache = axis.__dict__.setdefault("_gatescope_label_px", {})
    if key not in cache:
        item = QGraphicsTextItem()
        item.setFont(font)
        item.setHtml(html)
        cache[key] = item.boundingRect().width() - 2 * item.document().documentMargin()
    return cache[key]


def label_room(axis: pg.AxisItem) -> float:
    """The length a label of `axis` may take: the axis' length less LABEL_CLEARANCE."""
    length = axis.height() if axis.orientation in ("left", "right") else axis.width()
    return length - LABEL_CLEARANCE


def fitting_label(axis: pg.AxisItem, labels, style: dict | None = None) -> str:
    """The first of `labels` (longest first) no longer than label_room(axis), else the last:
    the one rule every view's axes choose a label by (a label longer than its axis runs over
    the plot's neighbours). Call it once the layout has placed the axis."""
    labels = list(labels)
    room = label_room(axis)
    for text in labels:
        if label_px(axis, text, style) <= room:
            return text
    return labels[-1]


def fit_axis_label(axis: pg.AxisItem, labels, **style) -> str:
    """Set the fitting_label of `labels` on the axis, with `style`. → the label set."""
    from .. import style as gui_style
    text = fitting_label(axis, labels, style)
    if text != axis.labelText or style != getattr(axis, "_gatescope_label_style", None):
        gui_style.set_axis_label(axis, text, **style)
        axis._gatescope_label_style = dict(style)
    return text


# ----------------------------------------------------------------------------------------------
# pyqtgraph re-renders an axis label's HTML on every pen, range, SI-prefix and style change (≈ 15
# times an axis while a window is built, ≈ 50 µs each): set it only when the text changed.

def show_label_html(axis: pg.AxisItem, html: str) -> None:
    """Put `html` into the axis label's text item unless it already holds exactly that."""
    if html != getattr(axis, "_shown_label_html", None):
        axis.label.setHtml(html)
        axis._shown_label_html = html


def _update_label(self):
    """pyqtgraph's AxisItem._updateLabel, the text set only when it changed."""
    show_label_html(self, self.labelString())
    self._adjustSize()
    self.picture = None
    self.update()


pg.AxisItem._updateLabel = _update_label        # every axis, also those PlotItem makes itself
