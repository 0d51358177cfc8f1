"""Recurrent weight matrices with prescribed singular values.

The notes (§2) write W_hh = U Σ Vᵀ and conclude ∂h_t/∂h_0 = W_hhᵗ = U Σᵗ Vᵀ. That identity holds
only when U = V, i.e. when W is symmetric positive semi-definite ("normal=True" here). For a
general (non-normal) W we only have ‖Wᵗ‖₂ ≤ σ₁ᵗ, and by Gelfand's formula
‖Wᵗ‖₂^(1/t) → ρ(W), the spectral radius (largest |eigenvalue|), which can be far below σ₁.
"""
from __future__ import annotations

import numpy as np

SHAPES = ("spike", "flat", "geometric")

#: In a "spike" spectrum every singular value but σ₁ sits at this fraction of σ₁.
SPIKE_REST = 0.5
#: In a "geometric" spectrum σ_n = σ₁ · GEOMETRIC_END (σ_i = σ₁ · q^(i−1), q = END^(1/(n−1))).
GEOMETRIC_END = 0.1


def haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal (n, n) matrix: QR of a Gaussian with sign fix."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def spectrum(sigma1: float, n: int, shape: str = "spike") -> np.ndarray:
    """Singular values (n,), descending, σ₁ = sigma1.

    spike: (σ₁, σ₁/2, …, σ₁/2); flat: all σ₁ (W = σ₁ · orthogonal); geometric: σ₁ qⁱ down to σ₁/10.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown spectrum shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if not (np.isfinite(sigma1) and sigma1 >= 0):
        raise ValueError(f"sigma1 must be a finite number >= 0, got {sigma1!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if shape == "flat" or n == 1:
        return np.full(n, float(sigma1))
    if shape == "spike":
        s = np.full(n, SPIKE_REST * sigma1)
        s[0] = sigma1
        return s
    return sigma1 * GEOMETRIC_END ** (np.arange(n) / (n - 1))


def recurrent_matrix(singular_values, *, seed: int = 0, normal: bool = True) -> np.ndarray:
    """A float64 (n, n) matrix whose singular values are exactly ``singular_values``.

    normal=True:  W = Q diag(s) Qᵀ (symmetric PSD), so Wᵗ = Q diag(sᵗ) Qᵀ and ‖Wᵗ‖₂ = σ₁ᵗ.
    normal=False: W = U diag(s) Vᵀ with independent Haar orthogonal U, V; ‖Wᵗ‖₂ ≤ σ₁ᵗ.
    The same seed gives the same matrix.
    """
    s = np.asarray(singular_values, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError("singular_values must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("singular values must be finite and >= 0")
    rng = np.random.default_rng(seed)
    n = s.size
    u = haar_orthogonal(n, rng)
    v = u if normal else haar_orthogonal(n, rng)
    w = (u * s) @ v.T
    if normal:
        w = 0.5 * (w + w.T)  # exactly symmetric despite rounding
    return w


def spectral_radius(w: np.ndarray) -> float:
    """ρ(W) = max |λ_i(W)|."""
    return float(np.max(np.abs(np.linalg.eigvals(w))))
