"""Run a cell over a sequence and follow ‖∂s_t/∂s_0‖₂ in log space.

∂s_t/∂s_0 = J_t J_{t−1} ⋯ J_1 with J_k = ∂s_k/∂s_{k−1} (analytic, see cells.py). The product is
kept as P_t = 2^(−e_t) · (J_t ⋯ J_1): whenever ‖P‖_F² leaves [2⁻⁶⁰, 2⁶⁰], P is rescaled by an
exact power of two, so it never overflows or underflows and no rounding is added, and
    log10 ‖∂s_t/∂s_0‖₂ = e_t · log10 2 + log10 ‖P_t‖₂
with ‖P_t‖₂ from a certified, warm-started power iteration (exact SVD where that cannot certify;
see product_norms.py). The forward pass and the products J_t P are forward.py's fast paths.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .cell_step import GATE_NAMES, Cell, log_sigmoid
from .directions import log_singular_curves
from .forward import JacobianProduct, finite_cache, forward
from .product_norms import (
    LOG10_2,
    fro2,
    log2_norms_batch,
    product_log_norms,
    rescale,
    start_vector,
)
from .progress import Cancelled, report

__all__ = ["BATCH_MAX_M", "CHUNK", "LOG10_2", "Cancelled", "Trace", "forward", "log10_carousel",
           "log_norm_curves", "simulate"]

_Product = JacobianProduct      # its name here before forward.py held it

#: Steps whose Jacobians are formed and normed together (bounds memory at CHUNK · m² floats).
CHUNK = 128
#: States this small (m = n, or 2n for LSTM) certify a chunk's norms together, vectorised.
BATCH_MAX_M = 32


@dataclass(frozen=True, eq=False)
class Trace:
    """What a run of `simulate` produced (T steps, hidden size n).

    h (T+1, n), h[0] = h0;  c (T+1, n) for LSTM else None;
    gates: dict of (T, n) — LSTM i, f, g (= C̃), o; GRU r, z, n (= h̃); RNN empty. Row t−1 made step t.
    preact, slope (T, n), RNN only: a_t and φ'(a_t) (why saturation shrinks gradients).
    log10_jac_norm (T+1,): log10 ‖∂s_t/∂s_0‖₂ (s = h, or [h; c] for LSTM); entry 0 = 0.
    log10_cell_norm (T+1,), LSTM only: log10 ‖∂c_t/∂c_0‖₂ (all paths).
    log10_carousel (T+1,), LSTM only: log10 max_j ∏_k f_k[j], the conveyor belt's own path.
    log10_singular_values (T+1, m), with `simulate(..., directions=True)` only, else None: every
    log10 σᵢ(∂s_t/∂s_0), descending, row 0 all zeros (core.directions.log_singular_curves); rows
    where log10_jac_norm is −inf (an exactly zero product) are −inf.
    overflow_step: None, or the step at which the state left float64 range (an identity or ReLU
    RNN with σ₁ > 1 over a long sequence); the trace then stops at the step before it.
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
    overflow_step: int | None = None
    log10_singular_values: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.h.shape[0] - 1


def _ro(a):
    if a is not None:
        a.flags.writeable = False
    return a


# ----------------------------------------------------------------------------------------------
# ‖J_t ⋯ J_1‖₂ at every step

def log_norm_curves(cell: Cell, cache: dict, blocks=(), progress=None) -> tuple[np.ndarray, list]:
    """log10 ‖J_t ⋯ J_1‖₂ for t = 0..T, and for each (rows, cols) slice pair in `blocks` the
    log10 spectral norm of that block of the product. Exact up to rounding (certified to 1e-12
    relative, see product_norms.py); never overflows.

    Small states (m ≤ BATCH_MAX_M) form a chunk's products first and certify their norms together
    (`log2_norms_batch`, vectorised over the chunk: per-step Python work dominates there);
    larger ones certify each product right after forming it, while it is still in cache."""
    T, m = cache["T"], cell.state_size
    if T == 0:
        return np.zeros(1), [np.zeros(1) for _ in blocks]
    prod = JacobianProduct(cell, cache)
    if m <= BATCH_MAX_M:
        return _batched_curves(cell, prod, T, blocks, progress)
    later = None if progress is None else (lambda f: progress(0.2 + 0.8 * f))
    return product_log_norms(T, m, prod.chunk, prod.apply, blocks, CHUNK, later)


def _batched_curves(cell: Cell, prod: JacobianProduct, T: int, blocks, progress):
    """`log_norm_curves` a chunk at a time: the chunk's products P_{a+1} … P_b into a buffer
    (`_linear_chunk` for a linear RNN chunk, else `_fill_chunk`), then their norms together."""
    m = cell.state_size
    out = np.zeros(T + 1)
    outs = [np.zeros(T + 1) for _ in blocks]
    buf = np.empty((min(CHUNK, T), m, m))
    exps, fros = np.empty(CHUNK, dtype=np.int64), np.empty(CHUNK)
    p, q = np.eye(m), np.empty((m, m))
    exp, v, vb, iters = 0, start_vector(m), [None] * len(blocks), 3   # P_true = 2^exp · p
    with np.errstate(divide="ignore"):
        for a in range(0, T, CHUNK):
            report(progress, 0.2 + 0.8 * a / T)
            b = min(T, a + CHUNK)
            C = b - a
            fac = prod.chunk(a, b)
            # a linear chunk (every φ' = 1): P_{a+j} = W^j P_a for all j at once
            done, zero = (_linear_chunk(cell.weight_hh, p, buf[:C], exps[:C], fros[:C], exp)
                          if fac is None and prod.mode == "rnn" and not blocks else (False, None))
            if not done:
                zero = _fill_chunk(prod, fac, p, buf[:C], exps[:C], fros[:C], exp)
            if zero is not None:                       # an exactly zero product stays zero:
                for o in (out, *outs):                 # log10 = −inf
                    o[a + zero + 1:] = -np.inf
                if zero:
                    _finish_batch(buf[:zero], fros[:zero], exps[:zero], v, out, a, blocks, outs, vb, iters)
                return out, outs
            v, iters = _finish_batch(buf[:C], fros[:C], exps[:C], v, out, a, blocks, outs, vb, iters)
            exp = int(exps[C - 1])
            p = q
            p[...] = buf[C - 1]                         # the buffer is refilled by the next chunk
    return out, outs


def _fill_chunk(prod: JacobianProduct, fac, P, out, exps, fros, exp: int):
    """out[j] = J_{a+j+1} ⋯ J_{a+1} P step by step, each exactly rescaled by powers of two (true =
    2^exps[j] · out[j], F = ‖out[j]‖_F² in fros; P = 2^(−exp) · the product so far).
    → None, or the first j whose product is exactly zero."""
    for j in range(out.shape[0]):
        dst = out[j]
        prod.apply(fac, j, P, dst)
        F = fro2(dst)
        if not 2.0 ** -60 < F < 2.0 ** 60:             # exact power-of-two rescaling
            e, F = rescale(dst)
            if e is None:
                return j
            exp += e
        exps[j], fros[j] = exp, F
        P = dst
    return None


def _linear_chunk(W, P, out, exps, fros, exp):
    """out[j] = W^(j+1) P (exactly rescaled by powers of two: true = 2^exps[j] · out[j], with
    F = ‖out[j]‖_F² in fros) for a chunk of a linear RNN, the powers W^1…W^C by doubling (log₂ C
    batched matmuls instead of C Python-level ones). → (True, None); (True, j) if product j is
    exactly zero; (False, None) if a power left float range (the caller goes step by step)."""
    C = out.shape[0]
    pw = np.empty_like(out)
    pw[0] = W
    k = 1
    with np.errstate(over="ignore", invalid="ignore"):
        while k < C:                                   # W^(k+i+1) = W^(i+1) W^k
            n = min(k, C - k)
            np.matmul(pw[:n], pw[k - 1], out=pw[k:k + n])
            k += n
        if not np.isfinite(pw).all():
            return False, None
        np.matmul(pw, P, out=out)
    f = np.einsum("tij,tij->t", out, out)
    exps[:] = exp
    if not np.isfinite(f).all():
        return False, None
    for j in np.flatnonzero(~((2.0 ** -60 < f) & (f < 2.0 ** 60))):
        e, f[j] = rescale(out[j])
        if e is None:
            fros[:] = f
            return True, int(j)
        exps[j] += e
    fros[:] = f
    return True, None


def _finish_batch(P, F, exps, v, out, a, blocks, outs, vb, iters=3):
    """Norms of a chunk's products P (C, m, m) = 2^(−exps)·J_t⋯J_1 (F = ‖P‖_F²) into
    out[a+1 : a+1+C], and of each block into outs; → (warm start, vectorised passes) for the
    next chunk."""
    C = P.shape[0]
    l2, v, missed = log2_norms_batch(P, F, v, iters)
    out[a + 1:a + 1 + C] = (exps + l2) * LOG10_2
    for k, (rows, cols) in enumerate(blocks):
        x = np.ascontiguousarray(P[:, rows, cols])
        fx = np.einsum("tij,tij->t", x, x)
        ex = np.zeros(C, dtype=np.int64)
        zero = ~x.reshape(C, -1).any(axis=1)        # exactly zero entries (a tiny block's ‖·‖_F²
                                                    # can underflow to 0: that one is rescaled)
        bad = ~(2.0 ** -60 < fx) | ~(fx < 2.0 ** 60)
        for j in np.flatnonzero(bad & ~zero):        # rare: a block far smaller than the whole
            e, fx[j] = rescale(x[j])
            ex[j] = e
        if vb[k] is None or vb[k].shape[0] != x.shape[2]:
            vb[k] = start_vector(x.shape[2])
        lb = np.full(C, -np.inf)
        keep = np.flatnonzero(~zero)
        if keep.size:
            lk, vb[k], _ = log2_norms_batch(x[keep], fx[keep], vb[k], iters)
            lb[keep] = lk + ex[keep]
        outs[k][a + 1:a + 1 + C] = (exps + lb) * LOG10_2
    # most of this chunk needed the step-by-step path (a flat or rotating spectrum): give the
    # next chunk one vectorised pass, not three
    return v, (1 if missed > 0.5 else 3)


# ----------------------------------------------------------------------------------------------
# The whole run

def _directions(cell: Cell, cache: dict, jac: np.ndarray, progress=None) -> np.ndarray:
    """log10 σᵢ(∂s_t/∂s_0) for t = 0..T (T+1, m) on the forward cache `simulate` used; steps past
    a non-finite state (an LSTM / GRU whose state left float range) are NaN; where `jac` is −inf
    (an exactly zero product) every value is −inf (the graded QR leaves a rounding residue)."""
    T, m = cache["T"], cell.state_size
    finite = finite_cache(cell, cache)
    out = np.full((T + 1, m), np.nan)
    out[:finite["T"] + 1] = log_singular_curves(cell, finite, progress)
    out[np.isneginf(jac)] = -np.inf
    return out


def log10_carousel(cache: dict, n: int) -> np.ndarray:
    """log10 max_j ∏_k f_k[j] (T+1,) of an LSTM's forward cache (n units): the conveyor belt's own
    path, ∏_k f_k in log space (log10 σ(f_pre) summed over time, max over units)."""
    T = cache["T"]
    logf = log_sigmoid(cache["pre"].reshape(T, 4 * n)[:, n:2 * n]) / np.log(10.0)
    return np.concatenate([[0.0], np.max(np.cumsum(logf, axis=0), axis=1)]) if T else np.zeros(1)


def simulate(cell: Cell, inputs, h0=None, c0=None, *, progress=None,
             directions: bool = False) -> Trace:
    """Run `cell` over inputs (T, d) from h0 (and c0 for LSTM; zeros by default) → Trace.

    progress(fraction) is called now and then; returning False cancels (raises Cancelled).
    directions: also every singular value of ∂s_t/∂s_0 (Trace.log10_singular_values, (T+1, m)),
    from the same forward pass; off by default (it costs a QR a step).
    """
    with np.errstate(over="ignore", invalid="ignore"):
        cache = forward(cell, inputs, h0, c0, progress)
    inputs = np.asarray(inputs, dtype=np.float64)
    overflow = None
    if cell.kind == "rnn":
        # h_t = φ(W h_{t−1} + …) left float64 range: keep the steps before it, say where
        cut = finite_cache(cell, cache)
        if cut is not cache:
            cache, overflow = cut, cut["T"] + 1
            inputs = inputs[:cut["T"]]
    n = cell.hidden_size
    blocks = [(slice(n, 2 * n), slice(n, 2 * n))] if cell.kind == "lstm" else []
    jac, extra = log_norm_curves(cell, cache, blocks, progress)
    T = cache["T"]
    h = np.vstack([cache["h0"][None], cache["h"].reshape(T, n)])
    c = carousel = cell_norm = None
    if cell.kind == "lstm":
        c = np.vstack([cache["c0"][None], cache["c"].reshape(T, n)])
        cell_norm, carousel = extra[0], log10_carousel(cache, n)
    gates = {g: _ro(cache[g].reshape(T, n).copy()) for g in GATE_NAMES[cell.kind]}
    preact = slope = None
    if cell.kind == "rnn":
        preact, slope = cache["a"].reshape(T, n).copy(), cache["slope"].reshape(T, n).copy()
    svals = _directions(cell, cache, jac, progress) if directions else None
    return Trace(cell.kind, _ro(inputs.copy()), _ro(h), _ro(c), gates, _ro(preact), _ro(slope),
                 _ro(jac), _ro(cell_norm), _ro(carousel), overflow, _ro(svals))
