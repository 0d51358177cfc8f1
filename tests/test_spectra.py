"""The three structures of W against their closed forms: exact singular values, ‖Wᵗ‖₂ = σ₁ᵗ for the
normal ones (symmetric, rotation), eigenvalues σᵢe^{±iθ} for the rotation, ‖Wᵗ‖₂ ≤ σ₁ᵗ with ρ < σ₁
for the non-normal one; the older `normal=` keyword still works."""
import math

import numpy as np
import pytest
from gatescope.core.build import build_cell
from gatescope.core.simulate import simulate
from gatescope.core.spectra import (
    SHAPES,
    STRUCTURES,
    haar_orthogonal,
    recurrent_matrix,
    rotation_angles,
    spectral_radius,
    spectrum,
)


def powers(w, T):
    """‖Wᵗ‖₂ for t = 1..T by repeated products (an independent path from any closed form)."""
    p, out = np.eye(w.shape[0]), []
    for _ in range(T):
        p = w @ p
        out.append(np.linalg.norm(p, 2))
    return np.array(out)


def commutator(w):
    return np.abs(w @ w.T - w.T @ w).max()


def test_the_structures_are_named_for_what_they_are():
    assert STRUCTURES == ("symmetric", "rotation", "non-normal")


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("n", [1, 2, 5, 16])
def test_every_structure_has_exactly_the_prescribed_singular_values(structure, shape, n):
    s = spectrum(1.3, n, shape, structure)
    assert s[0] == 1.3 and np.all(np.diff(s) <= 0) and s.shape == (n,)
    w = recurrent_matrix(s, seed=7, structure=structure)
    assert w.dtype == np.float64 and w.shape == (n, n)
    np.testing.assert_allclose(np.linalg.svd(w, compute_uv=False), s, rtol=1e-12)
    np.testing.assert_array_equal(w, recurrent_matrix(s, seed=7, structure=structure))


@pytest.mark.parametrize("structure", ["symmetric", "rotation"])
@pytest.mark.parametrize("shape", SHAPES)
def test_normal_structures_have_power_norm_sigma1_to_the_t(structure, shape):
    s = spectrum(1.02, 12, shape, structure)
    w = recurrent_matrix(s, seed=3, structure=structure)
    assert commutator(w) < 1e-14                                   # WᵀW = WWᵀ
    t = np.arange(1, 301)
    np.testing.assert_allclose(powers(w, 300), 1.02 ** t, rtol=1e-12)


def test_symmetric_is_q_sigma_qt_with_the_seeds_q():
    s = spectrum(0.9, 6, "geometric")
    q = haar_orthogonal(6, np.random.default_rng(11))
    np.testing.assert_allclose(recurrent_matrix(s, seed=11, structure="symmetric"),
                               (q * s) @ q.T, atol=1e-15)
    w = recurrent_matrix(s, seed=11)                                # the default
    np.testing.assert_array_equal(w, w.T)
    np.testing.assert_allclose(np.sort(np.linalg.eigvalsh(w)), np.sort(s), atol=1e-14)


@pytest.mark.parametrize("n", [6, 7])
def test_rotation_eigenvalues_are_sigma_e_to_the_plus_minus_i_theta(n):
    s = spectrum(1.1, n, "geometric", "rotation")
    m = n // 2
    assert np.array_equal(s[0:2 * m:2], s[1:2 * m:2])              # equal pairs σ₁ = σ₂, …
    theta = rotation_angles(m)
    np.testing.assert_allclose(theta, math.pi * (np.arange(m) + 0.5) / m)
    expected = np.concatenate([s[0:2 * m:2] * np.exp(1j * theta), s[0:2 * m:2] * np.exp(-1j * theta),
                               s[2 * m:]])                          # odd n: one real eigenvalue
    lam = np.linalg.eigvals(recurrent_matrix(s, seed=5, structure="rotation"))
    # match each expected eigenvalue to the nearest computed one
    dist = np.abs(expected[:, None] - lam[None, :])
    assert np.all(dist.min(axis=1) < 1e-12) and len(set(dist.argmin(axis=1))) == n


def turned(a, th, t):
    """(a R(θ))ᵗ = aᵗ R(tθ)."""
    return a ** t * np.array([[math.cos(t * th), -math.sin(t * th)],
                              [math.sin(t * th), math.cos(t * th)]])


def test_rotation_powers_turn_the_blocks_and_u_differs_from_v():
    s = np.array([1.2, 1.2, 0.7, 0.7])
    w = recurrent_matrix(s, seed=2, structure="rotation", theta=[0.3, 2.0])
    q = haar_orthogonal(4, np.random.default_rng(2))               # the same Q as "symmetric"
    b = q.T @ w @ q
    for t in (1, 5, 40):
        bt = np.zeros((4, 4))
        bt[:2, :2], bt[2:, 2:] = turned(1.2, 0.3, t), turned(0.7, 2.0, t)
        np.testing.assert_allclose(np.linalg.matrix_power(w, t), q @ bt @ q.T,
                                   atol=1e-12 * 1.2 ** t)
    np.testing.assert_allclose(b[:2, 2:], 0, atol=1e-14)
    assert np.abs(w - w.T).max() > 0.1                               # not symmetric: U ≠ V
    u, _, vt = np.linalg.svd(w)
    assert np.abs(np.abs(u.T @ vt.T) - np.eye(4)).max() > 0.1        # U ≠ V even up to signs


def test_one_angle_turns_every_pair():
    s = spectrum(1.0, 8, "flat", "rotation")
    lam = np.linalg.eigvals(recurrent_matrix(s, seed=1, structure="rotation", theta=0.25))
    np.testing.assert_allclose(np.abs(np.angle(lam)), 0.25, atol=1e-12)


def test_flat_rotation_is_a_random_orthogonal_matrix_not_the_identity():
    for seed in range(3):
        w = recurrent_matrix(spectrum(1.0, 16, "flat", "rotation"), seed=seed, structure="rotation")
        np.testing.assert_allclose(w @ w.T, np.eye(16), atol=1e-14)
        assert np.abs(w - np.eye(16)).max() > 0.5
        ang = np.sort(np.angle(np.linalg.eigvals(w)))
        # eigenvalues spread evenly round the unit circle: ±π(k + ½)/8
        half = math.pi * (np.arange(8) + 0.5) / 8
        np.testing.assert_allclose(ang, np.sort(np.concatenate([half, -half])), atol=1e-12)
    # the symmetric flat spectrum *is* σ₁ I (what the orthogonal presets used to show)
    np.testing.assert_allclose(recurrent_matrix(np.ones(16), seed=0), np.eye(16), atol=1e-14)


@pytest.mark.parametrize("shape", ["spike", "geometric"])
@pytest.mark.parametrize("seed", [0, 4])
def test_non_normal_stays_below_sigma1_to_the_t_and_rho_is_below_sigma1(shape, seed):
    s = spectrum(1.05, 12, shape, "non-normal")
    w = recurrent_matrix(s, seed=seed, structure="non-normal")
    assert commutator(w) > 1e-3
    rho = spectral_radius(w)
    assert rho < 1.05 * (1 - 1e-3)
    norms = powers(w, 400)
    t = np.arange(1, 401)
    assert np.all(norms <= 1.05 ** t * (1 + 1e-12))
    # Gelfand: ‖Wᵗ‖^(1/t) → ρ, here within 2 % by t = 400
    assert norms[-1] ** (1 / 400) == pytest.approx(rho, rel=0.02)


def test_the_older_normal_keyword_still_works():
    s = spectrum(1.2, 6, "spike")
    for normal, structure in ((True, "symmetric"), (False, "non-normal")):
        np.testing.assert_array_equal(recurrent_matrix(s, seed=3, normal=normal),
                                      recurrent_matrix(s, seed=3, structure=structure))
        a = build_cell("lstm", 6, 2, sigma1=1.2, normal=normal, seed=3)
        b = build_cell("lstm", 6, 2, sigma1=1.2, structure=structure, seed=3)
        np.testing.assert_array_equal(a.weight_hh, b.weight_hh)
    with pytest.raises(ValueError, match="contradicts"):
        recurrent_matrix(s, structure="symmetric", normal=False)


def test_rng_instead_of_seed():
    s = spectrum(1.0, 5, "geometric")
    np.testing.assert_array_equal(
        recurrent_matrix(s, rng=np.random.default_rng(9), structure="non-normal"),
        recurrent_matrix(s, seed=9, structure="non-normal"))


@pytest.mark.parametrize("call, message", [
    (lambda: recurrent_matrix([1.0, 1.0], structure="normal"), "unknown W structure"),
    (lambda: spectrum(1.0, 4, "flat", "orthogonal"), "unknown W structure"),
    (lambda: recurrent_matrix([1.0, 1.0, 0.5, 0.5], structure="rotation", theta=[0.1]),
     "need 2 rotation angles"),
    (lambda: recurrent_matrix([1.0, 1.0], structure="rotation", theta=math.nan), "finite"),
])
def test_bad_structure_arguments_say_what_is_wrong(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_build_cell_gives_every_block_the_structure(kind):
    cell = build_cell(kind, 8, 3, sigma1=0.95, shape="flat", structure="rotation", seed=2)
    for w in cell.recurrent_blocks().values():
        np.testing.assert_allclose(w @ w.T, 0.95 ** 2 * np.eye(8), atol=1e-14)
        assert np.abs(w - 0.95 * np.eye(8)).max() > 0.3


def test_identity_rnn_with_a_rotation_follows_sigma1_to_the_t_exactly():
    cell = build_cell("rnn", 10, 3, sigma1=1.01, structure="rotation", seed=1,
                      nonlinearity="identity")
    x = np.random.default_rng(0).standard_normal((365, 3))
    log_norm = simulate(cell, x).log10_jac_norm
    np.testing.assert_allclose(log_norm, np.arange(366) * math.log10(1.01), atol=1e-9)
