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

from .cells import (
    GATE_BLOCKS,
    KINDS,
    Cell,
    dsigmoid,
    dtanh,
    jacobian_from_cache,
    log_sigmoid,
    make_cell,
    sigmoid,
)
from .simulate import LOG10_2, Cancelled, Trace, _fro2, _log2_norm, _rescale, _start_vector, forward, simulate

#: Floats of one chunk's Jacobians kept at once (bounds memory: 2²¹ · 8 B = 16 MiB).
CHUNK_FLOATS = 2 ** 21

__all__ = ["Direction", "Stack", "StackError", "StackTrace", "input_jacobian", "make_direction",
           "make_stack", "run_stack", "stack_step", "state_jacobian_p"]


class StackError(ValueError):
    """A stack cannot be built or run as asked; the message says why (one line)."""


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


def state_jacobian_p(d: Direction, cache: dict) -> np.ndarray:
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


def state_jacobians(d: Direction, cache: dict, a: int, b: int) -> np.ndarray:
    """∂s_t/∂s_{t−1} for steps a+1 … b of a direction's cache → (b−a, m, m)."""
    part = {k: v[a:b] for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2}
    if d.weight_hr is None:
        return jacobian_from_cache(d.cell, part)
    return state_jacobian_p(d, part)


def input_jacobian(d: Direction, cache: dict) -> np.ndarray:
    """B_t = ∂s_t/∂x_t from a step's cache (entries (..., n)) → (..., m, d_in).

    RNN  diag(φ'(a)) W_ih.   LSTM [W_hr] ∂h̄/∂x and ∂c/∂x as in `_lstm_dv` with W_ih.
    GRU "pytorch"  diag((1−z) tanh'(a_n)) (W_in + diag(hn σ'_r) W_ir) + diag((h−n) σ'_z) W_iz.
    GRU "seed"     diag(z tanh'(a_n)) (W_in + W_hn diag(h σ'_r) W_ir) + diag((h̃−h) σ'_z) W_iz."""
    W = d.weight_ih
    n = d.hidden_size
    if d.kind == "rnn":
        return cache["slope"][..., :, None] * W
    if d.kind == "lstm":
        dc, dh, _ = _lstm_dv(cache, W, n)
        if d.weight_hr is not None:
            dh = np.matmul(d.weight_hr, dh)
        return np.concatenate([dh, dc], axis=-2)
    w_r, w_z, w_n = W[:n], W[n:2 * n], W[2 * n:]
    z, cand, h = cache["z"], cache["n"], cache["h_prev"]
    dr, dz, dn = dsigmoid(cache["a_r"]), dsigmoid(cache["a_z"]), dtanh(cache["a_n"])
    if d.convention == "pytorch":
        inner = w_n + (cache["hn"] * dr)[..., :, None] * w_r
        return ((1.0 - z) * dn)[..., :, None] * inner + ((h - cand) * dz)[..., :, None] * w_z
    w_hn = d.weight_hh[2 * n:]
    inner = w_n + np.matmul(w_hn, (h * dr)[..., :, None] * w_r)
    return (z * dn)[..., :, None] * inner + ((cand - h) * dz)[..., :, None] * w_z


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


def _trace_projected(d: Direction, x: np.ndarray, cache: dict, progress=None) -> Trace:
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
    logf = log_sigmoid(cache["pre"][:, n:2 * n]) / np.log(10.0)
    carousel = np.concatenate([[0.0], np.max(np.cumsum(logf, axis=0), axis=1)]) if T else np.zeros(1)
    gates = {g: cache[g].copy() for g in "ifgo"}
    return Trace("lstm", x.copy(), h, c, gates, None, None, jac, cell, carousel, None)


def _dense_apply(fac, j, P, out):
    np.matmul(fac[j], P, out=out)


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
                tr = _trace_projected(d, xin, cache, sub)
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


# ----------------------------------------------------------------------------------------------
# ‖∂S_t/∂S_0‖ of the whole stacked state, and the product-norm loop it shares

def stacked_log_norms(stack: Stack, caches: list, progress=None) -> np.ndarray:
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
        return [(state_jacobians(d, c, a, b),
                 input_jacobian(d, {k: v[a:b] for k, v in c.items()
                                    if isinstance(v, np.ndarray) and v.ndim == 2}) if l else None)
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
    """log10 ‖P_t‖₂, P_t = M_t ⋯ M_1 (m×m), for t = 0..T, and of each (rows, cols) block of P_t.

    chunk(a, b) prepares steps a+1..b; apply(fac, j, P, out) writes M_{a+j+1} P into out. P is kept
    as 2^(−e)·P_t, rescaled by an exact power of two whenever ‖P‖_F² leaves [2⁻⁶⁰, 2⁶⁰], and its
    norm certified by core.simulate's warm-started power iteration: exact far beyond float range."""
    out = np.zeros(T + 1)
    outs = [np.zeros(T + 1) for _ in blocks]
    P, Q = np.eye(m), np.empty((m, m))
    exp, v = 0, _start_vector(m)
    vb = [None] * len(blocks)
    with np.errstate(divide="ignore"):
        for a in range(0, T, step):
            if progress is not None and progress(a / T) is False:
                raise Cancelled()
            b = min(T, a + step)
            fac = chunk(a, b)
            for j in range(b - a):
                t = a + j + 1
                apply(fac, j, P, Q)
                F = _fro2(Q)
                if not 2.0 ** -60 < F < 2.0 ** 60:
                    try:
                        e, F = _rescale(Q)
                    except FloatingPointError:
                        raise StackError(f"the Jacobian product is not finite at step {t}") from None
                    if e is None:                       # exactly zero: stays zero
                        out[t:] = -np.inf
                        for o in outs:
                            o[t:] = -np.inf
                        return out, outs
                    exp += e
                P, Q = Q, P
                l2, v = _log2_norm(P, v, F)
                out[t] = (exp + l2) * LOG10_2
                for k, (rows, cols) in enumerate(blocks):
                    x = P[rows, cols].copy()
                    Fx, ex = _fro2(x), 0
                    if not 2.0 ** -60 < Fx < 2.0 ** 60:
                        ex, Fx = _rescale(x)
                        if ex is None:
                            outs[k][t] = -np.inf
                            continue
                    if vb[k] is None:
                        vb[k] = _start_vector(x.shape[1])
                    l2, vb[k] = _log2_norm(x, vb[k], Fx)
                    outs[k][t] = (exp + ex + l2) * LOG10_2
    return out, outs
