"""How much an input influences a state: the one-step input Jacobian and the reading of a
connectivity row.

    B_k = ∂s_k/∂x_k (m, d)          the influence of x_k on the state it enters (analytic:
                                     `input_jacobian`, cells.py's, re-exported here);
    A[t−1, k−1] = log10 ‖∂h_t/∂x_k‖  its influence t − k steps later (`connectivity.Connectivity`);
    `influence(row, t, k)`           the numbers of "x_k's influence on h_t: 10^a, down 10^b over
                                     the c steps since (×d a step)" from one row of A.

s = h, or [h; c] for the LSTM (m = state size, d = input size). NumPy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cells import input_jacobian, input_jacobian_from_cache

__all__ = ["Influence", "influence", "input_jacobian", "input_jacobian_from_cache"]


# ----------------------------------------------------------------------------------------------
# Reading a row of the connectivity

@dataclass(frozen=True)
class Influence:
    """How to read a connectivity row: "x_k's influence on h_t: 10^a, down 10^|b| over the c steps
    since (×d a step)", with
        a = log10_influence = log10 ‖∂h_t/∂x_k‖,   log10_fresh = log10 ‖∂h_t/∂x_t‖ (the freshest),
        b = log10_change = a − log10_fresh (< 0: faded, "down"; > 0: "up"),   c = steps = t − k,
        log10_per_step = b / c,   per_step d = 10^(b/c) (NaN for k = t)."""

    t: int
    k: int
    log10_influence: float
    log10_fresh: float
    log10_change: float
    steps: int
    log10_per_step: float

    @property
    def per_step(self) -> float:
        x = self.log10_per_step
        return math.nan if math.isnan(x) else (math.inf if x > 308 else 10.0 ** x)

    def describe(self, x: str = "x", h: str = "h") -> str:
        """The sentence, plain text (x, h: the symbols, e.g. h="ŷ" for a readout)."""
        a, b = self.log10_influence, self.log10_change
        head = f"{x}_{self.k}'s influence on {h}_{self.t}: "
        if math.isnan(a):
            return head + "unknown (the state left float64 range)"
        if a == -math.inf:
            return head + "exactly 0"
        head += f"10^{a:.2f}"
        if self.steps == 0:
            return head + " (the freshest input)"
        if not math.isfinite(b):
            return head + f" ({x}_{self.t}'s own influence is exactly 0)"
        d = self.per_step
        per = f"{d:.3g}" if 1e-3 <= d <= 1e3 else f"10^{self.log10_per_step:.2f}"
        word = "down" if b <= 0 else "up"
        return head + f", {word} 10^{abs(b):.2f} over the {self.steps} steps since (×{per} a step)"


def influence(row, t: int, k: int) -> Influence:
    """The numbers for "x_k's influence on h_t" from row A[t−1, :] (1 ≤ k ≤ t)."""
    row = np.asarray(row, dtype=np.float64)
    t, k = int(t), int(k)
    if not 1 <= k <= t <= row.shape[0]:
        raise ValueError(f"need 1 ≤ k ≤ t ≤ {row.shape[0]}, got k = {k}, t = {t}")
    a, fresh = float(row[k - 1]), float(row[t - 1])
    b, c = (0.0 if k == t else a - fresh), t - k
    return Influence(t, k, a, fresh, b, c, b / c if c else math.nan)
