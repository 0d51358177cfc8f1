"""Lyapunov spectrum (Benettin's QR method): the sum against log|det J_t| from slogdet of the
analytic Jacobians, a linear normal W (λᵢ = ln sᵢ), the transition to chaos of random tanh
networks, λ₁ against two nearby trajectories, and the edge-of-chaos sweep."""
import numpy as np
import pytest
from gatescope.core import make_cell, recurrent_matrix, state_jacobian, step
from gatescope.core.cells import GATE_BLOCKS
from gatescope.core.lyapunov import (
    edge_of_chaos,
    gaussian_rnn,
    log_abs_det_jacobians,
    lyapunov_spectrum,
    scaled_cell,
    top_lyapunov_exponent,
)
from gatescope.core.simulate import Cancelled
from hypothesis import given, settings
from hypothesis import strategies as st

EPS = np.finfo(np.float64).eps

def random_cell(kind, n, d, rng, scale=1.0, nonlinearity="tanh", convention="pytorch"):
    g = GATE_BLOCKS[kind]
    return make_cell(kind, scale * rng.standard_normal((g * n, d)),
                     scale * rng.standard_normal((g * n, n)) / np.sqrt(n),
                     scale * rng.standard_normal(g * n), scale * rng.standard_normal(g * n),
                     nonlinearity=nonlinearity, convention=convention)


def jacobians(cell, x, s0=None):
    """Independent: the analytic J_t = ∂s_t/∂s_{t−1} step by step (cells.state_jacobian)."""
    s = np.zeros(cell.state_size) if s0 is None else s0
    out = []
    for t in range(x.shape[0]):
        out.append(state_jacobian(cell, x[t], s))
        s = step(cell, x[t], s)
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 7), st.integers(1, 40),
       st.sampled_from(["tanh", "sigmoid"]), st.sampled_from(["seed", "pytorch"]),
       st.floats(0.3, 2.0), st.integers(0, 2**31 - 1))
def test_sum_of_exponents_is_the_mean_log_determinant(kind, n, T, nl, conv, scale, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, scale, nl, conv)
    x = rng.standard_normal((T, 2))
    lam = lyapunov_spectrum(cell, x)
    J = jacobians(cell, x)
    logdet = np.linalg.slogdet(J)[1]
    # log|det J| moves by up to κ(J)·‖δJ‖/‖J‖ under a rounding δJ of J (any algorithm's): a
    # saturated LSTM gives κ ≈ 10¹¹, so the tolerance follows the conditioning of the draw
    kappa = np.linalg.cond(J)
    assert lam.shape == (cell.state_size,)
    assert np.all(np.diff(lam) <= 0)
    assert lam.sum() == pytest.approx(logdet.mean(), rel=1e-10, abs=1e-10 + 4 * EPS * kappa.mean())
    np.testing.assert_allclose(log_abs_det_jacobians(cell, x), logdet, rtol=1e-10,
                               atol=1e-10 + 4 * EPS * kappa.max())


def test_discarded_steps_leave_the_sum_over_the_rest():
    rng = np.random.default_rng(3)
    cell = random_cell("lstm", 5, 2, rng)
    x = rng.standard_normal((60, 2))
    logdet = np.linalg.slogdet(jacobians(cell, x))[1]
    assert lyapunov_spectrum(cell, x, discard=20).sum() == pytest.approx(logdet[20:].mean(), rel=1e-10)


@pytest.mark.parametrize("n, lo", [(8, 0.5), (16, 0.25)])
def test_linear_normal_w_gives_the_log_singular_values(n, lo):
    # identity RNN, W = Q diag(s) Qᵀ: once the frame has aligned with Q, R_t = diag(s) exactly
    s = 2.0 * (lo / 2.0) ** (np.arange(n) / (n - 1))
    cell = make_cell("rnn", np.zeros((n, 1)), recurrent_matrix(s, seed=n), nonlinearity="identity")
    lam = lyapunov_spectrum(cell, np.zeros((1200, 1)), discard=600)
    np.testing.assert_allclose(lam, np.log(s), atol=1e-10)


@pytest.mark.parametrize("n", [80, 200])
def test_transition_to_chaos_of_random_tanh_networks(n):
    """Sompolinsky, Crisanti & Sommers: entries N(0, g²/n), tanh, no input. g = 0.5: every
    trajectory falls to the fixed point 0 (λ₁ = ln ρ(W) < 0); g = 2: chaos, λ₁ > 0 — for most
    networks: a finite one can also settle on a limit cycle (λ₁ = 0), hence the median over four.
    The whole spectrum for n = 80 (kept below the size where a threaded BLAS's QR slows down
    badly on a busy machine), the top exponent alone (tangent vector) for n = 200."""
    T = 700
    h0 = np.random.default_rng(11).standard_normal(n)
    x = np.zeros((T, 1))

    def lam1(g, seed):
        cell = gaussian_rnn(n, g, seed=seed)
        if n <= 100:
            return lyapunov_spectrum(cell, x, h0=h0, discard=200)[0]
        return top_lyapunov_exponent(cell, x, h0=h0, discard=200)

    assert max(lam1(0.5, seed) for seed in range(4)) < -0.3
    assert np.median([lam1(2.0, seed) for seed in range(4)]) > 0.05


def test_top_exponent_is_the_growth_of_a_small_perturbation():
    """Two trajectories δ₀ = 1e-7 apart, the difference renormalised to δ₀ every step: the mean
    log growth is λ₁ (the tangent vector starting along the same direction, exactly up to
    O(δ₀); the QR spectrum's λ₁ up to finite-T effects)."""
    n, T, discard = 80, 600, 150
    cell = gaussian_rnn(n, 2.0, seed=4)
    h0 = np.random.default_rng(5).standard_normal(n)
    x = np.zeros((T, 1))
    v0 = np.random.default_rng(6).standard_normal(n)
    v0 /= np.linalg.norm(v0)
    d0 = 1e-7
    h, hp, total = h0.copy(), h0 + d0 * v0, 0.0
    for t in range(T):
        h, hp = step(cell, x[t], h), step(cell, x[t], hp)
        d = np.linalg.norm(hp - h)
        if t >= discard:
            total += np.log(d / d0)
        hp = h + d0 * (hp - h) / d
    growth = total / (T - discard)
    assert growth > 0
    assert top_lyapunov_exponent(cell, x, h0=h0, discard=discard, v0=v0) == pytest.approx(growth, abs=1e-4)
    assert lyapunov_spectrum(cell, x, h0=h0, discard=discard)[0] == pytest.approx(growth, abs=0.02)


def test_exactly_annihilated_directions_are_minus_infinity():
    # ReLU with every pre-activation negative: J = 0 at the first step
    n = 4
    cell = make_cell("rnn", -np.ones((n, 1)), np.eye(n), nonlinearity="relu")
    x = np.ones((5, 1))
    assert np.all(lyapunov_spectrum(cell, x) == -np.inf)
    assert top_lyapunov_exponent(cell, x) == -np.inf


def test_edge_of_chaos_sweep_matches_each_gain_and_can_be_cancelled():
    n, T = 60, 300
    base = gaussian_rnn(n, 1.0, seed=2)
    h0 = np.random.default_rng(1).standard_normal(n)
    x = np.zeros((T, 1))
    gains = [0.5, 1.0, 1.5, 2.5]
    seen = []
    lam = edge_of_chaos(lambda g: scaled_cell(base, g), gains, x, h0=h0, discard=100,
                        progress=lambda f: seen.append(f))
    expected = [top_lyapunov_exponent(scaled_cell(base, g), x, h0=h0, discard=100) for g in gains]
    np.testing.assert_array_equal(lam, expected)
    assert lam[0] < 0 < lam[-1]
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(Cancelled):
        edge_of_chaos(lambda g: scaled_cell(base, g), gains, x, progress=lambda f: f < 0.5)


def test_scaled_cell_scales_only_the_recurrent_weights():
    rng = np.random.default_rng(0)
    cell = random_cell("gru", 3, 2, rng, convention="seed")
    c2 = scaled_cell(cell, 0.5)
    np.testing.assert_array_equal(c2.weight_hh, 0.5 * cell.weight_hh)
    np.testing.assert_array_equal(c2.weight_ih, cell.weight_ih)
    assert (c2.kind, c2.convention, c2.nonlinearity) == (cell.kind, cell.convention, cell.nonlinearity)


def test_bad_arguments_are_refused():
    cell = gaussian_rnn(4, 1.0)
    with pytest.raises(ValueError):
        lyapunov_spectrum(cell, np.zeros((10, 1)), discard=10)
    with pytest.raises(ValueError):
        lyapunov_spectrum(cell, np.zeros((0, 1)))
    with pytest.raises(ValueError):
        lyapunov_spectrum(cell, np.zeros((10, 2)))
