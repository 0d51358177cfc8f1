"""Closed-form curves the app draws beside the measured gradient norms, and number formatting.

- σ_iᵗ as log10: t · log10 σ_i (exact ‖Wᵗ‖ for a normal W and an identity RNN)
- Pascanu, Mikolov & Bengio (2013): ‖∂h_t/∂h_0‖ ≤ (γ σ₁)ᵗ, γ = sup |φ'| (1 tanh/ReLU, ¼ sigmoid)
- gradient clipping (notes §3.1): ĝ ← threshold/‖ĝ‖ · ĝ when ‖ĝ‖ ≥ threshold
"""
from __future__ import annotations

import math

import numpy as np

from .cells import GAMMA

#: The notes' table (§2): σ^365 for these σ.
NOTES_TABLE = (1.01, 0.99, 1.02, 0.98)
SUPERSCRIPT = str.maketrans("0123456789-−.", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁻·")


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


def format_pow10(log10_value: float, digits: int = 3) -> str:
    """A number given by its log10, as the notes write it: 37.8, 0.03, 0.0006, or 1.23×10⁶⁰².

    Works far beyond float range, since only the log is used.
    """
    v = float(log10_value)
    if math.isnan(v):
        return "undefined"
    if v == -math.inf:
        return "0"
    if v == math.inf:
        return "∞"
    if -4 <= v < 5:
        x = 10.0 ** v
        if x >= 100:
            return f"{x:.1f}"
        if x >= 1:
            return f"{x:.{digits}g}"
        # the notes' rounding: one significant digit below 0.1 (0.03, 0.0006), else two
        return f"{x:.1g}" if x < 0.1 else f"{x:.2g}"
    e = math.floor(v)
    mant = 10.0 ** (v - e)
    if mant >= 9.995:
        mant, e = 1.0, e + 1
    return f"{mant:.2f}×10{str(e).translate(SUPERSCRIPT)}"


def format_norm(log10_value: float, smooth: bool = True) -> str:
    """A gradient norm from its log10. An exactly zero Jacobian product is a true 0 only where
    the derivatives can be 0 (ReLU units that are off); with smooth nonlinearities (tanh, sigmoid,
    the gates) it means a saturated unit's derivative underflowed float64 (< 10⁻³⁰⁸)."""
    if log10_value == -math.inf and smooth:
        return "≈ 0 (underflow: φ' of saturated units < 10⁻³⁰⁸)"
    return format_pow10(log10_value)


def power_readout(sigma: float, t: int) -> str:
    """ "1.01³⁶⁵ = 37.8": σᵗ in the notes' form, computed in log space."""
    if sigma <= 0:
        return f"{sigma:g}{str(t).translate(SUPERSCRIPT)} = 0"
    return f"{sigma:g}{str(t).translate(SUPERSCRIPT)} = {format_pow10(t * math.log10(sigma))}"
