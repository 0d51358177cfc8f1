"""Recurrent weight matrices with prescribed singular values, in three structures.

The notes (§2) write W_hh = U Σ Vᵀ and conclude ∂h_t/∂h_0 = W_hhᵗ = U Σᵗ Vᵀ. That identity holds
only when U = V, i.e. when W is symmetric positive semi-definite. What the notes need is weaker:
‖Wᵗ‖₂ = σ₁ᵗ holds for every *normal* W (WᵀW = WWᵀ), and a rotation is normal with U ≠ V. For a
non-normal W we only have ‖Wᵗ‖₂ ≤ σ₁ᵗ, and by Gelfand's formula ‖Wᵗ‖₂^(1/t) → ρ(W), the spectral
radius (largest |eigenvalue|), which can be far below σ₁.

Structures (every one has exactly the prescribed singular values s, Q, U, V Haar orthogonal):

- "symmetric":  W = Q Σ Qᵀ; eigenvalues s_i ≥ 0, Wᵗ = Q Σᵗ Qᵀ = U Σᵗ Vᵀ.
- "rotation":   W = Q B Qᵀ, B block diagonal with 2×2 blocks s_i R(θ_k) (R a rotation by θ_k) for
                each pair of equal singular values and 1×1 blocks s_i for the rest; normal,
                eigenvalues s_i e^{±iθ_k}, Wᵗ = Q Bᵗ Qᵀ with Bᵗ = s_iᵗ R(tθ_k): ‖Wᵗ‖₂ = σ₁ᵗ, yet
                U = Q R ≠ V = Q. With a flat spectrum W = σ₁ · (random orthogonal matrix whose
                eigenvalues are spread evenly round the circle of radius σ₁).
- "non-normal": W = U Σ Vᵀ with independent U, V; ‖Wᵗ‖₂ ≤ σ₁ᵗ, ρ(W) ≤ σ₁. (A flat spectrum is
                the exception: σ₁ U Vᵀ is σ₁ times an orthogonal matrix, hence normal.)
"""
from __future__ import annotations

import math

import numpy as np

SHAPES = ("spike", "flat", "geometric")
STRUCTURES = ("symmetric", "rotation", "non-normal")

#: In a "spike" spectrum every singular value but σ₁ sits at this fraction of σ₁.
SPIKE_REST = 0.5
#: In a "geometric" spectrum σ_n = σ₁ · GEOMETRIC_END (σ_i = σ₁ · q^(i−1), q = END^(1/(n−1))).
GEOMETRIC_END = 0.1
#: Two singular values closer than this (relative) form one rotation pair.
PAIR_RTOL = 1e-12


def haar_orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-distributed random orthogonal (n, n) matrix: QR of a Gaussian with sign fix."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.sign(np.where(np.diag(r) == 0, 1.0, np.diag(r)))


def resolve_structure(structure: str | None = None, normal: bool | None = None) -> str:
    """The structure name from `structure`, or from the older `normal` flag
    (True → "symmetric", False → "non-normal"); default "symmetric"."""
    if normal is not None and not isinstance(normal, (bool, np.bool_)):
        raise ValueError(f"normal must be true or false, got {normal!r}")
    from_flag = None if normal is None else ("symmetric" if normal else "non-normal")
    if structure is None:
        return from_flag or "symmetric"
    if structure not in STRUCTURES:
        raise ValueError(f"unknown W structure {structure!r}; choose one of {', '.join(STRUCTURES)}")
    if from_flag is not None and from_flag != structure and not (normal and structure == "rotation"):
        raise ValueError(f"structure={structure!r} contradicts normal={normal!r}")
    return structure


def _base_spectrum(sigma1: float, n: int, shape: str) -> np.ndarray:
    if shape == "flat" or n == 1:
        return np.full(n, float(sigma1))
    if shape == "spike":
        s = np.full(n, SPIKE_REST * sigma1)
        s[0] = sigma1
        return s
    return sigma1 * GEOMETRIC_END ** (np.arange(n) / (n - 1))


def spectrum(sigma1: float, n: int, shape: str = "spike", structure: str = "symmetric") -> np.ndarray:
    """Singular values (n,), descending, σ₁ = sigma1.

    spike: (σ₁, σ₁/2, …, σ₁/2); flat: all σ₁ (W = σ₁ · orthogonal); geometric: σ₁ qⁱ down to σ₁/10.
    For structure "rotation" the shape describes the m = ⌈n/2⌉ eigenvalue moduli, each used for a
    conjugate pair s e^{±iθ}: (m_1, m_1, m_2, m_2, …)[:n], so σ₁ = σ₂ (a 2×2 rotation block).
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown spectrum shape {shape!r}; choose one of {', '.join(SHAPES)}")
    if structure not in STRUCTURES:
        raise ValueError(f"unknown W structure {structure!r}; choose one of {', '.join(STRUCTURES)}")
    if not (np.isfinite(sigma1) and sigma1 >= 0):
        raise ValueError(f"sigma1 must be a finite number >= 0, got {sigma1!r}")
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    if structure == "rotation":
        return np.repeat(_base_spectrum(sigma1, (n + 1) // 2, shape), 2)[:n]
    return _base_spectrum(sigma1, n, shape)


def rotation_pairs(s: np.ndarray) -> list[tuple[int, ...]]:
    """Indices of `s` grouped greedily: consecutive equal values (to PAIR_RTOL) make a
    pair (a 2×2 rotation block), the others stay single (a 1×1 block, a real eigenvalue)."""
    groups, i = [], 0
    while i < s.size:
        if i + 1 < s.size and abs(s[i] - s[i + 1]) <= PAIR_RTOL * max(s[i], 1e-300):
            groups.append((i, i + 1))
            i += 2
        else:
            groups.append((i,))
            i += 1
    return groups


def rotation_angles(pairs: int, theta=None) -> np.ndarray:
    """(pairs,) rotation angles θ_k. None: θ_k = π (k + ½) / pairs, so the eigenvalues e^{±iθ_k}
    are spread evenly round the unit circle (never at ±1); a number: every pair turns by it; a
    sequence: one angle a pair."""
    if theta is None:
        return math.pi * (np.arange(pairs) + 0.5) / max(pairs, 1)
    th = np.broadcast_to(np.asarray(theta, dtype=np.float64), (pairs,)) if np.ndim(theta) == 0 \
        else np.asarray(theta, dtype=np.float64)
    if th.shape != (pairs,):
        raise ValueError(f"need {pairs} rotation angles (one per pair of equal σ), got {th.shape}")
    if not np.all(np.isfinite(th)):
        raise ValueError("rotation angles must be finite")
    return th.copy()


def rotation_blocks(s: np.ndarray, theta=None) -> np.ndarray:
    """(n, n) block-diagonal B: s_i R(θ_k) = s_i [[cos θ, −sin θ], [sin θ, cos θ]] on each pair of
    equal singular values, s_i on the single ones. B is normal with singular values s."""
    n = s.size
    groups = rotation_pairs(s)
    angles = iter(rotation_angles(sum(len(g) == 2 for g in groups), theta))
    b = np.zeros((n, n))
    for g in groups:
        i = g[0]
        if len(g) == 1:
            b[i, i] = s[i]
            continue
        th = next(angles)
        c, sn = s[i] * math.cos(th), s[i] * math.sin(th)
        b[i:i + 2, i:i + 2] = ((c, -sn), (sn, c))
    return b


def recurrent_matrix(singular_values, *, seed=0, rng: np.random.Generator | None = None,
                     structure: str | None = None, normal: bool | None = None,
                     theta=None) -> np.ndarray:
    """A float64 (n, n) matrix whose singular values are exactly ``singular_values`` (n,).

    structure "symmetric" (W = Q Σ Qᵀ), "rotation" (W = Q B Qᵀ, see `rotation_blocks`; `theta`
    sets the angles) or "non-normal" (W = U Σ Vᵀ). `normal=True/False` is the older spelling of
    "symmetric"/"non-normal". Q (or U) is drawn first from `rng` (default: default_rng(seed)), so
    the same seed gives the same matrix, and "symmetric" and "rotation" share their Q.
    """
    s = np.asarray(singular_values, dtype=np.float64)
    if s.ndim != 1 or s.size == 0:
        raise ValueError("singular_values must be a non-empty 1-D sequence")
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        raise ValueError("singular values must be finite and >= 0")
    structure = resolve_structure(structure, normal)
    rng = np.random.default_rng(seed) if rng is None else rng
    n = s.size
    q = haar_orthogonal(n, rng)
    if structure == "symmetric":
        w = (q * s) @ q.T
        return 0.5 * (w + w.T)  # exactly symmetric despite rounding
    if structure == "rotation":
        return q @ rotation_blocks(s, theta) @ q.T
    return (q * s) @ haar_orthogonal(n, rng).T


def spectral_radius(w: np.ndarray) -> float:
    """ρ(W) = max |λ_i(W)|."""
    return float(np.max(np.abs(np.linalg.eigvals(w))))
