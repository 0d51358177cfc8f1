"""The Explore tabs not on screen at start (Connectivity, Directions) are built when first shown,
styled like the rest at the scale of that moment, and draw the current analysis."""
import numpy as np
import pyqtgraph as pg
from gatescope.core import Config


def test_hidden_tabs_are_built_when_first_shown_at_the_current_scale(window_at, qtbot):
    session, window = window_at(Config(length=60), 1600, 1000)
    panels = window._panels
    assert all(p.built_view is None for p in panels.values())        # nothing built at start
    session.set_scale(2.0)
    assert session.wait_until_idle()
    window.explore.show_panel("directions")
    qtbot.waitUntil(lambda: panels["directions"].built_view is not None, timeout=5000)
    view = panels["directions"].built_view
    assert panels["connectivity"].built_view is None                 # only what was opened
    # styled as a view built at start: the same tick font as the gradient plot's at ×2
    ref = window.gradient.plot.getAxis("left").style["tickFont"].pointSizeF()
    for gv in view.findChildren(pg.GraphicsView):
        for item in gv.scene().items():
            if isinstance(item, pg.PlotItem) and not isinstance(item, pg.ColorBarItem):
                assert item.getAxis("bottom").style["tickFont"].pointSizeF() == ref
    # it draws the current analysis: m = n singular-value curves over T + 1 steps
    qtbot.waitUntil(lambda: view.curves is not None, timeout=10000)
    assert view.curves.shape == (61, session.analysis.cell.state_size)
    assert np.all(view.curves[0] == 0.0)
    assert window.directions is view                                  # the property: no second build


def test_asking_for_a_view_builds_it(window_at):
    session, window = window_at(Config(length=30), 1600, 1000)
    assert window._panels["connectivity"].built_view is None
    view = window.connectivity
    assert window._panels["connectivity"].built_view is view and view.session is session
