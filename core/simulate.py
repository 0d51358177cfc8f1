"""Run a cell over a sequence and follow ‖∂s_t/∂s_0‖₂ in log space.

∂s_t/∂s_0 = J_t J_{t−1} ⋯ J_1 with J_k = ∂s_k/∂s_{k−1} (analytic, see cells.py). The product is
kept as P_t = 2^(−e_t) · (J_t ⋯ J_1): after every step P is rescaled by an exact power of two, so
it never overflows or underflows and no rounding is added, and
    log10 ‖∂s_t/∂s_0‖₂ = e_t · log10 2 + log10 ‖P_t‖₂
with ‖P_t‖₂ from an SVD (batched over a chunk of steps).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cells import GATE_NAMES, Cell, jacobian_from_cache, log_sigmoid, step_cache

LOG10_2 = float(np.log10(2.0))


class Cancelled(Exception):
    """Raised inside `simulate` when its progress callback returns False."""
#: Steps whose Jacobians are formed and normed together (bounds memory at CHUNK · m² floats).
CHUNK = 128


@dataclass(frozen=True, eq=False)
class Trace:
    """What a run of `simulate` produced (T steps, hidden size n).

    h (T+1, n), h[0] = h0;  c (T+1, n) for LSTM else None;
    gates: dict of (T, n) — LSTM i, f, g (= C̃), o; GRU r, z, n (= h̃); RNN empty. Row t−1 made step t.
    preact, slope (T, n), RNN only: a_t and φ'(a_t) (why saturation shrinks gradients).
    log10_jac_norm (T+1,): log10 ‖∂s_t/∂s_0‖₂ (s = h, or [h; c] for LSTM); entry 0 = 0.
    log10_cell_norm (T+1,), LSTM only: log10 ‖∂c_t/∂c_0‖₂ (all paths).
    log10_carousel (T+1,), LSTM only: log10 max_j ∏_k f_k[j], the conveyor belt's own path.
    Values are −inf only where the Jacobian product is exactly zero (e.g. every ReLU unit off).
    """

    kind: str
    inputs: np.ndarray
    h: np.ndarray
    c: np.ndarray | None
    gates: dict = field(default_factory=dict)
    preact: np.ndarray | None = None
    slope: np.ndarray | None = None
    log10_jac_norm: np.ndarray | None = None
    log10_cell_norm: np.ndarray | None = None
    log10_carousel: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.h.shape[0] - 1


def _ro(a):
    if a is not None:
        a.flags.writeable = False
    return a


def _report(progress, fraction):
    if progress is not None and progress(fraction) is False:
        raise Cancelled()


def forward(cell: Cell, inputs: np.ndarray, h0=None, c0=None, progress=None) -> dict:
    """All steps' caches stacked: each entry (T, n)."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != cell.input_size:
        raise ValueError(f"inputs must have shape (T, {cell.input_size}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("inputs contain NaN or infinite values")
    n = cell.hidden_size
    h = np.zeros(n) if h0 is None else np.asarray(h0, dtype=np.float64).copy()
    c = None
    if cell.kind == "lstm":
        c = np.zeros(n) if c0 is None else np.asarray(c0, dtype=np.float64).copy()
    if h.shape != (n,) or (c is not None and c.shape != (n,)):
        raise ValueError(f"initial states must have shape ({n},)")
    xw = x @ cell.weight_ih.T + cell.bias_ih          # W_ih x_t + b_ih for every t at once
    steps = []
    for t in range(x.shape[0]):
        if t % 256 == 255:
            _report(progress, 0.2 * t / x.shape[0])
        cache = step_cache(cell, xw[t], h, c)
        steps.append(cache)
        h, c = cache["h"], cache.get("c")
    keys = steps[0].keys() if steps else ()
    stacked = {k: np.array([s[k] for s in steps]) for k in keys}
    stacked["h0"], stacked["c0"] = (np.zeros(n) if h0 is None else np.asarray(h0, float),
                                    None if cell.kind != "lstm" else
                                    (np.zeros(n) if c0 is None else np.asarray(c0, float)))
    stacked["T"] = x.shape[0]
    return stacked


def _take(cache: dict, a: int, b: int) -> dict:
    return {k: v[a:b] for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2}


def log_norm_curves(cell: Cell, cache: dict, blocks=(), progress=None) -> tuple[np.ndarray, list]:
    """log10 ‖J_t ⋯ J_1‖₂ for t = 0..T, and for each (rows, cols) slice pair in `blocks` the
    log10 spectral norm of that block of the product. Exact up to rounding; never overflows."""
    T = cache["T"]
    m = cell.state_size
    out = np.zeros(T + 1)
    outs = [np.zeros(T + 1) for _ in blocks]
    p = np.eye(m)
    exp = 0                      # P_true = 2^exp · p
    for a in range(0, T, CHUNK):
        _report(progress, 0.2 + 0.8 * a / T)
        b = min(T, a + CHUNK)
        jac = jacobian_from_cache(cell, _take(cache, a, b))
        buf = np.empty((b - a, m, m))
        exps = np.empty(b - a)
        for j in range(b - a):
            p = jac[j] @ p
            big = np.max(np.abs(p))
            if not np.isfinite(big):
                raise FloatingPointError("Jacobian product is not finite")
            if big > 0.0:                  # an exactly zero product stays zero: log10 = −inf
                e = int(np.frexp(big)[1])  # big = mant · 2^e, mant ∈ [0.5, 1)
                p = np.ldexp(p, -e)
                exp += e
            buf[j] = p
            exps[j] = exp
        with np.errstate(divide="ignore"):
            out[a + 1:b + 1] = exps * LOG10_2 + np.log10(np.linalg.norm(buf, 2, axis=(1, 2)))
            for k, (rows, cols) in enumerate(blocks):
                outs[k][a + 1:b + 1] = exps * LOG10_2 + np.log10(
                    np.linalg.norm(buf[:, rows, cols], 2, axis=(1, 2)))
    return out, outs


def simulate(cell: Cell, inputs, h0=None, c0=None, *, progress=None) -> Trace:
    """Run `cell` over inputs (T, d) from h0 (and c0 for LSTM; zeros by default) → Trace.

    progress(fraction) is called now and then; returning False cancels (raises Cancelled).
    """
    cache = forward(cell, inputs, h0, c0, progress)
    n = cell.hidden_size
    blocks = [(slice(n, 2 * n), slice(n, 2 * n))] if cell.kind == "lstm" else []
    jac, extra = log_norm_curves(cell, cache, blocks, progress)
    T = cache["T"]
    h = np.vstack([cache["h0"][None], cache["h"].reshape(T, n)])
    c = carousel = cell_norm = None
    if cell.kind == "lstm":
        c = np.vstack([cache["c0"][None], cache["c"].reshape(T, n)])
        cell_norm = extra[0]
        # ∏_k f_k in log space: log10 σ(f_pre) summed over time, max over units
        logf = log_sigmoid(cache["pre"].reshape(T, 4 * n)[:, n:2 * n]) / np.log(10.0)
        carousel = np.concatenate([[0.0], np.max(np.cumsum(logf, axis=0), axis=1)]) if T else np.zeros(1)
    gates = {g: _ro(cache[g].reshape(T, n).copy()) for g in GATE_NAMES[cell.kind]}
    preact = slope = None
    if cell.kind == "rnn":
        preact, slope = cache["a"].reshape(T, n).copy(), cache["slope"].reshape(T, n).copy()
    return Trace(cell.kind, _ro(np.asarray(inputs, dtype=np.float64).copy()), _ro(h), _ro(c),
                 gates, _ro(preact), _ro(slope), _ro(jac), _ro(cell_norm), _ro(carousel))
