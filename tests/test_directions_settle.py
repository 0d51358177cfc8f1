"""The Directions view during a slider drag: analyses arriving in a burst keep the old curves on
screen, dimmed, and the σᵢ curves are computed once, for the last analysis, when the changes
rest; Session.wait_until_idle waits for them. The Explain panel does no work while hidden."""
from __future__ import annotations

import numpy as np
import pytest
from gatescope.core import Config
from gatescope.core.directions import log_singular_curves
from gatescope.core.simulate import forward
from gatescope.gui.session import Session
from gatescope.gui.settings_store import SettingsStore
from gatescope.gui.views import directions as directions_module
from gatescope.gui.views import explain as explain_module
from gatescope.gui.views.directions import DirectionsView
from gatescope.gui.views.explain import ExplainView

CFG = Config(length=40)


@pytest.fixture
def session(tmp_path):
    s = Session(CFG, store=SettingsStore(str(tmp_path / "s.ini")))
    s.refresh()
    assert s.wait_until_idle()
    yield s
    s.shutdown()


def shown(qtbot, widget):
    qtbot.addWidget(widget)
    widget.resize(900, 700)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def expected_curves(session):
    a = session.analysis
    return log_singular_curves(a.cell, forward(a.cell, a.trace.inputs, a.trace.h[0]))


class SteadyClock:
    """A perf_counter that advances 1 ms a reading: the view's burst test sees every analysis of
    the drag as close to the last, however loaded the machine running the test is."""
    def __init__(self):
        self.now = 0.0

    def perf_counter(self):
        self.now += 1e-3
        return self.now


def test_a_burst_of_changes_computes_the_curves_once_when_it_rests(session, qtbot, monkeypatch):
    monkeypatch.setattr(directions_module, "time", SteadyClock())
    # the trailing edge's timer is real: give it room, so that a slow event loop between two
    # changes of the drag cannot fire it mid-burst
    monkeypatch.setattr(directions_module, "SETTLE_MS", 600)
    view = shown(qtbot, DirectionsView(session))
    assert view.settle.interval() == 600
    qtbot.waitUntil(lambda: view.curves is not None, timeout=20000)
    runs = []
    real = directions_module.directions_of
    monkeypatch.setattr(directions_module, "directions_of",
                        lambda cell, trace, progress=None, splits=None:
                        runs.append(trace) or real(cell, trace, progress, splits))
    values = (0.91, 0.93, 0.95, 0.97, 0.99)
    for v in values:                   # faster than SETTLE_MS apart: a drag
        session.update(sigma1=v)
        qtbot.wait(5)
    # mid-burst: the previous curves stay, dimmed, and nothing was computed for them
    assert view.curves is None and view.settle.isActive()
    assert view.curves_plot.opacity() < 1 and view.drawn_curves().shape == (41, 16)
    assert "updating" in view.readout_text()
    assert session.wait_until_idle()            # …waits for the curves as well
    assert len(runs) == 1 and round(session.config.sigma1, 3) == values[-1]
    assert view.curves_plot.opacity() == 1.0
    np.testing.assert_allclose(view.drawn_curves(), expected_curves(session), rtol=0, atol=1e-12)


def test_a_single_change_is_drawn_at_once(session, qtbot, monkeypatch):
    view = shown(qtbot, DirectionsView(session))
    qtbot.waitUntil(lambda: view.curves is not None, timeout=20000)
    qtbot.wait(directions_module.SETTLE_MS + 50)     # the slider has rested
    session.update(sigma1=1.2)
    assert session.wait_until_idle()
    assert not view.settle.isActive() and view.curves is not None
    np.testing.assert_allclose(view.drawn_curves(), expected_curves(session), rtol=0, atol=1e-12)


def test_a_hidden_directions_view_keeps_nobody_waiting(session, qtbot):
    view = DirectionsView(session)
    qtbot.addWidget(view)                       # never shown
    session.update(sigma1=1.1)
    qtbot.wait(5)
    session.update(sigma1=1.15)
    assert session.wait_until_idle(5000)
    assert not view.pending() and view.curves is None


def test_the_hidden_explain_panel_computes_nothing_and_catches_up(session, qtbot, monkeypatch):
    view = ExplainView(session)
    qtbot.addWidget(view)
    calls = []
    real = explain_module.explain_values
    monkeypatch.setattr(explain_module, "explain_values",
                        lambda *a, **k: calls.append(a[1]) or real(*a, **k))
    for v in (1.05, 1.1, 1.2):
        session.update(sigma1=v)
    session.set_step(7)
    assert session.wait_until_idle()
    assert calls == []                          # hidden: no values, no typesetting
    assert view.values()["t"] == 7              # asked for its numbers, it computes them
    assert calls == [7]
    view.resize(500, 700)
    view.show()
    qtbot.waitExposed(view)
    assert "t = 7" in view.text.toPlainText()
    session.set_step(9)                         # shown: every change renders
    assert "t = 9" in view.text.toPlainText()
