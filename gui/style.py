"""The theme: one object with the colours, pens and fonts of the current presentation scale and
contrast, passed to every view (`view.apply_style(theme)`), so every view draws the same thing the
same way. A Theme is immutable: a scale or contrast change makes a new one, and ×1 after ×2 is
exactly a fresh start's theme."""
from __future__ import annotations

from dataclasses import dataclass

import pyqtgraph as pg
from gatescope.core import colour
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

# Heatmaps: gates in [0, 1], signed values in [−1, 1]
GATE_CMAP = "viridis"
SIGNED_CMAP = "CET-D1"
BASE_POINT_SIZE = 11

#: Curves and marks: name → colour (normal, high contrast), from the colour-blind-safe palette
#: of core.colour (Okabe–Ito based; every pair that shares a plot is ΔE2000 ≥ 20 under
#: deuteranopia, protanopia and tritanopia). One table for every view.
PALETTE = {k: (colour.PALETTE[k], colour.PALETTE_HIGH_CONTRAST[k]) for k in colour.PALETTE}
KIND_PALETTE = dict(colour.KIND_PALETTE)
KIND_PALETTE_HIGH_CONTRAST = dict(colour.KIND_PALETTE_HIGH_CONTRAST)


def on_white(rgba) -> QColor:
    """An (r, g, b, a) tint as the opaque colour it shows on the plots' white background: the
    same look, painted without alpha blending (large shaded areas cost less every frame).
    An opaque colour (a hex string) is returned as it is."""
    if isinstance(rgba, str):
        return QColor(rgba)
    r, g, b, a = rgba
    k = a / 255.0
    return QColor(*(round(k * c + (1.0 - k) * 255.0) for c in (r, g, b)))


def tune_view(view: pg.GraphicsView):
    """Repaint the bounding rectangle of what changed, not the exact region: clipping to a
    many-rectangle region cost more than it saved (≈ 1.2 ms a frame over the Explore tab's views)."""
    view.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)


@dataclass(frozen=True)
class Theme:
    """Presentation scale (×1 … ×3) and contrast; colours by name as attributes (theme.SIGMA1)."""
    scale: float = 1.0
    high_contrast: bool = False

    BASE_POINT_SIZE = BASE_POINT_SIZE
    GATE_CMAP = GATE_CMAP
    SIGNED_CMAP = SIGNED_CMAP

    def __getattr__(self, name):
        if name in PALETTE:
            return PALETTE[name][1 if self.high_contrast else 0]
        raise AttributeError(name)

    @property
    def KIND_COLORS(self) -> dict:  # noqa: N802 - a colour table, named like the others
        return KIND_PALETTE_HIGH_CONTRAST if self.high_contrast else KIND_PALETTE

    def replace(self, **changes) -> Theme:
        import dataclasses
        return dataclasses.replace(self, **changes)

    def font(self, delta: float = 0, bold: bool = False) -> QFont:
        f = QFont()
        f.setPointSizeF((BASE_POINT_SIZE + delta) * self.scale)
        f.setBold(bold)
        return f

    def legend_size(self) -> str:
        """Legend text, in points: it grows with the presentation scale like every other text."""
        return f"{(BASE_POINT_SIZE - 1) * self.scale:.0f}pt"

    def pen(self, color, width: float = 2.0, style=Qt.SolidLine):
        p = pg.mkPen(QColor(*color) if isinstance(color, tuple) else QColor(color),
                     width=width * self.scale * (1.6 if self.high_contrast else 1.0))
        p.setStyle(style)
        p.setCosmetic(True)
        return p

    def _label_style(self) -> dict:
        return {"font-size": f"{BASE_POINT_SIZE * self.scale:.0f}pt", "color": self.TEXT}

    def style_plot(self, plot: pg.PlotItem, *, left: str = "", bottom: str = ""):
        """Legible axes for a projector: large tick fonts, labelled axes, light grid."""
        for name in ("top", "right"):     # hidden, but pyqtgraph re-renders their labels' HTML
            plot.getAxis(name).enableAutoSIPrefix(False)      # at every range change otherwise
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            # an axis repaints only when its range or style changes, not on every cursor move
            ax.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            ax.setTickFont(self.font(-1))
            ax.setPen(pg.mkPen(self.AXIS))
            ax.setTextPen(pg.mkPen(self.TEXT))
        if left:
            set_axis_label(plot.getAxis("left"), left, **self._label_style())
        if bottom:
            set_axis_label(plot.getAxis("bottom"), bottom, **self._label_style())
        plot.showGrid(x=True, y=True, alpha=0.15)
        plot.setMenuEnabled(False)

    def restyle_axes(self, plot: pg.PlotItem):
        """Re-apply tick and label fonts after a scale change, keeping each axis' label text."""
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            ax.setTickFont(self.font(-1))
            ax.setPen(pg.mkPen(self.AXIS))
            ax.setTextPen(pg.mkPen(self.TEXT))
            if ax.labelText:
                set_axis_label(ax, ax.labelText, units=ax.labelUnits or None, **self._label_style())
            # pyqtgraph keeps the widest tick text it has seen (it shrinks only by > 10 px): start
            # again from its defaults, so the axis is as wide as on a fresh start
            ax.textWidth, ax.textHeight = 30, 18
            ax._updateWidth() if name == "left" else ax._updateHeight()
            ax.picture = None
            ax.update()
        legend = getattr(plot, "legend", None)        # a legend made by plot.addLegend (the lab's)
        if legend is not None:
            legend.setLabelTextSize(self.legend_size())
        # a plot's own title (the lab's, the sweep's) grows with the scale like its ticks; at ×1
        # it is pyqtgraph's default size, as on a fresh start
        title = plot.titleLabel
        if title.text:
            if self.scale == 1.0:
                title.opts.pop("size", None)
            else:
                from PySide6.QtWidgets import QApplication  # the title's ×1 font
                title.opts["size"] = f"{QApplication.font().pointSizeF() * self.scale:.0f}pt"
            title.setText(title.text)

    def title_html(self, text: str) -> str:
        return (f"<span style='font-size:{(BASE_POINT_SIZE + 2) * self.scale:.0f}pt; "
                f"font-weight:600'>{text}</span>")


def set_axis_label(ax: pg.AxisItem, text: str, **style) -> None:
    """ax.setLabel, then the label placed for its new text. pyqtgraph places an axis label only
    when the axis is resized, from the label's width then: a new text on an axis that keeps its
    size stayed where the old one was (a longer left label was drawn off the plot, so a fresh
    start showed no 'gradient norm (log scale)' until a scale change resized the axis)."""
    ax.setLabel(text, **style)
    ax.resizeEvent(None)


#: The theme of a fresh start (×1, normal contrast).
DEFAULT = Theme()

pg.setConfigOptions(antialias=True, background="w", foreground="#222222", imageAxisOrder="row-major")


# -- the fresh-start theme as module functions, for views that do not take a theme yet ----------
def font(delta: float = 0, bold: bool = False) -> QFont:
    return DEFAULT.font(delta, bold)


def pen(color, width: float = 2.0, style=Qt.SolidLine):
    return DEFAULT.pen(color, width, style)


def style_plot(plot: pg.PlotItem, *, left: str = "", bottom: str = ""):
    DEFAULT.style_plot(plot, left=left, bottom=bottom)


KIND_COLORS = dict(KIND_PALETTE)
globals().update({name: colours[0] for name, colours in PALETTE.items()})
