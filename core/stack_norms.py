"""The Jacobians of a stack's steps and the norms of their products (split from core.stack).

One direction's one-step Jacobians: ∂s_t/∂s_{t−1} (core.cells' for a plain cell, `state_jacobian_p`
for an LSTM with a projection) and the input Jacobian B_t = ∂s_t/∂x_t (`input_jacobian`). The
stacked state of a one-directional stack S_t = [s^1_t; …; s^L_t] has the block lower-triangular
one-step Jacobian
    ∂s^l_t/∂S_{t−1} = J^l_t E_l + B^l_t E_h ∂s^{l−1}_t/∂S_{t−1}
and `stacked_log_norms` follows log10 ‖∂S_t/∂S_0‖₂ with product_norms.py's exact power-of-two
rescaling (`product_log_norms`, shared with a projected LSTM's own trace, `trace_projected`).
Directions are duck-typed (core.stack.Direction: kind, weight_ih, weight_hh, weight_hr, cell,
hidden_size, output_size, state_size, input_size, convention).
"""
from __future__ import annotations

import numpy as np

from .cell_step import dsigmoid, dtanh
from .cells import input_jacobian_from_cache, jacobian_from_cache
from .forward import take
from .product_norms import product_log_norms as _product_log_norms
from .simulate import Trace, log10_carousel

#: Floats of one chunk's Jacobians kept at once (bounds memory: 2²¹ · 8 B = 16 MiB).
CHUNK_FLOATS = 2 ** 21

__all__ = ["CHUNK_FLOATS", "StackError", "input_jacobian", "product_log_norms", "stacked_log_norms",
           "state_jacobian_p", "state_jacobians", "trace_projected"]


class StackError(ValueError):
    """A stack cannot be built or run as asked; the message says why (one line)."""

# ----------------------------------------------------------------------------------------------
# One step of a direction, and its Jacobians, for projected LSTMs and for the inputs

def _lstm_dv(cache: dict, w: np.ndarray, n: int):
    """For pre = W v + …, W (4n, k): ∂c'/∂v and ∂h̄'/∂v (h̄ = o ⊙ tanh c'), each (..., n, k); and
    k = o ⊙ tanh'(c')."""
    pre = cache["pre"]
    i, f, g, o = (cache[k] for k in "ifgo")
    d_i, d_f = dsigmoid(pre[..., :n]), dsigmoid(pre[..., n:2 * n])
    d_g, d_o = dtanh(pre[..., 2 * n:3 * n]), dsigmoid(pre[..., 3 * n:])
    # c' = f ⊙ c + i ⊙ g:  ∂c'/∂v = diag(c σ'_f) W_f + diag(g σ'_i) W_i + diag(i tanh'_g) W_g
    dc = ((cache["c_prev"] * d_f)[..., :, None] * w[n:2 * n] + (g * d_i)[..., :, None] * w[:n]
          + (i * d_g)[..., :, None] * w[2 * n:3 * n])
    k = o * dtanh(cache["c"])
    # h̄' = o ⊙ tanh(c'):  ∂h̄'/∂v = diag(tanh(c') σ'_o) W_o + diag(k) ∂c'/∂v
    dh = (cache["tc"] * d_o)[..., :, None] * w[3 * n:] + k[..., :, None] * dc
    return dc, dh, k


def state_jacobian_p(d, cache: dict) -> np.ndarray:
    """∂s_t/∂s_{t−1} (..., p+n, p+n) of a projected LSTM, s = [h (p); c (n)]:
        [[W_hr ∂h̄'/∂h, W_hr diag(k ⊙ f)], [∂c'/∂h, diag(f)]]."""
    n, R = d.hidden_size, d.weight_hr
    dc, dh, k = _lstm_dv(cache, d.weight_hh, n)
    f = cache["f"]
    top = np.concatenate([np.matmul(R, dh), R * (k * f)[..., None, :]], axis=-1)
    diag_f = np.zeros(f.shape + (n,))
    idx = np.arange(n)
    diag_f[..., idx, idx] = f
    return np.concatenate([top, np.concatenate([dc, diag_f], axis=-1)], axis=-2)


def state_jacobians(d, cache: dict, a: int, b: int) -> np.ndarray:
    """∂s_t/∂s_{t−1} for steps a+1 … b of a direction's cache → (b−a, m, m)."""
    part = take(cache, a, b)
    if d.weight_hr is None:
        return jacobian_from_cache(d.cell, part)
    return state_jacobian_p(d, part)


def input_jacobian(d, cache: dict) -> np.ndarray:
    """B_t = ∂s_t/∂x_t from a step's cache (entries (..., n)) → (..., m, d_in): the cell's own
    (cells.input_jacobian_from_cache), or for an LSTM with a projection [W_hr ∂h̄/∂x; ∂c/∂x] as
    in `_lstm_dv` with W_ih."""
    if d.weight_hr is None:
        return input_jacobian_from_cache(d.cell, cache)
    dc, dh, _ = _lstm_dv(cache, d.weight_ih, d.hidden_size)
    return np.concatenate([np.matmul(d.weight_hr, dh), dc], axis=-2)


def trace_projected(d, x: np.ndarray, cache: dict, progress=None) -> Trace:
    """A core.simulate Trace for a projected LSTM: h (T+1, p), c (T+1, n), gates, and
    log10 ‖∂s_t/∂s_0‖ (s = [h; c]) with log10 ‖∂c_t/∂c_0‖ from the product's c block."""
    T, n, p = cache["T"], d.hidden_size, d.output_size
    m = d.state_size
    step = max(1, min(128, CHUNK_FLOATS // (m * m)))
    cblock = [(slice(p, m), slice(p, m))]
    jac, (cell,) = product_log_norms(T, m, lambda a, b: state_jacobians(d, cache, a, b),
                                     _dense_apply, cblock, step, progress)
    h = np.vstack([cache["h0"][None], cache["h"]])
    c = np.vstack([cache["c0"][None], cache["c"]])
    gates = {g: cache[g].copy() for g in "ifgo"}
    return Trace("lstm", x.copy(), h, c, gates, None, None, jac, cell, log10_carousel(cache, n), None)


def _dense_apply(fac, j, P, out):
    np.matmul(fac[j], P, out=out)


# ----------------------------------------------------------------------------------------------
# ‖∂S_t/∂S_0‖ of the whole stacked state

def stacked_log_norms(stack, caches: list, progress=None) -> np.ndarray:
    """log10 ‖∂S_t/∂S_0‖₂ (T+1,) for a one-directional stack, from each layer's forward cache.

    P = ∂S_t/∂S_0 is block lower triangular; it is updated a layer's row block at a time:
        P'_l = J^l_t P_l + B^l_t (P'_{l−1})_h      (P'_{l−1}: the row block just updated)
    with columns right of layer l's block left at zero."""
    dirs = [layer[0] for layer in stack.layers]
    sizes = [d.state_size for d in dirs]
    offs = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    m, T = int(offs[-1]), caches[0]["T"]
    step = max(1, min(128, CHUNK_FLOATS // max(1, sum(s * (s + d.input_size) for s, d in zip(sizes, dirs)))))

    def chunk(a, b):
        return [(state_jacobians(d, c, a, b), input_jacobian(d, take(c, a, b)) if l else None)
                for l, (d, c) in enumerate(zip(dirs, caches))]

    def apply(fac, j, P, out):
        for l, (J, B) in enumerate(fac):
            r0, r1 = offs[l], offs[l + 1]
            np.matmul(J[j], P[r0:r1, :r1], out=out[r0:r1, :r1])
            out[r0:r1, r1:] = 0.0
            if l:
                q0 = offs[l - 1]
                p = dirs[l - 1].output_size
                out[r0:r1, :r1] += B[j] @ out[q0:q0 + p, :r1]

    return product_log_norms(T, m, chunk, apply, (), step, progress)[0]


def product_log_norms(T: int, m: int, chunk, apply, blocks=(), step: int = 128, progress=None):
    """log10 ‖P_t‖₂ of P_t = M_t ⋯ M_1 and of its blocks (product_norms.product_log_norms: exact
    power-of-two rescaling, certified norms, exact far beyond float range); a product that is not
    finite is refused as a StackError naming its step."""
    try:
        return _product_log_norms(T, m, chunk, apply, blocks, step, progress)
    except FloatingPointError as exc:
        raise StackError(str(exc)) from None
