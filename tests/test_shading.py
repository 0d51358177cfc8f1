"""The growth / decay shading of the gradient plot is drawn in its colours on either side of 10⁰
at every size and scale (rectangles 10⁷ units wide overflowed the painter on a short, large plot:
at 1920×1080 ×2 the growth side showed the decay colour and the decay side none)."""
import pytest
from gatescope.core.presets import get_preset
from PySide6.QtCore import QPointF


@pytest.mark.parametrize("w,h,scale", [(1920, 1080, 2.0), (1280, 720, 1.0), (3840, 2160, 2.0)])
def test_growth_above_and_decay_below_one(qtbot, window_at, w, h, scale):
    session, window = window_at(get_preset("every-direction").config, w, h, scale)
    qtbot.wait(30)
    g = window.gradient
    window.explore.show_panel("gradient")
    qtbot.wait(20)
    image = g.plot_widget.grab().toImage()
    (x0, x1), (y0, y1) = g.plot.vb.viewRange()
    for y, item in ((0.6 * y1, g.growth), (0.6 * y0, g.decay)):
        scene = g.plot.vb.mapViewToScene(QPointF(x0 + 0.55 * (x1 - x0), y))
        p = g.plot_widget.mapFromScene(scene)
        got = image.pixelColor(p.x(), p.y()).name()
        want = item.brush().color().name()
        assert got == want, f"at log10 = {y:.2f}: {got}, the shading is {want}"
