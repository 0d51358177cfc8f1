"""One place for colours, pens and fonts, so every view draws the same thing the same way."""
from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import QGraphicsItem, QGraphicsView

# Curves (gradient flow, compare overlays)
MEASURED = "#1f5fbf"        # ‖∂s_t/∂s_0‖ of the current cell
CELL_PATH = "#1a9641"       # LSTM ‖∂C_t/∂C_0‖
CAROUSEL = "#7fbf7b"        # ∏ f_t, the conveyor belt alone
SIGMA1 = "#d7301f"          # σ₁ᵗ
SIGMA_I = (120, 120, 120, 70)   # every σᵢᵗ, faint
PASCANU = "#e66101"         # (γσ₁)ᵗ bound
CLIPPED = "#7b3294"         # clipped gradient norm
RHO = "#0f8b8d"             # eigenvalues and the spectral radius ρ, ρᵗ
CURSOR = "#222222"
GROWTH = (215, 48, 31, 28)  # shading above 10⁰
DECAY = (31, 95, 191, 24)   # shading below 10⁰
KIND_COLORS = {"rnn": "#d7301f", "lstm": "#1a9641", "gru": "#1f5fbf"}

# Heatmaps: gates in [0, 1], signed values in [−1, 1]
GATE_CMAP = "viridis"
SIGNED_CMAP = "CET-D1"

BASE_POINT_SIZE = 11
_scale = 1.0


_high_contrast = False


def on_white(rgba) -> QColor:
    """An (r, g, b, a) tint as the opaque colour it shows on the plots' white background: the
    same look, painted without alpha blending (large shaded areas cost less every frame)."""
    r, g, b, a = rgba
    k = a / 255.0
    return QColor(*(round(k * c + (1.0 - k) * 255.0) for c in (r, g, b)))


def scale() -> float:
    return _scale


def high_contrast() -> bool:
    return _high_contrast


def set_high_contrast(on: bool):
    """The high-contrast theme: darker, thicker lines and stronger shading (projectors)."""
    global _high_contrast, SIGMA_I, GROWTH, DECAY, CURSOR
    _high_contrast = bool(on)
    SIGMA_I = (60, 60, 60, 140) if on else (120, 120, 120, 70)
    GROWTH = (215, 48, 31, 60) if on else (215, 48, 31, 28)
    DECAY = (31, 95, 191, 55) if on else (31, 95, 191, 24)
    CURSOR = "#000000" if on else "#222222"


def set_scale(factor: float):
    global _scale
    _scale = float(factor)


def font(delta: float = 0, bold: bool = False) -> QFont:
    f = QFont()
    f.setPointSizeF((BASE_POINT_SIZE + delta) * _scale)
    f.setBold(bold)
    return f


def legend_size() -> str:
    """Legend text: grows with the presentation scale only up to ×1.3, so that at ×2 the legend
    does not cover the plot it explains."""
    return f"{(BASE_POINT_SIZE - 1) * min(_scale, 1.3):.0f}pt"


def pen(color, width: float = 2.0, style=Qt.SolidLine):
    p = pg.mkPen(QColor(*color) if isinstance(color, tuple) else QColor(color),
                 width=width * _scale * (1.6 if _high_contrast else 1.0))
    p.setStyle(style)
    p.setCosmetic(True)
    return p


def style_plot(plot: pg.PlotItem, *, left: str = "", bottom: str = ""):
    """Legible axes for a projector: large tick fonts, labelled axes, light grid."""
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        # an axis repaints only when its range or style changes, not on every cursor move
        ax.setCacheMode(QGraphicsItem.DeviceCoordinateCache)
        ax.setTickFont(font(-1))
        ax.setPen(pg.mkPen("#444444"))
        ax.setTextPen(pg.mkPen("#222222"))
    label_style = {"font-size": f"{(BASE_POINT_SIZE) * _scale:.0f}pt", "color": "#222222"}
    if left:
        plot.setLabel("left", left, **label_style)
    if bottom:
        plot.setLabel("bottom", bottom, **label_style)
    plot.showGrid(x=True, y=True, alpha=0.15)
    plot.setMenuEnabled(False)


def restyle_axes(plot: pg.PlotItem):
    """Re-apply tick and label fonts after a scale change, keeping each axis' label text."""
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        ax.setTickFont(font(-1))
        if ax.labelText:
            ax.setLabel(ax.labelText, units=ax.labelUnits or None,
                        **{"font-size": f"{BASE_POINT_SIZE * _scale:.0f}pt", "color": "#222222"})
        ax.picture = None
        ax.update()


def tune_view(view: pg.GraphicsView):
    """Repaint the bounding rectangle of what changed, not the exact region: clipping to a
    many-rectangle region cost more than it saved (≈ 1.2 ms a frame over the Explore tab's views)."""
    view.setViewportUpdateMode(QGraphicsView.BoundingRectViewportUpdate)


def title_html(text: str) -> str:
    return f"<span style='font-size:{(BASE_POINT_SIZE + 2) * _scale:.0f}pt; font-weight:600'>{text}</span>"


pg.setConfigOptions(antialias=True, background="w", foreground="#222222", imageAxisOrder="row-major")
