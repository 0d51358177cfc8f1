"""RNN, LSTM and GRU cells in PyTorch's weight layout, their step and their analytic Jacobian.

Shapes: n = hidden size, d = input size, G = number of gate blocks (RNN 1, LSTM 4, GRU 3).
    weight_ih (G·n, d), weight_hh (G·n, n), bias_ih (G·n,), bias_hh (G·n,)
Blocks in PyTorch row order: LSTM i, f, g, o; GRU r, z, n.

State s: h (n,) for RNN and GRU; [h; c] (2n,) for LSTM.

RNN     a = W_ih x + b_ih + W_hh h + b_hh,   h' = φ(a)
LSTM    i, f, o = σ(·), g = tanh(·),  c' = f ⊙ c + i ⊙ g,  h' = o ⊙ tanh(c')
GRU     r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)
  "pytorch" (also Keras reset_after):  n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),
                                        h' = (1 − z) ⊙ n + z ⊙ h
  "seed" (the notes, §5):               h̃ = tanh(W_in x + b_in + W_hn (r ⊙ h) + b_hn),
                                        h' = (1 − z) ⊙ h + z ⊙ h̃
(The notes write r_t = σ(W_z·[h_{t−1}, x_t]); that W_z is a typo for W_r.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

KINDS = ("rnn", "lstm", "gru")
NONLINEARITIES = ("tanh", "relu", "identity", "sigmoid")
CONVENTIONS = ("seed", "pytorch")
GATE_BLOCKS = {"rnn": 1, "lstm": 4, "gru": 3}
GATE_NAMES = {"rnn": (), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}
#: Pascanu et al. (2013): ‖diag(φ'(a))‖ ≤ γ, so ‖∂h_t/∂h_0‖ ≤ (γ σ₁)ᵗ.
GAMMA = {"tanh": 1.0, "relu": 1.0, "identity": 1.0, "sigmoid": 0.25}


def sigmoid(x):
    """σ(x) = 1 / (1 + e^(−x)) from e^(−|x|): no overflow, full relative accuracy at both tails."""
    e = np.exp(-np.abs(x))
    return np.where(np.asarray(x) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def dsigmoid(a):
    """σ'(a) = σ(a) σ(−a): keeps full relative accuracy where σ(a) rounds to 1."""
    return sigmoid(a) * sigmoid(-a)


def dtanh(a):
    """tanh'(a) = sech²(a) = 4e^(−2|a|) / (1 + e^(−2|a|))²: accurate where tanh(a) rounds to ±1."""
    e = np.exp(-2.0 * np.abs(a))
    return 4.0 * e / (1.0 + e) ** 2


def log_sigmoid(x):
    """log σ(x) = −log(1 + e^(−x)), finite wherever σ(x) underflows."""
    return -np.logaddexp(0.0, -x)


def activation(name: str, a):
    """φ(a) and φ'(a) for the RNN nonlinearities (ReLU'(0) taken as 0)."""
    if name == "tanh":
        return np.tanh(a), dtanh(a)
    if name == "relu":
        return np.maximum(a, 0.0), (a > 0).astype(np.float64)
    if name == "identity":
        return np.array(a, dtype=np.float64, copy=True), np.ones_like(a, dtype=np.float64)
    if name == "sigmoid":
        return sigmoid(a), dsigmoid(a)
    raise ValueError(f"unknown nonlinearity {name!r}; choose one of {', '.join(NONLINEARITIES)}")


@dataclass(frozen=True, eq=False)
class Cell:
    """One recurrent cell: kind, weights in PyTorch layout, RNN nonlinearity, GRU convention."""

    kind: str
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray
    nonlinearity: str = "tanh"
    convention: str = "pytorch"

    @property
    def hidden_size(self) -> int:
        return self.weight_hh.shape[1]

    @property
    def input_size(self) -> int:
        return self.weight_ih.shape[1]

    @property
    def state_size(self) -> int:
        return 2 * self.hidden_size if self.kind == "lstm" else self.hidden_size

    def block(self, name: str) -> np.ndarray:
        """The recurrent block W_h<name> (n, n), e.g. block("f") is LSTM's W_hf."""
        k = GATE_NAMES[self.kind].index(name)
        n = self.hidden_size
        return self.weight_hh[k * n:(k + 1) * n]

    def recurrent_blocks(self) -> dict[str, np.ndarray]:
        """All recurrent blocks by name; the RNN's single block is called "h"."""
        if self.kind == "rnn":
            return {"h": self.weight_hh}
        return {g: self.block(g) for g in GATE_NAMES[self.kind]}

    def to_state_dict(self) -> dict[str, np.ndarray]:
        return {"weight_ih": self.weight_ih, "weight_hh": self.weight_hh,
                "bias_ih": self.bias_ih, "bias_hh": self.bias_hh}


def _freeze(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


def make_cell(kind, weight_ih, weight_hh, bias_ih=None, bias_hh=None, *,
              nonlinearity="tanh", convention="pytorch") -> Cell:
    """Validate shapes and names and build a frozen float64 Cell (missing biases are zeros)."""
    if kind not in KINDS:
        raise ValueError(f"unknown cell kind {kind!r}; choose one of {', '.join(KINDS)}")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"unknown nonlinearity {nonlinearity!r}; "
                         f"choose one of {', '.join(NONLINEARITIES)}")
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown GRU convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    w_hh = np.asarray(weight_hh)
    w_ih = np.asarray(weight_ih)
    if w_hh.ndim != 2:
        raise ValueError(f"weight_hh must be 2-D, got shape {w_hh.shape}")
    n = w_hh.shape[1]
    rows = GATE_BLOCKS[kind] * n
    if n == 0 or w_hh.shape[0] != rows:
        raise ValueError(f"weight_hh has shape {w_hh.shape}; a {kind.upper()} with hidden size {n} "
                         f"needs ({rows}, {n})")
    if w_ih.ndim != 2 or w_ih.shape[0] != rows or w_ih.shape[1] == 0:
        raise ValueError(f"weight_ih has shape {w_ih.shape}; a {kind.upper()} with hidden size {n} "
                         f"needs ({rows}, input size)")
    biases = []
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        b = np.zeros(rows) if b is None else np.asarray(b)
        if b.shape != (rows,):
            raise ValueError(f"{name} has shape {b.shape}; expected ({rows},)")
        biases.append(b)
    arrays = [w_ih, w_hh, *biases]
    for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh"), arrays):
        if not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise ValueError(f"{name} must hold real numbers, got dtype {a.dtype}")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"{name} contains NaN or infinite values")
    return Cell(kind, *(_freeze(a) for a in arrays), nonlinearity=nonlinearity,
                convention=convention)


# ----------------------------------------------------------------------------------------------
# The reference step, written once. Every other implementation of these equations (the fast
# `core.simulate.forward` and `_Product`, the training lab's batched forward and backward) is an
# optimisation tested against the functions below to 1e-12.
#
# `xw` is the input's contribution u_x = W_ih x + b_ih, the recurrent one u_h = W_hh h_in + b_hh
# (h_in = h_{t−1}, except for the notes' GRU candidate: r ⊙ h_{t−1}). Every array may carry
# leading (batch or time) axes: h, c (..., n), xw (..., G·n), the cache's entries (..., n).

def _rnn_step(cell: Cell, xw, h, c) -> dict:
    a = xw + (h @ cell.weight_hh.T + cell.bias_hh)            # a = W_ih x + b_ih + W_hh h + b_hh
    h_new, slope = activation(cell.nonlinearity, a)           # h' = φ(a), slope = φ'(a)
    return {"h_prev": h, "a": a, "slope": slope, "h": h_new}


def _lstm_step(cell: Cell, xw, h, c) -> dict:
    n = cell.hidden_size
    pre = xw + (h @ cell.weight_hh.T + cell.bias_hh)          # blocks i, f, g, o
    i = sigmoid(pre[..., :n])
    f = sigmoid(pre[..., n:2 * n])
    g = np.tanh(pre[..., 2 * n:3 * n])                        # C̃
    o = sigmoid(pre[..., 3 * n:])
    c_new = f * c + i * g                                     # C' = f ⊙ C + i ⊙ C̃
    tc = np.tanh(c_new)
    return {"h_prev": h, "c_prev": c, "i": i, "f": f, "g": g, "o": o, "c": c_new, "tc": tc,
            "h": o * tc, "pre": pre}                          # h' = o ⊙ tanh(C')


def _gru_step(cell: Cell, xw, h, c) -> dict:
    n = cell.hidden_size
    w, b = cell.weight_hh, cell.bias_hh
    pytorch = cell.convention == "pytorch"
    gh = h @ w.T + b if pytorch else h @ w[:2 * n].T + b[:2 * n]
    a_r = xw[..., :n] + gh[..., :n]
    a_z = xw[..., n:2 * n] + gh[..., n:2 * n]
    r, z = sigmoid(a_r), sigmoid(a_z)
    out = {"h_prev": h, "r": r, "z": z, "a_r": a_r, "a_z": a_z}
    if pytorch:                                               # n = tanh(u_xn + r ⊙ (W_hn h + b_hn))
        out["hn"] = hn = gh[..., 2 * n:]
        a_n = xw[..., 2 * n:] + r * hn
    else:                                                     # h̃ = tanh(u_xn + W_hn (r ⊙ h) + b_hn)
        a_n = xw[..., 2 * n:] + (r * h) @ w[2 * n:].T + b[2 * n:]
    cand = np.tanh(a_n)
    # PyTorch h' = (1 − z) ⊙ n + z ⊙ h;  the notes h' = (1 − z) ⊙ h + z ⊙ h̃
    out["h"] = (1.0 - z) * cand + z * h if pytorch else (1.0 - z) * h + z * cand
    out["n"], out["a_n"] = cand, a_n
    return out


_STEP = {"rnn": _rnn_step, "lstm": _lstm_step, "gru": _gru_step}


def step_cache(cell: Cell, xw: np.ndarray, h: np.ndarray, c: np.ndarray | None) -> dict:
    """The reference step s_{t−1} → s_t given xw = W_ih x_t + b_ih: every intermediate by name.

    Always h_prev, h (and c_prev, c for the LSTM). RNN: a, slope = φ'(a). LSTM: pre (..., 4n),
    i, f, g (= C̃), o, tc = tanh(C'). GRU: a_r, a_z, a_n, r, z, n (= h̃), and hn = W_hn h + b_hn
    for the PyTorch form. Leading axes broadcast (a batch of B states: h (B, n), xw (B, G·n))."""
    return _STEP[cell.kind](cell, xw, h, c)


def split_state(cell: Cell, s: np.ndarray):
    """s (..., m) → (h, c); c is None except for the LSTM, whose s = [h; c]."""
    n = cell.hidden_size
    return (s[..., :n], s[..., n:]) if cell.kind == "lstm" else (s, None)


def join_state(cell: Cell, cache: dict) -> np.ndarray:
    """The new state s_t (..., m) from a step's cache."""
    if cell.kind == "lstm":
        return np.concatenate([cache["h"], cache["c"]], axis=-1)
    return cache["h"]


def step(cell: Cell, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """s_t = F(x_t, s_{t−1}) for one input x (d,) and state s (state_size,)."""
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return join_state(cell, step_cache(cell, xw, h, c))


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
    RNN direct None. (The fast product in core.simulate applies J in this form.)"""
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
