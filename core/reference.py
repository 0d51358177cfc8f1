"""The reference forward pass and back-propagation through time: plain loops over the reference
step `cells.step_cache` and its vector-Jacobian product `cells.step_vjp`, with no optimisation.

The fast paths — `core.forward.forward` and its Jacobian products, the training lab's batched
forward and backward — are optimisations of exactly these equations, tested against this module
to 1e-12. Inputs may carry a batch: x (T, ..., d), states (..., n).

Forward:   u_x,t = W_ih x_t + b_ih,   s_t = F(u_x,t, s_{t−1})            (cells.step_cache)
Backward:  δs_T given; for t = T … 1:  (δs_{t−1}, δu_x, δu_h) = cells.step_vjp(step t, δs_t),
           ∂ℓ/∂W_ih += δu_xᵀ x_t,  ∂ℓ/∂b_ih += δu_x,  ∂ℓ/∂W_hh += δu_hᵀ h_in,  ∂ℓ/∂b_hh += δu_h
(h_in = h_{t−1}, or r ⊙ h_{t−1} for the notes' GRU candidate: `cells.recurrent_input`).
"""
from __future__ import annotations

import numpy as np

from .cell_step import GATE_BLOCKS, Cell, step_cache
from .cells import recurrent_input, step_vjp

PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


def _initial(cell: Cell, batch: tuple, h0, c0):
    n = cell.hidden_size
    h = np.zeros(batch + (n,)) if h0 is None else np.broadcast_to(np.asarray(h0, float), batch + (n,))
    if cell.kind != "lstm":
        return np.array(h, dtype=np.float64), None
    c = np.zeros(batch + (n,)) if c0 is None else np.broadcast_to(np.asarray(c0, float), batch + (n,))
    return np.array(h, dtype=np.float64), np.array(c, dtype=np.float64)


def reference_forward(cell: Cell, inputs, h0=None, c0=None) -> dict:
    """Run the reference step over inputs (T, ..., d) from s_0 = (h0, c0) (zeros by default).

    → every `step_cache` entry stacked over time, (T, ..., n) (LSTM "pre", and "xw", (T, ..., G·n)),
    and "h0", "c0" (None unless LSTM), "T"; row t−1 holds step t."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim < 2 or x.shape[-1] != cell.input_size:
        raise ValueError(f"inputs must have shape (T, ..., {cell.input_size}), got {x.shape}")
    T = x.shape[0]
    h, c = _initial(cell, x.shape[1:-1], h0, c0)
    out: dict = {"h0": h, "c0": c, "T": T}
    steps = []
    for t in range(T):
        xw = x[t] @ cell.weight_ih.T + cell.bias_ih
        st = step_cache(cell, xw, h, c)
        st["xw"] = xw
        steps.append(st)
        h, c = st["h"], st.get("c")
    for k in (steps[0] if steps else ()):
        out[k] = np.stack([st[k] for st in steps])
    return out


def step_at(cache: dict, t: int) -> dict:
    """Step t+1's own cache (entries (..., n)) out of a stacked one."""
    return {k: v[t] for k, v in cache.items() if isinstance(v, np.ndarray) and k not in ("h0", "c0")}


def reference_backward(cell: Cell, inputs, cache: dict, ds_last) -> tuple[dict, np.ndarray, np.ndarray]:
    """BPTT from δs_T = ds_last (..., m) through a `reference_forward` cache.

    → (grads, ds, ds0): grads[name] = ∂ℓ/∂name for the cell's four arrays (summed over the batch),
    ds (T, ..., m) with ds[t−1] = ∂ℓ/∂s_t (s = h, or [h; c] with each part holding the other
    fixed), and ds0 = ∂ℓ/∂s_0."""
    x = np.asarray(inputs, dtype=np.float64)
    T, n, G = cache["T"], cell.hidden_size, GATE_BLOCKS[cell.kind]
    ds = np.array(ds_last, dtype=np.float64, copy=True)
    record = np.empty((T,) + ds.shape)
    grads = {k: np.zeros_like(getattr(cell, k)) for k in PARAMS}
    for t in range(T - 1, -1, -1):
        record[t] = ds
        st = step_at(cache, t)
        ds, du_x, du_h = step_vjp(cell, st, ds)
        grads["weight_ih"] += du_x.reshape(-1, G * n).T @ x[t].reshape(-1, x.shape[-1])
        grads["bias_ih"] += du_x.reshape(-1, G * n).sum(axis=0)
        hin = recurrent_input(cell, st).reshape(-1, G, n)
        # ∂ℓ/∂W_hg[j, k] = Σ_batch δu_h,g[j] h_in,g[k]
        grads["weight_hh"] += np.einsum("bgj,bgk->gjk", du_h.reshape(-1, G, n), hin).reshape(G * n, n)
        grads["bias_hh"] += du_h.reshape(-1, G * n).sum(axis=0)
    return grads, record, ds
