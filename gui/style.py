"""The theme: one object with the colours, pens and fonts of the current presentation scale and
contrast, passed to every view (`view.apply_style(theme)`), so every view draws the same thing the
same way. A Theme is immutable: a scale or contrast change makes a new one, and ×1 after ×2 is
exactly a fresh start's theme."""
from __future__ import annotations

from dataclasses import dataclass, field

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

# Heatmaps: gates in [0, 1], signed values in [−1, 1]
GATE_CMAP = "viridis"
SIGNED_CMAP = "CET-D1"
BASE_POINT_SIZE = 11

#: Curves and marks: name → colour (normal, high contrast). One table for every view.
PALETTE = {
    "MEASURED": ("#1f5fbf", "#1f5fbf"),        # ‖∂s_t/∂s_0‖ of the current cell
    "CELL_PATH": ("#1a9641", "#1a9641"),       # LSTM ‖∂C_t/∂C_0‖
    "CAROUSEL": ("#7fbf7b", "#7fbf7b"),        # ∏ f_t, the conveyor belt alone
    "SIGMA1": ("#d7301f", "#d7301f"),          # σ₁ᵗ
    "SIGMA_I": ((120, 120, 120, 70), (60, 60, 60, 140)),   # every σᵢᵗ, faint
    "PASCANU": ("#e66101", "#e66101"),         # (γσ₁)ᵗ bound
    "CLIPPED": ("#7b3294", "#7b3294"),         # clipped gradient norm
    "RHO": ("#0f8b8d", "#0f8b8d"),             # eigenvalues and the spectral radius ρ, ρᵗ
    "CURSOR": ("#222222", "#000000"),
    "GROWTH": ((215, 48, 31, 28), (215, 48, 31, 60)),      # shading above 10⁰
    "DECAY": ((31, 95, 191, 24), (31, 95, 191, 55)),       # shading below 10⁰
    "TEXT": ("#222222", "#000000"),
    "MUTED_TEXT": ("#555555", "#000000"),
    "AXIS": ("#444444", "#000000"),
}
KIND_PALETTE = {"rnn": "#d7301f", "lstm": "#1a9641", "gru": "#1f5fbf"}


def on_white(rgba) -> QColor:
    """An (r, g, b, a) tint as the opaque colour it shows on the plots' white background: the
    same look, painted without alpha blending (large shaded areas cost less every frame)."""
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
    KIND_COLORS: dict = field(default_factory=lambda: dict(KIND_PALETTE), compare=False)

    BASE_POINT_SIZE = BASE_POINT_SIZE
    GATE_CMAP = GATE_CMAP
    SIGNED_CMAP = SIGNED_CMAP

    def __getattr__(self, name):
        if name in PALETTE:
            return PALETTE[name][1 if self.high_contrast else 0]
        raise AttributeError(name)

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
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            # an axis repaints only when its range or style changes, not on every cursor move
            ax.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
            ax.setTickFont(self.font(-1))
            ax.setPen(pg.mkPen(self.AXIS))
            ax.setTextPen(pg.mkPen(self.TEXT))
        if left:
            plot.setLabel("left", left, **self._label_style())
        if bottom:
            plot.setLabel("bottom", bottom, **self._label_style())
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
                ax.setLabel(ax.labelText, units=ax.labelUnits or None, **self._label_style())
            # pyqtgraph keeps the widest tick text it has seen (it shrinks only by > 10 px): start
            # again from its defaults, so the axis is as wide as on a fresh start
            ax.textWidth, ax.textHeight = 30, 18
            ax._updateWidth() if name == "left" else ax._updateHeight()
            ax.picture = None
            ax.update()

    def title_html(self, text: str) -> str:
        return (f"<span style='font-size:{(BASE_POINT_SIZE + 2) * self.scale:.0f}pt; "
                f"font-weight:600'>{text}</span>")


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
