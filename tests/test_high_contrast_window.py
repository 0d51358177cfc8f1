"""High contrast, the whole window: every text on screen — widget labels, readouts, buttons, tabs,
menus, plot tick labels, axis labels, legend entries, titles and text items — reads at ≥ 4.5:1
(WCAG AA) against what is behind it, on every page and every panel. Colours are read back from
the widgets and items themselves (palettes, pens, colours written into their rich text)."""
import re

import pyqtgraph as pg
import pytest
from gatescope.core.colour import contrast_ratio
from gatescope.core.config import Config
from gatescope.gui.settings_store import SettingsStore
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QAbstractButton, QGraphicsTextItem, QLabel, QTabBar, QWidget

COLOUR = re.compile(r"(?<![-\w])color\s*[:=]\s*['\"]?(#[0-9a-fA-F]{6})")


def text_colours(html: str) -> set[str]:
    """Colours a rich text gives its text (not its backgrounds)."""
    return {c.lower() for c in COLOUR.findall(html or "")}


def hexname(colour) -> str:
    return colour.name().lower()


def background(widget: QWidget) -> str:
    """The colour behind a widget's text: its own palette's Window (or Base/Button for boxes and
    buttons), as Qt fills it."""
    role = QPalette.Button if isinstance(widget, (QAbstractButton, QTabBar)) else QPalette.Window
    return hexname(widget.palette().color(role))


def widget_texts(window):
    """(where, text colour, background colour) of every visible text widget."""
    from gatescope.gui.readout import Readout
    for w in window.findChildren(QWidget):
        if not w.isVisible() or w.width() < 2:
            continue
        if isinstance(w, (QLabel, Readout, QAbstractButton, QTabBar)):
            text = w.text() if hasattr(w, "text") and callable(w.text) else ""
            if isinstance(w, QTabBar):
                text = " ".join(w.tabText(i) for i in range(w.count()))
            if not str(text).strip():
                continue
            where = f"{type(w).__name__} {w.objectName() or text[:30]!r}"
            bg = background(w)
            enabled = w.isEnabled()
            role = QPalette.ButtonText if isinstance(w, (QAbstractButton, QTabBar)) else QPalette.WindowText
            group = QPalette.Active if enabled else QPalette.Disabled
            yield where, hexname(w.palette().color(group, role)), bg
            for c in text_colours(str(text)):
                yield where + " (rich text)", c, bg


def plot_texts(window):
    """(where, text colour, background colour) of every visible text in the pyqtgraph scenes."""
    for gv in window.findChildren(pg.GraphicsView):
        if not gv.isVisible():
            continue
        bg = hexname(gv.backgroundBrush().color())
        name = gv.parent().objectName() if gv.parent() else ""
        for item in gv.scene().items():
            if not item.isVisible():
                continue
            if isinstance(item, pg.AxisItem) and item.style.get("showValues", True) and item.isVisible():
                if item.width() > 2 and item.height() > 2:
                    yield f"{name} {item.orientation} ticks", hexname(item.textPen().color()), bg
            elif isinstance(item, QGraphicsTextItem) and item.toPlainText().strip():
                where = f"{name} text {item.toPlainText()[:30]!r}"
                colours = text_colours(item.toHtml()) or {hexname(item.defaultTextColor())}
                for c in colours:
                    yield where, c, bg


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_every_text_on_every_panel_reads_at_wcag_aa(qtbot, window_at, tmp_path, cell):
    session, window = window_at(Config(cell=cell, length=30), store=SettingsStore(str(tmp_path / "s.ini")))
    session.set_high_contrast(True)
    session.set_step(12)
    assert session.wait_until_idle()
    low = {}
    pages = [(0, p) for p in ("spectrum", "connectivity", "directions")] + [(1, None), (2, None)]
    for page, panel in pages:
        window.pages.setCurrentIndex(page)
        if panel:
            window.explore.show_panel(panel)
        assert session.wait_until_idle()
        qtbot.wait(30)
        for where, fg, bg in list(widget_texts(window)) + list(plot_texts(window)):
            ratio = contrast_ratio(fg, bg)
            if ratio < 4.5:
                low[where] = f"{fg} on {bg}: {ratio:.2f}:1"
    assert low == {}, low
