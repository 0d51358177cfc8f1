"""The readable axes' tick choice: skipping spacings too fine for any label (unmeasured) gives
exactly the ticks of measuring every spacing."""
import random

import pyqtgraph as pg
import pytest
from gatescope.gui.views.axes import PowerOfTenAxis, ReadableAxis, TimeAxis
from PySide6.QtGui import QFont


def _axes(qapp):
    out = []
    for orientation in ("bottom", "left"):
        for cls, kw in ((ReadableAxis, {}), (ReadableAxis, {"integer": True}), (PowerOfTenAxis, {}),
                        (TimeAxis, {})):
            for pt in (9.0, 20.0):
                axis = cls(orientation, **kw)
                font = QFont()
                font.setPointSizeF(pt)
                axis.setStyle(tickFont=font)
                out.append(axis)
    return out


@pytest.mark.parametrize("seed", [0])
def test_pruned_ticks_equal_measuring_every_spacing(qapp, monkeypatch, seed):
    rng = random.Random(seed)
    cases = []
    for _ in range(24):
        lo = rng.uniform(-1000, 1000) * 10 ** rng.randint(-3, 3)
        cases.append((lo, lo + 10 ** rng.uniform(-2, 4), rng.choice([80, 200, 400, 900, 1800])))
    axes = _axes(qapp)
    pruned = [[a.tickValues(*c) for c in cases] for a in axes]
    assert any(len(t[0][1]) >= 3 for row in pruned for t in row if t)    # real ticks were chosen
    monkeypatch.setattr(ReadableAxis, "_least_label_px", lambda self: 0.0)     # measure them all
    assert [[a.tickValues(*c) for c in cases] for a in axes] == pruned


def test_token_labels_are_not_numbers(qapp):
    axis = TimeAxis("bottom")
    assert axis._numeric_labels()
    axis.set_tokens(["", "", ""])            # empty labels: only the 2 px margin is certain
    assert not axis._numeric_labels() and axis._least_label_px() == 2.0


def test_no_si_scale_in_the_label_of_axes_that_show_raw_values(qapp):
    """pyqtgraph scales small or large ranges by an SI factor and says "(x0.001)" in the label;
    these axes label ticks with the values themselves, so the label must not say it."""
    for axis in (ReadableAxis("left"), PowerOfTenAxis("left")):
        axis.setLabel("λ (nats/step)")
        axis.setRange(-0.0006, -0.0002)
        assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString(), axis.labelString()
        axis.setRange(2e7, 5e7)
        assert axis.autoSIPrefixScale == 1.0 and "(x" not in axis.labelString(), axis.labelString()
    plain = pg.AxisItem("left")                  # what pyqtgraph's own axis does
    plain.setLabel("λ")
    plain.setRange(-0.0006, -0.0002)
    assert plain.autoSIPrefixScale != 1.0


def test_every_view_chooses_a_label_by_one_rule_measured_as_drawn(qtbot):
    """fitting_label: the longest label no longer than the axis less its clearance, else the
    last; label_px measures a text as the axis would draw it without touching the axis, and
    fit_axis_label sets what it chose (its drawn length then equals the measure)."""
    from gatescope.gui.views.axes import LABEL_CLEARANCE, fit_axis_label, fitting_label, label_px, label_room
    win = pg.GraphicsLayoutWidget()
    qtbot.addWidget(win)
    plot = win.addPlot(axisItems={"left": ReadableAxis("left")})
    win.resize(400, 300)
    win.show()
    qtbot.waitExposed(win)
    axis = plot.getAxis("left")
    style = {"font-size": "14pt"}
    labels = ("a rather long label for the left axis of a small plot", "a short label", "x")
    before = (axis.labelText, axis.label.toHtml())
    lengths = [label_px(axis, t, style) for t in labels]
    assert (axis.labelText, axis.label.toHtml()) == before          # measuring changes nothing
    assert lengths[0] > lengths[1] > lengths[2] > 0
    assert label_room(axis) == pytest.approx(axis.height() - LABEL_CLEARANCE)
    win.resize(400, int(lengths[1] + LABEL_CLEARANCE + 60))         # room for the short one only
    qtbot.waitUntil(lambda: lengths[1] <= label_room(axis) < lengths[0])
    assert fitting_label(axis, labels, style) == labels[1]
    assert fit_axis_label(axis, labels, **style) == labels[1] == axis.labelText
    drawn = axis.label.boundingRect().width() - 2 * axis.label.document().documentMargin()
    assert drawn == pytest.approx(lengths[1])
    assert fitting_label(axis, labels[:1], style) == labels[0]         # none fits: the last given
