"""Stacked and bidirectional recurrent networks: layers × directions of core.cells' cells.

A stack has L layers and D = 1 or 2 directions (PyTorch's num_layers, bidirectional). Layer 0
reads the inputs x (T, d); layer l ≥ 1 reads the outputs of layer l−1, the directions' h
concatenated: (T, D·p). Each direction is one `Direction` (core.stack_direction): a core.cells
Cell, or (LSTM with PyTorch's proj_size) the LSTM with a projection:
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

from .cell_step import KINDS
from .simulate import Trace, simulate
from .stack_direction import Direction, direction_forward, equivalent_cell, make_direction
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

__all__ = ["CHUNK_FLOATS", "Direction", "Stack", "StackError", "StackTrace", "direction_forward",
           "equivalent_cell", "input_jacobian", "make_direction", "make_stack", "product_log_norms",
           "run_stack", "stack_step", "stacked_log_norms", "state_jacobian_p", "state_jacobians"]


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
    """values[k] (the k-th initial state in PyTorch's order) as (size,) finite float64, or None."""
    if values is None:
        return None
    v = np.asarray(values[k], dtype=np.float64)
    if v.shape != (size,) or not np.all(np.isfinite(v)):
        raise StackError(f"{name}[{k}] must be {size} finite numbers, got shape {v.shape}")
    return v


def _checked_inputs(stack: Stack, inputs) -> np.ndarray:
    """inputs as (T, d) finite float64 with T ≥ 1 and d the stack's input size."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != stack.input_size or x.shape[0] == 0:
        raise StackError(f"inputs must have shape (T, {stack.input_size}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise StackError("inputs contain NaN or infinite values")
    return x


def _parts(progress, total: int):
    """part(j): the progress callback of part j of `total` equal parts (fraction f of it reports
    (j + f) / total), or one that reports nothing without `progress`."""
    def part(j: int):
        def sub(fraction):
            return None if progress is None else progress((j + fraction) / total)
        return sub
    return part


def _run_direction(d: Direction, xin: np.ndarray, hi, ci, where: str, sub) -> tuple[dict, Trace]:
    """(cache, Trace) of direction d over xin (T, d_in) from h0 = hi, c0 = ci; refused with the
    first step whose state (or an RNN's pre-activation a) leaves float64 range."""
    cache = direction_forward(d, xin, hi, ci)
    bad = ~np.isfinite(cache["h"]).all(axis=1)
    if d.kind == "rnn":
        bad |= ~np.isfinite(cache["a"]).all(axis=1)
    if bad.any():
        raise StackError(f"{where}: the state leaves float64 range at step {int(np.argmax(bad)) + 1}")
    if d.weight_hr is None:
        return cache, simulate(d.cell, xin, hi, ci, progress=sub)
    return cache, trace_projected(d, xin, cache, sub)


def _run_layer(layer, l: int, v: np.ndarray, h0, c0, h_n: list, c_n: list, part):
    """Layer l's directions over v (T, d_l) (the reverse one over v_T … v_1) → (output (T, D·p),
    traces, caches); appends each direction's final h (and an LSTM's c) to h_n (c_n)."""
    outs, traces, caches = [], [], []
    for k, d in enumerate(layer):
        idx = len(h_n)                           # PyTorch's order: l0, l0_reverse, l1, …
        hi = _initial(h0, idx, d.output_size, "h0")
        ci = _initial(c0, idx, d.hidden_size, "c0") if d.kind == "lstm" else None
        where = f"layer {l}{' (reverse)' if k else ''}"
        cache, tr = _run_direction(d, v[::-1] if k else v, hi, ci, where, part(idx))
        traces.append(tr)
        caches.append(cache)
        h = cache["h"]
        outs.append(h[::-1] if k else h)
        h_n.append(np.array(h[-1]))
        if d.kind == "lstm":
            c_n.append(np.array(cache["c"][-1]))
    out = np.concatenate(outs, axis=1) if len(outs) == 2 else np.array(outs[0])
    return out, tuple(traces), caches


def run_stack(stack: Stack, inputs, h0=None, c0=None, *, stacked_norm: bool = True,
              progress=None) -> StackTrace:
    """Run the stack over inputs (T, d) → StackTrace.

    h0: None (zeros) or L·D initial h (each (p,)) in PyTorch's order; c0 likewise for LSTMs.
    stacked_norm: also follow ‖∂S_t/∂S_0‖ of the whole stacked state (one-directional only).
    progress(fraction) → False cancels (core.simulate.Cancelled): one equal part per direction,
    and one for the stacked norm of a deeper stack."""
    v = _checked_inputs(stack, inputs)
    one_way = not stack.bidirectional
    n_dirs = sum(len(layer) for layer in stack.layers)
    part = _parts(progress, n_dirs + (1 if stacked_norm and one_way and stack.num_layers > 1 else 0))
    caches, traces, outputs, h_n, c_n = [], [], [], [], []
    for l, layer in enumerate(stack.layers):
        v, layer_traces, layer_caches = _run_layer(layer, l, v, h0, c0, h_n, c_n, part)
        outputs.append(v)
        traces.append(layer_traces)
        caches.append(layer_caches)
    jac = None
    if stacked_norm and one_way:       # one layer: the stacked state is that layer's own state
        jac = (traces[0][0].log10_jac_norm if stack.num_layers == 1
               else stacked_log_norms(stack, [c[0] for c in caches], part(n_dirs)))
    for o in outputs:
        o.flags.writeable = False
    return StackTrace(stack, tuple(traces), tuple(outputs), tuple(h_n),
                      tuple(c_n) if c_n else None, jac)
