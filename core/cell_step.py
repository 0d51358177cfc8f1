"""RNN, LSTM and GRU cells in PyTorch's weight layout and their reference step (the analytic
derivatives of the step are in cells.py, which re-exports everything here).

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
# `core.forward.forward` and `JacobianProduct`, the training lab's batched forward and backward)
# is an optimisation tested against the functions below to 1e-12.
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

