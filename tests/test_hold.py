"""Views behind another tab are not redrawn at every change: they draw the newest analysis and
step when shown (and what an export of their plot writes is current)."""
import numpy as np
from gatescope.core import Config


def _gates_drawn(window):
    """The a_t image the gates view shows, and its bars (the step's values)."""
    row = window.gates.current_rows()[0]
    return row.image.image.copy(), row.bar_values().copy()


def test_a_hidden_panel_draws_the_newest_analysis_when_shown(window_at, qtbot):
    session, window = window_at(Config(length=60), 1280, 720, 1.5)
    area = window.explore
    assert area.mode == "tabs"
    area.show_panel("gradient")
    qtbot.wait(20)
    assert not window.gates.isVisible()
    before_img, before_bars = _gates_drawn(window)
    calls = []
    real = window.gates._on_analysis
    window.gates.hold.on_analysis = lambda a: (calls.append(a), real(a))
    for s1 in (0.9, 0.95, 1.2):                 # three changes while the Gates tab is hidden
        session.update(sigma1=s1)
        assert session.wait_until_idle()
    session.set_step(17)
    assert calls == []                           # nothing drawn behind the tab
    assert np.array_equal(_gates_drawn(window)[0], before_img)
    area.show_panel("gates")
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=3000)
    assert calls[0] is session.analysis and calls[0].config.sigma1 == 1.2    # the newest only
    img, bars = _gates_drawn(window)
    a = session.analysis.trace.preact                                  # (T, n), drawn (n, T)
    row = window.gates.current_rows()[0]
    np.testing.assert_allclose(img, np.clip(a, *row.levels).T.astype(np.float32))
    np.testing.assert_allclose(bars, np.clip(a[16], *row.levels), rtol=1e-6)   # step 17's values
    assert not np.array_equal(img, before_img)


def test_an_export_of_a_hidden_plot_is_current(window_at, qtbot):
    session, window = window_at(Config(length=60), 1280, 720, 1.5)
    window.explore.show_panel("gradient")
    qtbot.wait(20)
    session.update(shape="geometric")
    assert session.wait_until_idle()
    assert not window.spectrum.isVisible()
    window.plot_target("spectrum")               # what Export plot draws
    heights = np.asarray(window.spectrum.bars.opts["height"], dtype=np.float64)
    want = session.analysis.singular_values[window.spectrum.block.currentData()]
    np.testing.assert_allclose(np.sort(heights)[::-1], np.sort(want)[::-1][:len(heights)], rtol=1e-12)


def test_the_cell_state_row_is_built_for_the_first_lstm_at_the_scale_of_then(window_at, qtbot):
    session, window = window_at(Config(length=40), 1600, 1000, 2.0)
    states = window.states
    assert states.c_row is None                                   # an RNN: no C row built
    session.update(cell="lstm")
    assert session.wait_until_idle()
    window.explore.show_panel("states")          # (at ×2 the panels are tabs: drawn when shown)
    qtbot.waitUntil(lambda: states.c_row is not None, timeout=3000)
    c, h = states.c_row, states.h_row
    assert c is not None and c.plot.isVisible()
    for name in ("left", "bottom"):
        assert c.plot.getAxis(name).style["tickFont"].pointSizeF() == \
            h.plot.getAxis(name).style["tickFont"].pointSizeF()
    assert c.bar.axis.style["tickFont"].pointSizeF() == h.bar.axis.style["tickFont"].pointSizeF()
    np.testing.assert_allclose(c.image.image, np.clip(session.analysis.trace.c.T / c.levels[1], -1, 1)
                               .astype(np.float32))
    session.update(cell="rnn")
    assert session.wait_until_idle()
    assert not c.plot.isVisible() and states.c_row is c           # hidden, kept
