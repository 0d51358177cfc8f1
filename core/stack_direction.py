"""One layer in one direction of a stack (core.stack): its weights, their checks and its forward pass.

A Direction is a core.cells Cell, or (LSTM with PyTorch's proj_size) the LSTM with a projection:
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h̄_t = o ⊙ tanh(c_t) (n),   h_t = W_hr h̄_t (p)
whose gates read h_{t−1} (p): weight_hh is (4n, p), weight_hr (p, n), 0 < p < n.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cell_step import GATE_BLOCKS, Cell, make_cell, sigmoid
from .simulate import forward
from .stack_norms import StackError

__all__ = ["Direction", "direction_forward", "equivalent_cell", "make_direction"]


@dataclass(frozen=True, eq=False)
class Direction:
    """One layer in one direction. `cell` is the core Cell (without a projection), or None;
    `weight_hr` (p, n) is the LSTM projection (PyTorch's weight_hr_l{k}), or None."""

    kind: str
    weight_ih: np.ndarray
    weight_hh: np.ndarray
    bias_ih: np.ndarray
    bias_hh: np.ndarray
    weight_hr: np.ndarray | None = None
    nonlinearity: str = "tanh"
    convention: str = "pytorch"
    cell: Cell | None = None

    @property
    def hidden_size(self) -> int:
        """n: units (the width of c for an LSTM)."""
        return self.weight_hh.shape[0] // GATE_BLOCKS[self.kind]

    @property
    def output_size(self) -> int:
        """p: the width of h (= n, or proj_size)."""
        return self.hidden_size if self.weight_hr is None else self.weight_hr.shape[0]

    @property
    def input_size(self) -> int:
        return self.weight_ih.shape[1]

    @property
    def state_size(self) -> int:
        return self.output_size + (self.hidden_size if self.kind == "lstm" else 0)

    def recurrent_blocks(self) -> dict[str, np.ndarray]:
        """W_h<gate> blocks ((n, p) each), as core.cells.Cell.recurrent_blocks names them."""
        if self.kind == "rnn":
            return {"h": self.weight_hh}
        names = "ifgo" if self.kind == "lstm" else "rzn"
        n = self.hidden_size
        out = {g: self.weight_hh[k * n:(k + 1) * n] for k, g in enumerate(names)}
        if self.weight_hr is not None:
            out["hr"] = self.weight_hr
        return out


def make_direction(kind, weight_ih, weight_hh, bias_ih=None, bias_hh=None, weight_hr=None, *,
                   nonlinearity="tanh", convention="pytorch") -> Direction:
    """Validate and build one direction (float64, frozen). Without weight_hr this is make_cell."""
    if weight_hr is None:
        try:
            cell = make_cell(kind, weight_ih, weight_hh, bias_ih, bias_hh, nonlinearity=nonlinearity,
                             convention=convention)
        except ValueError as exc:
            raise StackError(str(exc)) from None
        return Direction(kind, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, None,
                         nonlinearity, convention, cell)
    if kind != "lstm":
        raise StackError(f"a projection (weight_hr) needs an LSTM, not a {str(kind).upper()}")
    arrays = [np.asarray(a) for a in (weight_ih, weight_hh, weight_hr)]
    for name, a in zip(("weight_ih", "weight_hh", "weight_hr"), arrays):
        if a.ndim != 2 or not np.issubdtype(a.dtype, np.number) or np.iscomplexobj(a):
            raise StackError(f"{name} must be a real 2-D matrix, got {a.dtype} shape {a.shape}")
    w_ih, w_hh, w_hr = arrays
    p, n = w_hr.shape
    if n == 0 or p == 0 or p >= n:
        raise StackError(f"weight_hr has shape {w_hr.shape}; a projection needs (p, n) with 0 < p < n")
    if w_hh.shape != (4 * n, p):
        raise StackError(f"weight_hh has shape {w_hh.shape}; an LSTM with n = {n}, proj_size {p} "
                         f"needs ({4 * n}, {p})")
    if w_ih.shape[0] != 4 * n or w_ih.shape[1] == 0:
        raise StackError(f"weight_ih has shape {w_ih.shape}; needs ({4 * n}, input size)")
    biases = []
    for name, b in (("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        b = np.zeros(4 * n) if b is None else np.asarray(b)
        if b.shape != (4 * n,) or not np.issubdtype(b.dtype, np.number) or np.iscomplexobj(b):
            raise StackError(f"{name} has shape {b.shape}; expected ({4 * n},)")
        biases.append(b)
    frozen = []
    for name, a in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr"),
                       (w_ih, w_hh, *biases, w_hr)):
        a = np.array(a, dtype=np.float64, copy=True)
        if not np.all(np.isfinite(a)):
            raise StackError(f"{name} contains NaN or infinite values")
        a.flags.writeable = False
        frozen.append(a)
    w_ih, w_hh, b_ih, b_hh, w_hr = frozen
    return Direction("lstm", w_ih, w_hh, b_ih, b_hh, w_hr, nonlinearity, convention, None)


def equivalent_cell(d: Direction) -> Cell:
    """The core Cell whose trace the views draw for direction d: d.cell itself, or for an LSTM
    with a projection the unprojected LSTM on h̄_t = o_t ⊙ tanh(c_t) (n units) with
        W_hh' = W_hh W_hr (4n, n):   W_hh h_{t−1} = W_hh W_hr h̄_{t−1},
    the same gates and c_t from a zero state (h_t = W_hr h̄_t is the projected output)."""
    if d.cell is not None:
        return d.cell
    return make_cell("lstm", d.weight_ih, d.weight_hh @ d.weight_hr, d.bias_ih, d.bias_hh,
                     nonlinearity=d.nonlinearity, convention=d.convention)


def _forward_projected(d: Direction, x: np.ndarray, h0, c0) -> dict:
    """A projected LSTM over x (T, d_in) in PyTorch's arithmetic → cache of (T, ·) arrays."""
    n, p = d.hidden_size, d.output_size
    T = x.shape[0]
    xw = x @ d.weight_ih.T + d.bias_ih
    H, Cs = np.empty((T + 1, p)), np.empty((T + 1, n))
    H[0] = 0.0 if h0 is None else h0
    Cs[0] = 0.0 if c0 is None else c0
    pre, gates, tcs, hbar = np.empty((T, 4 * n)), np.empty((T, 4 * n)), np.empty((T, n)), np.empty((T, n))
    for t in range(T):
        pre[t] = xw[t] + d.weight_hh @ H[t] + d.bias_hh
        gates[t] = sigmoid(pre[t])
        gates[t, 2 * n:3 * n] = np.tanh(pre[t, 2 * n:3 * n])
        Cs[t + 1] = gates[t, n:2 * n] * Cs[t] + gates[t, :n] * gates[t, 2 * n:3 * n]
        tcs[t] = np.tanh(Cs[t + 1])
        hbar[t] = gates[t, 3 * n:] * tcs[t]
        H[t + 1] = d.weight_hr @ hbar[t]
    return {"h_prev": H[:-1], "c_prev": Cs[:-1], "i": gates[:, :n], "f": gates[:, n:2 * n],
            "g": gates[:, 2 * n:3 * n], "o": gates[:, 3 * n:], "c": Cs[1:], "tc": tcs, "hbar": hbar,
            "h": H[1:], "pre": pre, "T": T, "h0": H[0].copy(), "c0": Cs[0].copy()}


def direction_forward(d: Direction, x: np.ndarray, h0=None, c0=None) -> dict:
    """All steps' caches (core.simulate.forward's, or the projected LSTM's): entries (T, ·)."""
    if d.weight_hr is None:
        with np.errstate(over="ignore", invalid="ignore"):
            return forward(d.cell, x, h0, c0)
    return _forward_projected(d, x, h0, c0)
