"""The faster drawing paths draw the same thing: heatmaps in an RGB32 image with the lookup
table's colours, opaque shading equal to the tint composited over white, readouts that show their
text and paint only themselves."""
import numpy as np
import pyqtgraph as pg
import pytest
from gatescope.gui import style
from gatescope.gui.readout import Readout
from gatescope.gui.views.image import Heatmap
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget


@pytest.fixture
def plot(qtbot):
    w = pg.PlotWidget()
    qtbot.addWidget(w)
    w.resize(500, 300)
    w.show()
    return w


def test_heatmap_renders_the_lookup_tables_colours_as_rgb32(plot):
    lut = pg.colormap.get(style.SIGNED_CMAP).getLookupTable(nPts=256)
    data = np.random.default_rng(0).uniform(-1, 1, (7, 40)).astype(np.float32)
    fast, plain = Heatmap(), pg.ImageItem()
    for item in (fast, plain):
        item.setLookupTable(lut)
        item.setImage(data, levels=(-1.0, 1.0), autoLevels=False)
        plot.addItem(item)
        item.render()
    assert plain.qimage.format() == QImage.Format_Indexed8          # what pyqtgraph makes
    assert fast.qimage.format() == QImage.Format_RGB32               # what the painter scales fast
    for r in range(data.shape[0]):
        for c in range(data.shape[1]):
            assert fast.qimage.pixel(c, r) == plain.qimage.pixel(c, r)
    # and the colour is the table's entry for the value (pyqtgraph's own level mapping)
    k = int(np.clip((data[3, 5] + 1.0) / 2.0 * 256, 0, 255))
    assert QColor(fast.qimage.pixel(5, 3)).getRgb()[:3] == pytest.approx(tuple(lut[k]), abs=1)


def test_heatmap_with_transparent_pixels_keeps_them_transparent(plot):
    data = np.ones((3, 4), dtype=np.float32)
    data[1, 2] = np.nan                              # pyqtgraph draws NaN as transparent
    item = Heatmap()
    item.setLookupTable(pg.colormap.get(style.GATE_CMAP).getLookupTable(nPts=256))
    item.setImage(data, levels=(0.0, 1.0), autoLevels=False)
    plot.addItem(item)
    item.render()
    assert item.qimage.format() == QImage.Format_ARGB32_Premultiplied
    assert QColor.fromRgba(item.qimage.pixel(2, 1)).alpha() == 0
    assert QColor.fromRgba(item.qimage.pixel(0, 0)).alpha() == 255


@pytest.mark.parametrize("tint", [(215, 48, 31, 28), (31, 95, 191, 24), (215, 48, 31, 60), (0, 0, 0, 255)])
def test_opaque_shading_is_the_tint_composited_over_white(tint):
    img = QImage(4, 4, QImage.Format_RGB32)
    img.fill(QColor("white"))
    p = QPainter(img)
    p.fillRect(0, 0, 4, 4, QColor(*tint))            # Qt's own source-over blend
    p.end()
    assert style.on_white(tint).getRgb()[:3] == pytest.approx(QColor(img.pixel(1, 1)).getRgb()[:3], abs=1)


def ink(widget) -> int:
    """Pixels of the widget (grabbed) that differ from its background colour."""
    img = widget.grab().toImage().convertToFormat(QImage.Format_RGB32)
    bg = widget.palette().color(widget.backgroundRole()).rgb()
    arr = np.frombuffer(img.constBits(), np.uint32, img.sizeInBytes() // 4)
    return int(np.count_nonzero((arr & 0xFFFFFF) != (bg & 0xFFFFFF)))


def test_readout_shows_its_text_and_never_relays_out(qtbot):
    holder = QWidget()
    lay = QVBoxLayout(holder)
    r = Readout(lines=2)
    lay.addWidget(r)
    lay.addWidget(QWidget(), 1)
    qtbot.addWidget(holder)
    holder.resize(400, 200)
    holder.show()
    qtbot.waitExposed(holder)
    assert r.testAttribute(Qt.WA_OpaquePaintEvent)
    assert ink(r) == 0                                   # empty: background only
    geometry = r.geometry()
    r.setText("σ₁<sup>t</sup> = <b style='color:#d7301f'>37.8</b>")
    assert r.text().endswith("37.8</b>")
    short = ink(r)
    assert short > 0
    r.setText("σ₁<sup>t</sup> = <b>37.8</b> · a much longer line of text that needs more ink to draw")
    assert ink(r) > short
    assert r.geometry() == geometry                      # new text: same place, same size
    red = r.grab().toImage()
    r.setText("plain")
    assert r.grab().toImage() != red


def test_plain_readout_shows_markup_literally(qtbot):
    r = Readout(lines=1, plain=True)
    qtbot.addWidget(r)
    r.resize(300, 40)
    r.setText("<b>x</b>")
    assert r.text() == "<b>x</b>" and r._doc.toPlainText() == "<b>x</b>"
    html = Readout(lines=1)
    qtbot.addWidget(html)
    html.setText("<b>x</b>")
    assert html._doc.toPlainText() == "x"


def test_states_colour_bar_ticks_read_in_units_of_the_state(qtbot):
    from gatescope.core import Config
    from gatescope.gui.session import Session
    from gatescope.gui.views.states import StatesView
    session = Session(Config(cell="rnn", activation="identity", sigma1=1.01, length=365))
    view = StatesView(session)
    qtbot.addWidget(view)
    view.resize(500, 400)
    view.show()
    session.refresh()
    assert session.wait_idle()
    h = session.analysis.trace.h
    m = view.h_row.levels[1]
    assert np.max(np.abs(h)) <= m < 5 * np.max(np.abs(h))          # a 1-2-5 level above max |h|
    ticks = view.h_row.bar.axis._tickLevels[0]
    shown = {round(v, 9): text for v, text in ticks}
    assert shown[0.8] == f"{0.8 * m:g}" and shown[-0.8] == f"−{0.8 * m:g}" and shown[0.0] == "0"
    assert f"h ±{m:g}" in view.scale_label.text()
    # a bounded (tanh) state: the 1-2-5 level above max |h|, never beyond ±1
    session.update(activation="tanh", sigma1=0.5)
    assert session.wait_idle()
    big = np.max(np.abs(session.analysis.trace.h))
    m = view.h_row.levels[1]
    assert big <= m <= 1.0 and (m == 1.0 or m < 2.5 * big)
    shown = {round(v, 9): text for v, text in view.h_row.bar.axis._tickLevels[0]}
    assert shown[0.8] == f"{0.8 * m:g}"
    session.shutdown()


def test_readout_grows_for_a_long_text_and_does_not_shrink_back_until_resized(qtbot):
    r = Readout(lines=2, max_lines=3)
    qtbot.addWidget(r)
    r.resize(300, r.height())
    r.show()
    two = r.height()
    r.setText("word " * 60)                              # needs more than three lines at 300 px
    assert r.lines == 3 and r.height() > two
    r.setText("short")                                   # stepping on: the height stays put
    assert r.lines == 3
    r.resize(320, r.height())                            # a new width: fitted again
    assert r.lines == 2 and r.height() == two


def test_colour_bar_labels_fit_at_every_presentation_scale(qtbot):
    from gatescope.gui.views.axes import colour_bar, label_colour_bar, style_colour_bar
    from PySide6.QtGui import QFontMetrics
    for scale in (1.0, 1.5, 2.0, 3.0):
        bar = colour_bar((-1.0, 1.0), pg.colormap.get(style.SIGNED_CMAP))
        label_colour_bar(bar, (-1.0, 1.0), 50000.0)
        style_colour_bar(bar, style.Theme(scale=scale))
        fm = QFontMetrics(bar.axis.style["tickFont"])
        widest = max(fm.horizontalAdvance(text) for _, text in bar.axis._tickLevels[0])
        assert bar.axis.minimumWidth() >= widest + 8, scale   # pyqtgraph drops what does not fit
