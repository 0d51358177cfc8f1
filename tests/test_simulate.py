"""Gradient-norm curves: closed forms (the notes' table, σ^t), direct SVD of the exact Jacobian
product, non-normal W, the LSTM cell path and carousel."""
import contextlib
import math
import sys

import numpy as np
import pytest
from gatescope.core import (
    Config,
    format_pow10,
    make_cell,
    power_readout,
    recurrent_matrix,
    simulate,
    spectral_radius,
    spectrum,
    state_jacobian,
)
from gatescope.core.cells import GATE_BLOCKS
from gatescope.core.theory import NOTES_TABLE
from hypothesis import given, settings
from hypothesis import strategies as st

NOTES = {1.01: "37.8", 0.99: "0.03", 1.02: "1377.4", 0.98: "0.0006"}


@pytest.mark.parametrize("sigma", NOTES_TABLE)
def test_notes_table_from_the_apps_own_path(sigma):
    cfg = Config(cell="rnn", activation="identity", sigma1=sigma, structure="symmetric", length=365)
    x, _ = cfg.build_inputs()
    trace = simulate(cfg.build_cell(), x)
    assert trace.log10_jac_norm[-1] == pytest.approx(365 * math.log10(sigma), abs=1e-9)
    # every step follows σ₁ᵗ, not only the last
    np.testing.assert_allclose(trace.log10_jac_norm, np.arange(366) * math.log10(sigma), atol=1e-9)
    assert format_pow10(trace.log10_jac_norm[-1]) == NOTES[sigma]
    assert power_readout(sigma, 365) == f"{sigma:g}³⁶⁵ = {NOTES[sigma]}"


@pytest.mark.parametrize("sigma, expected", [(2.0, 602.06), (0.5, -602.06)])
def test_2000_steps_never_overflow(sigma, expected):
    # zero inputs: h stays 0, so only the Jacobian product grows (2²⁰⁰⁰ ≈ 10⁶⁰²); with noise the
    # state itself would leave float64 range near t = 1024 (see the overflow test below)
    cfg = Config(cell="rnn", activation="identity", sigma1=sigma, shape="flat", length=2000, signal="zeros")
    x, _ = cfg.build_inputs()
    trace = simulate(cfg.build_cell(), x)
    assert trace.log10_jac_norm[-1] == pytest.approx(2000 * math.log10(sigma), abs=1e-9)
    assert round(trace.log10_jac_norm[-1], 2) == expected


def exact_log_norms(cell, x):
    """Independent: multiply the analytic per-step Jacobians directly and SVD each product."""
    from gatescope.core.cells import step
    s = np.zeros(cell.state_size)
    P = np.eye(cell.state_size)
    out, cell_out = [0.0], [0.0]
    n = cell.hidden_size
    for t in range(x.shape[0]):
        P = state_jacobian(cell, x[t], s) @ P
        s = step(cell, x[t], s)
        with np.errstate(divide="ignore"):          # a product that underflowed to 0 → −inf,
            out.append(np.log10(np.linalg.svd(P, compute_uv=False)[0]))     # masked out below
            if cell.kind == "lstm":
                cell_out.append(np.log10(np.linalg.svd(P[n:, n:], compute_uv=False)[0]))
    return np.array(out), np.array(cell_out)


SIM = sys.modules["gatescope.core.simulate"]        # `core.simulate` the attribute is the function


@contextlib.contextmanager
def norms_path(batched: bool):
    """Force the chunk-vectorised (batched) or the step-by-step certification of the norms."""
    saved = SIM.BATCH_MAX_M
    SIM.BATCH_MAX_M = 10**6 if batched else 0
    try:
        yield
    finally:
        SIM.BATCH_MAX_M = saved


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.sampled_from(["tanh", "sigmoid", "identity"]),
       st.sampled_from(["seed", "pytorch"]), st.integers(1, 7), st.integers(1, 300),
       st.floats(0.3, 1.6), st.booleans(), st.integers(0, 10_000), st.booleans())
def test_log_norm_agrees_with_direct_svd(kind, nl, conv, n, T, sigma1, normal, seed, batched):
    from gatescope.core import build_cell
    cell = build_cell(kind, n, 3, sigma1=sigma1, normal=normal, seed=seed, nonlinearity=nl,
                      convention=conv, forget_bias=1.0)
    x = np.random.default_rng(seed).standard_normal((T, 3))
    with norms_path(batched):
        tr = simulate(cell, x)
    ref, ref_c = exact_log_norms(cell, x)
    ok = np.abs(ref) < 250          # where the plain product is comfortably representable
    np.testing.assert_allclose(tr.log10_jac_norm[ok], ref[ok], rtol=0, atol=1e-9)
    if kind == "lstm":
        okc = np.abs(ref_c) < 250
        np.testing.assert_allclose(tr.log10_cell_norm[okc], ref_c[okc], rtol=0, atol=1e-9)


def test_h0_and_c0_are_used():
    rng = np.random.default_rng(0)
    cell = make_cell("lstm", rng.standard_normal((8, 2)), rng.standard_normal((8, 2)))
    h0, c0 = np.array([0.3, -0.2]), np.array([1.0, 2.0])
    tr = simulate(cell, rng.standard_normal((4, 2)), h0=h0, c0=c0)
    np.testing.assert_array_equal(tr.h[0], h0)
    np.testing.assert_array_equal(tr.c[0], c0)
    assert tr.c[1] == pytest.approx(tr.gates["f"][0] * c0 + tr.gates["i"][0] * tr.gates["g"][0])


def test_lstm_carousel_is_the_product_of_forget_gates():
    cfg = Config(cell="lstm", sigma1=0.9, forget_bias=3.0, length=50)
    tr = simulate(cfg.build_cell(), cfg.build_inputs()[0])
    direct = np.log10(np.max(np.cumprod(tr.gates["f"], axis=0), axis=1))
    np.testing.assert_allclose(tr.log10_carousel[1:], direct, atol=1e-12)
    assert tr.log10_carousel[0] == 0


def test_high_forget_bias_keeps_the_cell_path_open():
    lo = Config(cell="lstm", sigma1=0.9, forget_bias=-2.0, length=200)
    hi = lo.replace(forget_bias=6.0)
    a = simulate(lo.build_cell(), lo.build_inputs()[0]).log10_cell_norm[-1]
    b = simulate(hi.build_cell(), hi.build_inputs()[0]).log10_cell_norm[-1]
    assert b > -2 > a


def test_non_normal_norms_bounded_by_sigma1_power_and_tend_to_spectral_radius():
    s = spectrum(1.05, 12, "geometric")
    W = recurrent_matrix(s, seed=4, normal=False)
    rho = spectral_radius(W)
    assert rho < 0.95 * s[0]
    P = np.eye(12)
    for t in range(1, 60):
        P = W @ P
        assert np.linalg.norm(P, 2) <= s[0] ** t * (1 + 1e-12)
    cfg = Config(cell="rnn", activation="identity", sigma1=1.05, shape="geometric", structure="non-normal",
                 hidden=12, seed=4, length=2000)
    cell = cfg.build_cell()
    rho = spectral_radius(cell.weight_hh)
    L = simulate(cell, cfg.build_inputs()[0]).log10_jac_norm
    assert np.all(L <= np.arange(2001) * math.log10(1.05) + 1e-9)
    # ‖Wᵗ‖^(1/t) → ρ: the slope of the log curve approaches log10 ρ
    slope = (L[2000] - L[1000]) / 1000
    assert slope == pytest.approx(math.log10(rho), abs=2e-3)
    assert L[-1] / 2000 == pytest.approx(math.log10(rho), abs=5e-3)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 12), st.floats(0.01, 3.0), st.sampled_from(["spike", "flat", "geometric"]),
       st.booleans(), st.integers(0, 2**31 - 1))
def test_recurrent_matrix_has_exactly_the_given_singular_values(n, s1, shape, normal, seed):
    s = spectrum(s1, n, shape)
    assert s[0] == s1 and np.all(np.diff(s) <= 0)
    W = recurrent_matrix(s, seed=seed, normal=normal)
    assert W.dtype == np.float64 and W.shape == (n, n)
    np.testing.assert_allclose(np.linalg.svd(W, compute_uv=False), s, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(W, recurrent_matrix(s, seed=seed, normal=normal))
    if normal:
        np.testing.assert_array_equal(W, W.T)
        assert np.all(np.linalg.eigvalsh(W) >= -1e-12)


def test_normal_power_is_u_sigma_t_vt_and_non_normal_is_not():
    s = spectrum(1.2, 6, "geometric")
    Wn = recurrent_matrix(s, seed=1, normal=True)
    Wg = recurrent_matrix(s, seed=1, normal=False)
    U, S, Vt = np.linalg.svd(Wn)
    np.testing.assert_allclose(np.linalg.matrix_power(Wn, 10), (U * S**10) @ Vt, atol=1e-10)
    U, S, Vt = np.linalg.svd(Wg)
    assert not np.allclose(np.linalg.matrix_power(Wg, 10), (U * S**10) @ Vt, atol=1e-3)
    assert not np.allclose(Wg, Wg.T)
    assert not np.array_equal(recurrent_matrix(s, seed=2), Wn)


def test_every_recurrent_block_gets_the_spectrum():
    cfg = Config(cell="lstm", sigma1=1.3, shape="geometric", hidden=6)
    cell = cfg.build_cell()
    assert cell.weight_hh.shape == (GATE_BLOCKS["lstm"] * 6, 6)
    for name, block in cell.recurrent_blocks().items():
        np.testing.assert_allclose(np.linalg.svd(block, compute_uv=False), cfg.singular_values(),
                                   rtol=1e-12, err_msg=name)


@pytest.mark.parametrize("log10, text", [
    (math.log10(37.78), "37.8"), (602.0599913, "1.15×10⁶⁰²"), (-602.0599913, "8.71×10⁻⁶⁰³"),
    (0.0, "1"), (-math.inf, "0"), (5.0, "1.00×10⁵"), (1e6, "1.00×10¹⁰⁰⁰⁰⁰⁰")])
def test_format_pow10(log10, text):
    assert format_pow10(log10) == text


@pytest.mark.parametrize("activation", ["identity", "relu"])
def test_state_overflow_stops_the_trace_where_float64_ends(activation):
    cfg = Config(cell="rnn", activation=activation, sigma1=3.0, shape="flat", length=1000)
    with np.errstate(all="raise"):
        tr = simulate(cfg.build_cell(), cfg.build_inputs()[0])
    assert tr.overflow_step is not None and tr.steps == tr.overflow_step - 1 < 1000
    assert np.all(np.isfinite(tr.h)) and np.all(np.isfinite(tr.log10_jac_norm))
    assert tr.h.shape == (tr.steps + 1, cfg.hidden) and tr.inputs.shape[0] == tr.steps
    # 3ᵗ reaches 10³⁰⁸ after about 646 steps
    assert 600 < tr.overflow_step < 700
    if activation == "identity":
        assert tr.log10_jac_norm[-1] == pytest.approx(tr.steps * math.log10(3.0), abs=1e-9)
    ok = Config(cell="rnn", activation=activation, sigma1=3.0, shape="flat", length=500)
    assert simulate(ok.build_cell(), ok.build_inputs()[0]).overflow_step is None


def test_saturation_underflow_is_named_not_shown_as_zero():
    from gatescope.core.analysis import analyse
    from gatescope.core.theory import format_norm
    a = analyse(Config(cell="rnn", activation="tanh", input_scale=1e6, length=20))
    assert a.trace.log10_jac_norm[-1] == -math.inf and a.smooth
    assert "underflow" in format_norm(a.trace.log10_jac_norm[-1], a.smooth)
    r = analyse(Config(cell="rnn", activation="relu", input_scale=1e6, length=20))
    assert not r.smooth and format_norm(-math.inf, r.smooth) == "0"
    assert format_norm(2.0) == format_pow10(2.0) == "100.0"


@pytest.mark.parametrize("cfg", [
    Config(cell="rnn", activation="tanh", shape="flat", length=300),      # flat: certified by squaring
    Config(cell="lstm", hidden=20, length=200, sigma1=1.3),                # m = 40 > BATCH_MAX_M
    Config(cell="gru", hidden=16, length=260, convention="seed"),          # dense Jacobians
    Config(cell="rnn", activation="identity", sigma1=2.0, shape="flat", length=1500, signal="zeros"),
], ids=["rnn-flat", "lstm-40", "gru-seed", "rnn-rescaled"])
def test_batched_and_step_by_step_norms_agree(cfg):
    cell, (x, _) = cfg.build_cell(), cfg.build_inputs()
    with norms_path(True):
        a = simulate(cell, x)
    with norms_path(False):
        b = simulate(cell, x)
    np.testing.assert_allclose(a.log10_jac_norm, b.log10_jac_norm, rtol=0, atol=1e-11)
    if cfg.cell == "lstm":
        np.testing.assert_allclose(a.log10_cell_norm, b.log10_cell_norm, rtol=0, atol=1e-11)


def test_a_product_that_becomes_exactly_zero_mid_chunk_is_minus_inf_on_both_paths():
    # a ReLU RNN whose every unit is switched off from step 137 on (inside the second chunk):
    # the Jacobian product is exactly 0 from there, log10 = −inf; before it, a finite curve
    w = recurrent_matrix(spectrum(1.2, 6, "spike"), normal=False, seed=3)
    cell = make_cell("rnn", np.ones((6, 2)), w, nonlinearity="relu")
    x = np.abs(np.random.default_rng(1).standard_normal((300, 2)))     # every unit on …
    x[137:] = -1e6                                                      # … then all off
    ref, _ = exact_log_norms(cell, x)
    for batched in (True, False):
        with norms_path(batched):
            tr = simulate(cell, x)
        assert np.all(tr.log10_jac_norm[138:] == -np.inf)
        assert np.all(np.isfinite(tr.log10_jac_norm[:138]))
        ok = np.isfinite(ref) & (np.abs(ref) < 250)
        np.testing.assert_allclose(tr.log10_jac_norm[ok], ref[ok], rtol=0, atol=1e-9)


def test_a_tiny_cell_block_is_rescaled_not_called_zero_on_both_paths():
    # a saturated LSTM: f ≈ 10⁻³⁰⁰ at step 1, so the cell block's ‖·‖_F² underflows to 0 although
    # its entries do not; both paths must rescale it exactly, not report −inf
    cfg = Config(cell="lstm", hidden=1, input_scale=3000, seed=4, length=50)
    cell, (x, _) = cfg.build_cell(), cfg.build_inputs()
    with norms_path(True):
        a = simulate(cell, x)
    with norms_path(False):
        b = simulate(cell, x)
    assert np.isfinite(a.log10_cell_norm[1]) and a.log10_cell_norm[1] < -250
    np.testing.assert_array_equal(np.isfinite(a.log10_cell_norm), np.isfinite(b.log10_cell_norm))
    ok = np.isfinite(b.log10_cell_norm)
    np.testing.assert_allclose(a.log10_cell_norm[ok], b.log10_cell_norm[ok], rtol=0, atol=1e-11)


def test_non_square_blocks_on_both_paths():
    from gatescope.core.simulate import forward, log_norm_curves
    cell = make_cell("lstm", *[np.asarray(w) for w in _lstm_weights(3, 2)])
    x = np.random.default_rng(2).standard_normal((40, 2))
    blocks = [(slice(0, 3), slice(0, 6)), (slice(0, 6), slice(3, 5))]
    res = {}
    for batched in (True, False):
        with norms_path(batched):
            res[batched] = log_norm_curves(cell, forward(cell, x), blocks)[1]
    # independent: the analytic Jacobians multiplied out and each block's SVD
    from gatescope.core.cells import step
    s, P = np.zeros(6), np.eye(6)
    for t in range(40):
        P = state_jacobian(cell, x[t], s) @ P
        s = step(cell, x[t], s)
        for k, (r, c) in enumerate(blocks):
            ref = math.log10(np.linalg.svd(P[r, c], compute_uv=False)[0])
            assert res[True][k][t + 1] == pytest.approx(ref, abs=1e-9)
            assert res[False][k][t + 1] == pytest.approx(ref, abs=1e-9)


def _lstm_weights(n, d):
    rng = np.random.default_rng(5)
    return (rng.standard_normal((4 * n, d)) * 0.5, rng.standard_normal((4 * n, n)) * 0.5,
            rng.standard_normal(4 * n) * 0.1, rng.standard_normal(4 * n) * 0.1)


def test_a_nilpotent_linear_rnn_reaches_exactly_zero_on_both_paths():
    # W strictly upper triangular (n = 5): Wᵗ = 0 from t = 5 on, exactly; the linear chunk's
    # powers-of-W path and the step-by-step path must both say −inf from there, σ-exact before
    rng = np.random.default_rng(4)
    W = np.triu(rng.standard_normal((5, 5)), k=1)
    cell = make_cell("rnn", rng.standard_normal((5, 2)), W, nonlinearity="identity")
    x = rng.standard_normal((200, 2))
    ref, _ = exact_log_norms(cell, x)
    for batched in (True, False):
        with norms_path(batched):
            tr = simulate(cell, x)
        assert np.all(tr.log10_jac_norm[5:] == -np.inf) and np.all(np.isfinite(tr.log10_jac_norm[:5]))
        np.testing.assert_allclose(tr.log10_jac_norm[:5], ref[:5], rtol=0, atol=1e-9)


# -- what the views show, decided in the engine ------------------------------------------------------

def test_nice_level_is_the_next_1_2_5_number():
    from gatescope.core.theory import nice_level
    rng = np.random.default_rng(0)
    for x in np.concatenate([10.0 ** rng.uniform(-300, 300, 200), [1.0, 2.0, 5.0, 10.0, 0.2, 1e-12]]):
        m = nice_level(x)
        e = math.floor(math.log10(m) + 1e-9)
        mant = m / 10.0 ** e
        assert min(abs(mant - v) for v in (1.0, 2.0, 5.0)) < 1e-9
        assert m >= x * (1 - 1e-12)
        below = {1.0: 0.5, 2.0: 1.0, 5.0: 2.0}[min((1.0, 2.0, 5.0), key=lambda v: abs(mant - v))] * 10.0 ** e
        assert below < x * (1 + 1e-12)                  # the 1-2-5 level below would not hold x
    assert nice_level(0.0) == nice_level(math.nan) == nice_level(math.inf) == 1.0


@pytest.mark.parametrize("cfg, bounded_h", [
    (Config(cell="lstm", length=60, hidden=6, forget_bias=5.0, input_scale=3.0), True),
    (Config(cell="gru", length=40, hidden=5), True),
    (Config(cell="rnn", activation="tanh", length=30, hidden=5, input_scale=0.01), True),
    (Config(cell="rnn", activation="identity", sigma1=1.3, length=200, hidden=4), False),
    (Config(cell="rnn", activation="relu", sigma1=1.2, length=100, hidden=4), False),
])
def test_state_levels_hold_every_state_and_bounded_ones_stay_within_one(cfg, bounded_h):
    from gatescope.core.analysis import analyse
    a = analyse(cfg)
    levels = a.state_levels
    assert set(levels) == ({"h", "c"} if cfg.cell == "lstm" else {"h"})
    for name, (bounded, m) in levels.items():
        values = getattr(a.trace, name)
        big = float(np.max(np.abs(values)))
        assert bounded == (bounded_h and name == "h")
        assert m >= min(big, 1.0) if bounded else m >= big
        if bounded:
            assert m <= 1.0
            assert big <= 1.0                            # the rule is true of the trace
        # the next 1-2-5 level down would not hold the values (unless capped at 1)
        assert m / 2.5 < max(big, 1e-12) or (bounded and m == 1.0)


def test_rho_curve_only_for_a_non_normal_plain_rnn():
    from gatescope.core.analysis import analyse
    a = analyse(Config(cell="rnn", activation="identity", sigma1=1.05, structure="non-normal", length=80, hidden=8))
    rho = float(np.max(np.abs(np.linalg.eigvals(a.cell.weight_hh))))
    assert rho < a.sigma1
    np.testing.assert_allclose(a.rho_curve, np.arange(81) * math.log10(rho), rtol=1e-12, atol=1e-12)
    assert analyse(Config(cell="rnn", activation="identity", sigma1=1.05, length=20)).rho_curve is None
    assert analyse(Config(cell="lstm", structure="non-normal", length=20)).rho_curve is None
    assert a.gamma == 1.0 and not a.shows_pascanu
    s = analyse(Config(cell="rnn", activation="sigmoid", length=10))
    assert s.gamma == 0.25 and s.shows_pascanu


def _explain(cfg, t, j):
    from gatescope.core.analysis import analyse, explain_values
    a = analyse(cfg)
    return a, explain_values(a, t, j)


def test_explain_values_lstm_are_the_trace_and_the_reference_step():
    a, ev = _explain(Config(cell="lstm", length=30, hidden=8, sigma1=0.95), 12, 3)
    tr, v = a.trace, ev.numbers
    assert (ev.t, ev.unit, ev.kind) == (12, 3, "lstm")
    assert v["f"] == tr.gates["f"][11, 3] and v["c_tilde"] == tr.gates["g"][11, 3]
    assert v["c_prev"] == tr.c[11, 3] and v["c"] == tr.c[12, 3] and v["h"] == tr.h[12, 3]
    # the substitution shown, C = f × C₋₁ + i × C̃ and h = o × tanh(C), holds to rounding
    assert v["c_check"] == pytest.approx(v["f"] * v["c_prev"] + v["i"] * v["c_tilde"], abs=1e-15)
    assert v["h_check"] == pytest.approx(v["o"] * math.tanh(v["c"]), abs=1e-15)
    assert v["f_pow10"] == pytest.approx(v["f"] ** 10) and v["keep"] == v["f"]
    assert v["log10_jac"] == tr.log10_jac_norm[12] and v["log10_cell"] == tr.log10_cell_norm[12]
    assert v["log10_ratio"] == pytest.approx(v["log10_jac"] - 12 * math.log10(a.sigma1), abs=1e-9)
    assert ev.keep_verdict == ("keeps" if v["f"] >= 0.9 else "cuts" if v["f"] <= 0.1 else "mixes")
    assert ev.as_dict()["t"] == 12 and ev.as_dict()["f"] == v["f"]


@pytest.mark.parametrize("convention", ["seed", "pytorch"])
def test_explain_values_gru_keep_the_weight_on_the_old_state(convention):
    a, ev = _explain(Config(cell="gru", convention=convention, length=25, hidden=6, sigma1=1.02), 9, 4)
    tr, v = a.trace, ev.numbers
    z, cand, h_prev = tr.gates["z"][8, 4], tr.gates["n"][8, 4], tr.h[8, 4]
    assert v["one_minus_z"] == pytest.approx(1 - z, abs=1e-15)
    assert v["keep"] == (v["one_minus_z"] if convention == "seed" else z)
    blend = (1 - z) * h_prev + z * cand if convention == "seed" else (1 - z) * cand + z * h_prev
    assert v["h_check"] == pytest.approx(blend, abs=1e-15) and v["h"] == tr.h[9, 4]


def test_explain_values_rnn_verdicts():
    from gatescope.core.analysis import explain_values
    # saturated tanh: φ' tiny, the norm far below σ₁ᵗ, saturation named
    a, ev = _explain(Config(cell="rnn", activation="tanh", length=40, hidden=6, sigma1=1.3, input_scale=30.0), 20, 2)
    assert ev.numbers["a"] == a.trace.preact[19, 2] and ev.numbers["slope"] == a.trace.slope[19, 2]
    assert ev.numbers["slope"] <= 0.1 and ev.slope_verdict == "saturated"
    other = explain_values(a, 20, 3)
    assert other.numbers["slope"] > 0.1 and other.slope_verdict == "active"
    assert ev.trend == "explodes" and ev.comparison == "below" and ev.reasons == ("saturation",)
    # identity RNN with a non-normal W: only the non-normality explains the gap
    _, ev = _explain(Config(cell="rnn", activation="identity", sigma1=1.05, structure="non-normal",
                            length=120, hidden=8), 120, 0)
    assert ev.slope_verdict == "identity" and ev.comparison == "below" and ev.reasons == ("non_normal",)
    # an orthogonal W: σ₁ = 1 to rounding is "flat", and the norm follows it
    _, ev = _explain(Config(cell="rnn", activation="identity", shape="flat", sigma1=1.0, length=50, hidden=8), 50, 0)
    assert ev.trend == "flat" and ev.comparison == "follows"
    # t = 0: only the initial state; t and unit clamped
    a, ev = _explain(Config(cell="lstm", length=5, hidden=3), 0, 7)
    assert ev.as_dict() == {"t": 0, "unit": 2, "h": 0.0, "c": 0.0}
    assert _explain(Config(cell="rnn", length=5, hidden=3), 99, -1)[1].t == 5
