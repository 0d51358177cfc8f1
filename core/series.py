"""Every series the app plots for one analysis, by name, with its unit: what a trace export writes.

All arrays share the time axis t = 0..T as their first axis, so a CSV writes one row a step:
(T+1,) for one curve, (T+1, n) for one column a unit (or a singular value). Step-made values
(gates, aₜ, φ'(aₜ)) are defined for t = 1..T only (row t−1 of the trace made step t): their row 0
is NaN. Norms are written as log10 (exact far beyond float64 range, like the plots), so
‖∂s_t/∂s₀‖₂ = 10^value.

Names and what they are (s = h, or [h; C] for the LSTM; σᵢ the singular values of the recurrent
block holding σ₁, ρ its spectral radius, γ = sup |φ'|):

- t                      the step
- log10_jac_norm         log10 ‖∂s_t/∂s₀‖₂ (the measured curve)
- log10_sigma1_pow       t · log10 σ₁   (σ₁ᵗ)
- log10_sigma_pow        (T+1, n): t · log10 σᵢ (every σᵢᵗ; column 0 is σ₁ᵗ)
- log10_rho_pow          t · log10 ρ    (ρᵗ; ‖Wᵗ‖^(1/t) → ρ)
- log10_pascanu_bound    t · log10 (γσ₁)  (Pascanu, Mikolov & Bengio 2013)
- log10_clipped_norm     log10 min(‖∂s_t/∂s₀‖₂, threshold) (= the measured curve without clipping)
- log10_cell_norm        LSTM: log10 ‖∂C_t/∂C₀‖₂
- log10_carousel         LSTM: log10 max_j ∏_{k≤t} f_k[j]
- h, c                   (T+1, n): the hidden state (and the LSTM cell state)
- preact, slope          RNN, (T+1, n): aₜ = W_ih xₜ + W_hh hₜ₋₁ + b and φ'(aₜ)
- gate_<g>               (T+1, n): LSTM i, f, g (= C̃), o; GRU r, z, n (= h̃)
"""
from __future__ import annotations

import numpy as np

from .theory import power_curves

#: Units written in the export headers. Every quantity here is dimensionless; the unit says how
#: the number is to be read.
UNITS = {
    "step": "step",
    "log10": "log10 of a dimensionless ratio",
    "state": "1 (state value)",
    "preact": "1 (pre-activation)",
    "slope": "1 (derivative φ'(a))",
    "gate": "1 (gate value in [0, 1])",
    "candidate": "1 (candidate value in [-1, 1])",
}
#: The candidate "gates" (tanh-valued, not sigmoid-valued).
CANDIDATES = ("g", "n")


def _per_step(a: np.ndarray) -> np.ndarray:
    """(T, n) values made by steps 1..T → (T+1, n) on t = 0..T, row 0 NaN."""
    a = np.asarray(a, dtype=np.float64)
    return np.vstack([np.full((1,) + a.shape[1:], np.nan), a])


def _norm_series(analysis) -> dict:
    """The log10 curves of the gradient plot, each (T+1,) (σᵢᵗ: (T+1, n))."""
    tr = analysis.trace
    T = tr.steps
    log = UNITS["log10"]
    out = {
        "t": (np.arange(T + 1, dtype=np.float64), UNITS["step"]),
        "log10_jac_norm": (np.asarray(tr.log10_jac_norm, dtype=np.float64), log),
        "log10_sigma1_pow": (np.asarray(analysis.sigma_curves[0], dtype=np.float64), log),
        "log10_sigma_pow": (np.asarray(analysis.sigma_curves, dtype=np.float64).T.copy(), log),
        "log10_rho_pow": (power_curves([analysis.spectral_radius], T)[0], log),
        "log10_pascanu_bound": (np.asarray(analysis.pascanu, dtype=np.float64), log),
        "log10_clipped_norm": (np.asarray(analysis.clipped, dtype=np.float64), log),
    }
    for name in ("log10_cell_norm", "log10_carousel"):
        if getattr(tr, name) is not None:
            out[name] = (np.asarray(getattr(tr, name), dtype=np.float64), log)
    return out


def plotted_series(analysis) -> dict[str, tuple[np.ndarray, str]]:
    """name → (array, unit) for every series the views draw for `analysis` (a core.analysis
    Analysis); arrays are float64 with first axis t = 0..T (see the module docstring)."""
    tr = analysis.trace
    out = _norm_series(analysis)
    out["h"] = (np.asarray(tr.h, dtype=np.float64), UNITS["state"])
    if tr.c is not None:
        out["c"] = (np.asarray(tr.c, dtype=np.float64), UNITS["state"])
    if tr.preact is not None:
        out["preact"] = (_per_step(tr.preact), UNITS["preact"])
    if tr.slope is not None:
        out["slope"] = (_per_step(tr.slope), UNITS["slope"])
    for g, values in tr.gates.items():
        out[f"gate_{g}"] = (_per_step(values), UNITS["candidate" if g in CANDIDATES else "gate"])
    return out
