"""The singular vectors of graded.graded_svd across gap cuts and windows (blocks of rows solved
apart), against an independent SVD in mpmath: of the product of the same float64 Jacobians
(the split of ∂ℓ/∂s_t), and of graded states built directly, far outside float range."""
import numpy as np
import pytest
from gatescope.core import state_jacobian, step
from gatescope.core.directions import _accumulate, split_gradient
from gatescope.core.forward import finite_cache, forward
from gatescope.core.graded import (
    GAP_BITS,
    NEG,
    GradedState,
    _orthonormalise,
    _row_scales,
    gap_cuts,
    graded_svd,
    log2_singular_values,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_directions import random_cell

mp = pytest.importorskip("mpmath")
EPS = np.finfo(float).eps


def mp_product(cell, x, t):
    """P_t = J_t ⋯ J₁ of the float64 Jacobians (cells.state_jacobian), exact at the current
    precision; and Σ_s κ(J_s) (each step's backward error moves P_t by ≈ ε κ(J_s))."""
    m = cell.state_size
    s, P, kappa = np.zeros(m), mp.eye(m), 0.0
    for k in range(t):
        J = state_jacobian(cell, x[k], s)
        kappa += np.linalg.cond(J)
        P = mp.matrix(J.tolist()) * P
        s = step(cell, x[k], s)
    return P, kappa


def mp_state(state):
    """P = Q · diag(2^e) · B of a GradedState, exact (any exponents)."""
    m = state.B.shape[0]
    X = mp.matrix(m, m)
    for i in range(m):
        for j in range(m):
            X[i, j] = mp.ldexp(mp.mpf(float(state.B[i, j])), int(state.e[i]))
    return mp.matrix(state.Q.tolist()) * X


def mp_svd(P):
    """(log2 σ descending (a zero: −inf), U, V as float arrays, columns the vectors)."""
    U, S, V = mp.svd_r(P)
    l = np.array([float(mp.log(v, 2)) if v > 0 else -np.inf for v in S])
    return l, np.array(U.tolist(), dtype=float), np.array(V.tolist(), dtype=float).T


def aligned(A, ref):
    """A's columns signed as ref's."""
    sign = np.where(np.sum(A * ref, axis=0) < 0.0, -1.0, 1.0)
    return A * sign


def relative_gaps(sigma):
    """min relative distance of each σᵢ to its neighbours (inf for m = 1)."""
    gaps = np.full(sigma.shape, np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.abs(np.diff(sigma)) / sigma[:-1]
    gaps[:-1] = np.minimum(gaps[:-1], d)
    gaps[1:] = np.minimum(gaps[1:], d)
    return np.nan_to_num(gaps, nan=0.0)


def run(kind, n, t, seed):
    """The draws of test_directions' split test (the first 25 inputs the same, t up to 30)."""
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, 1.2)
    x = rng.standard_normal((max(25, t), 2))
    g = rng.standard_normal(cell.state_size)
    return cell, x, g


def reference_split(cell, x, t, g, spread_decades):
    """mpmath's σᵢ, |uᵢᵀ g|, ‖Pᵀ g‖ and Σ κ(J_s), at enough digits for the whole spread."""
    with mp.workdps(max(60, int(spread_decades) + 40)):
        P, kappa = mp_product(cell, x, t)
        U, S, _ = mp.svd_r(P)
        c = U.T * mp.matrix(g.tolist())
        back = P.T * mp.matrix(g.tolist())
        return (np.array([float(v) for v in S]), np.array([float(abs(v)) for v in c]),
                float(mp.norm(back)), kappa)


def spread(log10_sigma):
    fin = log10_sigma[np.isfinite(log10_sigma)]
    return fin.max() - fin.min() if fin.size else 0.0


# ----------------------------------------------------------------------------------------------
# the split of ∂ℓ/∂s_t

def test_the_top_direction_across_a_gap_cut():
    """LSTM, n = 2, t = 13: the state's rows have a 32-bit gap, so they are solved as two
    blocks; the top block's u₁ lacked its component X v₁ / σ₁ in the rows below (≈ 2^−32):
    u₁ᵀ g, and so ‖∂ℓ/∂s₀‖, were off by 1.4e-9 relative."""
    kind, n, t, seed = "lstm", 2, 13, 2743
    cell, x, g = run(kind, n, t, seed)
    state = _accumulate(cell, finite_cache(cell, forward(cell, x)), stop=t)
    scales = np.sort(_row_scales(state.B[None], state.e[None])[0])[::-1]
    assert gap_cuts(scales[None], np.array([scales.size]), GAP_BITS).any()     # the case: a cut
    sp = split_gradient(cell, x, t, g)
    sigma, coef, total, _ = reference_split(cell, x, t, g, spread(sp.log10_sigma))
    assert abs(sp.coefficient[0]) == pytest.approx(coef[0], rel=1e-13)
    assert 10.0 ** sp.log10_total == pytest.approx(total, rel=1e-13)
    np.testing.assert_allclose(np.abs(sp.coefficient), coef, rtol=0, atol=1e-13 * np.linalg.norm(g))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 5), st.integers(0, 30),
       st.integers(0, 2**31 - 1))
@example("lstm", 2, 13, 2743)
def test_split_coefficients_match_a_high_precision_svd(kind, n, t, seed):
    """Every direction whose σ is ≥ 1e-3 (relative) from its neighbours': |uᵢᵀ g| as mpmath's
    to 1e-12·‖g‖, plus what the recursion's own backward error can move it (ε Σ κ(J_s) / gap);
    ‖∂ℓ/∂s₀‖ to 1e-12 relative; U and V orthonormal."""
    cell, x, g = run(kind, n, t, seed)
    sp = split_gradient(cell, x, t, g)
    m = cell.state_size
    sigma, coef, total, kappa = reference_split(cell, x, t, g, spread(sp.log10_sigma))
    gaps = relative_gaps(sigma)
    sep = gaps >= 1e-3
    tol = (1e-12 + EPS * kappa / np.maximum(gaps, 1e-300)) * np.linalg.norm(g)
    assert np.all(np.abs(np.abs(sp.coefficient) - coef)[sep] <= tol[sep])
    if total > 0:
        assert 10.0 ** sp.log10_total == pytest.approx(total, rel=1e-12)
    np.testing.assert_allclose(sp.u.T @ sp.u, np.eye(m), rtol=0, atol=1e-12)
    np.testing.assert_allclose(sp.v.T @ sp.v, np.eye(m), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------------------------
# graded states built directly

def graded_state(steps, seed, zero_row=None):
    """X = diag(2^e) B with e = −cumsum(steps) (± a few bits), B random (well-conditioned rows),
    rows shuffled; P = Q X with Q random orthogonal."""
    rng = np.random.default_rng(seed)
    m = len(steps)
    e = -np.cumsum(steps) + rng.integers(-2, 3, size=m)
    B = rng.standard_normal((m, m))
    if zero_row is not None:
        B[zero_row] = 0.0
    Q = np.linalg.qr(rng.standard_normal((m, m)))[0]
    perm = rng.permutation(m)
    return GradedState(7, Q, e[perm].astype(float), B[perm])


def assert_matches_mpmath(state, atol_vectors, atol_values=1e-12):
    l, U, V = graded_svd(state)
    m = l.size
    fin = np.isfinite(l)
    with mp.workdps(int(0.31 * (l[fin].max() - l[fin].min())) + 60):
        lm, Um, Vm = mp_svd(mp_state(state))
    np.testing.assert_allclose(l[fin], lm[fin], rtol=0, atol=atol_values)
    assert np.all(lm[~fin] < lm[fin].min() - 100)                # zero rows: mpmath's are ~ 0
    sep = relative_gaps(2.0 ** (lm - lm[0])) >= 1e-3
    np.testing.assert_allclose(aligned(U, Um)[:, sep], Um[:, sep], rtol=0, atol=atol_vectors)
    np.testing.assert_allclose(aligned(V, Vm)[:, sep], Vm[:, sep], rtol=0, atol=atol_vectors)
    np.testing.assert_allclose(U.T @ U, np.eye(m), rtol=0, atol=1e-14)
    np.testing.assert_allclose(V.T @ V, np.eye(m), rtol=0, atol=1e-14)
    return l, lm


@pytest.mark.parametrize("steps, zero_row", [
    ([0, 2, 40, 1, 300, 3], None),                         # cuts at ≈ 40 and ≈ 300 bits
    ([0, 1, 40, 2, 1500, 1, 30, 1200, 40], None),          # 2800 bits: beyond float range
    ([0, 1, 40, 2, 1500, 1, 30, 1200, 40], 5),             # ... and an exactly zero row
    ([0] + [27] * 19, None),                               # 510 bits without a gap: windows
])
@pytest.mark.parametrize("seed", [3, 11])
def test_graded_state_vectors_across_cuts_match_mpmath(steps, zero_row, seed):
    """Vectors to ≈ ε (the dropped first-order coupling, 2^−40 ≈ 1e-12 at the 40-bit gap, was
    left in U before): every σ separated from its neighbours, the cut blocks' values exact."""
    l, lm = assert_matches_mpmath(graded_state(steps, seed, zero_row), 2e-14)
    if zero_row is not None:
        assert l[-1] == -np.inf and np.isfinite(l[:-1]).all()


def test_a_cut_coupled_through_a_small_value_is_solved_as_one_block():
    """Rows 1 and 2 nearly dependent (2^−24 apart): their block's smaller σ lies ≈ 24 bits
    below its rows, within SAFE_BITS of the next row's scale although the rows' gap is 33 bits.
    The blocks are then taken wider (as log2_singular_values takes them): values and vectors
    as mpmath's to what the rows' conditioning allows (cut there: 1e-4 and 1e-2 off)."""
    rng = np.random.default_rng(1)
    m = 5
    B = rng.standard_normal((m, m))
    B /= 1.01 * np.abs(B).max(axis=1)[:, None]
    B[2] = B[1] + 2.0 ** -24 * rng.standard_normal(m)
    state = GradedState(3, np.linalg.qr(rng.standard_normal((m, m)))[0], np.array([0, -40, -40, -74, -400.]), B)
    scales = _row_scales(B[None], state.e[None])[0]
    assert scales[2] - scales[3] >= GAP_BITS                     # a gap between the row scales
    l, _, _ = graded_svd(state)
    assert l[2] < scales[3] + 30                                 # ... bridged by a small value
    np.testing.assert_allclose(l, log2_singular_values(B[None], state.e[None])[0], rtol=0, atol=1e-12)
    assert_matches_mpmath(state, 1e-7, 1e-7)


# ----------------------------------------------------------------------------------------------
# degenerate states

def test_clusters_split_by_cuts_keep_their_subspaces():
    """Pairs of exactly equal values (blocks of an orthogonal B) 40 and 300 bits apart: each
    pair's left and right subspaces as mpmath's."""
    rng = np.random.default_rng(2)
    blocks = np.zeros((6, 6))
    for i in range(0, 6, 2):
        blocks[i:i + 2, i:i + 2] = np.linalg.qr(rng.standard_normal((2, 2)))[0]
    W = np.linalg.qr(rng.standard_normal((6, 6)))[0]
    state = GradedState(1, np.linalg.qr(rng.standard_normal((6, 6)))[0],
                        np.array([0, 0, -40, -40, -300, -300.]), blocks @ W)
    l, U, V = graded_svd(state)
    np.testing.assert_allclose(l, [0, 0, -40, -40, -300, -300], rtol=0, atol=1e-13)
    with mp.workdps(150):
        _, Um, Vm = mp_svd(mp_state(state))
    for a in range(0, 6, 2):
        for A, R in ((U, Um), (V, Vm)):
            np.testing.assert_allclose(A[:, a:a + 2] @ A[:, a:a + 2].T, R[:, a:a + 2] @ R[:, a:a + 2].T,
                                       rtol=0, atol=1e-14)
    np.testing.assert_allclose(U.T @ U, np.eye(6), rtol=0, atol=1e-14)


@pytest.mark.parametrize("state, want", [
    (GradedState(1, np.eye(1), np.array([-5000.0]), np.array([[0.75]])), [-5000 + np.log2(0.75)]),
    (GradedState(1, np.eye(3), np.zeros(3), np.zeros((3, 3))), [-np.inf] * 3),
    (GradedState(1, np.eye(3)[::-1], np.array([0.0, NEG, -100.0]), np.diag([1.0, 1.0, 0.5])),
     [0.0, -101.0, -np.inf]),
])
def test_one_by_one_zero_and_flagged_zero_rows(state, want):
    l, U, V = graded_svd(state)
    np.testing.assert_allclose(l, want, rtol=0, atol=1e-12)
    m = l.size
    np.testing.assert_allclose(U.T @ U, np.eye(m), rtol=0, atol=1e-14)
    np.testing.assert_allclose(V.T @ V, np.eye(m), rtol=0, atol=1e-14)
    X = state.Q @ np.ldexp(state.B, np.clip(state.e, -1000, 1000).astype(int)[:, None])
    fin = np.isfinite(l) & (l > -1000)
    np.testing.assert_allclose(X @ V[:, fin], U[:, fin] * 2.0 ** l[fin], rtol=0, atol=1e-14)


def test_orthonormalise_is_the_qr_with_positive_diagonal():
    """Cholesky QR of a nearly orthogonal U equals Householder QR with R's diagonal made
    positive; a U whose UᵀU is not positive definite (two equal columns) still gives an
    orthonormal Q through Householder."""
    rng = np.random.default_rng(4)
    U = np.linalg.qr(rng.standard_normal((40, 40)))[0] + 1e-9 * rng.standard_normal((40, 40))
    q, r = np.linalg.qr(U)
    np.testing.assert_allclose(_orthonormalise(U), q * np.sign(np.diagonal(r)), rtol=0, atol=1e-14)
    U[:, 7] = U[:, 3]
    Q = _orthonormalise(U)
    np.testing.assert_allclose(Q.T @ Q, np.eye(40), rtol=0, atol=1e-14)
    np.testing.assert_allclose(Q[:, :7], q[:, :7] * np.sign(np.diagonal(r))[:7], rtol=0, atol=1e-14)
