"""The Directions view (every σᵢ(∂s_t/∂s₀), the Lyapunov spectrum, the gradient split), the
edge-of-chaos view and the every-direction / edge-of-chaos presets, driven through a real
Session: what is drawn is read back from the plot items and compared with independent engine
calls on the setup's own cell and inputs (built again from the Config)."""
import dataclasses

import numpy as np
import pytest
from gatescope.core import Config
from gatescope.core.analysis import analyse
from gatescope.core.directions import log_singular_curves, split_gradient
from gatescope.core.explain_directions import directions_html, split_seconds
from gatescope.core.lyapunov import (
    edge_of_chaos,
    gaussian_rnn,
    lyapunov_spectrum,
    scaled_cell,
    top_lyapunov_exponent,
)
from gatescope.core.models.readout import make_readout
from gatescope.core.presets import get_preset
from gatescope.core.simulate import Cancelled, forward
from gatescope.core.theory import format_pow10
from gatescope.gui.session import Session
from gatescope.gui.settings_store import SettingsStore
from gatescope.gui.views import chaos as chaos_module
from gatescope.gui.views.chaos import EdgeOfChaosView
from gatescope.gui.views.directions import DirectionsView, kept_directions, readout_gradient, steady_range


@pytest.fixture
def make_session(tmp_path):
    made = []

    def make(config):
        s = Session(config, store=SettingsStore(str(tmp_path / "s.ini")))
        s.refresh()
        assert s.wait_idle()
        made.append(s)
        return s
    yield make
    for s in made:
        s.shutdown()


@pytest.fixture
def make_view(qtbot):
    made = []

    def make(session, cls=DirectionsView, show=True):
        v = cls(session)
        qtbot.addWidget(v)
        v.resize(900, 700)
        if show:
            v.show()
            qtbot.waitExposed(v)
        made.append(v)
        return v
    yield make
    for v in made:
        v.shutdown()


def engine_inputs(config):
    cell = config.build_cell()
    return cell, config.build_inputs(cell.input_size)[0]


def same_finite(drawn, expected, atol=1e-12):
    """Equal where the engine is finite; a gap (NaN) where it is not."""
    fin = np.isfinite(expected)
    np.testing.assert_allclose(drawn[fin], expected[fin], rtol=0, atol=atol)
    assert np.isnan(drawn[~fin]).all()


def wait_directions(qtbot, view, timeout=20000):
    qtbot.waitUntil(lambda: view.curves is not None, timeout=timeout)


CONFIGS = [Config(length=60), Config(cell="lstm", hidden=5, length=40),
           Config(cell="gru", hidden=6, length=50, activation="tanh")]


@pytest.mark.parametrize("config", CONFIGS, ids=["rnn", "lstm", "gru"])
def test_curves_readout_and_lyapunov_equal_the_engine(make_session, make_view, qtbot, config):
    session = make_session(config)
    view = make_view(session)
    wait_directions(qtbot, view)
    cell, x = engine_inputs(config)
    expected = log_singular_curves(cell, forward(cell, x))
    drawn = view.drawn_curves()
    assert drawn.shape == expected.shape == (x.shape[0] + 1, cell.state_size)
    same_finite(drawn, expected)
    # the readout's k at the session's step, counted from the engine's numbers
    t = session.step
    row = expected[t]
    k = int(np.sum(10.0 ** (row - row[0]) > 1e-3))
    assert view.kept == k
    assert f"{k} of {cell.state_size} directions keep more than 10⁻³ of σ₁" in view.readout_text()
    lam = lyapunov_spectrum(cell, x)
    same_finite(view.lyapunov_bars(), lam)
    if cell.kind == "rnn":
        ln_sigma = np.log(np.linalg.svd(cell.weight_hh, compute_uv=False))
        same_finite(view.sigma_log_bars(), ln_sigma)
        theory = np.stack([it.getData()[1] for it in view.theory_items if it.isVisible()])
        assert theory.shape == (cell.hidden_size, x.shape[0] + 1)
        ts = np.arange(x.shape[0] + 1)
        np.testing.assert_allclose(theory, ts[None, :] * np.log10(np.exp(ln_sigma))[:, None],
                                   rtol=1e-12, atol=1e-12)
    else:
        assert not any(it.isVisible() for it in view.theory_items)
        assert np.isnan(view.sigma_log_bars()).all()


def test_the_readout_follows_the_step(make_session, make_view, qtbot):
    config = Config(sigma1=1.0, shape="geometric", length=80)
    session = make_session(config)
    view = make_view(session)
    wait_directions(qtbot, view)
    cell, x = engine_inputs(config)
    expected = log_singular_curves(cell, forward(cell, x))
    for t in (1, 17, 80):
        session.set_step(t)
        k = int(np.sum(expected[t] > expected[t, 0] - 3.0))
        assert view.kept == k == kept_directions(expected[t])
        assert view.cursor.value() == t
        assert f"after {t} step" in view.readout_text()


@pytest.mark.parametrize("config", [Config(length=40), Config(cell="lstm", hidden=4, length=30)],
                         ids=["rnn", "lstm"])
def test_split_bars_equal_split_gradient(make_session, make_view, qtbot, config):
    session = make_session(config)
    view = make_view(session)
    wait_directions(qtbot, view)
    cell, x = engine_inputs(config)
    for t, j in ((config.length, 1), (7, 3)):
        g = np.zeros(cell.hidden_size)
        g[j - 1] = 1.0
        expected = split_gradient(cell, x, t, g)
        session.set_step(t)
        view.unit.setValue(j)

        def done(t=t, e=expected):
            s = view.split
            return s is not None and s.step == t and np.allclose(s.coefficient, e.coefficient,
                                                                 rtol=0, atol=1e-12)
        qtbot.waitUntil(done, timeout=10000)
        same_finite(view.split_heights(), expected.log10_reach)


def test_steady_range_moves_only_when_it_must():
    assert steady_range((-6.0, 1.0), -5.0, 0.2) is None                  # fits, fills ≥ half
    assert steady_range((-6.0, 1.0), -7.2, 0.2) == (-8.0, 1.0)           # below: whole decades
    assert steady_range((-6.0, 1.0), -5.0, 1.2) == (-5.0, 2.0)           # room above the top bar
    assert steady_range((-60.0, 1.0), -5.0, 0.2) == (-5.0, 1.0)          # far too wide: shrinks


def test_playing_keeps_the_split_plot_range_while_the_bars_fit(make_session, make_view, qtbot):
    """Stepping on re-splits at every step from the previous state; the bars equal the engine's
    and the y range changes only when they leave it (no re-ticking at every step)."""
    config = Config(length=120)
    session = make_session(config)
    view = make_view(session)
    wait_directions(qtbot, view)
    cell, x = engine_inputs(config)
    g = np.zeros(cell.hidden_size)
    g[0] = 1.0
    session.set_step(60)
    qtbot.waitUntil(lambda: view.split is not None and view.split.step == 60, timeout=10000)
    ranges = []
    for t in range(61, 91):
        session.step_by(1)
        qtbot.waitUntil(lambda t=t: view.split is not None and view.split.step == t, timeout=10000)
        expected = split_gradient(cell, x, t, g)
        # σᵢ and ‖∂ℓ/∂h₀‖ are unique; each cᵢ only up to rotations within a cluster of σᵢ
        np.testing.assert_allclose(view.split.log10_sigma, expected.log10_sigma, rtol=0, atol=1e-9)
        assert view.split.log10_total == pytest.approx(expected.log10_total, abs=1e-9)
        same_finite(view.split_heights(), view.split.log10_reach)
        (_x0, _x1), (y0, y1) = view.split_plot.viewRange()
        bars = view.split.log10_reach[np.isfinite(view.split.log10_reach)]
        assert y0 <= bars.min() - 0.99 and bars.max() <= y1
        ranges.append((round(y0, 9), round(y1, 9)))
    assert len(set(ranges)) <= 3, ranges


def test_a_hidden_view_computes_nothing_until_shown(make_session, make_view, qtbot):
    session = make_session(Config(length=30))
    view = make_view(session, show=False)
    assert view.curves is None and not view.worker.busy()
    view.show()
    qtbot.waitExposed(view)
    wait_directions(qtbot, view)
    assert view.curves.shape == (31, 16)


def test_a_new_analysis_replaces_the_curves(make_session, make_view, qtbot):
    session = make_session(Config(length=30))
    view = make_view(session)
    wait_directions(qtbot, view)
    session.update(length=45)
    assert session.wait_idle()
    qtbot.waitUntil(lambda: view.curves is not None and view.curves.shape[0] == 46, timeout=20000)
    cell, x = engine_inputs(session.config)
    same_finite(view.drawn_curves(), log_singular_curves(cell, forward(cell, x)))


def test_an_overflowed_trace_draws_its_steps(make_session, make_view, qtbot):
    """An identity RNN with σ₁ = 3 leaves float64 range (3⁶⁴⁶ > 10³⁰⁸): the trace stops before
    it, the view draws those steps, every value t·log10 σᵢ (a normal W), no crash."""
    config = Config(sigma1=3.0, length=700)
    session = make_session(config)
    tr = session.analysis.trace
    assert tr.overflow_step is not None
    view = make_view(session)
    wait_directions(qtbot, view)
    assert view.drawn_curves().shape == (tr.steps + 1, 16)
    cell, _ = engine_inputs(config)
    s = np.linalg.svd(cell.weight_hh, compute_uv=False)
    ts = np.arange(tr.steps + 1)[:, None]
    np.testing.assert_allclose(view.drawn_curves(), ts * np.log10(s)[None, :], rtol=0, atol=1e-9)


def test_an_exactly_zero_product_draws_gaps(make_session, make_view, qtbot):
    """A ReLU RNN whose units all switch off: ∂s_t/∂s₀ = 0 exactly, every direction −inf (gaps),
    no crash; the readout says no direction survives."""
    config = Config(activation="relu", sigma1=0.3, input_scale=0.0, length=20)
    session = make_session(config)
    view = make_view(session)
    wait_directions(qtbot, view)
    jac = session.analysis.trace.log10_jac_norm
    zero = np.isneginf(jac)
    if not zero.any():
        pytest.skip("this setup keeps a unit on")
    assert np.isneginf(view.curves[zero]).all()
    assert np.isnan(view.drawn_curves()[zero]).all()
    session.set_step(int(np.argmax(zero)))
    assert "no direction survives" in view.readout_text()


# ----------------------------------------------------------------------------------------------
# The edge of chaos



@pytest.mark.parametrize("config", [Config(activation="tanh", length=60),
                                    Config(cell="lstm", hidden=4, length=30)], ids=["rnn", "lstm"])
def test_edge_of_chaos_points_equal_the_engine(make_session, make_view, qtbot, config):
    session = make_session(config)
    view = make_view(session, EdgeOfChaosView, show=False)
    view.count.setValue(5)
    view.show()
    qtbot.waitExposed(view)
    qtbot.waitUntil(lambda: view.lambdas is not None and len(view.lambdas) == 5, timeout=20000)
    cell, x = engine_inputs(config)
    sigma1 = max(np.linalg.svd(w, compute_uv=False)[0] for w in cell.recurrent_blocks().values())
    gains = np.linspace(0.5, 2.0, 5) / sigma1
    np.testing.assert_allclose(view.gains, gains, rtol=1e-15)
    expected = edge_of_chaos(lambda g: scaled_cell(cell, g), gains, x)
    xs, ys = view.curve.getData()
    np.testing.assert_allclose(ys, expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(xs, gains * sigma1, rtol=1e-12)
    now = top_lyapunov_exponent(cell, x)
    assert view.current.data["y"][0] == pytest.approx(now, abs=1e-12)
    assert view.current.data["x"][0] == pytest.approx(sigma1, rel=1e-12)


def test_edge_of_chaos_random_mode(make_session, make_view, qtbot):
    config = Config(activation="tanh", hidden=12, length=40)
    session = make_session(config)
    view = make_view(session, EdgeOfChaosView)
    qtbot.waitUntil(lambda: view.lambdas is not None, timeout=20000)
    view.mode.setCurrentIndex(1)
    view.count.setValue(3)
    view.run_button.click()
    qtbot.waitUntil(lambda: view.lambdas is not None and len(view.lambdas) == 3, timeout=20000)
    cell, x = engine_inputs(config)
    gains = np.linspace(0.5, 2.0, 3)
    expected = edge_of_chaos(lambda g: gaussian_rnn(12, g, input_size=cell.input_size,
                                                    nonlinearity="tanh"), gains, x)
    np.testing.assert_allclose(view.curve.getData()[1], expected, rtol=0, atol=1e-12)


def test_edge_of_chaos_cancel(make_session, make_view, qtbot, monkeypatch):
    """Cancel stops the job (which here waits for it: no race) and draws nothing."""
    started = []

    def waiting(factory, gains, inputs, h0=None, c0=None, *, discard=0, progress=None):
        started.append(True)
        while progress(0.0) is not False:
            pass
        raise Cancelled()
    monkeypatch.setattr(chaos_module, "edge_of_chaos", waiting)
    session = make_session(Config(length=30))
    view = make_view(session, EdgeOfChaosView)
    qtbot.waitUntil(lambda: bool(started) and view.cancel_button.isEnabled(), timeout=10000)
    with qtbot.waitSignal(view.cancelled, timeout=10000):
        view.cancel_button.click()
    assert view.lambdas is None and view.status.text() == "cancelled"
    assert not view.cancel_button.isEnabled()
    assert view.worker.wait(5)


# ----------------------------------------------------------------------------------------------
# The presets: every number their descriptions print, from a fresh run



def numbers_in(text):
    """The numbers a description prints (decimal, with a Unicode minus or superscript exponent)."""
    import re
    sup = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
    text = re.sub(r"10([⁻⁰¹²³⁴⁵⁶⁷⁸⁹]+)", lambda m: "1e" + m.group(1).translate(sup), text)
    text = text.replace("−", "-").replace("₁₆", "").replace("₁", "")
    return sorted({float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e-?\d+)?", text)})


def test_every_direction_preset_numbers_hold():
    p = get_preset("every-direction")
    cell = p.config.build_cell()
    x, _ = p.config.build_inputs(cell.input_size)
    s = np.linalg.svd(cell.weight_hh, compute_uv=False)
    C = log_singular_curves(cell, forward(cell, x))
    m, T = cell.state_size, x.shape[0]
    assert (m, T) == (16, 100)
    checked = {1.0: s[0], 16.0: m, 0.1: s[-1], 100.0: T}
    assert round(float(s[0]), 12) == 1.0 and round(float(s[-1]), 12) == 0.1
    assert kept_directions(C[10]) == 5 and kept_directions(C[50]) == 1
    assert round(float(C[100, -1]), 6) == -100.0                       # 10⁻¹⁰⁰, exactly
    np.testing.assert_allclose(C[100], 100 * np.log10(s), rtol=0, atol=1e-9)
    assert np.allclose(cell.weight_hh, cell.weight_hh.T)                # symmetric: normal
    printed = numbers_in(p.description)
    expected = sorted({1.0, 16.0, 0.1, 10.0, 5.0, 1e-3, 50.0, 100.0, 1e-100})
    assert printed == expected, printed
    assert checked


def test_edge_of_chaos_preset_numbers_hold():
    p = get_preset("edge-of-chaos")
    cell = p.config.build_cell()
    x, _ = p.config.build_inputs(cell.input_size)
    s1 = float(np.linalg.svd(cell.weight_hh, compute_uv=False)[0])
    assert (cell.hidden_size, round(s1, 12)) == (32, 1.5)
    lam = edge_of_chaos(lambda g: scaled_cell(cell, g), np.array([1.0, 1.4, 1.6, 2.0]) / s1, x)
    assert round(float(lam[0]), 2) == -0.20 and round(float(lam[3]), 1) == 0.1
    assert lam[1] < 0 < lam[2]
    quiet = p.config.replace(input_scale=0.0)                           # without input: σ₁ = 1
    qc = quiet.build_cell()
    qx, _ = quiet.build_inputs(qc.input_size)
    ql = edge_of_chaos(lambda g: scaled_cell(qc, g), np.array([0.99, 1.01]) / s1, qx)
    assert ql[0] < 0 < ql[1]
    printed = numbers_in(p.description)
    assert printed == sorted({32.0, 1.0, 1.5, -0.20, 0.1, 2.0, 0.0, 1.4, 1.6}), printed


@pytest.mark.parametrize("name", ["every-direction", "edge-of-chaos"])
def test_the_presets_load_into_a_session(make_session, make_view, qtbot, name):
    session = make_session(get_preset(name).config)
    view = make_view(session)
    wait_directions(qtbot, view)
    assert view.curves.shape == (session.analysis.steps + 1, session.analysis.cell.state_size)


# ----------------------------------------------------------------------------------------------
# The Explain panel's text



@pytest.mark.parametrize("config", [Config(length=40), Config(cell="lstm", hidden=4, length=20)],
                         ids=["rnn", "lstm"])
def test_explain_text_has_the_top_three_directions_live_numbers(config):
    a = analyse(config)
    t = a.steps // 2
    html = directions_html(a, t, unit=1)
    g = np.zeros(a.cell.hidden_size)
    g[1] = 1.0
    s = split_gradient(a.cell, a.trace.inputs, t, g)
    for i in range(3):
        assert f"<td>{i + 1}</td><td>{format_pow10(float(s.log10_sigma[i]))}</td>" \
               f"<td>{s.coefficient[i]:+.3f}</td><td>{format_pow10(float(s.log10_reach[i]))}</td>" in html
    k = int(np.sum(s.log10_sigma > s.log10_sigma[0] - 3))
    assert f"{k} of {a.cell.state_size} directions keep more than 10⁻³ of σ₁" in html
    assert directions_html(a, 0) is None
    assert directions_html(analyse(config), t, budget_s=0.0) is None   # over its time budget
    # the split at t left its state: one step on (play) is within one step's budget
    assert directions_html(a, t + 1, unit=1, budget_s=split_seconds(a.cell.state_size, 1)) is not None
    assert directions_html(analyse(config), t + 1, budget_s=split_seconds(a.cell.state_size, 1)) is None


def test_the_edge_of_chaos_tab_works_only_when_shown(make_session, make_view, qtbot):
    session = make_session(Config(activation="tanh", length=30))
    view = make_view(session)
    wait_directions(qtbot, view)
    assert view.chaos.lambdas is None and not view.chaos.worker.busy()      # its tab is hidden
    view.chaos.count.setValue(3)
    view.tabs.setCurrentIndex(1)
    qtbot.waitUntil(lambda: view.chaos.lambdas is not None, timeout=20000)
    cell, x = engine_inputs(session.config)
    gains = np.linspace(0.5, 2.0, 3) / session.analysis.sigma1
    np.testing.assert_allclose(view.chaos.lambdas, edge_of_chaos(lambda g: scaled_cell(cell, g),
                                                                 gains, x), rtol=0, atol=1e-12)
    assert "edge_of_chaos" in view.export_targets()
    # a new analysis while on the chaos tab: the curves wait until the directions tab is shown
    session.update(length=40)
    assert session.wait_idle()
    qtbot.waitUntil(lambda: view._analysis is session.analysis, timeout=5000)
    assert view.curves is None
    view.tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: view.curves is not None and view.curves.shape[0] == 41, timeout=20000)


# ----------------------------------------------------------------------------------------------
# The readout's gradient



def with_readout(a, activation):
    rng = np.random.default_rng(5)
    n = a.cell.hidden_size
    return dataclasses.replace(a, readout=make_readout(rng.standard_normal((4, n)),
                                                       rng.standard_normal(4), activation))


@pytest.mark.parametrize("activation", ["softmax", "linear"])
def test_readout_gradient_is_the_central_difference(activation):
    a = with_readout(analyse(Config(length=12)), activation)
    t = 7
    W, b = a.readout.weight, a.readout.bias
    h = a.trace.h[t]
    k = int(np.argmax(W @ h + b))

    def y(hh):
        z = W @ hh + b
        if activation == "linear":
            return z[k]
        p = np.exp(z - z.max())
        return (p / p.sum())[k]
    eps = 1e-6
    fd = np.array([(y(h + eps * e) - y(h - eps * e)) / (2 * eps) for e in np.eye(h.size)])
    np.testing.assert_allclose(readout_gradient(a, t), fd, rtol=0, atol=1e-8)
    assert readout_gradient(a, 0) is None


def test_the_view_splits_the_readouts_gradient(make_session, make_view, qtbot):
    session = make_session(Config(length=20))
    view = make_view(session)
    wait_directions(qtbot, view)
    assert view.use_readout.isHidden()
    a = with_readout(session.analysis, "softmax")
    session.analysis_changed.emit(a)                    # as a model with a readout would
    wait_directions(qtbot, view)
    assert not view.use_readout.isHidden()
    t = session.step
    view.use_readout.setChecked(True)
    g = readout_gradient(a, t)
    expected = split_gradient(a.cell, a.trace.inputs, t, g)
    qtbot.waitUntil(lambda: view.split is not None and np.allclose(
        view.split.coefficient, expected.coefficient, rtol=0, atol=1e-12), timeout=10000)
    same_finite(view.split_heights(), expected.log10_reach)


def test_every_export_target_writes_a_png(make_session, make_view, qtbot, tmp_path):
    from gatescope.gui.exporting import export_item
    from PySide6.QtGui import QImage
    session = make_session(Config(length=30))
    view = make_view(session)
    wait_directions(qtbot, view)
    for name, item in view.export_targets().items():
        path = tmp_path / f"{name}.png"
        export_item(item, str(path))
        img = QImage(str(path))
        assert not img.isNull() and img.width() > 50, name


def test_a_new_analysis_of_the_same_size_lays_nothing_out_again(window_at, qtbot, monkeypatch):
    """A σ₁ change with the Directions view on screen re-lays out no widget (an unchanged
    spin box range once made Qt lay out the whole window and repaint every pane each change),
    and the gradient's unit box still spans the new cell's units."""
    from PySide6.QtCore import QEvent, QObject
    session, window = window_at(Config(length=60))
    window.explore.show_panel("directions")
    assert session.wait_until_idle()
    view = window.directions
    qtbot.waitUntil(lambda: view.curves is not None)
    qtbot.wait(200)                               # its labels fitted once it is first shown
    # what every change of a drag does (the new curves, computed once the drag rests, may
    # legitimately re-lay out a readout that changes its line count): no computing here
    monkeypatch.setattr(view, "_start", lambda: None)
    monkeypatch.setattr(view.settle, "start", lambda *a: None)
    seen = []

    class Watch(QObject):
        def eventFilter(self, obj, event):       # noqa: N802
            if event.type() == QEvent.LayoutRequest and obj is window:
                seen.append(obj)
            return False
    watch = Watch()
    window.installEventFilter(watch)
    for sigma in (1.05, 1.1, 0.95):
        session.update(sigma1=sigma)
        assert session.wait_until_idle()
        qtbot.wait(5)
    window.removeEventFilter(watch)
    assert seen == []
    monkeypatch.undo()
    session.update(hidden=7)
    assert session.wait_until_idle()
    assert (view.unit.minimum(), view.unit.maximum()) == (1, 7)
