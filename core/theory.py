"""Closed-form curves the app draws beside the measured gradient norms, and the rules for how a
state is shown.

- σ_iᵗ as log10: t · log10 σ_i (exact ‖Wᵗ‖ for a normal W and an identity RNN)
- ρᵗ, the spectral radius: ‖Wᵗ‖^(1/t) → ρ (Gelfand), so for a non-normal W the curve ends
  parallel to ρᵗ, not σ₁ᵗ
- Pascanu, Mikolov & Bengio (2013): ‖∂h_t/∂h_0‖ ≤ (γ σ₁)ᵗ, γ = sup |φ'| (1 tanh/ReLU, ¼ sigmoid)
- gradient clipping (notes §3.1): ĝ ← threshold/‖ĝ‖ · ĝ when ‖ĝ‖ ≥ threshold
- bounded states: |h| ≤ 1 for tanh and sigmoid RNNs, every LSTM (h = o ⊙ tanh C) and GRU (a
  convex blend of tanh values and h₀) from |h₀| ≤ 1; the LSTM's C and identity/ReLU states are not

Number formatting lives in core.text; its names are importable from here as before.
"""
from __future__ import annotations

import math

import numpy as np

from .cell_step import GAMMA
from .text import SUPERSCRIPT, format_norm, format_pow10, power_readout  # noqa: F401  (kept importable)

#: The notes' table (§2): σ^365 for these σ.
NOTES_TABLE = (1.01, 0.99, 1.02, 0.98)


def power_curves(singular_values, T: int) -> np.ndarray:
    """(len(s), T+1): t · log10 σ_i for t = 0..T (−inf for σ_i = 0 and t > 0)."""
    s = np.asarray(singular_values, dtype=np.float64)
    t = np.arange(T + 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.outer(np.log10(s), t)
    out[:, 0] = 0.0
    return out


def pascanu_bound(sigma1: float, T: int, nonlinearity: str = "tanh") -> np.ndarray:
    """log10 (γ σ₁)ᵗ for t = 0..T."""
    return power_curves([GAMMA[nonlinearity] * sigma1], T)[0]


def clipped_log_norm(log10_norm, threshold: float | None) -> np.ndarray:
    """log10 of the clipped gradient norm: min(‖g‖, threshold) (None or ≤ 0: no clipping)."""
    x = np.asarray(log10_norm, dtype=np.float64)
    if threshold is None or threshold <= 0:
        return x.copy()
    return np.minimum(x, math.log10(threshold))


def nice_level(x: float) -> float:
    """The next 1-2-5 number ≥ x (> 0; 1 for anything else): colour scales that change in steps,
    not every frame."""
    if not (x > 0 and math.isfinite(x)):
        return 1.0
    e = math.floor(math.log10(x))
    for m in (1.0, 2.0, 5.0, 10.0):
        v = m * 10.0 ** e
        if v >= x * (1 - 1e-12):
            return v
    return 10.0 ** (e + 1)


def state_bounded(kind: str, nonlinearity: str = "tanh", state: str = "h") -> bool:
    """Whether a state stays within ±1 (from an initial state within ±1): h of a tanh or sigmoid
    RNN, of every LSTM and GRU; not the LSTM's C, nor an identity or ReLU RNN's h."""
    if state == "c":
        return False
    return kind != "rnn" or nonlinearity in ("tanh", "sigmoid")


#: the smallest colour scale: a state that is (nearly) zero everywhere is drawn on ±10⁻¹²
MIN_LEVEL = 1e-12


def state_level(values, bounded: bool) -> float:
    """The symmetric colour scale ±m for a state's values: m the 1-2-5 level above max |value|
    (finite values; 1 if there are none), never beyond 1 for a bounded state."""
    v = np.asarray(values, dtype=np.float64)
    finite = v[np.isfinite(v)]
    big = float(np.max(np.abs(finite))) if finite.size else 1.0
    m = nice_level(max(big, MIN_LEVEL))
    return min(m, 1.0) if bounded else m


def state_levels(cell, trace) -> dict[str, tuple[bool, float]]:
    """name → (bounded, m) for the states a trace holds: "h", and "c" for the LSTM."""
    out = {}
    for name in ("h", "c"):
        values = getattr(trace, name)
        if values is not None:
            bounded = state_bounded(cell.kind, cell.nonlinearity, name)
            out[name] = (bounded, state_level(values, bounded))
    return out
