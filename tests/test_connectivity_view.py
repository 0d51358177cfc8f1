"""The Connectivity view and the Compare page's connectivity rows, driven through a real Session:
what is drawn is read back from the plot items and compared with independent engine calls on the
setup's own cell and inputs (built again from the Config)."""
import csv
import io
import math
import time

import numpy as np
import pytest
from gatescope.core import Config
from gatescope.core import connectivity as engine
from gatescope.core.connectivity import (
    Cancelled,
    Connectivity,
    influence,
    input_connectivity,
    output_connectivity,
    prepare,
)
from gatescope.core.inputs import france_sentence, tokenize
from gatescope.core.models.readout import Readout
from gatescope.gui.exporting import export_item
from gatescope.gui.session import Session
from gatescope.gui.settings_store import SettingsStore
from gatescope.gui.views import connectivity as view_module
from gatescope.gui.views.axes import pow10_label
from gatescope.gui.views.compare_connectivity import KINDS, CompareConnectivity
from gatescope.gui.views.connectivity import (
    ConnectivityView,
    bar_row,
    decade_levels,
    heat_image,
    set_bars,
)
from PySide6.QtCore import QPointF, Qt

FRANCE = Config(activation="tanh", source="text", text=france_sentence(40))


@pytest.fixture
def make_session(tmp_path):
    made = []

    def make(config, compare=False):
        s = Session(config, store=SettingsStore(str(tmp_path / "s.ini")))
        if compare:
            s.set_compare_mode(True)
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

    def make(session, cls=ConnectivityView, show=True):
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


def assert_same_finite(drawn, expected, atol=1e-12):
    """Equal where the engine is finite; no bar (NaN) where it is not."""
    fin = np.isfinite(expected)
    np.testing.assert_allclose(drawn[fin], expected[fin], rtol=0, atol=atol)
    assert np.isnan(drawn[~fin]).all()


def wait_matrix(qtbot, view, timeout=15000):
    qtbot.waitUntil(lambda: view.matrix() is not None, timeout=timeout)
    return view.matrix()


# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("config", [
    FRANCE.replace(cell="lstm", hidden=6, text=france_sentence(12)),
    Config(cell="gru", hidden=5, length=60),
    Config(cell="rnn", activation="identity", length=80),
])
def test_the_heatmap_is_the_engines_input_connectivity(make_session, make_view, qtbot, config):
    session = make_session(config)
    view = make_view(session)
    A = wait_matrix(qtbot, view)
    cell, x = engine_inputs(config)
    expected = input_connectivity(cell, x)                     # an independent engine call
    T = x.shape[0]
    assert A.shape == (T, T)
    np.testing.assert_array_equal(np.isneginf(A), np.isneginf(expected))
    fin = np.isfinite(expected)
    np.testing.assert_allclose(A[fin], expected[fin], rtol=0, atol=1e-12)
    # the image: row t−1 is h_t, column k−1 is x_k, float32 of the matrix on whole-decade levels
    img = view.image.image
    lo, hi = view.image.levels
    assert img.shape == (T, T) and view.image_stride == 1
    assert lo == math.floor(expected[fin].min()) and hi == math.ceil(expected[fin].max())
    np.testing.assert_allclose(img[fin], expected[fin].astype(np.float32), rtol=1e-6, atol=1e-6)
    assert np.isnan(img[np.triu_indices(T, 1)]).all()           # k > t: drawn as a gap
    r = view.image.mapRectToParent(view.image.boundingRect())
    assert (r.left(), r.top(), r.width(), r.height()) == (0.5, 0.5, T, T)   # pixel (t, k) at (k, t)
    tokens = tokenize(config.text) if config.source == "text" else None
    assert view.k_axis._tokens == tokens and view.t_axis._tokens == tokens
    ticks = view.colour_bar.axis._tickLevels[0]                 # the colour bar reads in decades
    assert ticks and all(v == round(v) and lo <= v <= hi and label == pow10_label(v)
                         for v, label in ticks)


def test_the_bars_are_the_row_at_the_current_step(make_session, make_view, qtbot):
    config = Config(cell="lstm", hidden=5, length=90)
    session = make_session(config)
    view = make_view(session)
    cell, x = engine_inputs(config)
    conn = prepare(cell, x)
    for t in (1, 2, 37, 90, 64):
        session.set_step(t)
        expected = conn.row(t)
        drawn = view.bar_row()
        assert_same_finite(drawn[:t], expected[:t])
        assert np.isnan(drawn[t:]).all()                         # no bars beyond k = t
        assert view.cursor.value() == t
        assert view.reading.influence.t == t
    session.set_step(0)
    assert np.isnan(view.bar_row()).all() and "t = 0" in view.readout_text()


def test_the_france_bar_shows_the_long_gaps_loss(make_session, make_view, qtbot):
    session = make_session(FRANCE)
    view = make_view(session)
    tokens = tokenize(FRANCE.text)
    T, k = len(tokens), tokens.index("france") + 1
    session.set_step(T)
    drawn = view.bar_row()
    row = prepare(*engine_inputs(FRANCE)).row(T)
    assert drawn[k - 1] == pytest.approx(row[k - 1], abs=1e-12)
    assert drawn[T - 1] == pytest.approx(row[T - 1], abs=1e-12)
    assert drawn[k - 1] < drawn[T - 1] - 1                     # more than a decade lost over the gap
    assert view.bar_k_axis._tokens[k - 1] == "france"


def test_how_to_read_carries_the_numbers_of_influence(make_session, make_view, qtbot):
    session = make_session(FRANCE)
    view = make_view(session)
    tokens = tokenize(FRANCE.text)
    T, k = len(tokens), tokens.index("france") + 1
    session.set_step(T)
    assert view.k == 1                                          # the default: the first token
    # a click on the bar at "france" picks k
    view.graphs.resize(900, 600)
    qtbot.wait(50)
    vb = view.bars_plot.vb
    lo, hi = vb.viewRange()[1]
    scene = vb.mapViewToScene(QPointF(k, 0.5 * (lo + hi)))
    pos = view.graphs.mapFromScene(scene)
    qtbot.mouseClick(view.graphs.viewport(), Qt.LeftButton, pos=pos)
    assert view.k == k
    # hovering another bar reads that input while the mouse is there; leaving restores the pick
    view.graphs.scene().sigMouseMoved.emit(vb.mapViewToScene(QPointF(T - 3, 0.5 * (lo + hi))))
    assert view.k == T - 3 and view.reading.influence.k == T - 3
    view.graphs.scene().sigMouseMoved.emit(QPointF(-50, -50))
    assert view.k == k and view.reading.influence.k == k
    info = influence(prepare(*engine_inputs(FRANCE)).row(T), T, k)
    text = view.reading.influence_text
    assert text.startswith(f"x_{k} (“france”)'s influence on h_{T} (“french”): ")
    assert f"10^{info.log10_influence:.2f}" in text
    assert f"down 10^{abs(info.log10_change):.2f} over the {T - k} steps since" in text
    assert f"(×{info.per_step:.3g} a step)" in text
    shown = view.readout_text()                                 # as displayed (sup/sub flattened)
    assert f"{info.log10_influence:.2f}".replace("-", "−") in shown and f"{T - k} steps" in shown
    assert view.reading.verdict == "falling" and "falling row" in shown


def test_a_hidden_view_computes_nothing(make_session, make_view, qtbot, monkeypatch):
    calls = []
    for name in ("row", "matrix", "__init__"):
        real = getattr(Connectivity, name)

        def spy(self, *args, _real=real, _name=name, **kw):
            calls.append(_name)
            return _real(self, *args, **kw)
        monkeypatch.setattr(Connectivity, name, spy)
    real_prepare = engine.prepare
    monkeypatch.setattr(engine, "prepare", lambda *a, **kw: calls.append("prepare") or real_prepare(*a, **kw))
    config = Config(activation="tanh", length=50)
    session = make_session(config)
    view = make_view(session, show=False)
    for t in (3, 10, 49):
        session.set_step(t)
    session.update(sigma1=0.9)
    assert session.wait_idle()
    qtbot.wait(100)
    assert calls == [] and view.matrix() is None and np.isnan(view.bar_row()).all()
    view.show()                                                # shown: it catches up
    A = wait_matrix(qtbot, view)
    assert "prepare" in calls and "matrix" in calls
    cell, x = engine_inputs(config.replace(sigma1=0.9))
    assert_same_finite(view.bar_row()[:49], prepare(cell, x).row(49)[:49])
    np.testing.assert_allclose(A[np.isfinite(A)], input_connectivity(cell, x)[np.isfinite(A)], atol=1e-12)
    view.hide()
    calls.clear()
    for t in (5, 20):
        session.set_step(t)
    session.update(sigma1=0.8)
    assert session.wait_idle()
    qtbot.wait(100)
    assert calls == []


def test_a_new_analysis_cancels_a_running_matrix(make_session, make_view, qtbot, monkeypatch):
    real = Connectivity.matrix
    started = []

    def held(self, progress=None, scheme="auto"):
        """The first matrix runs until cancelled (reporting progress); later ones are real."""
        started.append(self.T)
        if len(started) == 1:
            deadline = time.monotonic() + 20.0
            while time.monotonic() < deadline:
                if progress(0.5) is False:
                    raise Cancelled()
                time.sleep(0.002)
        return real(self, progress, scheme)
    monkeypatch.setattr(Connectivity, "matrix", held)
    session = make_session(Config(activation="tanh", length=30))
    view = make_view(session)
    failed = []
    view.matrix_worker.failed.connect(lambda gen, msg, details: failed.append((gen, msg)))
    qtbot.waitUntil(lambda: started == [30], timeout=5000)
    # its progress is shown in the view (the held job reports one half)
    qtbot.waitUntil(lambda: view.progress.isVisible() and view.progress.value() == 50, timeout=5000)
    first_gen = view._gen
    session.update(length=40)
    assert session.wait_idle()
    A = wait_matrix(qtbot, view)
    assert failed and failed[0] == (first_gen, "")              # cancelled, not finished
    assert started == [30, 40] and A.shape == (40, 40) and not view.progress.isVisible()
    cell, x = engine_inputs(Config(activation="tanh", length=40))
    B = input_connectivity(cell, x)
    np.testing.assert_allclose(A[np.isfinite(B)], B[np.isfinite(B)], atol=1e-12)


def test_long_rows_come_from_the_worker_while_the_matrix_runs(make_session, make_view, qtbot,
                                                              monkeypatch):
    # T = 2000: one sweep is too long for a step's redraw; the matrix is held back (until
    # cancelled), so the rows can only come from the row worker (and the forward pass too)
    def held(self, progress=None, scheme="auto"):
        while progress(0.5) is not False:
            time.sleep(0.002)
        raise Cancelled()
    monkeypatch.setattr(Connectivity, "matrix", held)
    config = Config(activation="tanh", hidden=4, length=2000)
    session = make_session(config)
    view = make_view(session)
    assert not view.rows.cheap(1500)
    conn = prepare(*engine_inputs(config))
    for t in (1500, 1999):
        session.set_step(t)
        qtbot.waitUntil(lambda t=t: np.isfinite(view.bar_row()[t - 1]), timeout=10000)
        assert_same_finite(view.bar_row()[:t], conn.row(t)[:t])
        assert view.reading.influence.t == t
    assert view.matrix() is None


def test_compare_shows_each_kinds_engine_row(make_session, make_view, qtbot):
    config = FRANCE.replace(hidden=8, text=france_sentence(20))
    session = make_session(config, compare=True)
    widget = make_view(session, CompareConnectivity)
    T = len(tokenize(config.text))
    for t in (T, 9):
        session.set_step(t)
        qtbot.waitUntil(lambda: all(r is not None for r in widget.rows().values()), timeout=10000)
        for kind in KINDS:
            cell, x = engine_inputs(config.replace(cell=kind))
            expected = prepare(cell, x).row(t)
            assert_same_finite(widget.bar_row(kind)[:t], expected[:t])
            assert np.isnan(widget.bar_row(kind)[t:]).all()
    text = widget.readout_text()                                # one line a kind, at k = 1
    for kind, line in zip(KINDS, text.splitlines()):
        cell, x = engine_inputs(config.replace(cell=kind))
        info = influence(prepare(cell, x).row(9), 9, 1)
        assert line.startswith(kind.upper()) and "influence on h9" in line
        assert f"{info.log10_influence:.2f}".replace("-", "−") in line


def test_output_connectivity_through_a_readout(make_session, make_view, qtbot):
    session = make_session(FRANCE.replace(hidden=6, text=france_sentence(8)))
    view = make_view(session)
    wait_matrix(qtbot, view)
    assert not view.output_toggle.isVisible()                   # no readout, no toggle
    rng = np.random.default_rng(3)
    W, b = rng.standard_normal((4, 6)), rng.standard_normal(4)
    a = session.analysis

    class WithReadout:                                          # an analysis carrying a readout
        readout = Readout(W, b, "softmax")

        def __getattr__(self, name):
            return getattr(a, name)
    session.analysis_changed.emit(WithReadout())
    assert view.output_toggle.isVisible()
    wait_matrix(qtbot, view)                                    # the new analysis' input matrix
    view.output_toggle.setChecked(True)
    A = wait_matrix(qtbot, view)
    cell, x = engine_inputs(session.config)
    expected = prepare(cell, x, readout=W, readout_bias=b, softmax=True)
    B = expected.matrix()
    np.testing.assert_allclose(A[np.isfinite(B)], B[np.isfinite(B)], atol=1e-12)
    logits = output_connectivity(cell, x, W, b)
    fin = np.isfinite(B)
    assert np.abs(A[fin] - logits[fin]).max() > 1e-3              # probabilities, not logits
    t = session.step
    assert_same_finite(view.bar_row()[:t], expected.row(t)[:t])
    assert view.reading.influence_text.split("'s influence on ")[1].startswith("ŷ_")
    view.output_toggle.setChecked(False)                        # back: the input matrix, kept
    np.testing.assert_allclose(view.matrix()[fin], input_connectivity(cell, x)[fin], atol=1e-12)
    np.testing.assert_allclose(view.image.image[fin], input_connectivity(cell, x)[fin], atol=1e-5)


def test_exports_png_svg_and_csv(make_session, make_view, qtbot, tmp_path, monkeypatch):
    config = FRANCE.replace(hidden=4, text=france_sentence(6))
    session = make_session(config)
    view = make_view(session, show=False)
    with pytest.raises(ValueError, match="not computed yet"):
        view.csv_text()
    view.show()
    A = wait_matrix(qtbot, view)
    for name, item in view.export_targets().items():
        for ext in ("png", "svg"):
            path = tmp_path / f"{name}.{ext}"
            export_item(item, path)
            assert path.stat().st_size > 500
    rows = list(csv.reader(io.StringIO(view.csv_text())))
    tokens = tokenize(config.text)
    T = len(tokens)
    assert rows[0] == ["k", "token", "t", "log10_influence"]
    assert len(rows) == 1 + T * (T + 1) // 2
    for k, tok, t, value in rows[1:]:
        k, t = int(k), int(t)
        assert 1 <= k <= t <= T and tok == tokens[k - 1]
        assert float(value) == A[t - 1, k - 1]                    # repr round-trips exactly
    monkeypatch.setattr(view_module, "MAX_CSV_ROWS", T)
    with pytest.raises(ValueError, match="too many for CSV"):
        view.csv_text()


@pytest.mark.parametrize("config", [
    Config(cell="rnn", activation="identity", sigma1=3.0, length=2000),
    Config(cell="rnn", activation="relu", sigma1=3.0, shape="flat", hidden=4, length=2000,
           signal="sine"),
    Config(cell="rnn", activation="tanh", sigma1=3.0, hidden=4, length=1000, input_scale=1e6),
    Config(cell="lstm", sigma1=3.0, hidden=3, forget_bias=20.0, length=1000),
])
def test_extreme_setups_draw_without_error(make_session, make_view, qtbot, config):
    session = make_session(config)
    view = make_view(session)
    A = wait_matrix(qtbot, view, timeout=60000)
    T = session.analysis.steps
    assert A.shape == (T, T)
    img = view.image.image
    assert not np.isinf(img).any() and np.isfinite(img).any()
    for t in (1, T // 2, T):
        session.set_step(t)
        drawn = view.bar_row()
        assert not np.isinf(drawn).any()
        assert_same_finite(drawn[:t], A[t - 1, :t])            # −inf (φ' = 0 exactly): no bar
        assert view.reading is not None and view.reading.influence.t == t
        assert view.readout_text()
    if session.analysis.trace.overflow_step is not None:
        assert "float64 range" in view.status.text()


# ----------------------------------------------------------------------------------------------
# The drawing helpers: every value that reaches pyqtgraph is finite or NaN

def test_image_and_bars_of_unknown_and_zero_paths(qtbot):
    # rows past an overflow are NaN, a path exactly 0 is −inf, beyond range ±1e300 decades
    A = np.array([[0.5, -np.inf, -np.inf],
                  [-np.inf, 2.0, -np.inf],
                  [np.nan, np.nan, np.nan]])
    lo, hi = decade_levels(A)
    assert (lo, hi) == (0.0, 2.0)
    img, s = heat_image(A, lo, hi)
    assert s == 1 and img.dtype == np.float32
    np.testing.assert_array_equal(np.isnan(img), [[False, True, True], [False, False, True],
                                                  [True, True, True]])
    assert img[1, 0] == lo                                      # exactly 0: the lowest colour
    import pyqtgraph as pg
    bars = pg.BarGraphItem(x=[], y0=[], y1=[], width=0.8)
    set_bars(bars, np.array([1e300, -np.inf, np.nan, -2.0]), 4, -5.0)
    assert list(bars.opts["x"]) == [1.0, 4.0] and np.isfinite(bars.opts["y1"]).all()
    np.testing.assert_array_equal(bar_row(bars, 4), [1e300, np.nan, np.nan, -2.0])


def test_large_matrices_are_drawn_in_blocks_of_their_largest_value():
    rng = np.random.default_rng(0)
    T = 2500
    A = rng.uniform(-50, 5, (T, T))
    A[np.triu_indices(T, 1)] = -np.inf
    A[1200:1300] = np.nan
    img, s = heat_image(A, -50.0, 5.0, max_side=1000)
    assert s == 3 and img.shape == (834, 834)
    i, j = 101, 40                                               # a block below the diagonal
    block = A[3 * i:3 * i + 3, 3 * j:3 * j + 3]
    assert img[i, j] == np.float32(block.max())
    assert np.isnan(img[410, 20])                                # rows 1230–1232: unknown
    assert np.isnan(img[10, 500])                                # above the diagonal
