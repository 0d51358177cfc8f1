"""User text shows whole and as typed on every surface: the gradient readout and hover box, the
time axes' tick labels, the flow view's caption, the Explain panel, the Compare readout and the
status line. A sentence with <, >, &, quotes and an emoji is read by a real window; what each
surface shows is read back as plain text (QTextDocument.toPlainText, the axes' tickStrings).
Tokens the app's own tokenizer never makes (several special characters in one token, a lone
surrogate) are given to the views through a stand-in session."""
from dataclasses import replace

import numpy as np
import pyqtgraph as pg
import pytest
from gatescope.core import Config
from gatescope.core.analysis import analyse
from gatescope.gui import dialogs
from gatescope.gui.views.compare import KINDS, CompareView
from gatescope.gui.views.explain import ExplainView
from gatescope.gui.views.flow import FlowView
from gatescope.gui.views.gradient import GradientView
from gatescope.gui.views.states import StatesView
from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtWidgets import QApplication

TEXT = 'if a < b & c > "d" \'e\' 🙂 x'
SPECIAL = {"<", ">", "&", '"', "'", "🙂"}
REPLACEMENT = "\ufffd"


@pytest.fixture
def app_window(window_at, monkeypatch):
    monkeypatch.setattr(dialogs, "warn", lambda *a, **k: None)
    # wide enough for the grid and the Explain dock side by side (at 1600 px the Explore area
    # flips between grid and tabs while the dock is open)
    return lambda config: window_at(config, 2400, 1100)


def hover_at(qtbot, view, t: int) -> str | None:
    """Move the pointer over step t of the gradient plot; the hover box's text (None if hidden)."""
    # pyqtgraph drops mouse moves closer together than 1/mouseRateLimit s: wait that long first,
    # and let pending layouts settle (the plot's final geometry)
    rate = pg.getConfigOption("mouseRateLimit")
    qtbot.wait(int(1000 / rate) + 5 if rate > 0 else 0)
    QApplication.processEvents()
    a = view.session.analysis
    y = float(np.nan_to_num(a.trace.log10_jac_norm[t]))
    scene = view.plot.vb.mapViewToScene(QPointF(t, y))
    qtbot.mouseMove(view.plot_widget.viewport(), view.plot_widget.mapFromScene(scene))
    QApplication.processEvents()
    return view.hover_shown()


def explore_surfaces(window, t: int) -> dict[str, str]:
    """What every surface of the Explore page (and the status line) shows at step t, as plain text."""
    return {
        "gradient readout": window.gradient.readout.plain_text(),
        "flow caption": window.flow.caption_text(),
        "explain panel": window.explain.text.toPlainText(),
        "status line": window.status_label.plain_text(),
        "gradient time axis": window.gradient.time_axis.tickStrings([t], 1.0, 1.0)[0],
        "states time axis": window.states.h_row.time_axis.tickStrings([t], 1.0, 1.0)[0],
    }


def compare_surfaces(window, t: int) -> dict[str, str]:
    """What the Compare page shows at step t."""
    return {
        "compare readout": window.compare.readout.plain_text(),
        "compare time axis": window.compare.time_axis.tickStrings([t], 1.0, 1.0)[0],
        "compare column axis": window.compare.columns["lstm"].state_axis.tickStrings([t], 1.0, 1.0)[0],
    }


def each_step(session, window):
    """(t, token, what is shown) for every step: first on the Compare page (compare mode), then
    on Explore with the Explain panel open (it renders only when shown)."""
    tokens = session.analysis.tokens
    session.set_compare_mode(True)
    assert session.wait_idle() and session.comparison is not None
    for t, token in enumerate(tokens, start=1):
        session.set_step(t)
        yield t, token, compare_surfaces(window, t)
    session.set_compare_mode(False)
    window.findChild(object, "show_explain").trigger()
    QApplication.processEvents()
    assert window.explain.isVisible() and window.explore.mode == "grid"
    for t, token in enumerate(tokens, start=1):
        session.set_step(t)
        yield t, token, explore_surfaces(window, t)


def test_every_token_of_a_sentence_with_markup_characters_shows_whole(app_window, qtbot):
    session, window = app_window(Config(source="text", text=TEXT))
    tokens = session.analysis.tokens
    assert SPECIAL <= set(tokens) and len(tokens) == session.analysis.steps
    for t, token, shown in each_step(session, window):
        quoted = f"token “{token}”"
        for name, text in shown.items():
            if name.endswith("axis"):
                assert text == token, (name, token)
            else:
                assert quoted in text, (name, token, text)
        # nothing after the token is lost either: the texts go on as they should
        if "explain panel" in shown:
            after = shown["explain panel"].split(quoted)[1]
            assert "Gradient back to step 0" in after and after.rstrip().endswith(".")
            assert shown["flow caption"].split(quoted)[1].split()[0] == "—"
            assert f"t = {t} / {session.analysis.steps}" in shown["status line"]
        else:
            assert shown["compare readout"].split(quoted)[1].split()[:2] == ["·", "σ₁t:"]
    # the hover box, under the pointer, at the steps of "<", "&" and "🙂"
    for token in ("<", "&", "🙂"):
        t = tokens.index(token) + 1
        text = hover_at(qtbot, window.gradient, t)
        assert text is not None and text.splitlines()[0] == f"t = {t}  “{token}”", text


def test_direction_overrides_and_control_characters_cannot_garble_a_readout(app_window, qtbot):
    # U+202E (right-to-left override) and U+2066 (isolate) would reverse what follows them in
    # the readout; BEL is a control character: each is a token of its own for the tokenizer
    session, window = app_window(Config(source="text", text="a \u202e b \u2066 c \x07 d"))
    assert session.analysis.tokens == ["a", "\u202e", "b", "\u2066", "c", "\x07", "d"]
    expect = {"\u202e": REPLACEMENT, "\u2066": REPLACEMENT, "\x07": " "}
    for _, token, shown in each_step(session, window):
        want = expect.get(token, token)
        for name, text in shown.items():
            assert "\u202e" not in text and "\u2066" not in text and "\x07" not in text, name
            if name.endswith("axis"):
                assert text == want, (name, token)
            else:
                assert f"token “{want}”" in text, (name, token, text)


# -- tokens the tokenizer never makes, through a stand-in session -----------------------------------

class StandInSession(QObject):
    """The signals and properties the views read from a Session, with a given Analysis."""
    analysis_changed = Signal(object)
    partial_analysis = Signal(object)
    comparison_changed = Signal(object)
    compare_mode_changed = Signal(bool)
    config_changed = Signal(object)
    step_changed = Signal(int)

    def __init__(self):
        super().__init__()
        self.analysis, self.comparison, self.compare_mode, self.step = None, None, True, 0

    def show(self, analysis, comparison):
        self.analysis, self.comparison = analysis, comparison
        self.analysis_changed.emit(analysis)
        self.comparison_changed.emit(comparison)

    def set_step(self, t):
        self.step = t
        self.step_changed.emit(t)


#: token → what must be shown: several markup characters in one token (and an entity's text,
#: which must not turn into "&"), a surrogate pair written as two code points, a lone surrogate
ODD_TOKENS = {
    "a<b>c": "a<b>c",
    "x&amp;y": "x&amp;y",
    "<i>\"q\" 'r'</i>": "<i>\"q\" 'r'</i>",
    "\ud83d\ude42": "🙂",
    "z\ud800": "z" + REPLACEMENT,
    "🙂<": "🙂<",
}


def test_odd_tokens_show_whole_in_every_view(qtbot):
    cfg = Config(source="text", text=" ".join(f"w{k}" for k in range(len(ODD_TOKENS))))
    tokens = list(ODD_TOKENS)

    def with_tokens(c):
        return replace(analyse(c), tokens=tokens)
    a = with_tokens(cfg.replace(cell="lstm"))
    comparison = {k: with_tokens(cfg.replace(cell=k)) for k in KINDS}
    session = StandInSession()
    views = {}
    for name, cls in (("gradient", GradientView), ("flow", FlowView), ("explain", ExplainView),
                      ("compare", CompareView), ("states", StatesView)):
        views[name] = cls(session)
        qtbot.addWidget(views[name])
        views[name].resize(900, 600)
        views[name].show()
    session.show(a, comparison)
    for t, want in enumerate(ODD_TOKENS.values(), start=1):
        session.set_step(t)
        quoted = f"token “{want}”"
        assert quoted in views["gradient"].readout.plain_text()
        assert quoted in views["flow"].caption_text()
        assert quoted in views["explain"].text.toPlainText()
        assert quoted in views["compare"].readout.plain_text()
        for axis in (views["gradient"].time_axis, views["states"].h_row.time_axis):
            assert axis.tickStrings([t], 1.0, 1.0) == [want]
        # a compare column's axis is too narrow for three whole long tokens: a token longer than
        # its room shows as its own first characters and "…" (the same text, never re-escaped)
        narrow = views["compare"].columns["gru"].gate_axis
        (shown,) = narrow.tickStrings([t], 1.0, 1.0)
        assert shown == want or (shown.endswith("…") and want.startswith(shown[:-1]) and len(shown) >= 3)
        assert hover_at(qtbot, views["gradient"], t).splitlines()[0] == f"t = {t}  “{want}”"
