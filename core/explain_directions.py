"""The Explain panel's text for the Directions view: the notes' central equation with live numbers,

    ∂ℓ/∂h₀ = Σᵢ σᵢᵗ vᵢ uᵢᵀ ∂ℓ/∂h_t   (∂s_t/∂s₀ = Σᵢ σᵢ uᵢ vᵢᵀ, its singular value decomposition),

for the top three directions at step t: σᵢ(∂s_t/∂s₀), the component cᵢ = uᵢᵀ g of the chosen
g = ∂ℓ/∂h_t (a unit vector e_j, default e₁) and σᵢ|cᵢ|, how much of it reaches h₀
(core.splits.splits_for: the run's checkpointed splits). `directions_html` returns None when that
would take longer than its time budget (`split_seconds`), so the panel can fall back to its other text.
"""
from __future__ import annotations

import math

import numpy as np

from .splits import existing_splits, splits_for
from .text import escape_html
from .theory import format_pow10

#: how many directions the text names
TOP = 3


def split_seconds(m: int, t: int) -> float:
    """A rough estimate of the engine time of the curves / a split for state size m over t
    steps (a QR and an m×m product a step, plus per-step Python work)."""
    return t * (3e-5 + 6e-9 * m ** 3)


def _pow(log10: float) -> str:
    if math.isnan(log10):
        return "?"
    return "0" if log10 == -math.inf else escape_html(format_pow10(float(log10)))


def directions_html(analysis, t: int, unit: int = 0, *, budget_s: float = 0.02) -> str | None:
    """HTML: ∂ℓ/∂h₀ = Σᵢ σᵢᵗ vᵢuᵢᵀ ∂ℓ/∂h_t at step t (1..T) with g = e_unit (0-based, clamped),
    the numbers of the top three directions, and how many of m keep more than 10⁻³ of σ₁.
    None at t = 0 or when the split would take longer than budget_s."""
    tr, cell = analysis.trace, analysis.cell
    t = int(t)
    if not 1 <= t <= tr.steps:
        return None
    known = existing_splits(analysis)        # the Directions view's: checkpoints, the last split
    if split_seconds(cell.state_size, t if known is None else known.steps_to(t)) > budget_s:
        return None                          # (nothing built: a new cache runs a forward pass)
    splits = known or splits_for(analysis)
    if t > splits.steps:
        return None
    j = min(max(0, int(unit)), cell.hidden_size - 1)
    g = np.zeros(cell.hidden_size)
    g[j] = 1.0
    s = splits.split(t, g)
    m = cell.state_size
    top = s.log10_sigma[0]
    kept = int(np.count_nonzero(s.log10_sigma > top - 3.0)) if np.isfinite(top) else 0
    state = "s" if cell.kind == "lstm" else "h"
    rows = []
    for i in range(min(TOP, m)):
        rows.append(f"<tr><td>{i + 1}</td><td>{_pow(s.log10_sigma[i])}</td>"
                    f"<td>{s.coefficient[i]:+.3f}</td><td>{_pow(s.log10_reach[i])}</td></tr>")
    return (
        f"<p><b>∂ℓ/∂{state}₀ = Σᵢ σᵢ vᵢ uᵢᵀ ∂ℓ/∂{state}<sub>t</sub></b> at t = {t}: "
        f"∂{state}<sub>t</sub>/∂{state}₀ = Σᵢ σᵢ uᵢ vᵢᵀ, and each direction i carries the part "
        f"cᵢ = uᵢᵀ g of g = ∂ℓ/∂h<sub>t</sub> = e<sub>{j + 1}</sub> back to {state}₀ scaled by σᵢ "
        f"(for a plain RNN with a normal W, σᵢ = σᵢ(W)ᵗ).</p>"
        "<table><tr><th>i</th><th>σᵢ</th><th>cᵢ</th><th>σᵢ|cᵢ| reaching the start</th></tr>"
        + "".join(rows) + "</table>"
        f"<p>‖∂ℓ/∂{state}₀‖ = {_pow(s.log10_total)}; {kept} of {m} directions keep more than "
        f"10⁻³ of σ₁: after many steps only the largest survives (≈ σ₁ v₁u₁ᵀ g).</p>")
