"""The lecture hall: at 1280×720 ×1.5, 1366×768 ×2, 1920×1080 ×2 and 3840×2160 ×2 every plot
keeps at least three labelled ticks on each axis, tick labels never collide, the legend never
covers a curve, panel titles are shown whole, and the Explain panel does not squeeze the plots."""
import pyqtgraph as pg
import pytest
from gatescope.core.config import Config
from gatescope.gui.app import create_window
from PySide6.QtGui import QImage, QPainter

SIZES = [(1280, 720, 1.5), (1366, 768, 2.0), (1920, 1080, 2.0), (3840, 2160, 2.0)]


def tick_texts(ax: pg.AxisItem):
    """The labels the axis draws: [(scene rect, text)]."""
    img = QImage(4, 4, QImage.Format_ARGB32)
    p = QPainter(img)
    try:
        specs = ax.generateDrawSpecs(p)
    finally:
        p.end()
    if not specs:
        return []
    return [(ax.mapRectToScene(rect), text) for rect, _flags, text in specs[2]]


def plot_items(widget):
    for gv in widget.findChildren(pg.GraphicsView):
        if not gv.isVisible():
            continue
        for item in gv.scene().items():
            if isinstance(item, pg.PlotItem) and item.isVisible() and item.vb.width() > 2:
                yield item


def check_axes(plot, where):
    for name in ("left", "bottom"):
        ax = plot.getAxis(name)
        if not ax.isVisible() or not ax.style.get("showValues", True) or min(ax.width(), ax.height()) < 5:
            continue
        texts = [(r, t) for r, t in tick_texts(ax) if t]
        assert len(texts) >= 3, f"{where}: {name} axis shows {[t for _, t in texts]}"
        rects = sorted((r for r, _ in texts), key=lambda r: (r.left(), r.top()))
        for i, a in enumerate(rects):
            for b in rects[i + 1:]:
                assert not a.adjusted(1, 1, -1, -1).intersects(b), f"{where}: {name} tick labels collide"


@pytest.fixture
def hall(qtbot):
    made = []

    def make(w, h, scale, config):
        session, window = create_window(config)
        qtbot.addWidget(window)
        window.resize(w, h)
        window.show()
        qtbot.waitExposed(window)
        session.set_scale(scale)
        assert session.wait_until_idle()
        qtbot.wait(30)
        made.append(session)
        return session, window
    yield make
    for s in made:
        s.shutdown()


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_every_panel_reads_from_the_back_row(hall, qtbot, w, h, scale, cell):
    session, window = hall(w, h, scale, Config(cell=cell, sigma1=0.95, length=200) if cell == "lstm" else Config())
    area = window.explore
    assert window.size().width() == w and window.size().height() == h
    for key in ("gradient", "flow", "gates", "states", "spectrum"):
        area.show_panel(key)
        qtbot.wait(20)
        frame = window.frames[key]
        for gv in frame.findChildren(pg.GraphicsView):
            gv.grab()             # painted once, whole: every axis has measured its labels
        qtbot.wait(10)
        assert frame.isVisible(), key
        tabs = area.tabs if area.mode == "tabs" else area.shared
        if tabs.indexOf(frame) < 0:
            assert frame.title() == frame.full_title, f"{key}: title cut to {frame.title()!r}"
        else:      # a tab names the panel, whole; the full title is its tooltip
            i = tabs.indexOf(frame)
            assert tabs.tabToolTip(i) == frame.full_title
            bar = tabs.tabBar()
            assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(tabs.tabText(i))
        for plot in plot_items(frame):
            check_axes(plot, f"{key} at {w}x{h} ×{scale:g}")
    g = window.gradient
    area.show_panel("gradient")
    qtbot.wait(20)
    legend = g.legend.mapRectToScene(g.legend.boundingRect())
    box = g.plot.vb.mapRectToScene(g.plot.vb.boundingRect())
    assert not legend.intersects(box) and legend.width() <= g.plot_widget.width()
    # legend text grows with the presentation scale like the tick labels do
    label = g.legend.items[0][1]
    assert label.opts["size"] == f"{10 * scale:.0f}pt"


@pytest.mark.parametrize("w,h,scale", SIZES[:2], ids=["1280x720x1.5", "1366x768x2"])
def test_the_explain_panel_is_a_tab_not_a_squeeze(hall, qtbot, w, h, scale):
    session, window = hall(w, h, scale, Config(cell="lstm", length=100))
    area = window.explore
    assert area.mode == "tabs"
    area.show_panel("gradient")
    qtbot.wait(20)
    before = window.gradient.plot.vb.width(), window.gradient.plot.vb.height()
    window.findChild(object, "show_explain").trigger()
    qtbot.wait(20)
    assert area.current_panel() == "explain" and window.explain.isVisible()
    area.show_panel("gradient")
    qtbot.wait(20)
    after = window.gradient.plot.vb.width(), window.gradient.plot.vb.height()
    assert after == before
    assert not window.explain_dock.isVisible()


def test_a_large_window_keeps_the_grid(hall, qtbot):
    session, window = hall(1920, 1080, 1.0, Config())
    area = window.explore
    assert area.mode == "grid"
    for k, frame in window.frames.items():       # on screen, or a tab of the grid's shared slot
        assert frame.isVisible() or area.shared.indexOf(frame) >= 0, k


@pytest.mark.parametrize("w,h,scale", SIZES[:2], ids=["1280x720x1.5", "1366x768x2"])
def test_menu_texts_progress_and_hint_are_whole(hall, qtbot, w, h, scale):
    from gatescope.gui.hint import FirstRunHint
    from PySide6.QtGui import QFontMetrics
    session, window = hall(w, h, scale, Config())
    for key, frame in window.frames.items():        # Export plot items: the whole titles
        act = window.findChild(object, f"export_{key}")
        assert act.text() == frame.full_title + "…"
    fm = QFontMetrics(window.progress.font())
    assert window.progress.width() >= fm.horizontalAdvance("computing 100 %") + 20
    hint = FirstRunHint(window, theme=window.theme)
    hint.place()
    hint.show()
    qtbot.wait(30)
    box = hint.geometry().translated(hint.parentWidget().mapTo(window, hint.pos()) - hint.pos())
    for frame in window.frames.values():             # the hint takes its own room
        if frame.isVisible():
            r = frame.rect().translated(frame.mapTo(window, frame.rect().topLeft()))
            assert not box.intersects(r), frame.objectName()
    hint.close()


@pytest.mark.parametrize("w,h,scale", SIZES[:2], ids=["1280x720x1.5", "1366x768x2"])
def test_preset_descriptions_are_whole(hall, qtbot, w, h, scale):
    """Every preset's description fits its label (wrapped, never cut): a long one after a short
    one too (a wrapped QLabel used to keep the first text's height)."""
    from gatescope.core.presets import list_presets
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QFontMetrics
    session, window = hall(w, h, scale, Config())
    desc = window.controls.preset_desc
    for preset in sorted(list_presets(), key=lambda p: len(p.description)):
        desc.setText(preset.description)
        qtbot.wait(5)                               # the dock's layout follows
        box = desc.contentsRect()
        need = QFontMetrics(desc.font()).boundingRect(
            QRect(0, 0, box.width(), 100000), Qt.TextWordWrap, preset.description).height()
        assert box.height() >= need, f"{preset.name}: {need} px of text in {box.height()}"
        assert desc.width() <= desc.parentWidget().width(), preset.name
