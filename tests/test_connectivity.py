"""Input connectivity log10 ‖∂h_t/∂x_k‖₂: the input Jacobians and whole runs against central finite
differences, every scheme against an independent forward-mode (tangent) implementation written
from the cell equations, closed forms far beyond float range, the readout variant, how-to-read
numbers, cancelling, the overflow rule and bounded memory at T = 5000."""
import math
import tracemalloc

import numpy as np
import pytest
from gatescope.core import Config, make_cell, simulate
from gatescope.core.cells import GATE_BLOCKS, step
from gatescope.core.connectivity import (
    Cancelled,
    Connectivity,
    connectivity_row,
    influence,
    input_connectivity,
    input_jacobian,
    output_connectivity,
    prepare,
)
from gatescope.core.simulate import forward
from hypothesis import given, settings
from hypothesis import strategies as st

SCHEMES = ("auto", "forward", "backward", "rows")
KINDS = [("rnn", "tanh", "pytorch"), ("rnn", "relu", "pytorch"), ("rnn", "identity", "pytorch"),
         ("rnn", "sigmoid", "pytorch"), ("lstm", "tanh", "pytorch"), ("gru", "tanh", "pytorch"),
         ("gru", "tanh", "seed")]


def random_cell(kind, n, d, rng, scale=1.0, nonlinearity="tanh", convention="pytorch"):
    g = GATE_BLOCKS[kind]
    return make_cell(kind, scale * rng.standard_normal((g * n, d)),
                     scale * rng.standard_normal((g * n, n)) / np.sqrt(n),
                     scale * rng.standard_normal(g * n), scale * rng.standard_normal(g * n),
                     nonlinearity=nonlinearity, convention=convention)


# ----------------------------------------------------------------------------------------------
# An independent implementation: forward-mode tangents through PyTorch's equations, written here
# from the equations (not from core.cells' Jacobians). Tangents carry the derivative by x_k.

def _sig(a):
    return 0.5 * (1.0 + np.tanh(0.5 * a))


def _dsig(a):
    return 0.25 / np.cosh(0.5 * a) ** 2


def _dtanh(a):
    return 1.0 / np.cosh(a) ** 2


def tangent_step(cell, x, dx, h, dh, c, dc):
    """One step with tangents: (h', c') and (∂h', ∂c') from (h, c), (∂h, ∂c), x, ∂x (·, d)."""
    n = cell.hidden_size
    ux, dux = cell.weight_ih @ x + cell.bias_ih, cell.weight_ih @ dx
    uh, duh = cell.weight_hh @ h + cell.bias_hh, cell.weight_hh @ dh
    blk = lambda v, j: v[j * n:(j + 1) * n]                                    # noqa: E731
    if cell.kind == "rnn":
        a, da = ux + uh, dux + duh
        phi, dphi = {"tanh": (np.tanh, _dtanh), "sigmoid": (_sig, _dsig),
                     "relu": (lambda v: np.maximum(v, 0), lambda v: (v > 0) * 1.0),
                     "identity": (lambda v: v, np.ones_like)}[cell.nonlinearity]
        return phi(a), dphi(a)[:, None] * da, None, None
    if cell.kind == "lstm":
        p, dp = ux + uh, dux + duh
        (i, f, g, o) = (_sig(blk(p, 0)), _sig(blk(p, 1)), np.tanh(blk(p, 2)), _sig(blk(p, 3)))
        di, df = _dsig(blk(p, 0))[:, None] * blk(dp, 0), _dsig(blk(p, 1))[:, None] * blk(dp, 1)
        dg, do = _dtanh(blk(p, 2))[:, None] * blk(dp, 2), _dsig(blk(p, 3))[:, None] * blk(dp, 3)
        c2 = f * c + i * g
        dc2 = df * c[:, None] + f[:, None] * dc + di * g[:, None] + i[:, None] * dg
        h2 = o * np.tanh(c2)
        return h2, do * np.tanh(c2)[:, None] + (o * _dtanh(c2))[:, None] * dc2, c2, dc2
    ar, az = blk(ux, 0) + blk(uh, 0), blk(ux, 1) + blk(uh, 1)
    r, z = _sig(ar), _sig(az)
    dr = _dsig(ar)[:, None] * (blk(dux, 0) + blk(duh, 0))
    dz = _dsig(az)[:, None] * (blk(dux, 1) + blk(duh, 1))
    if cell.convention == "pytorch":          # n = tanh(u_xn + r (W_hn h + b_hn)), h' = (1−z) n + z h
        an = blk(ux, 2) + r * blk(uh, 2)
        dan = blk(dux, 2) + dr * blk(uh, 2)[:, None] + r[:, None] * blk(duh, 2)
        nn, dn = np.tanh(an), _dtanh(an)[:, None] * dan
        dh2 = -dz * nn[:, None] + (1 - z)[:, None] * dn + dz * h[:, None] + z[:, None] * dh
        return (1 - z) * nn + z * h, dh2, None, None
    w_n, b_n = cell.weight_hh[2 * n:], cell.bias_hh[2 * n:]   # h̃ = tanh(u_xn + W_hn (r h) + b_hn)
    an = blk(ux, 2) + w_n @ (r * h) + b_n
    dan = blk(dux, 2) + w_n @ (dr * h[:, None] + r[:, None] * dh)
    ht, dht = np.tanh(an), _dtanh(an)[:, None] * dan
    dh2 = -dz * h[:, None] + (1 - z)[:, None] * dh + dz * ht[:, None] + z[:, None] * dht
    return (1 - z) * h + z * ht, dh2, None, None


def reference(cell, x, head=None):
    """A[t−1, k−1] = log10 ‖head_t ∂h_t/∂x_k‖₂ by tangents (head(t, h_t) → matrix, default I)."""
    T, n, d = x.shape[0], cell.hidden_size, x.shape[1]
    hs, cs = [np.zeros(n)], [np.zeros(n)]
    for t in range(T):
        s = step(cell, x[t], np.concatenate([hs[-1], cs[-1]]) if cell.kind == "lstm" else hs[-1])
        hs.append(s[:n])
        cs.append(s[n:] if cell.kind == "lstm" else cs[-1])
    A = np.full((T, T), -np.inf)
    for k in range(T):
        dh, dc = np.zeros((n, d)), np.zeros((n, d))
        for t in range(k, T):
            dx = np.eye(d) if t == k else np.zeros((d, d))
            _, dh, _, dc2 = tangent_step(cell, x[t], dx, hs[t], dh, cs[t], dc)
            dc = dc2 if dc2 is not None else dc
            G = dh if head is None else head(t + 1, hs[t + 1]) @ dh
            with np.errstate(divide="ignore"):
                A[t, k] = np.log10(np.linalg.norm(G, 2))
    return A


def assert_same(A, B, atol):
    np.testing.assert_array_equal(np.isneginf(A), np.isneginf(B))
    fin = np.isfinite(B)
    assert np.isfinite(A[fin]).all()
    np.testing.assert_allclose(A[fin], B[fin], rtol=0, atol=atol)


def fd_connectivity(cell, x, eps=1e-6):
    """Central differences of the whole run: ∂h_t/∂x_k[:, j] ≈ (h_t(x + εe) − h_t(x − εe)) / 2ε."""
    T, d, n = x.shape[0], x.shape[1], cell.hidden_size

    def run(xx):
        s, out = np.zeros(cell.state_size), []
        for t in range(T):
            s = step(cell, xx[t], s)
            out.append(s[:n])
        return np.array(out)

    D = np.zeros((T, T, n, d))
    for k in range(T):
        for j in range(d):
            xp, xm = x.copy(), x.copy()
            xp[k, j] += eps
            xm[k, j] -= eps
            D[:, k, :, j] = (run(xp) - run(xm)) / (2 * eps)
    with np.errstate(divide="ignore"):
        A = np.log10(np.linalg.norm(D, 2, axis=(2, 3)))
    A[np.triu_indices(T, 1)] = -np.inf
    return A


# ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, nl, conv", KINDS)
def test_input_jacobian_matches_central_differences(kind, nl, conv):
    rng = np.random.default_rng(1)
    for _ in range(5):
        cell = random_cell(kind, 4, 3, rng, 1.0, nl, conv)
        x, s, eps = rng.standard_normal(3), rng.standard_normal(cell.state_size), 1e-6
        fd = np.column_stack([(step(cell, x + eps * e, s) - step(cell, x - eps * e, s)) / (2 * eps)
                              for e in np.eye(3)])
        np.testing.assert_allclose(input_jacobian(cell, x, s), fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kind, nl, conv", KINDS)
def test_whole_run_matches_central_differences(kind, nl, conv):
    rng = np.random.default_rng(2)
    cell = random_cell(kind, 3, 2, rng, 0.9, nl, conv)
    x = rng.standard_normal((7, 2))
    # FD is accurate to ≈ 1e-10 absolute (rounding / ε): compare the norms themselves
    A, F = input_connectivity(cell, x), fd_connectivity(cell, x)
    np.testing.assert_array_equal(np.isneginf(A[np.triu_indices(7, 1)]), True)
    np.testing.assert_allclose(10.0 ** A, 10.0 ** F, rtol=1e-6, atol=1e-9)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(KINDS), st.integers(1, 5), st.integers(1, 4), st.integers(1, 9),
       st.floats(0.2, 2.0), st.integers(0, 2**31 - 1))
def test_every_scheme_matches_the_tangent_implementation(kcn, n, d, T, scale, seed):
    kind, nl, conv = kcn
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, scale, nl, conv)
    x = rng.standard_normal((T, d))
    ref = reference(cell, x)
    conn = prepare(cell, x)
    for scheme in SCHEMES:
        assert_same(conn.matrix(scheme=scheme), ref, atol=1e-9)
    t = int(rng.integers(1, T + 1))
    assert_same(conn.row(t), ref[t - 1], atol=1e-9)


@pytest.mark.parametrize("kind, nl, conv", KINDS)
def test_schemes_and_memory_chunks_agree_on_a_long_run(kind, nl, conv):
    cfg = Config(cell=kind, activation=nl, convention=conv, hidden=6, input_size=3, length=150,
                 sigma1=1.3)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    cache = forward(cell, x)
    A = Connectivity(cell, cache).matrix(scheme="rows")
    tiny = Connectivity(cell, cache, max_floats=2000)         # seeds and factors in small chunks
    for scheme in ("forward", "backward"):
        assert_same(Connectivity(cell, cache).matrix(scheme=scheme), A, atol=1e-11)
        assert_same(tiny.matrix(scheme=scheme), A, atol=1e-11)
    assert_same(tiny.row(150), A[-1], atol=1e-11)


# ----------------------------------------------------------------------------------------------
# Closed forms: identity RNN, W diagonal or normal, far beyond float range

def diagonal_log10_norms(s, w_ih, T):
    """ℓ(j) = log10 ‖diag(s)^j W_ih‖₂ = j log10 s₁ + log10 ‖diag((s/s₁)^j) W_ih‖₂, j = 0…T−1."""
    s1 = s.max()
    return np.array([j * math.log10(s1) + math.log10(np.linalg.norm((s / s1)[:, None] ** j * w_ih, 2))
                     for j in range(T)])


def toeplitz(lag):
    T = lag.size
    i, k = np.indices((T, T))
    A = np.where(k <= i, lag[np.clip(i - k, 0, T - 1)], -np.inf)
    return A


@pytest.mark.parametrize("scheme", ["auto", "forward", "backward"])
def test_identity_rnn_sigma_2_over_1500_steps(scheme):
    # d = 1: ‖diag(s)^j w‖₂ = √(Σ s_i^{2j} w_i²) exactly, summed in log space
    rng = np.random.default_rng(3)
    s, w = np.array([2.0, 1.5, 0.5]), rng.standard_normal((3, 1))
    cell = make_cell("rnn", w, np.diag(s), nonlinearity="identity")
    x = rng.standard_normal((1500, 1))         # h_t itself overflows near t = 1024; J, B do not care
    j = np.arange(1500)[:, None]
    lag = 0.5 * np.logaddexp.reduce(2 * j * np.log(s) + 2 * np.log(np.abs(w[:, 0])), axis=1) / math.log(10)
    A = prepare(cell, x).matrix(scheme=scheme)
    assert_same(A, toeplitz(lag), atol=1e-10)
    assert A[-1, 0] > 450                       # 2^1499: hundreds of decades up, finite


@pytest.mark.parametrize("sigma", [2.0, 0.01])
def test_identity_rnn_several_inputs_both_ways_out_of_range(sigma):
    rng = np.random.default_rng(4)
    s, w_ih = sigma * np.array([1.0, 0.7, 0.3, 0.05]), rng.standard_normal((4, 3))
    cell = make_cell("rnn", w_ih, np.diag(s), nonlinearity="identity")
    T = 1200
    x = rng.standard_normal((T, 3))
    expected = toeplitz(diagonal_log10_norms(s, w_ih, T))
    conn = prepare(cell, x)
    for scheme in ("linear", "forward"):
        assert_same(conn.matrix(scheme=scheme), expected, atol=1e-9)
    assert abs(conn.row(T)[0]) > 300           # 10^±361: out of float range, exact


def test_normal_w_from_the_apps_setup_is_sigma_to_the_lag():
    # flat spectrum, symmetric PSD: W = σ₁ I, so ‖W^(t−k) W_ih‖ = σ₁^(t−k) ‖W_ih‖ (t·log10 σ₁)
    cfg = Config(cell="rnn", activation="identity", sigma1=2.0, shape="flat", length=1500)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    lag = np.arange(1500) * math.log10(2.0) + math.log10(np.linalg.norm(cell.weight_ih, 2))
    assert_same(input_connectivity(cell, x), toeplitz(lag), atol=1e-9)


def test_upper_triangle_is_minus_infinity_and_shape():
    cfg = Config(cell="lstm", hidden=4, length=20)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    A = input_connectivity(cell, x)
    assert A.shape == (20, 20) and A.dtype == np.float64
    assert np.isneginf(A[np.triu_indices(20, 1)]).all()
    assert np.isfinite(A[np.tril_indices(20)]).all()


# ----------------------------------------------------------------------------------------------

def test_rows_from_inputs_cache_or_prepared_agree_with_the_matrix():
    cfg = Config(cell="gru", hidden=5, length=40)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    A = input_connectivity(cell, x)
    conn = prepare(cell, x)
    for t in (1, 17, 40):
        for src in (x, forward(cell, x), conn):
            assert_same(connectivity_row(cell, src, t), A[t - 1], atol=1e-11)
    with pytest.raises(ValueError):
        conn.row(41)


def test_relu_overflow_rows_are_unknown_earlier_rows_exact():
    # W = 2I, positive inputs: every unit on (ReLU' = 1), h_t ≈ 2^t leaves float64 range
    cell = make_cell("rnn", np.ones((2, 1)), 2.0 * np.eye(2), nonlinearity="relu")
    x = np.ones((1100, 1))
    conn = prepare(cell, x)
    stop = simulate(cell, x).overflow_step
    assert stop is not None and conn.overflow_step == stop
    A = conn.matrix()
    v = stop - 1
    lag = np.arange(v) * math.log10(2.0) + 0.5 * math.log10(2.0)
    assert_same(A[:v, :v], toeplitz(lag), atol=1e-9)
    assert all(np.isnan(A[i, :i + 1]).all() for i in range(v, 1100))
    assert np.isneginf(A[np.triu_indices(1100, 1)]).all()
    assert np.isnan(conn.row(1100)).all()


def test_progress_and_cancel():
    cfg = Config(cell="lstm", hidden=4, length=200)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    seen = []
    input_connectivity(cell, x, progress=lambda f: seen.append(f))
    assert seen and all(0.0 <= f <= 1.0 for f in seen) and seen == sorted(seen) and seen[-1] == 1.0
    calls = []
    with pytest.raises(Cancelled):
        input_connectivity(cell, x, progress=lambda f: calls.append(f) or len(calls) < 3)


def test_bounded_memory_at_5000_steps():
    # T²·n² floats at T = 5000 would be 5000² · 4 · 8 B = 800 MB; the answer itself is T² floats
    T, n = 5000, 2
    cell = random_cell("rnn", n, 1, np.random.default_rng(5), 1.0)
    x = np.random.default_rng(6).standard_normal((T, 1))
    conn = prepare(cell, x)
    A = conn.matrix()                              # the general path (tanh: not Toeplitz)
    assert not conn.linear
    assert np.isfinite(A).sum() == T * (T + 1) // 2 and np.isneginf(A).sum() == T * (T - 1) // 2
    for t in (1, 2500, T):
        assert_same(A[t - 1], conn.row(t), atol=1e-11)
    # what it allocates beyond the answer, traced on 1500 steps (T²·n² floats: 72 MB)
    conn = prepare(cell, x[:1500])
    tracemalloc.start()
    A = conn.matrix()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak - A.nbytes < 4e6


# ----------------------------------------------------------------------------------------------
# Readout ŷ_t = R h_t + b: logits and softmax probabilities

@pytest.mark.parametrize("kind, nl, conv", [KINDS[0], KINDS[4], KINDS[5], KINDS[6]])
def test_output_connectivity_logits_and_softmax(kind, nl, conv):
    rng = np.random.default_rng(7)
    cell = random_cell(kind, 4, 3, rng, 1.0, nl, conv)
    x = rng.standard_normal((8, 3))
    R, b = rng.standard_normal((5, 4)), rng.standard_normal(5)
    assert_same(output_connectivity(cell, x, R, b), reference(cell, x, lambda t, h: R), atol=1e-9)

    def dsoftmax(t, h):
        z = R @ h + b
        y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        return (np.diag(y) - np.outer(y, y)) @ R

    ref = reference(cell, x, dsoftmax)
    conn = prepare(cell, x, readout=R, readout_bias=b, softmax=True)
    for scheme in SCHEMES:
        assert_same(conn.matrix(scheme=scheme), ref, atol=1e-9)
    assert_same(output_connectivity(cell, x, np.eye(4)), input_connectivity(cell, x), atol=1e-11)


# ----------------------------------------------------------------------------------------------
# How to read it

def test_influence_numbers_on_a_closed_form():
    # W = 0.9 I: ‖∂h_t/∂x_k‖ = 0.9^(t−k) ‖W_ih‖, so b = (t−k) log10 0.9 and d = 0.9 a step
    rng = np.random.default_rng(8)
    w_ih = rng.standard_normal((3, 2))
    cell = make_cell("rnn", w_ih, 0.9 * np.eye(3), nonlinearity="identity")
    row = connectivity_row(cell, rng.standard_normal((50, 2)), 40)
    info = influence(row, 40, 3)
    a = 37 * math.log10(0.9) + math.log10(np.linalg.norm(w_ih, 2))
    assert info.log10_influence == pytest.approx(a, abs=1e-12)
    assert info.log10_change == pytest.approx(37 * math.log10(0.9), abs=1e-12)
    assert info.steps == 37 and info.per_step == pytest.approx(0.9, rel=1e-12)
    text = info.describe()
    assert text.startswith("x_3's influence on h_40: 10^") and "down 10^1.69" in text
    assert "over the 37 steps since (×0.9 a step)" in text
    fresh = influence(row, 40, 40)
    assert fresh.steps == 0 and fresh.log10_change == 0 and math.isnan(fresh.per_step)
    assert "freshest" in fresh.describe()
    with pytest.raises(ValueError):
        influence(row, 40, 41)


def test_influence_of_an_exactly_zero_path():
    row = np.array([-np.inf, -1.0, 0.5])
    assert "exactly 0" in influence(row, 3, 1).describe()
    assert influence(row, 3, 1).per_step == 0.0
    up = influence(np.array([1.0, 0.0]), 2, 1)
    assert "up 10^1.00" in up.describe() and up.per_step == pytest.approx(10.0)


def test_a_row_sweep_reports_progress_and_cancels():
    cfg = Config(cell="gru", hidden=4, length=300)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    conn = prepare(cell, x)
    seen = []
    row = conn.row(300, progress=lambda f: seen.append(f))
    assert_same(row, prepare(cell, x).row(300), atol=0)         # the same numbers with progress
    assert len(seen) == 300 // 64 and seen == sorted(seen) and 0 < seen[0] and seen[-1] <= 1
    with pytest.raises(Cancelled):
        conn.row(300, progress=lambda f: False)
    lin = prepare(make_cell("rnn", np.ones((2, 1)), 0.5 * np.eye(2), nonlinearity="identity"),
                  np.ones((200, 1)))
    with pytest.raises(Cancelled):                              # a linear RNN's lags sweep too
        lin.matrix(progress=lambda f: f == 0.0)


def test_identity_rnn_sigma_3_over_5000_steps_is_exact_not_an_error():
    # h_t = 3^t-sized leaves float64 range near t = 646; J = W and B = W_ih do not: the whole row
    # is the closed form ℓ(j) = j log10 3 + log10 ‖W_ih‖ up to 10^2385
    w = np.array([[0.3], [0.4]])
    cell = make_cell("rnn", w, 3.0 * np.eye(2), nonlinearity="identity")
    conn = prepare(cell, np.ones((5000, 1)))
    row = conn.row(5000)
    lag = np.arange(5000) * math.log10(3.0) + math.log10(0.5)
    np.testing.assert_allclose(row[::-1], lag, rtol=0, atol=1e-9)
    assert row[0] > 2384


# ----------------------------------------------------------------------------------------------
# The how-to-read sentences (core/explain_connectivity), from closed-form rows

def closed_row(sigma, T, t):
    """Row t of an identity RNN with W = σ I: ℓ(j) = j log10 σ + log10 ‖W_ih‖ (t − k = j)."""
    rng = np.random.default_rng(9)
    w_ih = rng.standard_normal((3, 2))
    cell = make_cell("rnn", w_ih, sigma * np.eye(3), nonlinearity="identity")
    return connectivity_row(cell, rng.standard_normal((T, 2)), t), math.log10(np.linalg.norm(w_ih, 2))


def test_a_falling_row_reads_as_forgetting_with_its_reach():
    from gatescope.core.explain_connectivity import REACH_DECADES, how_to_read
    row, base = closed_row(0.9, 120, 100)
    r = how_to_read(row, 100, 7)
    assert r.verdict == "falling"
    assert r.log10_span == pytest.approx(99 * math.log10(0.9), abs=1e-12)
    # the first lag j with j log10 0.9 < −3 is ⌊3 / −log10 0.9⌋ + 1: the reach is one less
    assert r.reach == math.floor(REACH_DECADES / -math.log10(0.9))
    assert r.influence.log10_influence == pytest.approx(93 * math.log10(0.9) + base, abs=1e-12)
    assert r.influence_text == r.influence.describe()
    assert f"drops 10^{-99 * math.log10(0.9):.2f} over 99 steps (×0.9 a step)" in r.memory_text
    assert f"more than {r.reach} steps back" in r.memory_text and "forgets" in r.memory_text


def test_flat_rising_fresh_cut_and_unknown_rows():
    from gatescope.core.explain_connectivity import how_to_read, memory_sentence
    flat, _ = closed_row(1.0, 60, 60)
    assert how_to_read(flat, 60, 1).verdict == "flat"
    assert "long memory" in how_to_read(flat, 60, 1).memory_text
    rising, _ = closed_row(1.1, 60, 60)
    r = how_to_read(rising, 60, 1)
    assert r.verdict == "rising" and f"×{1.1:.3g} a step back" in r.memory_text
    assert r.log10_span == pytest.approx(59 * math.log10(1.1), abs=1e-12)
    # not yet a thousandth lost: the rate says how long until it is (3 / 0.0458 ≈ 66 steps)
    young, _ = closed_row(0.9, 30, 30)
    assert f"for about {3 / -math.log10(0.9):.0f} steps" in how_to_read(young, 30, 1).memory_text
    assert memory_sentence(flat, 1)[0] == "fresh"
    assert memory_sentence(np.array([-np.inf, 0.0]), 2)[0] == "cut"
    assert memory_sentence(np.array([np.nan, 0.0]), 2)[0] == "unknown"
    assert how_to_read(np.array([np.nan, np.nan]), 2, 1).reach is None


def test_sentences_name_the_tokens_and_render_as_html():
    from gatescope.core.explain_connectivity import as_html, how_to_read
    row, _ = closed_row(0.9, 5, 5)
    r = how_to_read(row, 5, 2, tokens=["the", "cl<ouds", "are", "in", "sky"], target="ŷ")
    assert r.influence_text.startswith("x_2 (“cl<ouds”)'s influence on ŷ_5 (“sky”): 10^")
    h = r.html()
    assert "x<sub>2</sub> (“cl&lt;ouds”)" in h and "ŷ<sub>5</sub>" in h and "10<sup>" in h
    assert as_html("10^-3.25 and 10^0.50") == "10<sup>−3.25</sup> and 10<sup>0.50</sup>"


def test_reading_for_an_analysis_is_the_rows_reading():
    from gatescope.core.analysis import analyse
    from gatescope.core.explain_connectivity import how_to_read, reading_for
    from gatescope.core.inputs import france_sentence
    cfg = Config(activation="tanh", source="text", text=france_sentence(40))
    a = analyse(cfg)
    cell = cfg.build_cell()
    x, tokens = cfg.build_inputs(cell.input_size)
    T, k = len(tokens), tokens.index("france") + 1
    r = reading_for(a, T, k)
    expected = how_to_read(prepare(cell, x).row(T), T, k, tokens=tokens)
    assert r.text == expected.text and r.influence == expected.influence
    assert r.influence.log10_change < -1                        # "france" has faded by "french"
    assert reading_for(a, 0) is None and reading_for(a, T + 1) is None
    assert reading_for(a, 10, 99).influence.k == 10             # k clamped to t
    assert reading_for(analyse(cfg.replace(sigma1=0.9)), T, budget_s=0.0) is None


def test_trace_connectivity_is_what_simulate_connectivity_writes(tmp_path):
    from types import SimpleNamespace

    from gatescope.core.connectivity import trace_connectivity
    cfg = Config(cell="gru", hidden=4, length=30)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs()
    arrays = trace_connectivity(cell, simulate(cell, x))
    assert list(arrays) == ["log10_input_connectivity"]
    assert_same(arrays["log10_input_connectivity"], reference(cell, x), atol=1e-9)
    np.savez(tmp_path / "t.npz", **arrays)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as f:
        np.testing.assert_array_equal(f["log10_input_connectivity"], arrays["log10_input_connectivity"])
    with pytest.raises(ValueError, match="at most 5000"):      # refused before any work
        trace_connectivity(cell, SimpleNamespace(inputs=np.zeros((5001, 8))))
