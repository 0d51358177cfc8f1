"""Progressive results: a long run on the worker thread delivers its first steps before the rest
(Session.partial_analysis), the gradient view draws that prefix at once, and the whole curve
follows; a run small enough to be computed on the GUI thread delivers only the whole."""
from __future__ import annotations

import numpy as np
import pytest
from gatescope.core import Config
from gatescope.core.analysis import analyse
from gatescope.gui.session import PREFIX_STEPS, Session
from gatescope.gui.settings_store import SettingsStore
from gatescope.gui.views.gradient import GradientView

LARGE = Config(cell="lstm", hidden=64, length=1000)


@pytest.fixture
def session(tmp_path):
    made = []

    def make(config):
        s = Session(config, store=SettingsStore(str(tmp_path / "s.ini")))
        s.refresh()
        assert s.wait_until_idle(120_000)
        made.append(s)
        return s
    yield make
    for s in made:
        s.shutdown()


def drawn(item) -> np.ndarray:
    return np.asarray(item.getData()[1], dtype=np.float64)


def test_a_long_run_draws_its_first_steps_first(session, qtbot):
    s = session(LARGE)
    view = GradientView(s)
    qtbot.addWidget(view)
    view.resize(800, 500)
    view.show()
    qtbot.waitExposed(view)
    order, prefix_drawn = [], {}

    def on_partial(a):
        order.append(("partial", a.steps))
        prefix_drawn["y"] = drawn(view.measured).copy()   # the view's slot ran before this one
        prefix_drawn["steps"] = view.partial_steps

    s.partial_analysis.connect(on_partial)
    s.analysis_changed.connect(lambda a: order.append(("whole", a.steps)))
    with qtbot.waitSignal(s.analysis_changed, timeout=120_000):
        s.update(sigma1=1.2)
    assert order == [("partial", PREFIX_STEPS), ("whole", 1000)]
    whole = analyse(LARGE.replace(sigma1=1.2))
    want = np.asarray(whole.trace.log10_jac_norm)
    # the prefix drawn is the whole run's first PREFIX_STEPS + 1 values (same arithmetic)
    assert prefix_drawn["steps"] == PREFIX_STEPS
    np.testing.assert_allclose(prefix_drawn["y"], want[:PREFIX_STEPS + 1], rtol=1e-12, atol=0)
    # …and the whole curve replaces it
    assert view.partial_steps is None
    np.testing.assert_allclose(drawn(view.measured), want, rtol=1e-12, atol=0)


def test_a_run_on_the_gui_thread_delivers_only_the_whole(session, qtbot):
    """The default setup (T = 365 > 2 · PREFIX_STEPS) is computed inline: a prefix would be
    drawn and replaced within the same frame, so none is computed."""
    s = session(Config())
    assert s.steps > 2 * PREFIX_STEPS
    seen = []
    s.partial_analysis.connect(lambda a: seen.append(a.steps))
    with qtbot.waitSignal(s.analysis_changed, timeout=30_000):
        s.update(sigma1=1.05)
    assert s.wait_until_idle()
    assert seen == []
    np.testing.assert_allclose(np.asarray(s.analysis.trace.log10_jac_norm),
                               np.asarray(analyse(Config(sigma1=1.05)).trace.log10_jac_norm),
                               rtol=1e-12, atol=0)
