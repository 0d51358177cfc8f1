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
# Forward pass. `xw` is the input contribution W_ih x + b_ih, precomputed for all steps at once.

def step_cache(cell: Cell, xw: np.ndarray, h: np.ndarray, c: np.ndarray | None) -> dict:
    """One step from (h, c) given xw = W_ih x + b_ih. Returns every intermediate (the cache)."""
    n = cell.hidden_size
    gh = cell.weight_hh @ h + cell.bias_hh
    if cell.kind == "rnn":
        a = xw + gh
        h_new, slope = activation(cell.nonlinearity, a)
        return {"h_prev": h, "a": a, "slope": slope, "h": h_new}
    if cell.kind == "lstm":
        pre = xw + gh
        i = sigmoid(pre[:n])
        f = sigmoid(pre[n:2 * n])
        g = np.tanh(pre[2 * n:3 * n])
        o = sigmoid(pre[3 * n:])
        c_new = f * c + i * g
        tc = np.tanh(c_new)
        return {"h_prev": h, "c_prev": c, "i": i, "f": f, "g": g, "o": o, "c": c_new, "tc": tc,
                "h": o * tc, "pre": pre}
    a_r = xw[:n] + gh[:n]
    a_z = xw[n:2 * n] + gh[n:2 * n]
    r, z = sigmoid(a_r), sigmoid(a_z)
    if cell.convention == "pytorch":
        hn = gh[2 * n:]
        a_n = xw[2 * n:] + r * hn
    else:
        hn = None
        a_n = xw[2 * n:] + cell.weight_hh[2 * n:] @ (r * h) + cell.bias_hh[2 * n:]
    cand = np.tanh(a_n)
    h_new = (1.0 - z) * cand + z * h if cell.convention == "pytorch" else (1.0 - z) * h + z * cand
    out = {"h_prev": h, "r": r, "z": z, "n": cand, "h": h_new, "a_r": a_r, "a_z": a_z, "a_n": a_n}
    if hn is not None:
        out["hn"] = hn
    return out


def split_state(cell: Cell, s: np.ndarray):
    n = cell.hidden_size
    return (s[:n], s[n:]) if cell.kind == "lstm" else (s, None)


def join_state(cell: Cell, cache: dict) -> np.ndarray:
    return np.concatenate([cache["h"], cache["c"]]) if cell.kind == "lstm" else cache["h"]


def step(cell: Cell, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """s_t = F(x_t, s_{t−1}) for one input x (d,) and state s (state_size,)."""
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return join_state(cell, step_cache(cell, xw, h, c))


# ----------------------------------------------------------------------------------------------
# Analytic Jacobians ∂s_t/∂s_{t−1}. Every cache entry may carry leading (time) axes: (..., n).
# diag(v) @ W is written v[..., :, None] * W.

def _dg(v):
    """diag(v) for v of shape (..., n) → (..., n, n)."""
    out = np.zeros(v.shape + (v.shape[-1],))
    idx = np.arange(v.shape[-1])
    out[..., idx, idx] = v
    return out


def jacobian_from_cache(cell: Cell, cache: dict) -> np.ndarray:
    """∂s_t/∂s_{t−1} from a step's cache (entries (..., n)) → (..., m, m), m = state size."""
    if cell.kind == "rnn":
        # h' = φ(a):  ∂h'/∂h = diag(φ'(a)) W_hh
        return cache["slope"][..., :, None] * cell.weight_hh
    if cell.kind == "lstm":
        w_i, w_f, w_g, w_o = (cell.block(g) for g in "ifgo")
        i, f, g, o, tc, c_prev = (cache[k] for k in ("i", "f", "g", "o", "tc", "c_prev"))
        n = cell.hidden_size
        pre = cache["pre"]
        d_i, d_f = dsigmoid(pre[..., :n]), dsigmoid(pre[..., n:2 * n])
        d_g, d_o = dtanh(pre[..., 2 * n:3 * n]), dsigmoid(pre[..., 3 * n:])
        # c' = f c + i g:  ∂c'/∂h = diag(c σ'_f) W_hf + diag(g σ'_i) W_hi + diag(i tanh'_g) W_hg
        dc_dh = ((c_prev * d_f)[..., :, None] * w_f
                 + (g * d_i)[..., :, None] * w_i
                 + (i * d_g)[..., :, None] * w_g)
        k = o * dtanh(cache["c"])
        # h' = o tanh(c'):  ∂h'/∂h = diag(tanh(c') σ'_o) W_ho + diag(o tanh'(c')) ∂c'/∂h
        dh_dh = (tc * d_o)[..., :, None] * w_o + k[..., :, None] * dc_dh
        top = np.concatenate([dh_dh, _dg(k * f)], axis=-1)        # ∂h'/∂c = diag(o tanh'(c') f)
        bottom = np.concatenate([dc_dh, _dg(f)], axis=-1)          # ∂c'/∂c = diag(f)
        return np.concatenate([top, bottom], axis=-2)
    w_r, w_z, w_n = (cell.block(g) for g in "rzn")
    r, z, cand, h_prev = cache["r"], cache["z"], cache["n"], cache["h_prev"]
    dz, dr, dn_a = dsigmoid(cache["a_z"]), dsigmoid(cache["a_r"]), dtanh(cache["a_n"])
    if cell.convention == "pytorch":
        # n = tanh(... + r ⊙ (W_hn h + b_hn)):  ∂n/∂h = diag(1−n²)[diag(r) W_hn + diag(hn σ'_r) W_hr]
        dn = dn_a[..., :, None] * (r[..., :, None] * w_n + (cache["hn"] * dr)[..., :, None] * w_r)
        # h' = (1−z) n + z h
        return sigmoid(-cache["a_z"])[..., :, None] * dn + _dg(z) + ((h_prev - cand) * dz)[..., :, None] * w_z
    # h̃ = tanh(... + W_hn (r ⊙ h)):  ∂(r⊙h)/∂h = diag(r) + diag(h σ'_r) W_hr
    inner = _dg(r) + (h_prev * dr)[..., :, None] * w_r
    dn = dn_a[..., :, None] * (w_n @ inner)
    # h' = (1−z) h + z h̃
    return _dg(sigmoid(-cache["a_z"])) + z[..., :, None] * dn + ((cand - h_prev) * dz)[..., :, None] * w_z


def state_jacobian(cell: Cell, x: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Analytic ∂s_t/∂s_{t−1} (m, m) at input x and state s."""
    h, c = split_state(cell, np.asarray(s, dtype=np.float64))
    xw = cell.weight_ih @ np.asarray(x, dtype=np.float64) + cell.bias_ih
    return jacobian_from_cache(cell, step_cache(cell, xw, h, c))
