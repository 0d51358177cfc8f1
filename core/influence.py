"""How much an input influences a state: the one-step input Jacobian and the reading of a
connectivity row.

    B_k = ∂s_k/∂x_k (m, d)          the influence of x_k on the state it enters (analytic, below);
    A[t−1, k−1] = log10 ‖∂h_t/∂x_k‖  its influence t − k steps later (`connectivity.Connectivity`);
    `influence(row, t, k)`           the numbers of "x_k's influence on h_t: 10^a, down 10^b over
                                     the c steps since (×d a step)" from one row of A.

s = h, or [h; c] for the LSTM (m = state size, d = input size). NumPy only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .cells import Cell, dsigmoid, dtanh, sigmoid

__all__ = ["Influence", "influence", "input_jacobian", "input_jacobian_from_cache"]


# ----------------------------------------------------------------------------------------------
# B_k = ∂s_k/∂x_k, analytic (entries of the cache may carry a leading time axis: (..., n)).

def input_jacobian_from_cache(cell: Cell, cache: dict) -> np.ndarray:
    """∂s_t/∂x_t from a step's cache → (..., m, d). Same factors as the state Jacobian with the
    W_i· blocks of weight_ih in place of the W_h· blocks (the GRU's "seed" reset path aside)."""
    n, w = cell.hidden_size, cell.weight_ih
    if cell.kind == "rnn":                           # h' = φ(a), a = W_ih x + …: diag(φ') W_ih
        return cache["slope"][..., :, None] * w
    if cell.kind == "lstm":
        w_i, w_f, w_g, w_o = (w[j * n:(j + 1) * n] for j in range(4))
        pre = cache["pre"]
        d_i, d_f = dsigmoid(pre[..., :n]), dsigmoid(pre[..., n:2 * n])
        d_g, d_o = dtanh(pre[..., 2 * n:3 * n]), dsigmoid(pre[..., 3 * n:])
        # c' = f c + i g:  ∂c'/∂x = diag(c σ'_f) W_if + diag(g σ'_i) W_ii + diag(i tanh'_g) W_ig
        dc = ((cache["c_prev"] * d_f)[..., :, None] * w_f + (cache["g"] * d_i)[..., :, None] * w_i
              + (cache["i"] * d_g)[..., :, None] * w_g)
        # h' = o tanh(c'):  ∂h'/∂x = diag(tanh(c') σ'_o) W_io + diag(o tanh'(c')) ∂c'/∂x
        dh = ((cache["tc"] * d_o)[..., :, None] * w_o
              + (cache["o"] * dtanh(cache["c"]))[..., :, None] * dc)
        return np.concatenate([dh, dc], axis=-2)
    w_r, w_z, w_n = (w[j * n:(j + 1) * n] for j in range(3))
    dz, dr, dn = dsigmoid(cache["a_z"]), dsigmoid(cache["a_r"]), dtanh(cache["a_n"])
    h_prev, cand = cache["h_prev"], cache["n"]
    if cell.convention == "pytorch":
        # n = tanh(W_in x + b_in + r ⊙ hn):  ∂n/∂x = diag(1−n²) [W_in + diag(hn σ'_r) W_ir]
        d_cand = dn[..., :, None] * (w_n + (cache["hn"] * dr)[..., :, None] * w_r)
        # h' = (1−z) n + z h:  ∂h'/∂x = diag(1−z) ∂n/∂x + diag((h − n) σ'_z) W_iz
        return (sigmoid(-cache["a_z"])[..., :, None] * d_cand
                + ((h_prev - cand) * dz)[..., :, None] * w_z)
    # h̃ = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn):  ∂h̃/∂x = diag(1−h̃²) [W_in + W_hn diag(h σ'_r) W_ir]
    w_hn = cell.weight_hh[2 * n:]
    d_cand = dn[..., :, None] * (w_n + w_hn @ ((h_prev * dr)[..., :, None] * w_r))
    # h' = (1−z) h + z h̃:  ∂h'/∂x = diag(z) ∂h̃/∂x + diag((h̃ − h) σ'_z) W_iz
    return cache["z"][..., :, None] * d_cand + ((cand - h_prev) * dz)[..., :, None] * w_z


def input_jacobian(cell: Cell, x, s) -> np.ndarray:
    """Analytic ∂s_t/∂x_t (m, d) at input x (d,) and previous state s (m,)."""
    from .cells import split_state, step_cache
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return input_jacobian_from_cache(cell, step_cache(cell, xw, h, c))


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
