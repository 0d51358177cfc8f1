"""Every singular value of ∂s_t/∂s₀: closed forms (identity RNN with a normal W: 1200 decades
in one matrix), independent products (float64 where it can see them, mpmath at high precision),
simulate's norm curve, the two extraction paths against each other, graded matrices with known
singular values far outside float range, exact zeros, and the gradient split."""
import math

import numpy as np
import pytest
from gatescope.core import Config, make_cell, recurrent_matrix, simulate, state_jacobian, step
from gatescope.core import graded as D
from gatescope.core.cells import GATE_BLOCKS
from gatescope.core.directions import (
    log2_singular_values,
    log10_singular_values,
    split_gradient,
    windows,
)
from gatescope.core.simulate import Cancelled
from hypothesis import given, settings
from hypothesis import strategies as st


def random_cell(kind, n, d, rng, scale=1.0, nonlinearity="tanh", convention="pytorch"):
    g = GATE_BLOCKS[kind]
    return make_cell(kind, scale * rng.standard_normal((g * n, d)),
                     scale * rng.standard_normal((g * n, n)) / np.sqrt(n),
                     scale * rng.standard_normal(g * n), scale * rng.standard_normal(g * n),
                     nonlinearity=nonlinearity, convention=convention)


def products(cell, x):
    """Independent: P_t = J_t ⋯ J₁ multiplied out in float64 from cells.state_jacobian."""
    s, P, out = np.zeros(cell.state_size), np.eye(cell.state_size), [np.eye(cell.state_size)]
    for t in range(x.shape[0]):
        P = state_jacobian(cell, x[t], s) @ P
        s = step(cell, x[t], s)
        out.append(P)
    return np.array(out)


def identity_rnn(s, seed=0):
    n = len(s)
    return make_cell("rnn", np.zeros((n, 1)), recurrent_matrix(s, seed=seed, normal=True),
                     nonlinearity="identity")


# ----------------------------------------------------------------------------------------------
# closed forms

@pytest.mark.parametrize("n", [16, 5])
def test_identity_rnn_normal_w_every_value_is_t_log_s(n):
    """W = Q diag(s) Qᵀ, s from 2 down to 0.5, no input, 2000 steps: σᵢ(Wᵗ) = sᵢᵗ, from 10⁺⁶⁰²
    down to 10⁻⁶⁰² in one matrix (an explicit product keeps only the top ≈ 16 decades)."""
    s = 2.0 * 0.25 ** (np.arange(n) / (n - 1))
    T = 2000
    got = log10_singular_values(identity_rnn(s, seed=n), np.zeros((T, 1)))
    expected = np.arange(T + 1)[:, None] * np.log10(s)[None, :]
    assert got.shape == (T + 1, n)
    np.testing.assert_array_equal(got[0], 0.0)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-9)     # requirement: 1e-6
    assert got[-1, 0] == pytest.approx(602.06, abs=0.01) and got[-1, -1] == pytest.approx(-602.06, abs=0.01)


def test_default_setup_is_the_spike_spectrum_to_the_power_t():
    # the app's default: identity RNN, normal W, σ₁ = 1.01 and 15 values σ₁/2 (a flat cluster)
    cfg = Config()
    x, _ = cfg.build_inputs()
    got = log10_singular_values(cfg.build_cell(), x)
    s = cfg.singular_values()
    np.testing.assert_allclose(got, np.arange(x.shape[0] + 1)[:, None] * np.log10(s), atol=1e-9)


# ----------------------------------------------------------------------------------------------
# independent products

cells = st.tuples(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 6),
                  st.sampled_from(["tanh", "sigmoid", "relu", "identity"]),
                  st.sampled_from(["seed", "pytorch"]), st.floats(0.3, 2.5),
                  st.integers(1, 30), st.integers(0, 2**31 - 1))


@settings(max_examples=60, deadline=None)
@given(cells)
def test_values_float64_can_see_match_a_direct_svd(params):
    """Where an explicit float64 product resolves them (within 6 decades of σ₁)."""
    kind, n, nl, conv, scale, T, seed = params
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, scale, nl, conv)
    x = rng.standard_normal((T, 2))
    got = log10_singular_values(cell, x)
    with np.errstate(divide="ignore"):
        ref = np.log10(np.linalg.svd(products(cell, x), compute_uv=False))
    assert got.shape == (T + 1, cell.state_size)
    assert np.all(got[:, :-1] >= got[:, 1:])
    seen = np.isfinite(ref) & (ref >= ref[:, :1] - 6)
    assert np.all(np.isfinite(got[seen]))
    np.testing.assert_allclose(got[seen], ref[seen], rtol=0, atol=1e-7)


def mp_log10_singular_values(cell, x, mp):
    """Independent: the float64 Jacobians (cells.state_jacobian) multiplied out and decomposed
    in mpmath at enough digits for the whole range; also Σ_s κ(J_s) up to each step."""
    m = cell.state_size
    s, P, kappa, out = np.zeros(m), mp.eye(m), 0.0, [(np.zeros(m), 0.0)]
    for t in range(x.shape[0]):
        J = state_jacobian(cell, x[t], s)
        kappa += np.linalg.cond(J)
        P = mp.matrix(J.tolist()) * P
        s = step(cell, x[t], s)
        ref = sorted((float(mp.log10(v)) for v in mp.svd_r(P, compute_uv=False)), reverse=True)
        out.append((np.array(ref), kappa))
    return out


@settings(max_examples=8, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(2, 5), st.integers(8, 22),
       st.floats(0.5, 1.6), st.integers(0, 2**31 - 1))
def test_every_value_matches_a_high_precision_product(kind, n, T, scale, seed):
    """All of them, also the ones hundreds of decades below σ₁: the product of the same float64
    Jacobians multiplied out and decomposed in mpmath. Each step's Householder QR is backward
    stable (an error ≲ ε‖J_t‖ in J_t), so a value can move by ≈ ε κ(J_t) relative a step; the
    tolerance is that bound (saturated gates make κ(J_t) large), and 1e-10 decades at least."""
    mp = pytest.importorskip("mpmath")
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, scale)
    x = rng.standard_normal((T, 2))
    got = log10_singular_values(cell, x)
    mp.mp.dps = int(np.nanmax(got[:, 0] - got[:, -1])) + 40
    for t, (ref, kappa) in enumerate(mp_log10_singular_values(cell, x, mp)):
        tol = 1e-10 + math.log10(math.e) * 10 * cell.state_size * np.finfo(float).eps * kappa
        np.testing.assert_allclose(got[t], ref, rtol=0, atol=tol)


def test_saturated_units_keep_their_accuracy():
    """tanh RNN driven hard: many units near saturation, rows of J_t = diag(φ') W_hh differing
    by many decades (κ(J_t) up to ≈ 1e10). Sorting M's rows before each QR keeps every value,
    down to 170 decades below σ₁, to 1e-10 decades (without it: ≈ 1e-5)."""
    mp = pytest.importorskip("mpmath")
    rng = np.random.default_rng(5)
    cell = random_cell("rnn", 5, 2, rng, 2.0)
    x = 2 * rng.standard_normal((22, 2))
    got = log10_singular_values(cell, x)
    mp.mp.dps = int(got[-1, 0] - got[-1, -1]) + 40
    ref = np.array([r for r, _ in mp_log10_singular_values(cell, x, mp)])
    assert got[-1, 0] - got[-1, -1] > 150
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("over", [
    {"cell": "rnn", "activation": "tanh", "sigma1": 1.3},
    {"cell": "rnn", "activation": "relu", "sigma1": 1.1, "shape": "flat"},
    {"cell": "rnn", "activation": "sigmoid", "sigma1": 1.5},
    {"cell": "lstm", "forget_bias": 3.0},
    {"cell": "gru", "convention": "seed", "update_bias": -2.0},
    {"cell": "gru", "hidden": 24, "shape": "geometric"},
    {"cell": "lstm", "hidden": 40, "forget_bias": 2.0},          # m = 80: row-blocked products
])
def test_the_largest_is_simulates_spectral_norm(over):
    cfg = Config(length=400, **over)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    got = log10_singular_values(cell, x)
    np.testing.assert_allclose(got[:, 0], simulate(cell, x).log10_jac_norm, rtol=0, atol=1e-9)


def test_the_largest_for_a_non_normal_w():
    # W = U Σ Vᵀ with U ≠ V: σ₁ᵗ explodes while ‖Wᵗ‖ follows the spectral radius
    s = np.r_[1.05, np.full(11, 0.6)]
    cell = make_cell("rnn", np.zeros((12, 1)), recurrent_matrix(s, seed=5, normal=False),
                     nonlinearity="identity")
    x = np.zeros((600, 1))
    got = log10_singular_values(cell, x)
    np.testing.assert_allclose(got[:, 0], simulate(cell, x).log10_jac_norm, rtol=0, atol=1e-9)
    # Σᵢ log σᵢ(Wᵗ) = t log|det W| exactly
    np.testing.assert_allclose(got.sum(axis=1), np.arange(601) * np.log10(s).sum(), atol=1e-9)


@pytest.mark.parametrize("kind, n", [("lstm", 6), ("rnn", 6), ("lstm", 36)])
def test_one_svd_and_windows_agree(kind, n, monkeypatch):
    """The two extraction paths (one SVD of the sorted rows; overlapping windows of the
    right-reduced form) are different computations of the same numbers."""
    cfg = Config(cell=kind, hidden=n, length=150, activation="tanh", sigma1=1.2,
                 shape="geometric" if kind == "rnn" else "spike", signal="zeros" if kind == "rnn" else "noise")
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    monkeypatch.setattr(D, "ONE_SVD_BITS", 1e9)
    one = log10_singular_values(cell, x)
    fits = one[:, 0] - one[:, -1] < 250             # decades: one SVD within float range
    assert fits.sum() > 50 and (one[fits, 0] - one[fits, -1]).max() > 60   # a real spread
    monkeypatch.setattr(D, "ONE_SVD_BITS", 0.0)
    monkeypatch.setattr(D, "WINDOW_BITS", 90.0)
    monkeypatch.setattr(D, "MARGIN_BITS", 40.0)
    np.testing.assert_allclose(log10_singular_values(cell, x)[fits], one[fits], rtol=0, atol=1e-10)


# ----------------------------------------------------------------------------------------------
# graded matrices with known singular values, far outside float range

@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 4), min_size=1, max_size=6), st.integers(0, 2**31 - 1),
       st.integers(0, 2))
def test_graded_block_matrix_beyond_float_range(sizes, seed, zeros):
    """X = diag(2^e) · blockdiag(B_k) · V with rows shuffled: σ(X) = ∪ₖ 2^{e_k} σ(B_k), with
    block exponents thousands of bits apart or a few bits apart, and zero rows (σ = 0)."""
    rng = np.random.default_rng(seed)
    m = sum(sizes) + zeros
    blocks = [rng.standard_normal((b, b)) for b in sizes]
    ek = np.cumsum(rng.choice([0, 3, 50, 700, 3000], size=len(sizes)))
    Bd = np.zeros((m, m))
    e = np.zeros(m)
    expected, i = [], 0
    for b, blk, ex in zip(sizes, blocks, ek):
        Bd[i:i + b, i:i + b] = blk
        e[i:i + b] = -ex
        expected.extend(np.log2(np.linalg.svd(blk, compute_uv=False)) - ex)
        i += b
    expected = np.concatenate([np.sort(expected)[::-1], np.full(zeros, -np.inf)])
    V = np.linalg.qr(rng.standard_normal((m, m)))[0]
    perm = rng.permutation(m)
    got = log2_singular_values((Bd @ V)[perm][None], e[perm][None])[0]
    np.testing.assert_allclose(got, expected, rtol=1e-11, atol=1e-11)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0, 500), min_size=1, max_size=40), st.floats(1, 200),
       st.floats(0.01, 3), st.floats(1, 300))
def test_windows_tile_and_keep_their_margins(steps, margin, extra, gap):
    """Every kept value is `margin` inside its window's ends, or the end is a cut at a gap of
    at least `gap` between neighbouring exponents; no window spans such a gap."""
    width = 2 * margin * (1 + extra)
    e = -np.cumsum(steps)
    r = len(e)
    wins = windows(e, width, margin, gap)
    assert [w[2] for w in wins] == [0] + [w[3] for w in wins[:-1]] and wins[-1][3] == r
    cut = [False] + [e[g - 1] - e[g] >= gap for g in range(1, r)] + [True]
    for k0, k1, lo, hi in wins:
        assert k0 <= lo < hi <= k1 <= r
        assert e[k0] - e[k1 - 1] <= width
        assert not any(cut[k0 + 1:k1])
        for i in range(lo, hi):
            assert k0 == 0 or cut[k0] or e[k0 - 1] >= e[i] + margin
            assert k1 == r or cut[k1] or e[i] >= e[k1] + margin


# ----------------------------------------------------------------------------------------------
# exact zeros, ranges, cancelling

def test_dead_relu_units_give_exact_zeros():
    # units 0 and 1 never fire (large negative bias): rank ≤ n − 2 from the first step on
    n, T = 6, 40
    rng = np.random.default_rng(2)
    b = np.zeros(n)
    b[:2] = -50.0
    cell = make_cell("rnn", rng.standard_normal((n, 2)), 1.3 * rng.standard_normal((n, n)) / np.sqrt(n),
                     b, nonlinearity="relu")
    x = rng.standard_normal((T, 2))
    got = log10_singular_values(cell, x)
    assert np.all(got[1:, -2:] == -np.inf)
    with np.errstate(divide="ignore"):
        ref = np.log10(np.linalg.svd(products(cell, x), compute_uv=False))
    seen = np.isfinite(ref) & (ref >= ref[:, :1] - 6)
    np.testing.assert_allclose(got[seen], ref[seen], atol=1e-7)


def test_a_state_leaving_float_range_ends_the_curves_where_simulate_ends():
    cfg = Config(cell="rnn", activation="identity", sigma1=2.0, shape="flat", length=1300)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    trace = simulate(cell, x)
    assert trace.overflow_step is not None
    got = log10_singular_values(cell, x)
    assert got.shape == (trace.steps + 1, cell.state_size)
    np.testing.assert_allclose(got, np.arange(trace.steps + 1)[:, None] * math.log10(2.0) * np.ones((1, 16)),
                               atol=1e-9)


def test_the_benchmark_floor_runs():
    from benchmarks.directions_bench import time_qr_limit
    wall, cpu = time_qr_limit(8, 3)
    assert wall >= 0 and cpu >= 0


def test_no_steps_and_cancelling():
    cell = identity_rnn([1.5, 0.5])
    np.testing.assert_array_equal(log10_singular_values(cell, np.zeros((0, 1))), np.zeros((1, 2)))
    with pytest.raises(Cancelled):
        log10_singular_values(cell, np.zeros((400, 1)), progress=lambda f: f < 0.3)


# ----------------------------------------------------------------------------------------------
# the split of a chosen ∂ℓ/∂s_t

@settings(max_examples=30, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 5), st.integers(0, 25),
       st.integers(0, 2**31 - 1))
def test_split_gradient_reassembles_the_back_propagated_gradient(kind, n, t, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, 1.2)
    x = rng.standard_normal((25, 2))
    g = rng.standard_normal(cell.state_size)
    sp = split_gradient(cell, x, t, g)
    P = products(cell, x)[t]
    back = P.T @ g                                      # ∂ℓ/∂s₀, multiplied out
    m = cell.state_size
    np.testing.assert_allclose(sp.u.T @ sp.u, np.eye(m), atol=1e-10)
    np.testing.assert_allclose(sp.v.T @ sp.v, np.eye(m), atol=1e-10)
    np.testing.assert_allclose(sp.u.T @ g, sp.coefficient, atol=1e-12)
    sig = 10.0 ** sp.log10_sigma
    np.testing.assert_allclose((sp.u * sig) @ sp.v.T, P, atol=1e-10 * max(1.0, sig[0]))
    np.testing.assert_allclose(sp.v.T @ back, sig * sp.coefficient, atol=1e-10 * max(1.0, np.abs(back).max()))
    norm = np.linalg.norm(back)
    if norm > 0:
        assert 10.0 ** sp.log10_total == pytest.approx(norm, rel=1e-9)
    assert sp.step == t


def test_split_gradient_of_an_lstm_takes_dl_dh_alone():
    rng = np.random.default_rng(4)
    cell = random_cell("lstm", 3, 2, rng)
    x = rng.standard_normal((10, 2))
    gh = rng.standard_normal(3)
    a = split_gradient(cell, x, 10, gh)
    b = split_gradient(cell, x, 10, np.concatenate([gh, np.zeros(3)]))
    np.testing.assert_array_equal(a.log10_reach, b.log10_reach)
    with pytest.raises(ValueError):
        split_gradient(cell, x, 11, gh)
    with pytest.raises(ValueError):
        split_gradient(cell, x, 3, np.ones(4))


def test_split_gradient_far_beyond_float_range():
    """Identity RNN, W = Q diag(s) Qᵀ, t = 2000: the directions are W's eigenvectors and what
    reaches s₀ along qᵢ is sᵢᵗ |qᵢᵀ g| — from 10⁺⁶⁰² down to 10⁻⁶⁰²."""
    n, T = 8, 2000
    s = 2.0 * 0.25 ** (np.arange(n) / (n - 1))
    cell = identity_rnn(s, seed=1)
    g = np.random.default_rng(0).standard_normal(n)
    sp = split_gradient(cell, np.zeros((T, 1)), T, g)
    w, q = np.linalg.eigh(cell.weight_hh)
    q = q[:, np.argsort(-w)]
    np.testing.assert_allclose(sp.log10_sigma, T * np.log10(s), atol=1e-9)
    np.testing.assert_allclose(np.abs(sp.coefficient), np.abs(q.T @ g), atol=1e-10)
    np.testing.assert_allclose(sp.log10_reach, T * np.log10(s) + np.log10(np.abs(q.T @ g)), atol=1e-9)
    assert sp.log10_total == pytest.approx(sp.log10_reach[0], abs=1e-12)


# ----------------------------------------------------------------------------------------------
# the recursion's shortcuts: row norms known per chunk, values taken in a second thread

@pytest.mark.parametrize("kind, convention, nonlinearity", [
    ("rnn", "pytorch", "tanh"), ("rnn", "pytorch", "identity"), ("lstm", "pytorch", "tanh"),
    ("gru", "pytorch", "tanh"), ("gru", "seed", "tanh")])
def test_row_norms_of_a_chunk_are_those_of_each_steps_jacobian(kind, convention, nonlinearity):
    from gatescope.core.forward import JacobianProduct, finite_cache, forward
    rng = np.random.default_rng(5)
    cell = random_cell(kind, 4, 3, rng, 1.3, nonlinearity=nonlinearity, convention=convention)
    x = rng.standard_normal((12, 3))
    prod = JacobianProduct(cell, finite_cache(cell, forward(cell, x)))
    norms = prod.row_norms(prod.chunk(3, 10), 7)
    s = np.zeros(cell.state_size)
    want = []
    for t in range(10):
        J = state_jacobian(cell, x[t], s)             # independent: the dense Jacobian
        s = step(cell, x[t], s)
        want.append(np.sum(J * J, axis=1))
    np.testing.assert_allclose(norms, np.array(want)[3:10], rtol=1e-13)


def test_values_taken_in_a_second_thread_equal_those_taken_in_turn(monkeypatch):
    from gatescope.core import directions
    rng = np.random.default_rng(3)
    cell = random_cell("lstm", 16, 2, rng, 1.1)           # m = 32: the pipelined path
    x = rng.standard_normal((300, 2))
    monkeypatch.setattr(directions, "CHUNK_STEPS", 64)    # five chunks, two buffers in turn
    assert cell.state_size >= directions.PIPELINE_M
    threaded = log10_singular_values(cell, x)
    monkeypatch.setattr(directions, "PIPELINE_M", 10 ** 6)
    in_turn = log10_singular_values(cell, x)
    np.testing.assert_array_equal(threaded, in_turn)
    monkeypatch.setattr(directions, "PIPELINE_M", 1)
    with pytest.raises(Cancelled):                      # cancelled mid-way: no thread left behind
        log10_singular_values(cell, x, progress=lambda f: f < 0.5)
    import threading
    assert not [t for t in threading.enumerate() if t.name.startswith("gatescope-svd")]


def test_an_error_while_taking_a_chunks_values_is_raised_by_the_run(monkeypatch):
    from gatescope.core import directions
    from gatescope.core.forward import finite_cache, forward
    rng = np.random.default_rng(4)
    cell = random_cell("rnn", 40, 2, rng, 1.0)
    x = rng.standard_normal((300, 2))
    cache = finite_cache(cell, forward(cell, x))
    seen = []

    def take(a, Bs, Es):
        seen.append(a)
        if len(seen) == 2:
            raise ArithmeticError("chunk two")
    with pytest.raises(ArithmeticError, match="chunk two"):
        directions._accumulate(cell, cache, take)
    assert seen == sorted(seen) and len(seen) >= 2
