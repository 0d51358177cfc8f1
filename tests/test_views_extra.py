"""Compare mode and the Explain panel: the drawn curves, images, readouts and substituted numbers
are compared with independent runs of the engine (core.simulate) on the same setup."""
import math

import numpy as np
import pytest
from gatescope.core import Config, simulate
from gatescope.core.text import format_pow10, format_value
from gatescope.gui.session import Session
from gatescope.gui.views.compare import CompareView
from gatescope.gui.views.explain import ExplainView

KINDS = ("rnn", "lstm", "gru")


@pytest.fixture
def make(qtbot):
    made = []

    def build(view_cls, config, size=(1200, 800)):
        session = Session(config)
        view = view_cls(session)
        qtbot.addWidget(view)
        view.resize(*size)
        view.show()
        made.append(session)
        return session, view
    yield build
    for s in made:
        s.shutdown()


def reference(config, kind=None):
    cfg = config if kind is None else config.replace(cell=kind)
    return simulate(cfg.build_cell(), cfg.build_inputs()[0])


def drawn(item):
    x, y = item.getData()
    return (np.zeros(0), np.zeros(0)) if x is None else (np.asarray(x), np.asarray(y))


# -- CompareView -----------------------------------------------------------------------------------

def test_compare_draws_all_three_cells_on_the_same_input(make):
    cfg = Config(length=60, sigma1=1.05, activation="tanh", hidden=8)
    session, view = make(CompareView, cfg)
    assert view.hint.isVisibleTo(view) and not view.content.isVisibleTo(view)   # compare mode off
    session.set_compare_mode(True)
    assert session.wait_idle()
    assert view.content.isVisibleTo(view) and not view.hint.isVisibleTo(view)
    refs = {k: reference(cfg, k) for k in KINDS}
    for k in KINDS:
        x, y = drawn(view.curves[k])
        np.testing.assert_array_equal(x, np.arange(61))
        np.testing.assert_allclose(y, refs[k].log10_jac_norm, atol=1e-12)
    # the three curves really differ (the gated cells do not follow σ₁ᵗ)
    assert abs(refs["rnn"].log10_jac_norm[-1] - refs["gru"].log10_jac_norm[-1]) > 0.5
    _, cp = drawn(view.cell_path)
    np.testing.assert_allclose(cp, refs["lstm"].log10_cell_norm, atol=1e-12)
    _, s1 = drawn(view.sigma1)
    np.testing.assert_allclose(s1, np.arange(61) * math.log10(1.05), atol=1e-12)
    # heatmaps: states h_t and the key gate of each cell, units × time
    cols = view.columns
    np.testing.assert_allclose(cols["lstm"].gate_image.image, refs["lstm"].gates["f"].T, atol=1e-6)
    np.testing.assert_allclose(cols["gru"].gate_image.image, refs["gru"].gates["z"].T, atol=1e-6)
    np.testing.assert_allclose(cols["rnn"].gate_image.image, refs["rnn"].slope.T, atol=1e-6)
    for k in KINDS:
        np.testing.assert_allclose(cols[k].state_image.image, refs[k].h.T, atol=1e-6)
        assert cols[k].state_levels == (-1.0, 1.0)          # tanh-bounded: fixed scale
        assert cols[k].state_image.levels[0] == -1.0
    session.set_compare_mode(False)
    assert view.hint.isVisibleTo(view) and not view.content.isVisibleTo(view)


def test_compare_steps_all_three_in_lockstep(make):
    cfg = Config(length=50, sigma1=0.97, hidden=6)
    session, view = make(CompareView, cfg)
    session.set_compare_mode(True)
    assert session.wait_idle()
    refs = {k: reference(cfg, k) for k in KINDS}
    for t in (0, 17, 33, 50):
        session.set_step(t)
        assert view.cursor.value() == t
        for k in KINDS:
            assert view.columns[k].state_cursor.value() == t
            assert view.columns[k].gate_cursor.value() == t
        text = view.readout.text()
        assert f"t = {t}" in text
        for k in KINDS:
            assert f"{k.upper()} <b style" in text
            assert f">{format_pow10(refs[k].log10_jac_norm[t])}</b>" in text
        mx, my = view.markers.getData()
        np.testing.assert_array_equal(mx, [t, t, t])
        np.testing.assert_allclose(my, [refs[k].log10_jac_norm[t] for k in KINDS], atol=1e-12)


def test_compare_unbounded_rnn_states_use_symmetric_scale_without_overflow(make):
    # identity RNN with σ₁ = 3 over 400 steps: states reach ~10¹⁹⁰, beyond float32
    cfg = Config(length=400, sigma1=3.0, hidden=4)
    session, view = make(CompareView, cfg)
    session.set_compare_mode(True)
    assert session.wait_idle()
    ref = reference(cfg, "rnn")
    big = float(np.max(np.abs(ref.h)))
    assert big > 1e40
    lo, hi = view.columns["rnn"].state_levels
    assert hi == pytest.approx(min(big, 1e30)) and lo == -hi
    img = view.columns["rnn"].state_image.image
    assert np.all(np.isfinite(img))
    _, y = drawn(view.curves["rnn"])
    np.testing.assert_allclose(y, ref.log10_jac_norm, atol=1e-9)


def test_compare_follows_a_setup_change(make):
    cfg = Config(length=30, hidden=5)
    session, view = make(CompareView, cfg)
    session.set_compare_mode(True)
    assert session.wait_idle()
    session.update(sigma1=0.9, convention="seed")
    assert session.wait_idle()
    new = cfg.replace(sigma1=0.9, convention="seed")
    for k in KINDS:
        np.testing.assert_allclose(drawn(view.curves[k])[1], reference(new, k).log10_jac_norm, atol=1e-12)


# -- ExplainView -----------------------------------------------------------------------------------

def explain(make, cfg, t):
    session, view = make(ExplainView, cfg, (420, 700))
    session.refresh()
    assert session.wait_idle()
    session.set_step(t)
    assert session.step == t
    return session, view


def test_explain_lstm_numbers_are_the_trace_at_t(make):
    cfg = Config(cell="lstm", length=30, hidden=8, sigma1=0.95)
    session, view = explain(make, cfg, 12)
    ref = reference(cfg)
    t = 12
    spin = view.findChild(object, "explain_unit")
    assert spin.maximum() == 7
    for j in (3, 6):
        spin.setValue(j)
        v = view.values()
        assert v["t"] == t and v["unit"] == j
        assert v["f"] == ref.gates["f"][t - 1, j]
        assert v["i"] == ref.gates["i"][t - 1, j]
        assert v["c_tilde"] == ref.gates["g"][t - 1, j]
        assert v["o"] == ref.gates["o"][t - 1, j]
        assert v["c_prev"] == ref.c[t - 1, j] and v["c"] == ref.c[t, j]
        assert v["h_prev"] == ref.h[t - 1, j] and v["h"] == ref.h[t, j]
        assert v["c_check"] == pytest.approx(ref.c[t, j], abs=1e-15)       # the notes' identity
        assert v["log10_jac"] == ref.log10_jac_norm[t]
        assert v["log10_cell"] == ref.log10_cell_norm[t]
        html = view.findChild(object, "explain_text").toPlainText()
        assert f"= {format_value(v['f'])}" in html and "forget gate" in html
        assert format_pow10(ref.log10_jac_norm[t]) in html
    assert view.values()["f"] != ref.gates["f"][t - 1, 3]       # the unit really changed


@pytest.mark.parametrize("convention", ["seed", "pytorch"])
def test_explain_gru_blend_in_each_convention(make, convention):
    cfg = Config(cell="gru", convention=convention, length=25, hidden=6, sigma1=1.02)
    session, view = explain(make, cfg, 9)
    ref = reference(cfg)
    t = 9
    view.unit_spin.setValue(4)
    v = view.values()
    z = ref.gates["z"][t - 1, 4]
    assert v["r"] == ref.gates["r"][t - 1, 4]
    assert v["z"] == z
    assert v["h_tilde"] == ref.gates["n"][t - 1, 4]
    assert v["h_prev"] == ref.h[t - 1, 4] and v["h"] == ref.h[t, 4]
    assert v["h_check"] == pytest.approx(ref.h[t, 4], abs=1e-15)
    assert v["keep"] == pytest.approx(1 - z if convention == "seed" else z)
    text = view.text.toPlainText()
    assert "typo for W" in text
    blend = "(1 − zₜ) ⊙ hₜ₋₁ + zₜ ⊙" if convention == "seed" else "(1 − zₜ) ⊙ nₜ + zₜ ⊙ hₜ₋₁"
    assert blend.replace("ₜ₋₁", "t−1").replace("ₜ", "t") in text


def test_explain_rnn_slope_and_gradient(make):
    cfg = Config(cell="rnn", activation="tanh", length=40, hidden=6, sigma1=1.3)
    session, view = explain(make, cfg, 20)
    ref = reference(cfg)
    t = 20
    view.unit_spin.setValue(2)
    v = view.values()
    assert v["a"] == ref.preact[t - 1, 2]
    assert v["slope"] == ref.slope[t - 1, 2]
    assert v["h"] == ref.h[t, 2] and v["h_prev"] == ref.h[t - 1, 2]
    assert v["log10_jac"] == ref.log10_jac_norm[t]
    assert v["log10_sigma1t"] == pytest.approx(t * math.log10(1.3), abs=1e-12)
    text = view.text.toPlainText()
    assert "φ'(at) = " + format_value(v["slope"]) in text
    assert "1.3²⁰" in text
    # the whole "what to notice" line is there (no HTML swallowed by a bare '<')
    assert ref.log10_jac_norm[t] < t * math.log10(1.3) - 0.3
    assert "saturation (φ' < 1) has shrunk it." in text
    session.set_step(0)
    assert view.values() == {"t": 0, "unit": 2, "h": 0.0}
    assert "initial state" in view.text.toPlainText()


def test_explain_names_a_non_normal_w_not_saturation(make):
    # identity RNN (φ' = 1): the only reason the norm falls below σ₁ᵗ is W's non-normality
    cfg = Config(cell="rnn", activation="identity", sigma1=1.05, structure="non-normal", length=120, hidden=8)
    session, view = explain(make, cfg, 120)
    a = session.analysis
    rho = float(np.max(np.abs(next(iter(a.eigenvalues.values())))))
    assert rho < 1.0 < a.sigma1
    assert a.trace.log10_jac_norm[120] < 120 * math.log10(1.05) - 0.3
    text = view.text.toPlainText()
    assert "W is not normal" in text and f"ρ = {rho:.4g}" in text
    assert "saturation" not in text


def test_explain_sigma1_of_one_is_one_not_above(make):
    # an orthogonal W has σ₁ = 1 only up to rounding (1.0000000000000002)
    cfg = Config(cell="rnn", activation="identity", shape="flat", sigma1=1.0, length=50, hidden=8)
    session, view = explain(make, cfg, 50)
    text = view.text.toPlainText()
    assert "σ₁ = 1: σ₁t stays 1" in text
    assert "explodes" not in text and "vanishes" not in text


def test_restyle_for_a_projector_keeps_the_data(make):
    from gatescope.gui import style
    cfg = Config(cell="lstm", length=20, hidden=4)
    session, view = make(CompareView, cfg)
    session.set_compare_mode(True)
    assert session.wait_idle()
    session.set_step(9)
    explain_view = ExplainView(session)
    before = explain_view.values()
    size = view.readout.font().pointSizeF()
    try:
        big = style.Theme(scale=1.5)
        view.apply_style(big)
        explain_view.apply_style(big)
        assert view.readout.font().pointSizeF() == pytest.approx(1.5 * size)
        assert f"{(style.BASE_POINT_SIZE + 2) * 1.5:.0f}pt" in view.columns["gru"].title.text
        assert explain_view.text.font().pointSizeF() == pytest.approx((style.BASE_POINT_SIZE + 1) * 1.5)
    finally:
        view.apply_style(style.Theme())
        explain_view.deleteLater()
    assert view.cursor.value() == 9
    ref = reference(cfg, "gru")
    np.testing.assert_allclose(drawn(view.curves["gru"])[1], ref.log10_jac_norm, atol=1e-12)
    assert explain_view.values() == before


def test_compare_when_the_rnn_state_leaves_float64_range(make):
    # the RNN's trace stops early (overflow), the gated cells run the whole sequence
    cfg = Config(cell="lstm", activation="identity", sigma1=3.0, shape="flat", length=900, hidden=8)
    session, view = make(CompareView, cfg)
    session.set_compare_mode(True)
    assert session.wait_idle(60000)
    comp = view._comparison
    T_rnn = comp["rnn"].steps
    assert comp["rnn"].trace.overflow_step is not None and T_rnn < 900 == comp["lstm"].steps
    x, _ = drawn(view.curves["rnn"])
    assert len(x) == T_rnn + 1
    x, _ = drawn(view.curves["lstm"])
    assert len(x) == 901
    session.set_step(800)
    assert view.cursor.value() == 800
    assert f"stopped at t = {T_rnn}" in view.readout.text()


# -- the gradient view's hover box -----------------------------------------------------------------

def hover_at(qtbot, view, t: int):
    """Move the pointer over step t of the gradient plot; the hover box's text (None if hidden)."""
    import pyqtgraph as pg
    from PySide6.QtCore import QPointF
    from PySide6.QtWidgets import QApplication
    rate = pg.getConfigOption("mouseRateLimit")       # pyqtgraph drops moves closer than this
    qtbot.wait(int(1000 / rate) + 5 if rate > 0 else 0)
    QApplication.processEvents()
    y = float(np.nan_to_num(view.session.analysis.trace.log10_jac_norm[t]))
    scene = view.plot.vb.mapViewToScene(QPointF(t, y))
    qtbot.mouseMove(view.plot_widget.viewport(), view.plot_widget.mapFromScene(scene))
    QApplication.processEvents()
    return view.hover_shown()


def test_hover_box_goes_when_the_pointer_leaves_and_when_its_numbers_change(make, qtbot):
    from gatescope.core.presets import get_preset
    from gatescope.gui.views.gradient import GradientView
    from PySide6.QtCore import QPoint
    cfg = Config(cell="rnn", activation="tanh", sigma1=1.1, length=40, hidden=6)
    session, view = make(GradientView, cfg)
    session.refresh()
    assert session.wait_idle()

    def shows(t, config):
        text = hover_at(qtbot, view, t)
        ref = reference(config)
        assert text is not None and text.startswith(f"t = {t}\n"), text
        assert f"(log10 {ref.log10_jac_norm[t]:.6g})" in text        # this setup's numbers
        return text

    shows(12, cfg)
    qtbot.mouseMove(view.readout, QPoint(20, 5))          # the pointer leaves the plot
    assert view.hover_shown() is None and not view.hover.isVisible()
    shows(12, cfg)
    session.update(sigma1=0.8)                            # a new analysis
    assert view.hover_shown() is None
    assert session.wait_idle() and view.hover_shown() is None
    cfg = cfg.replace(sigma1=0.8)
    shows(20, cfg)
    session.update(cell="gru")                            # a cell change: gone at once
    assert view.hover_shown() is None
    assert session.wait_idle() and view.hover_shown() is None
    cfg = cfg.replace(cell="gru")
    shows(20, cfg)
    preset = get_preset("lstm-carousel")                  # a preset load
    session.set_config(preset.config)
    assert view.hover_shown() is None
    assert session.wait_idle() and view.hover_shown() is None
    shows(30, preset.config)
    session.set_step(7)                                   # a step change
    assert view.hover_shown() is None
    shows(31, preset.config)                              # shown again once the pointer moves


# -- the spectrum at n = 256 -----------------------------------------------------------------------

def area_pixels(view) -> tuple[int, float]:
    """(pixels of the singular-value plot drawn in the area's exact fill colour, the pixels the
    area under σ_i covers by the plot's own mapping)."""
    from gatescope.gui.views.spectrum import AREA_COLOUR
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QColor, QImage
    from PySide6.QtWidgets import QApplication
    QApplication.processEvents()
    img = view.graphs.grab().toImage().convertToFormat(QImage.Format_RGB32)
    vb = view.sv_plot.vb
    rect = view.graphs.mapFromScene(vb.sceneBoundingRect()).boundingRect()
    s = view.session.analysis.singular_values[view.block.currentData()]
    want = QColor(*AREA_COLOUR).rgb()
    found, expect = 0, 0.0
    y0 = view.graphs.mapFromScene(vb.mapViewToScene(QPointF(0, 0))).y()
    for px in range(rect.left() + 1, rect.right()):
        x = vb.mapSceneToView(view.graphs.mapToScene(QPoint_(px, 0))).x()
        i = int(np.floor(x + 0.5))                         # the value whose step covers x
        if 1 <= i <= len(s):
            top = view.graphs.mapFromScene(vb.mapViewToScene(QPointF(x, s[i - 1]))).y()
            expect += max(0, min(y0, rect.bottom()) - max(top, rect.top()))
        found += sum(1 for py in range(rect.top(), rect.bottom()) if img.pixel(px, py) == want)
    return found, expect


def QPoint_(x, y):
    from PySide6.QtCore import QPoint
    return QPoint(x, y)


def test_spectrum_of_256_singular_values_is_an_area_not_slivers(make):
    from gatescope.gui.views.spectrum import BARS_MAX, SpectrumView
    cfg = Config(hidden=256, shape="geometric", sigma1=1.2, length=10)
    session, view = make(SpectrumView, cfg, (900, 600))
    session.refresh()
    assert session.wait_idle()
    s = np.linalg.svd(cfg.build_cell().weight_hh, compute_uv=False)
    assert len(s) == 256 > BARS_MAX and view.as_area()
    assert view.area.isVisible() and not view.bars.isVisible()
    x, y = view.area.getData()
    np.testing.assert_array_equal(x, np.arange(257) + 0.5)     # step edges i ± ½
    np.testing.assert_allclose(y, s, rtol=1e-12)
    tx, ty = view.top.getData()                                  # σ₁ marked
    assert list(tx) == [1.0] and ty[0] == pytest.approx(s[0], rel=1e-12)
    # drawn as one solid area: the plot's pixels in the fill colour cover the area under σ_i
    found, expect = area_pixels(view)
    assert expect > 2000 and found >= 0.8 * expect, (found, expect)
    # back to a few values: bars again, σ₁ red
    session.update(hidden=12)
    assert session.wait_idle()
    assert not view.as_area() and view.bars.isVisible() and not view.top.isVisible()
    s12 = np.linalg.svd(cfg.replace(hidden=12).build_cell().weight_hh, compute_uv=False)
    np.testing.assert_allclose(view.bars.opts["height"], s12, rtol=1e-12)
