"""RNN, LSTM and GRU cells: the analytic derivatives of their step, and (re-exported from
cell_step.py) the cells themselves, their weights' layout and the reference step.

Shapes: n = hidden size, d = input size, G = gate blocks (RNN 1, LSTM 4, GRU 3), m = state size
(n, or 2n for the LSTM's s = [h; c]). Every function takes a step's cache (`step_cache`), whose
entries may carry leading (batch or time) axes (..., n):

    J_t = ∂s_t/∂s_{t−1} (..., m, m)  `jacobian_from_cache`, `state_jacobian`
    B_t = ∂s_t/∂x_t     (..., m, d)  `input_jacobian_from_cache`, `input_jacobian`
    (δs_{t−1}, δu_x, δu_h)           `step_vjp`: back through one step, δs_{t−1} = J_tᵀ δs_t

all assembled from one set of coefficients (below), so J, B and the vector-Jacobian product
agree to rounding.
"""
from __future__ import annotations

import numpy as np

from .cell_step import (
    CONVENTIONS,
    GAMMA,
    GATE_BLOCKS,
    GATE_NAMES,
    KINDS,
    NONLINEARITIES,
    Cell,
    activation,
    dsigmoid,
    dtanh,
    join_state,
    log_sigmoid,
    make_cell,
    sigmoid,
    split_state,
    step,
    step_cache,
)

__all__ = ["CONVENTIONS", "GAMMA", "GATE_BLOCKS", "GATE_NAMES", "KINDS", "NONLINEARITIES", "Cell",
           "activation", "dsigmoid", "dtanh", "input_jacobian", "input_jacobian_from_cache",
           "jacobian_coefficients", "jacobian_from_cache", "join_state", "log_sigmoid", "make_cell",
           "recurrent_input", "sigmoid", "split_state", "state_jacobian", "step", "step_cache",
           "step_vjp"]


# ----------------------------------------------------------------------------------------------
# The step's derivatives, written once. For the RNN, the LSTM and the PyTorch-form GRU each
# unit's gates act on that unit only, so ∂s_t/∂u is diagonal in the unit within every block:
#     coef[..., ρ, g] = ∂s_t[ρ] / ∂u[g·n + (ρ mod n)]            (m rows ρ, G blocks g)
# and ∂s_t/∂s_{t−1} = Σ_g diag(coef[..., :, g]) W_hg on the h columns, plus the state's own
# path. The notes' GRU (r before W_hn) is not diagonal there: it has its own product below.

def _coefficients(cell: Cell, cache: dict):
    """(coef_h, coef_x, direct): ∂s_t/∂u_h and ∂s_t/∂u_x in the diagonal form (..., m, G), and the
    own path (..., m): LSTM [∂h'/∂C; ∂C'/∂C] = [o tanh'(C') f; f], GRU ∂h'/∂h at fixed u = z."""
    n = cell.hidden_size
    if cell.kind == "rnn":
        coef = cache["slope"][..., None]                      # h' = φ(a):  ∂h'/∂a = φ'(a)
        return coef, coef, None
    if cell.kind == "lstm":
        pre, i, f, g = cache["pre"], cache["i"], cache["f"], cache["g"]
        k = cache["o"] * dtanh(cache["c"])                    # ∂h'/∂C' = o tanh'(C')
        coef = np.empty(pre.shape[:-1] + (2 * n, 4))
        # C' = f C + i C̃:  ∂C'/∂a_i = C̃ σ'(a_i), ∂C'/∂a_f = C σ'(a_f), ∂C'/∂a_g = i tanh'(a_g)
        coef[..., n:, 0] = g * dsigmoid(pre[..., :n])
        coef[..., n:, 1] = cache["c_prev"] * dsigmoid(pre[..., n:2 * n])
        coef[..., n:, 2] = i * dtanh(pre[..., 2 * n:3 * n])
        coef[..., n:, 3] = 0.0
        # h' = o tanh(C'):  ∂h'/∂a_{i,f,g} = o tanh'(C') ∂C'/∂a,  ∂h'/∂a_o = tanh(C') σ'(a_o)
        coef[..., :n, :3] = k[..., None] * coef[..., n:, :3]
        coef[..., :n, 3] = cache["tc"] * dsigmoid(pre[..., 3 * n:])
        return coef, coef, np.concatenate([k * f, f], axis=-1)
    if cell.convention != "pytorch":
        raise ValueError("the notes' GRU form has no diagonal Jacobian form (r acts before W_hn)")
    r, z, cand = cache["r"], cache["z"], cache["n"]
    s = sigmoid(-cache["a_z"]) * dtanh(cache["a_n"])          # ∂h'/∂a_n = (1 − z) tanh'(a_n)
    coef_x = np.empty(r.shape + (3,))
    coef_x[..., 0] = s * cache["hn"] * dsigmoid(cache["a_r"])  # a_n = u_xn + r ⊙ u_hn
    coef_x[..., 1] = (cache["h_prev"] - cand) * dsigmoid(cache["a_z"])   # h' = (1 − z) n + z h
    coef_x[..., 2] = s
    coef_h = coef_x.copy()
    coef_h[..., 2] = s * r                                    # ∂a_n/∂u_hn = r
    return coef_h, coef_x, z


def jacobian_coefficients(cell: Cell, cache: dict):
    """∂s_t/∂s_{t−1} in factored form for the RNN, LSTM and PyTorch-form GRU → (coef, direct):
    J[..., :, :n] = Σ_g diag(coef[..., :, g]) W_hg (coef (..., m, G)), and
    LSTM J[..., :, n:] = diag-stack(direct[..., :n], direct[..., n:]);  GRU J += diag(direct);
    RNN direct None. (forward.JacobianProduct applies J in this form.)"""
    coef, _, direct = _coefficients(cell, cache)
    return coef, direct


def _blocks_flat(v):
    """(..., n, G) → (..., G·n), block g at [g·n, (g+1)·n) as in PyTorch's layout."""
    return np.swapaxes(v, -1, -2).reshape(v.shape[:-2] + (v.shape[-1] * v.shape[-2],))


def step_vjp(cell: Cell, cache: dict, ds: np.ndarray):
    """Back through one step: δs_t = ∂ℓ/∂s_t (..., m) → (δs_{t−1}, δu_x, δu_h), δu (..., G·n).

    δs_{t−1} = (∂s_t/∂s_{t−1})ᵀ δs_t;  ∂ℓ/∂W_ih = δu_xᵀ x_t, ∂ℓ/∂b_ih = δu_x,
    ∂ℓ/∂W_hh = δu_hᵀ h_in, ∂ℓ/∂b_hh = δu_h, with h_in as above (see `recurrent_input`)."""
    ds = np.asarray(ds, dtype=np.float64)
    if cell.kind == "gru" and cell.convention == "seed":
        return _seed_gru_vjp(cell, cache, ds)
    n = cell.hidden_size
    coef_h, coef_x, direct = _coefficients(cell, cache)

    def through(coef):                       # δu_g[j] = Σ_{ρ: unit j} coef[ρ, g] δs[ρ]
        if cell.kind == "lstm":
            return _blocks_flat(ds[..., :n, None] * coef[..., :n, :] + ds[..., n:, None] * coef[..., n:, :])
        return _blocks_flat(ds[..., None] * coef)

    du_h = through(coef_h)
    du_x = du_h if coef_x is coef_h else through(coef_x)
    dh = du_h @ cell.weight_hh                                # Σ_g W_hgᵀ δu_h,g
    if cell.kind == "lstm":                                   # δC = o tanh'(C') f δh' + f δC'
        dc = direct[..., :n] * ds[..., :n] + direct[..., n:] * ds[..., n:]
        return np.concatenate([dh, dc], axis=-1), du_x, du_h
    if cell.kind == "gru":
        dh = dh + direct * ds                                 # h' = … + z ⊙ h
    return dh, du_x, du_h


def _seed_coefficients(cache: dict):
    """The notes' GRU: h' = (1 − z) h + z h̃, h̃ = tanh(a_n), a_n = u_xn + W_hn q + b_hn, q = r ⊙ h.
    → (keep, c_r, c_z, c_n) (..., n): keep = 1 − z (h's own path), c_r = ∂q/∂a_r = h σ'(a_r),
    c_z = ∂h'/∂a_z = (h̃ − h) σ'(a_z), c_n = ∂h'/∂a_n = z tanh'(a_n); so that
    ∂h'/∂h = diag(keep) + diag(c_z) W_hz + diag(c_n) W_hn (diag(r) + diag(c_r) W_hr)."""
    h = cache["h_prev"]
    return (sigmoid(-cache["a_z"]), h * dsigmoid(cache["a_r"]),
            (cache["n"] - h) * dsigmoid(cache["a_z"]), cache["z"] * dtanh(cache["a_n"]))


def _seed_gru_vjp(cell: Cell, cache: dict, dh):
    n = cell.hidden_size
    keep, c_r, c_z, c_n = _seed_coefficients(cache)
    da_n = c_n * dh
    dq = da_n @ cell.weight_hh[2 * n:]                        # ∂ℓ/∂q = W_hnᵀ δa_n
    du = np.concatenate([c_r * dq, c_z * dh, da_n], axis=-1)  # δa_r, δa_z, δa_n
    dh_prev = keep * dh + cache["r"] * dq + du[..., :2 * n] @ cell.weight_hh[:2 * n]
    return dh_prev, du, du


def recurrent_input(cell: Cell, cache: dict) -> np.ndarray:
    """h_in (..., G, n): the vector each block of W_hh multiplies — h_{t−1} for every block, except
    r ⊙ h_{t−1} for the notes' GRU candidate (so ∂ℓ/∂W_hg = δu_h,gᵀ h_in,g)."""
    h = cache["h_prev"]
    G = GATE_BLOCKS[cell.kind]
    out = np.repeat(h[..., None, :], G, axis=-2)
    if cell.kind == "gru" and cell.convention == "seed":
        out[..., 2, :] = cache["r"] * h
    return out


def _dg(v):
    """diag(v) for v of shape (..., n) → (..., n, n)."""
    out = np.zeros(v.shape + (v.shape[-1],))
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


def _diagonal_sum(coef: np.ndarray, weight: np.ndarray, n: int) -> np.ndarray:
    """Σ_g diag(coef[..., :, g]) W_g (..., m, k) for the blocks W_g = weight[g·n:(g+1)·n] (k cols);
    row ρ uses unit ρ mod n's rows (the LSTM's m = 2n rows: h' then C')."""
    m = coef.shape[-2]
    w = weight.reshape(-1, n, weight.shape[1])[:, np.arange(m) % n, :]
    return np.einsum("...rg,grk->...rk", coef, w)


def jacobian_from_cache(cell: Cell, cache: dict) -> np.ndarray:
    """∂s_t/∂s_{t−1} (..., m, m) from a step's cache (entries (..., n)), assembled from the same
    coefficients as `step_vjp` (so J_tᵀ δ = step_vjp(δ)[0]). diag(v) W is v[..., :, None] * W."""
    n = cell.hidden_size
    if cell.kind == "gru" and cell.convention == "seed":
        keep, c_r, c_z, c_n = _seed_coefficients(cache)
        w_r, w_z, w_n = (cell.block(g) for g in "rzn")
        q = _dg(cache["r"]) + c_r[..., :, None] * w_r          # ∂(r ⊙ h)/∂h
        return _dg(keep) + c_z[..., :, None] * w_z + c_n[..., :, None] * (w_n @ q)
    coef, direct = jacobian_coefficients(cell, cache)
    jh = _diagonal_sum(coef, cell.weight_hh, n)               # Σ_g diag(coef_g) W_hg
    if cell.kind == "rnn":
        return jh
    if cell.kind == "lstm":                                   # ∂h'/∂C = diag(k f), ∂C'/∂C = diag(f)
        own = np.concatenate([_dg(direct[..., :n]), _dg(direct[..., n:])], axis=-2)
        return np.concatenate([jh, own], axis=-1)
    return jh + _dg(direct)                                   # GRU: + diag(z)


def input_jacobian_from_cache(cell: Cell, cache: dict) -> np.ndarray:
    """∂s_t/∂x_t (..., m, d) = (∂s_t/∂u_x) W_ih from a step's cache: the same coefficients with the
    W_i· blocks; for the notes' GRU ∂h'/∂x = diag(c_z) W_iz + diag(c_n) (W_in + W_hn diag(c_r) W_ir)."""
    n, w = cell.hidden_size, cell.weight_ih
    if cell.kind == "gru" and cell.convention == "seed":
        _, c_r, c_z, c_n = _seed_coefficients(cache)
        w_r, w_z, w_n = w[:n], w[n:2 * n], w[2 * n:]
        inner = w_n + cell.weight_hh[2 * n:] @ (c_r[..., :, None] * w_r)
        return c_z[..., :, None] * w_z + c_n[..., :, None] * inner
    return _diagonal_sum(_coefficients(cell, cache)[1], w, n)


def state_jacobian(cell: Cell, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Analytic ∂s_t/∂s_{t−1} (m, m) at input x and state s."""
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return jacobian_from_cache(cell, step_cache(cell, xw, h, c))


def input_jacobian(cell: Cell, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Analytic ∂s_t/∂x_t (m, d) at input x (d,) and previous state s (m,)."""
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return input_jacobian_from_cache(cell, step_cache(cell, xw, h, c))
