"""Stacked and bidirectional recurrent networks: layers × directions of core.cells' cells.

A stack has L layers and D = 1 or 2 directions (PyTorch's num_layers, bidirectional). Layer 0
reads the inputs x (T, d); layer l ≥ 1 reads the outputs of layer l−1, the directions' h
concatenated: (T, D·p). Each direction is one `Direction`: a core.cells Cell, or (LSTM with
PyTorch's proj_size) the LSTM with a projection:
    c_t = f ⊙ c_{t−1} + i ⊙ g,   h̄_t = o ⊙ tanh(c_t) (n),   h_t = W_hr h̄_t (p)
whose gates read h_{t−1} (p): weight_hh is (4n, p).

The reverse direction reads x_T … x_1; its trace is kept in its own time (row k = after reading
k inputs, i.e. x_T … x_{T−k+1}), and its output at position t is its state after T − t + 1 steps.

State of layer l: s^l = h^l (p), or [h^l; c^l] (p + n) for an LSTM. The stacked state of a
one-directional stack S_t = [s^1_t; …; s^L_t], and its one-step Jacobian is block lower triangular:
    ∂s^l_t/∂S_{t−1} = J^l_t E_l + B^l_t E_h ∂s^{l−1}_t/∂S_{t−1}
with J^l_t = ∂s^l_t/∂s^l_{t−1} (core.cells), B^l_t = ∂s^l_t/∂x^l_t (the input Jacobian, below) and
E_h picking h^{l−1} out of s^{l−1}. Its diagonal blocks are the J^l, so the diagonal blocks of
∂S_t/∂S_0 are each layer's own J^l_t ⋯ J^l_1: "each layer on its own" is that layer's trace.
‖∂S_t/∂S_0‖₂ is followed in log space with core.simulate's exact power-of-two rescaling.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cell_step import GATE_BLOCKS, KINDS, Cell, make_cell, sigmoid
from .simulate import forward, simulate
from .stack_norms import (
    CHUNK_FLOATS,
    StackError,
    input_jacobian,
    product_log_norms,
    stacked_log_norms,
    state_jacobian_p,
    state_jacobians,
    trace_projected,
)

__all__ = ["CHUNK_FLOATS", "Direction", "Stack", "StackError", "StackTrace", "equivalent_cell",
           "input_jacobian", "make_direction", "make_stack", "product_log_norms", "run_stack",
           "stack_step", "stacked_log_norms", "state_jacobian_p", "state_jacobians"]


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


@dataclass(frozen=True, eq=False)
class Stack:
    """L layers × D directions; layers[l][0] forward, layers[l][1] reverse (if bidirectional)."""

    layers: tuple

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def num_directions(self) -> int:
        """2 if any layer is bidirectional (PyTorch's are all or none; Keras may mix), else 1."""
        return max(len(layer) for layer in self.layers)

    @property
    def bidirectional(self) -> bool:
        return self.num_directions == 2

    @property
    def kind(self) -> str:
        """The cell kind shared by every layer, or "mixed" (a Keras stack of different layers)."""
        kinds = {d.kind for layer in self.layers for d in layer}
        return kinds.pop() if len(kinds) == 1 else "mixed"

    @property
    def input_size(self) -> int:
        return self.layers[0][0].input_size

    @property
    def output_size(self) -> int:
        """Width of the last layer's output: D · p."""
        return len(self.layers[-1]) * self.layers[-1][0].output_size

    def direction(self, layer: int, reverse: bool = False) -> Direction:
        return self.layers[layer][1 if reverse else 0]

    def directions(self):
        """(layer, reverse, Direction) in PyTorch's order: l0, l0_reverse, l1, …"""
        for l, layer in enumerate(self.layers):
            for k, d in enumerate(layer):
                yield l, bool(k), d

    @property
    def state_size(self) -> int:
        """Size of the stacked state of a one-directional stack: Σ_l state size of layer l."""
        return sum(d.state_size for _, _, d in self.directions())

    def describe(self) -> str:
        """e.g. "LSTM, 2 layers, bidirectional, n = 32 (proj 16), d = 10"."""
        top = self.layers[0][0]
        kind = self.kind.upper() if self.kind != "mixed" else "+".join(
            layer[0].kind.upper() for layer in self.layers)
        sizes = [layer[0].hidden_size for layer in self.layers]
        sizes = sizes[:1] if len(set(sizes)) == 1 else sizes
        text = f"{kind}, {self.num_layers} layer{'s' if self.num_layers > 1 else ''}"
        if self.bidirectional:
            text += ", bidirectional" if all(len(x) == 2 for x in self.layers) else (
                ", directions " + "/".join(str(len(x)) for x in self.layers))
        text += ", n = " + "/".join(str(s) for s in sizes)
        if top.weight_hr is not None:
            text += f" (proj {top.output_size})"
        if self.kind == "rnn":
            text += f" ({top.nonlinearity})"
        if self.kind == "gru":
            text += f" ({top.convention} form)"
        return text + f", d = {self.input_size}"


def make_stack(layers) -> Stack:
    """A Stack from a list (layers) of lists (directions) of Directions; checks the sizes chain."""
    layers = tuple(tuple(layer) for layer in layers)
    if not layers or not layers[0]:
        raise StackError("a stack needs at least one layer")
    for l, layer in enumerate(layers):
        D = len(layer)
        if D not in (1, 2):
            raise StackError(f"layer {l} has {D} directions; only 1 or 2 are supported")
        for d in layer:
            if not isinstance(d, Direction) or d.kind not in KINDS:
                raise StackError(f"layer {l}: not a recurrent layer")
        if D == 2 and (layer[0].output_size != layer[1].output_size
                       or layer[0].input_size != layer[1].input_size):
            raise StackError(f"layer {l}: the two directions differ in size")
        if l:
            need = len(layers[l - 1]) * layers[l - 1][0].output_size
            if layer[0].input_size != need:
                raise StackError(f"layer {l} reads {layer[0].input_size} inputs, but layer {l - 1} "
                                 f"gives {need}")
    return Stack(layers)


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


def stack_step(stack: Stack, x: np.ndarray, S: np.ndarray) -> np.ndarray:
    """One step of a one-directional stack on its stacked state S = [s^1; …; s^L] (for tests and
    finite differences): S_t = F(x_t, S_{t−1})."""
    out, k, v = [], 0, np.asarray(x, dtype=np.float64)
    for layer in stack.layers:
        d = layer[0]
        m, p = d.state_size, d.output_size
        s = S[k:k + m]
        c = s[p:] if d.kind == "lstm" else None
        cache = direction_forward(d, v[None, :], s[:p], c)
        new = cache["h"][0] if c is None else np.concatenate([cache["h"][0], cache["c"][0]])
        out.append(new)
        v = new[:p]
        k += m
    return np.concatenate(out)


# ----------------------------------------------------------------------------------------------
# Running a stack

@dataclass(frozen=True, eq=False)
class StackTrace:
    """What `run_stack` produced (T steps).

    traces[l][k]: the core.simulate Trace of layer l, direction k (0 forward, 1 reverse; the reverse
    one in its own time), with its own log10 ‖∂s_t/∂s_0‖ ("each layer on its own").
    outputs[l]: (T, D·p) layer l's output at each input position (directions concatenated).
    output: outputs[-1].  h_n, c_n: final states in PyTorch's order (l0, l0_reverse, l1, …) as
    lists of arrays (h_n_array / c_n_array stack them where the sizes agree).
    log10_jac_norm (T+1,): log10 ‖∂S_t/∂S_0‖₂ of the whole stacked state, one-directional stacks
    only (None otherwise or when not asked for); entry 0 = 0.
    """

    stack: Stack
    traces: tuple
    outputs: tuple
    h_n: tuple
    c_n: tuple | None
    log10_jac_norm: np.ndarray | None

    @property
    def output(self) -> np.ndarray:
        return self.outputs[-1]

    @property
    def steps(self) -> int:
        return self.output.shape[0]

    @staticmethod
    def _join(parts):
        if parts is None or len({a.shape for a in parts}) != 1:
            return None
        return np.stack(parts)

    @property
    def h_n_array(self) -> np.ndarray | None:
        """(L·D, p) in PyTorch's order, or None when the layers differ in size."""
        return self._join(self.h_n)

    @property
    def c_n_array(self) -> np.ndarray | None:
        return self._join(self.c_n)


def _initial(values, k: int, size: int, name: str):
    if values is None:
        return None
    v = np.asarray(values[k], dtype=np.float64)
    if v.shape != (size,) or not np.all(np.isfinite(v)):
        raise StackError(f"{name}[{k}] must be {size} finite numbers, got shape {v.shape}")
    return v


def run_stack(stack: Stack, inputs, h0=None, c0=None, *, stacked_norm: bool = True,
              progress=None) -> StackTrace:
    """Run the stack over inputs (T, d) → StackTrace.

    h0: None (zeros) or L·D initial h (each (p,)) in PyTorch's order; c0 likewise for LSTMs.
    stacked_norm: also follow ‖∂S_t/∂S_0‖ of the whole stacked state (one-directional only).
    progress(fraction) → False cancels (core.simulate.Cancelled)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != stack.input_size or x.shape[0] == 0:
        raise StackError(f"inputs must have shape (T, {stack.input_size}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise StackError("inputs contain NaN or infinite values")
    one_way = not stack.bidirectional
    caches, traces, outputs, h_n, c_n = [], [], [], [], []
    total = sum(len(x) for x in stack.layers) + (1 if stacked_norm and one_way and stack.num_layers > 1
                                                   else 0)
    done = [0]

    def sub(fraction):
        return None if progress is None else progress((done[0] + fraction) / total)

    v = x
    for l, layer in enumerate(stack.layers):
        outs, layer_traces, layer_caches = [], [], []
        for k, d in enumerate(layer):
            idx = len(h_n)                       # PyTorch's order: l0, l0_reverse, l1, …
            hi = _initial(h0, idx, d.output_size, "h0")
            ci = _initial(c0, idx, d.hidden_size, "c0") if d.kind == "lstm" else None
            xin = v[::-1] if k else v
            cache = direction_forward(d, xin, hi, ci)
            bad = ~np.isfinite(cache["h"]).all(axis=1)
            if d.kind == "rnn":
                bad |= ~np.isfinite(cache["a"]).all(axis=1)
            if bad.any():
                bad = int(np.argmax(bad)) + 1
                raise StackError(f"layer {l}{' (reverse)' if k else ''}: the state leaves float64 "
                                 f"range at step {bad}")
            if d.weight_hr is None:
                tr = simulate(d.cell, xin, hi, ci, progress=sub)
            else:
                tr = trace_projected(d, xin, cache, sub)
            done[0] += 1
            layer_traces.append(tr)
            layer_caches.append(cache)
            h = cache["h"]
            outs.append(h[::-1] if k else h)
            h_n.append(np.array(h[-1]))
            if d.kind == "lstm":
                c_n.append(np.array(cache["c"][-1]))
        v = np.concatenate(outs, axis=1) if len(outs) == 2 else np.array(outs[0])
        outputs.append(v)
        traces.append(tuple(layer_traces))
        caches.append(layer_caches)
    jac = None
    if stacked_norm and one_way:       # one layer: the stacked state is that layer's own state
        jac = (traces[0][0].log10_jac_norm if stack.num_layers == 1
               else stacked_log_norms(stack, [c[0] for c in caches], sub))
    for o in outputs:
        o.flags.writeable = False
    return StackTrace(stack, tuple(traces), tuple(outputs), tuple(h_n),
                      tuple(c_n) if c_n else None, jac)


