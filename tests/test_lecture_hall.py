"""The lecture hall: at 1280×720 ×1.5, 1366×768 ×2, 1920×1080 ×2 and 3840×2160 ×2 every plot
keeps at least three labelled ticks on each axis, tick labels never collide, the legend never
covers a curve, panel titles are shown whole, and the Explain panel does not squeeze the plots."""
import pyqtgraph as pg
import pytest
from gatescope.core.config import Config
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
def hall(qtbot, window_at):
    def make(w, h, scale, config):
        session, window = window_at(config, w, h, scale)
        qtbot.wait(30)
        return session, window
    return make


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "lstm-text"])
def test_every_panel_reads_from_the_back_row(hall, qtbot, w, h, scale, cell):
    from gatescope.core.inputs import SENTENCES
    config = {"rnn": Config(), "lstm": Config(cell="lstm", sigma1=0.95, length=200),
              # time axes labelled with words ("definitely", "balanced"): still ≥ 3 labels
              "lstm-text": Config(cell="lstm", source="text", text=SENTENCES["cereal"])}[cell]
    session, window = hall(w, h, scale, config)
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


# -- the Training lab ---------------------------------------------------------------------------
LAB_SIZES = SIZES + [(1280, 720, 1.0)]


def _plain(text: str) -> str:
    return text.replace("&&", "\0").replace("&", "").replace("\0", "&")


def _rect_in(widget, ancestor):
    """widget's rect in ancestor's coordinates."""
    from PySide6.QtCore import QRect
    return QRect(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size())


def _scroll_area_of(widget):
    """The QScrollArea whose viewport holds widget (None if none does), and the widget just below it."""
    from PySide6.QtWidgets import QScrollArea
    w = widget
    while w is not None and w.parentWidget() is not None:
        p = w.parentWidget()
        if isinstance(p.parentWidget(), QScrollArea) and p is p.parentWidget().viewport():
            return p.parentWidget(), w
        w = p
    return None, None


def _label_need(label, width):
    """The height a wrapped label's text needs at width (plain or rich text)."""
    from PySide6 import QtGui
    from PySide6.QtCore import QRect, Qt
    from PySide6.QtGui import QFontMetrics, QTextDocument
    text = label.text()
    rich = label.textFormat() == Qt.RichText or (label.textFormat() == Qt.AutoText and QtGui.Qt.mightBeRichText(text))
    if rich:
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        doc.setTextWidth(width)
        return int(doc.size().height() + 0.999)
    return QFontMetrics(label.font()).boundingRect(QRect(0, 0, width, 100000), Qt.TextWordWrap, text).height()


def _label_width_need(label):
    from PySide6 import QtGui
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QFontMetrics, QTextDocument
    text = label.text()
    if label.textFormat() == Qt.RichText or (label.textFormat() == Qt.AutoText and QtGui.Qt.mightBeRichText(text)):
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setDocumentMargin(0)
        doc.setHtml(text)
        return int(doc.idealWidth() + 0.999)
    return max(QFontMetrics(label.font()).horizontalAdvance(line) for line in text.split("\n"))


def check_lab(window, where):
    """What a student at the back row needs of the lab's visible page: whole combo texts, form rows
    at their natural heights, whole texts, readable plots and every control reachable."""
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import (
        QAbstractButton,
        QAbstractSpinBox,
        QCheckBox,
        QComboBox,
        QFormLayout,
        QLabel,
        QLineEdit,
        QPushButton,
        QRadioButton,
        QScrollArea,
        QStyle,
        QStyleOptionButton,
        QStyleOptionComboBox,
        QTabBar,
    )
    view = window.train_view
    page = window.pages.widget(2)
    # (a) every combo box item fits the combo's edit field
    for name, box in view.fields.items():
        if not isinstance(box, QComboBox) or not box.isVisible():
            continue
        opt = QStyleOptionComboBox()
        box.initStyleOption(opt)
        edit = box.style().subControlRect(QStyle.CC_ComboBox, opt, QStyle.SC_ComboBoxEditField, box)
        fm = QFontMetrics(box.font())
        for i in range(box.count()):
            need = fm.horizontalAdvance(box.itemText(i))
            assert edit.width() >= need, \
                f"{where}: {name} item {box.itemText(i)!r} needs {need} px, gets {edit.width()}"
    # (b) the form's rows: natural heights, no two overlapping
    forms = {w.parentWidget().layout() for w in view.fields.values()}
    assert len(forms) == 1 and isinstance(next(iter(forms)), QFormLayout)
    form = next(iter(forms))
    rows = []
    for r in range(form.rowCount()):
        rects = []
        for role in (QFormLayout.LabelRole, QFormLayout.FieldRole, QFormLayout.SpanningRole):
            item = form.itemAt(r, role)
            w = item.widget() if item is not None else None
            if w is None or not w.isVisible():
                continue
            what = w.text() if hasattr(w, "text") else w.objectName()
            assert w.height() >= w.sizeHint().height(), \
                f"{where}: form row {r} ({what!r}) squashed to {w.height()} of {w.sizeHint().height()} px"
            rects.append(w.geometry())
        if rects:
            rows.append((r, rects))
    for i, (ra, a) in enumerate(rows):
        for rb, b in rows[i + 1:]:
            assert not any(x.intersects(y) for x in a for y in b), f"{where}: form rows {ra} and {rb} overlap"
    # (c) every text is whole
    for w in page.findChildren(QLabel) + page.findChildren(QAbstractButton):
        if not w.isVisible() or not isinstance(w, (QLabel, QPushButton, QCheckBox, QRadioButton)):
            continue
        text = w.text() if isinstance(w, QLabel) else _plain(w.text())
        if not text.strip():
            continue
        box = w.contentsRect()
        if isinstance(w, QLabel) and w.wordWrap():
            need = _label_need(w, box.width())
            assert box.height() >= need, \
                f"{where}: {w.objectName() or text[:40]!r}: {need} px of text in {box.height()}"
            assert box.width() > 0
            continue
        need = _label_width_need(w) if isinstance(w, QLabel) else QFontMetrics(w.font()).horizontalAdvance(text)
        assert need <= box.width(), f"{where}: {text!r} needs {need} px, gets {box.width()}"
        if isinstance(w, QPushButton):            # the text and the button's margins
            assert w.width() >= w.sizeHint().width(), \
                f"{where}: button {text!r} cut: {w.width()} of {w.sizeHint().width()} px"
        elif isinstance(w, (QCheckBox, QRadioButton)):
            opt = QStyleOptionButton()
            w.initStyleOption(opt)
            sub = QStyle.SE_CheckBoxContents if isinstance(w, QCheckBox) else QStyle.SE_RadioButtonContents
            room = w.style().subElementRect(sub, opt, w).width()
            assert room >= need, f"{where}: {text!r} needs {need} px beside its box, gets {room}"
    for bar in page.findChildren(QTabBar):
        if bar.isVisible():
            for i in range(bar.count()):
                assert bar.tabRect(i).width() >= bar.fontMetrics().horizontalAdvance(_plain(bar.tabText(i))), where
    # (d) the plots on the visible tab are readable
    shown = 0
    for lab_view in (window.train_view, window.sweep_view):
        for plot in plot_items(lab_view):
            shown += 1
            gv = next(g for g in lab_view.findChildren(pg.GraphicsView) if g.scene() is plot.scene())
            box = gv.mapFromScene(plot.mapRectToScene(plot.boundingRect())).boundingRect()
            assert gv.viewport().rect().adjusted(-2, -2, 2, 2).contains(box), \
                f"{where}: plot {plot.titleLabel.text!r} at {box} runs out of its view {gv.viewport().rect()}"
            vb = plot.vb
            assert vb.height() >= 150, f"{where}: plot {plot.titleLabel.text!r} is {vb.height():.0f} px tall"
            assert vb.width() >= 150, f"{where}: plot {plot.titleLabel.text!r} is {vb.width():.0f} px wide"
    assert shown > 0, f"{where}: no plot on screen"
    # (e) every control can be reached: inside the window, or in a scroll area that scrolls to it
    controls = [w for cls in (QAbstractButton, QComboBox, QAbstractSpinBox, QLineEdit, QTabBar)
                for w in page.findChildren(cls) if w.isVisible()]
    win = window.rect()
    for w in controls:
        name = w.objectName() or getattr(w, "text", lambda: "")() or type(w).__name__
        area, child = _scroll_area_of(w)
        top = window if area is None else child
        r = _rect_in(w, top)
        if area is None:
            assert win.contains(r), f"{where}: {name} at {r} is outside the window {win}"
        else:
            assert top.rect().contains(r), f"{where}: {name} is outside its scroll area's content"
            assert win.contains(_rect_in(area, window)), f"{where}: the scroll area of {name} is outside the window"
            vp = area.viewport().width()
            scrolls_x = area.horizontalScrollBar().maximum() > 0 and area.horizontalScrollBar().isVisible()
            assert scrolls_x or r.right() - top.x() < vp + 1 or top.width() <= vp, \
                f"{where}: {name} lies beyond its scroll area's width and cannot be scrolled to"
            assert isinstance(area, QScrollArea)
        # no ancestor (below the scroll content or the window) cuts it
        p = w.parentWidget()
        while p is not None and p is not top and p is not window:
            assert p.rect().contains(_rect_in(w, p)), f"{where}: {name} is cut by {p.objectName() or type(p).__name__}"
            p = p.parentWidget()


def show_tabs_of(widget, page):
    """Every tab widget between widget and page shows the tab that holds widget."""
    from PySide6.QtWidgets import QTabWidget
    w = widget
    while w is not None and w is not page:
        parent = w.parentWidget()
        outer = parent.parentWidget() if parent is not None else None
        if isinstance(outer, QTabWidget) and outer.indexOf(w) >= 0:
            outer.setCurrentWidget(w)
        w = parent


def each_lab_page(window, qtbot):
    """Every page of every tab widget in the lab shown in turn (its outer tabs set to show it)."""
    from PySide6.QtWidgets import QTabWidget
    page = window.pages.widget(2)
    for tabs in page.findChildren(QTabWidget):
        for i in range(tabs.count()):
            show_tabs_of(tabs, page)
            tabs.setCurrentIndex(i)
            qtbot.wait(40)
            for gv in page.findChildren(pg.GraphicsView):
                if gv.isVisible():
                    gv.grab()
            qtbot.wait(10)
            yield f"{tabs.objectName()}[{tabs.tabText(i)}]"


@pytest.mark.parametrize("w,h,scale", LAB_SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in LAB_SIZES])
def test_the_training_lab_is_whole_and_reachable(hall, qtbot, w, h, scale):
    session, window = hall(w, h, scale, Config())
    window.pages.setCurrentIndex(2)
    view = window.train_view
    qtbot.waitUntil(view.isVisible)
    qtbot.wait(50)
    seen = []
    for where in each_lab_page(window, qtbot):
        check_lab(window, f"{w}x{h} ×{scale:g} {where}")
        seen.append(where)
    assert len(seen) >= 4, seen        # the run's plots, one step's, the sweep's
    # the long texts too: a Step's three phases, then a stopped run's result and its explanation
    from PySide6.QtCore import Qt
    lab = window.lab
    lab.update(task="clouds", cell="gru", gap=4, hidden=6, batch=8, iters=400, eval_every=2, val_size=16,
               test_size=16, curriculum=False, stop_accuracy=None, seed=2)
    view.phase_ms = 5
    show_tabs_of(view.step_button, window.pages.widget(2))
    qtbot.mouseClick(view.step_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: view.step_phase == "update", timeout=20000)
    qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.state == "stopped", timeout=20000)
    assert "3 · update" in view.phase_label.text() and "went from" in view.explain.text()
    for where in each_lab_page(window, qtbot):
        check_lab(window, f"{w}x{h} ×{scale:g} after a run, {where}")


def test_the_lab_follows_a_scale_change(hall, qtbot):
    """Ctrl+2 then Ctrl+1 in the lab: everything fits at ×2, and ×1 afterwards is as at the start."""
    session, window = hall(1280, 720, 1.0, Config())
    window.pages.setCurrentIndex(2)
    view = window.train_view
    qtbot.waitUntil(view.isVisible)
    qtbot.wait(50)
    before = view.fields["task"].width(), view.fields["task"].height()
    session.set_scale(2.0)
    qtbot.wait(80)
    assert view.fields["task"].width() > before[0]
    for where in each_lab_page(window, qtbot):
        check_lab(window, f"after ×2 {where}")
    session.set_scale(1.0)
    qtbot.wait(80)
    for where in each_lab_page(window, qtbot):
        check_lab(window, f"back at ×1 {where}")
    assert (view.fields["task"].width(), view.fields["task"].height()) == before


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
def test_the_labs_plots_keep_three_ticks_and_scaled_titles(hall, qtbot, w, h, scale):
    """After a short run, every lab plot on screen (every tab) keeps ≥ 3 labelled ticks on each
    axis, and its title grows with the presentation scale like its tick labels."""
    import re

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication
    session, window = hall(w, h, scale, Config())
    window.pages.setCurrentIndex(2)
    view = window.train_view
    qtbot.waitUntil(view.isVisible)
    lab = window.lab
    lab.update(task="clouds", cell="gru", gap=4, hidden=6, batch=8, iters=400, eval_every=2, val_size=16,
               test_size=16, curriculum=False, stop_accuracy=None, seed=2)
    show_tabs_of(view.start_button, window.pages.widget(2))
    qtbot.mouseClick(view.start_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: len(lab.eval_iterations) >= 10, timeout=30000)
    qtbot.mouseClick(view.stop_button, Qt.LeftButton)
    qtbot.waitUntil(lambda: lab.state in ("stopped", "finished"), timeout=20000)
    want = QApplication.font().pointSizeF() * scale
    checked = 0
    for where in each_lab_page(window, qtbot):
        for plot in plot_items(window.pages.widget(2)):
            if any(isinstance(i, pg.PlotDataItem) and i.getData()[0] is not None and len(i.getData()[0])
                   for i in plot.getViewBox().addedItems):         # a plot that shows data
                check_axes(plot, f"lab plot {plot.titleLabel.text[:40]!r} ({where}) at {w}x{h} ×{scale:g}")
                checked += 1
            if plot.titleLabel.text:                 # the size the title's text is set in
                size = re.fullmatch(r"([0-9.]+)pt", plot.titleLabel.opts.get("size") or "0pt")
                assert float(size.group(1)) == pytest.approx(want, abs=1), (plot.titleLabel.text, want)
    assert checked >= 6, checked


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
def test_the_compare_page_keeps_its_plots_readable(hall, qtbot, w, h, scale):
    """Compare at lecture sizes: its parts keep their readable heights (the page scrolls instead
    of squashing them: at 1280×720 ×1.5 the gradient plot had vanished), and the gradient plot
    and the connectivity rows keep ≥ 3 labelled ticks on each axis that shows values."""
    from gatescope.core.presets import get_preset
    from gatescope.gui.views.compare import MIN_HEIGHTS
    session, window = hall(w, h, scale, get_preset("rnn-vs-gated").config)
    window.pages.setCurrentIndex(1)
    view = window.compare
    qtbot.waitUntil(view.isVisible)
    assert session.wait_until_idle()
    qtbot.wait(40)
    for part, key in ((view.plot_widget, "gradient"), (view.grid, "grid"), (view.connectivity, "connectivity")):
        assert part.height() >= round(MIN_HEIGHTS[key] * scale) - 1, (key, part.height())
    for gv in view.findChildren(pg.GraphicsView):
        gv.grab()
    qtbot.wait(10)
    # the gradient plot and each cell's connectivity row: three ticks on each axis that shows
    # values (the heatmaps show units only: their time is the gradient plot's, above)
    check_axes(view.plot, f"compare gradient at {w}x{h} ×{scale:g}")
    ax = view.plot.getAxis("left")             # its label within its axis: never over the legend
    label, box = ax.label.mapRectToScene(ax.label.boundingRect()), ax.sceneBoundingRect()
    assert box.top() - 1 <= label.top() and label.bottom() <= box.bottom() + 1, (ax.labelText, label, box)
    for kind, plot in view.connectivity.plots.items():
        check_axes(plot, f"compare connectivity {kind} at {w}x{h} ×{scale:g}")
    for readout in (view.readout, view.connectivity.readout):     # every line of them shown
        assert readout._doc.size().height() <= readout.height() + 1, (readout.plain_text()[:60], readout.height())
    bar = view.scroll.verticalScrollBar()
    assert view.scroll.widget().height() <= view.scroll.viewport().height() or bar.maximum() > 0


@pytest.mark.parametrize("w,h,scale", [(1600, 1000, 1.0)] + SIZES[:2],
                         ids=["1600x1000x1", "1280x720x1.5", "1366x768x2"])
def test_the_docks_choices_show_whole(hall, w, h, scale):
    """Every choice of the dock's setting boxes (cell, φ, GRU form, shape, W, signal) fits its box
    at the default window and the lecture sizes: "identity (the notes' §2" and "symmetric W =
    QΣQᵀ (no" were cut. (The preset and example boxes show their whole text below them.)"""
    from gatescope.gui.controls import CHOICE_LABELS
    from PySide6.QtGui import QFontMetrics
    from PySide6.QtWidgets import QComboBox, QStyle, QStyleOptionComboBox
    session, window = hall(w, h, scale, Config())
    for name in CHOICE_LABELS:
        box = window.controls.bound[name]
        assert isinstance(box, QComboBox), name
        opt = QStyleOptionComboBox()
        box.initStyleOption(opt)
        room = box.style().subControlRect(QStyle.CC_ComboBox, opt, QStyle.SC_ComboBoxEditField, box).width()
        fm = QFontMetrics(box.font())
        for i in range(box.count()):
            assert fm.horizontalAdvance(box.itemText(i)) <= room, (name, box.itemText(i), room, w, scale)


# -- Connectivity and Directions ------------------------------------------------------------------
def _label_box(ax: pg.AxisItem):
    """The scene rect of the axis label's text (its document margin left out), None if none is shown."""
    if not ax.isVisible() or not ax.labelText or not ax.label.isVisible():
        return None
    m = ax.label.document().documentMargin()
    return ax.label.mapRectToScene(ax.label.boundingRect().adjusted(m, m, -m, -m))


def _shows_data(plot) -> bool:
    for item in plot.getViewBox().addedItems:
        if isinstance(item, pg.BarGraphItem):
            x = item.opts.get("x")
            if x is not None and len(x):
                return True
        elif isinstance(item, pg.PlotDataItem):
            x, y = item.getData()
            if x is not None and len(x) and any(v == v for v in y):
                return True
        elif isinstance(item, pg.ImageItem) and item.image is not None:
            return True
    return False


def check_axis_labels(plots, where):
    """Each axis label lies along its axis and within it, and covers no other axis label and
    no tick label of the plots in the same scene."""
    labels, ticks = [], []
    for plot in plots:
        for name in ("left", "bottom"):
            ax = plot.getAxis(name)
            if ax.isVisible() and ax.style.get("showValues", True):
                ticks += [(ax, r) for r, t in tick_texts(ax) if t]
            box = _label_box(ax)
            if box is None:
                continue
            frame = ax.mapRectToScene(ax.rect())           # (its bounding rect spans the grid lines)
            assert frame.adjusted(-2, -2, 2, 2).contains(box), \
                f"{where}: {name} label {ax.labelText!r} at {box} runs out of its axis {frame}"
            labels.append((plot, ax, box))
    for i, (pa, a, ra) in enumerate(labels):
        for pb, b, rb in labels[i + 1:]:
            if pa.scene() is pb.scene():
                assert not ra.intersects(rb), f"{where}: labels {a.labelText!r} and {b.labelText!r} overlap"
        for ax, r in ticks:
            if ax.scene() is pa.scene():
                assert not ra.adjusted(1, 1, -1, -1).intersects(r), \
                    f"{where}: label {a.labelText!r} covers a tick label of {ax.labelText!r}"


def _painted(widget, qtbot):
    for gv in widget.findChildren(pg.GraphicsView):
        if gv.isVisible():
            gv.grab()             # painted once, whole: every axis has measured its labels
    qtbot.wait(10)


def _check_view(widget, where, want):
    from gatescope.gui.readout import Readout
    from PySide6.QtWidgets import QAbstractSpinBox, QComboBox, QPushButton
    for cls in (QComboBox, QAbstractSpinBox, QPushButton):      # every box's text whole
        for box in widget.findChildren(cls):
            if box.isVisible():
                assert box.width() >= box.sizeHint().width(), \
                    f"{where}: {box.objectName()} cut to {box.width()} of {box.sizeHint().width()} px"
    for readout in widget.findChildren(Readout):    # every line of them shown (the blank bottom margin aside)
        if readout.isVisible():
            need = readout._doc.size().height() - readout._doc.documentMargin()
            assert need <= readout.height() + 1, (where, readout.plain_text()[:60], need, readout.height())
    plots = [p for p in plot_items(widget) if _shows_data(p)]
    assert len(plots) >= want, f"{where}: {len(plots)} plots with data"
    for plot in plots:
        check_axes(plot, f"{where} {plot.getAxis('left').labelText!r}")
    check_axis_labels(plots, where)


@pytest.mark.parametrize("w,h,scale", SIZES, ids=[f"{w}x{h}x{s:g}" for w, h, s in SIZES])
@pytest.mark.parametrize("cell", ["rnn", "lstm"])
def test_connectivity_and_directions_read_from_the_back_row(hall, qtbot, w, h, scale, cell):
    """Connectivity, Directions and its Edge of chaos tab: ≥ 3 labelled ticks on each value axis,
    no colliding tick labels, every axis label along its axis (a shorter one where the long one
    does not fit) and over nothing else; the plots keep readable heights (the page scrolls)."""
    config = {"rnn": Config(), "lstm": Config(cell="lstm", sigma1=0.95, length=200)}[cell]
    session, window = hall(w, h, scale, config)
    area = window.explore
    where = f"{cell} at {w}x{h} ×{scale:g}"
    area.show_panel("connectivity")
    view = window.connectivity
    qtbot.waitUntil(lambda: view.isVisible() and view.matrix() is not None and view.row() is not None,
                    timeout=20000)
    qtbot.wait(30)
    _painted(view, qtbot)
    _check_view(view, f"connectivity, {where}", 2)
    for plot in (view.heat, view.bars_plot):
        assert plot.vb.height() >= 80 * scale, (where, plot.getAxis("left").labelText, plot.vb.height())
    area.show_panel("directions")
    d = window.directions
    d.chaos.count.setValue(5)                   # a quick edge-of-chaos run
    qtbot.waitUntil(lambda: d.isVisible() and d.curves is not None and d.split is not None, timeout=20000)
    qtbot.wait(30)
    _painted(d, qtbot)
    _check_view(d.page, f"directions, {where}", 3)
    for plot in (d.curves_plot, d.lyap_plot, d.split_plot):
        assert plot.vb.height() >= 80 * scale, (where, plot.getAxis("left").labelText, plot.vb.height())
    d.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: d.chaos.lambdas is not None, timeout=20000)
    qtbot.wait(30)
    _painted(d.chaos, qtbot)
    _check_view(d.chaos, f"edge of chaos, {where}", 1)
    assert d.chaos.plot.vb.height() >= 80 * scale, (where, d.chaos.plot.vb.height())
    d.tabs.setCurrentIndex(0)
