"""Run a cell over a sequence and follow ‖∂s_t/∂s_0‖₂ in log space.

∂s_t/∂s_0 = J_t J_{t−1} ⋯ J_1 with J_k = ∂s_k/∂s_{k−1} (analytic, see cells.py). The product is
kept as P_t = 2^(−e_t) · (J_t ⋯ J_1): whenever ‖P‖_F² leaves [2⁻⁶⁰, 2⁶⁰], P is rescaled by an
exact power of two, so it never overflows or underflows and no rounding is added, and
    log10 ‖∂s_t/∂s_0‖₂ = e_t · log10 2 + log10 ‖P_t‖₂
with ‖P_t‖₂ from a certified, warm-started power iteration (exact SVD where that cannot certify;
see `log_norm_curves`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .cells import (
    GATE_BLOCKS,
    GATE_NAMES,
    Cell,
    activation,
    jacobian_coefficients,
    jacobian_from_cache,
    log_sigmoid,
)

LOG10_2 = float(np.log10(2.0))


class Cancelled(Exception):
    """Raised inside `simulate` when its progress callback returns False."""
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


def _report(progress, fraction):
    if progress is not None and progress(fraction) is False:
        raise Cancelled()


def _sigmoid_into(x, out, e):
    """sigmoid(x) into `out`, bit for bit the same as cells.sigmoid (e: scratch like x)."""
    np.abs(x, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    num = np.where(x >= 0, 1.0, e)
    np.add(e, 1.0, out=e)
    np.divide(num, e, out=out)


def _activate_into(name, a, out, e):
    if name == "tanh":
        np.tanh(a, out=out)
    elif name == "relu":
        np.maximum(a, 0.0, out=out)
    elif name == "identity":
        out[...] = a
    elif name == "sigmoid":
        _sigmoid_into(a, out, e)
    else:
        activation(name, a)       # raises the usual error


def forward(cell: Cell, inputs: np.ndarray, h0=None, c0=None, progress=None) -> dict:
    """All steps' caches stacked: each entry (T, n) (keys as `cells.step_cache`).

    The fast path: the reference step's arithmetic (`cells.step_cache`, tested against it to
    1e-12) written into preallocated arrays with the least per-step work: only the serial
    recurrence runs in the Python loop."""
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
    T = x.shape[0]
    xw = x @ cell.weight_ih.T + cell.bias_ih          # W_ih x_t + b_ih for every t at once
    W, bh = cell.weight_hh, cell.bias_hh
    hs = np.empty((T + 1, n))
    hs[0] = h
    gh = np.empty(W.shape[0])
    out: dict = {}
    if cell.kind == "lstm":
        cs = np.empty((T + 1, n))
        cs[0] = c
        pre, gates, tcs = np.empty((T, 4 * n)), np.empty((T, 4 * n)), np.empty((T, n))
        e = np.empty(4 * n)
        for t in range(T):
            if t % 256 == 255:
                _report(progress, 0.2 * t / T)
            np.dot(W, h, out=gh)
            gh += bh
            p, g = pre[t], gates[t]
            np.add(xw[t], gh, out=p)
            _sigmoid_into(p, g, e)                               # i, f, o (g overwritten next)
            np.tanh(p[2 * n:3 * n], out=g[2 * n:3 * n])
            c_new = cs[t + 1]
            np.multiply(g[n:2 * n], c, out=c_new)                # f ⊙ c + i ⊙ g
            c_new += g[:n] * g[2 * n:3 * n]
            np.tanh(c_new, out=tcs[t])
            h = hs[t + 1]
            np.multiply(g[3 * n:], tcs[t], out=h)
            c = c_new
        out = {"h_prev": hs[:-1], "c_prev": cs[:-1], "i": gates[:, :n], "f": gates[:, n:2 * n],
               "g": gates[:, 2 * n:3 * n], "o": gates[:, 3 * n:], "c": cs[1:], "tc": tcs,
               "h": hs[1:], "pre": pre}
    elif cell.kind == "rnn":
        a_all = np.empty((T, n))
        e = np.empty(n)
        name = cell.nonlinearity
        for t in range(T):
            if t % 256 == 255:
                _report(progress, 0.2 * t / T)
            np.dot(W, h, out=gh)
            gh += bh
            a = a_all[t]
            np.add(xw[t], gh, out=a)
            h = hs[t + 1]
            _activate_into(name, a, h, e)
        out = {"h_prev": hs[:-1], "a": a_all, "slope": activation(name, a_all)[1], "h": hs[1:]}
    else:
        pytorch = cell.convention == "pytorch"
        a_rz, rz = np.empty((T, 2 * n)), np.empty((T, 2 * n))
        a_n, cand = np.empty((T, n)), np.empty((T, n))
        hn_all = np.empty((T, n)) if pytorch else None
        w_n, b_n = W[2 * n:], bh[2 * n:]
        e = np.empty(2 * n)
        for t in range(T):
            if t % 256 == 255:
                _report(progress, 0.2 * t / T)
            np.dot(W, h, out=gh)
            gh += bh
            xt = xw[t]
            np.add(xt[:2 * n], gh[:2 * n], out=a_rz[t])
            g = rz[t]
            _sigmoid_into(a_rz[t], g, e)
            r, z = g[:n], g[n:]
            an = a_n[t]
            if pytorch:
                hn = hn_all[t]
                hn[...] = gh[2 * n:]
                np.multiply(r, hn, out=an)
                an += xt[2 * n:]
            else:
                np.add(xt[2 * n:], w_n @ (r * h), out=an)
                an += b_n
            cd = cand[t]
            np.tanh(an, out=cd)
            h_new = hs[t + 1]
            if pytorch:                                        # (1 − z) ⊙ n + z ⊙ h
                np.subtract(1.0, z, out=h_new)
                h_new *= cd
                h_new += z * h
            else:                                              # (1 − z) ⊙ h + z ⊙ h̃
                np.subtract(1.0, z, out=h_new)
                h_new *= h
                h_new += z * cd
            h = h_new
        out = {"h_prev": hs[:-1], "r": rz[:, :n], "z": rz[:, n:], "n": cand, "h": hs[1:],
               "a_r": a_rz[:, :n], "a_z": a_rz[:, n:], "a_n": a_n}
        if pytorch:
            out["hn"] = hn_all
    out["h0"], out["c0"] = (np.zeros(n) if h0 is None else np.asarray(h0, float),
                            None if cell.kind != "lstm" else
                            (np.zeros(n) if c0 is None else np.asarray(c0, float)))
    out["T"] = T
    return out


def _take(cache: dict, a: int, b: int) -> dict:
    return {k: v[a:b] for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2}


# ----------------------------------------------------------------------------------------------
# The spectral norm of each product, certified.
#
# For any matrix A and unit vector v, with θ = ‖Av‖² (the Rayleigh quotient of G = AᵀA),
# r = Gv − θv, β = ‖r‖ and c = ‖A‖_F² − θ (the trace of G on v⊥, which bounds every eigenvalue
# of G there because G is positive semi-definite), writing G in the basis (v, v⊥) gives
#     θ ≤ σ₁(A)² ≤ U = (θ + c)/2 + √(((θ − c)/2)² + β²).
# A warm-started power iteration (the top right singular vector of J_t⋯J_1 settles as t grows)
# usually certifies U ≤ θ(1 + TOL) in one or two matrix-vector pairs. Where the spectrum is too
# flat for that (the first steps), the same test is applied to A = PᵀP, (PᵀP)ᵀ(PᵀP), … (σ₁ squares
# at each level, the rest of the spectrum fades); if that does not certify either, an exact SVD.
# TOL = 1e-12 bounds the error of log10 σ₁ by 2.2e-13, far inside the 1e-9 promised.

TOL = 1e-12
_LEVELS = 6          # up to A = (PᵀP)^(2^5): σ₁^64


def _power_certify(A, v, F, iters):
    """Power iteration on AᵀA from unit v. → (θ or None, v): θ = ‖Av‖² certified, or None."""
    for _ in range(iters):
        u = A @ v
        th = float(np.dot(u, u))
        if th == 0.0:                   # v in the null space: restart from a generic vector
            return None, _start_vector(v.shape[0])
        w = u @ A                       # AᵀA v
        r = w - th * v                  # ⟂ v, so ‖w‖² = θ² + ‖r‖²
        b2 = float(np.dot(r, r))
        wn = math.sqrt(th * th + b2)
        if not math.isfinite(wn):
            return None, v
        if wn == 0.0:                   # θ² + β² underflowed: no direction to go on from
            return None, _start_vector(v.shape[0])
        c = max(F - th, 0.0)
        half = 0.5 * (th - c)
        if 0.5 * (th + c) + math.sqrt(half * half + b2) <= th * (1.0 + TOL):
            w /= wn
            return th, w
        v = w / wn
        if c >= th:
            break                   # certification impossible at this level: climb
    return None, v


def _rescale(a):
    """a ← 2^(−e)·a in place so that its largest entry lies in [0.5, 1) (exact).
    → (e, ‖a‖_F²), or (None, 0.0) if a is zero; raises FloatingPointError if not finite."""
    big = max(float(a.max()), -float(a.min()))
    if not np.isfinite(big):
        raise FloatingPointError("Jacobian product is not finite")
    if big == 0.0:
        return None, 0.0
    e = int(np.frexp(big)[1])
    np.ldexp(a, -e, out=a)
    return e, _fro2(a)


def _fro2(A):
    a = A.ravel()
    return float(np.dot(a, a))


def _log2_norm(P, v, F):
    """log2 σ₁(P) (P ≠ 0, F = ‖P‖_F²), certified to TOL; v: warm start, returned improved."""
    th, v = _power_certify(P, v, F, 3)
    if th is not None:
        return 0.5 * np.log2(th), v
    A, p, E = P, 1, 0                   # σ₁(A) = σ₁(P)^p · 2^(−E)
    ratio = np.inf
    for _ in range(_LEVELS - 1):
        A = A.T @ A
        F = _fro2(A)
        if F == 0.0 or not np.isfinite(F):
            break
        ex = int(np.frexp(F)[1]) // 2
        if ex:
            A *= 2.0 ** -ex
            F = _fro2(A)
        p, E = 2 * p, 2 * E + ex
        th, v = _power_certify(A, v, F, 4)
        if th is not None:
            return (0.5 * np.log2(th) + E) / p, v
        new_ratio = F / max(float(np.dot(A @ v, A @ v)), 1e-300)
        if new_ratio > 0.75 * ratio:     # a cluster at the top (e.g. repeated σ₁): exact SVD
            break
        ratio = new_ratio
    return float(np.log2(np.linalg.svd(P, compute_uv=False)[0])), v


def _start_vector(m):
    v = np.random.default_rng(20240601).standard_normal(m)
    return v / np.linalg.norm(v)


class _Product:
    """Applies J_t to the running product P (P ← J_t P) without forming J_t where its structure
    allows: LSTM J = [[A, diag(k⊙f)], [B, diag(f)]] with [A; B] rows combinations of the W_h·
    rows (half the multiply work of the dense 2n product), RNN J = diag(φ') W_hh, GRU ("pytorch")
    J = M + diag(z) with M's rows combinations of W_hr, W_hz, W_hn rows."""

    def __init__(self, cell: Cell, cache: dict):
        self.cell, self.cache = cell, cache
        n = cell.hidden_size
        self.mode = cell.kind if (cell.kind != "gru" or cell.convention == "pytorch") else "dense"
        if self.mode in ("lstm", "gru"):
            g = GATE_BLOCKS[cell.kind]
            wg = cell.weight_hh.reshape(g, n, n).transpose(1, 0, 2)         # (n, g, n): row j of each block
            self.wrows = np.ascontiguousarray(np.concatenate([wg, wg]) if cell.kind == "lstm" else wg)

    def chunk(self, a: int, b: int):
        """The factors of J_{a+1} … J_b (cells.jacobian_coefficients, every step at once)."""
        cell, n = self.cell, self.cell.hidden_size
        part = _take(self.cache, a, b)
        if self.mode == "dense":
            return jacobian_from_cache(cell, part)
        coef, direct = jacobian_coefficients(cell, part)
        if self.mode == "rnn":                                             # J = diag(φ') W_hh
            return None if np.all(coef == 1.0) else coef
        ab = np.matmul(coef.transpose(1, 0, 2), self.wrows)               # (m, C, n): Σ_g coef_g W_hg
        if self.mode == "lstm":
            return ab, direct.reshape(b - a, 2, n)[..., None]              # diag(k⊙f), diag(f)
        return ab, direct[:, :, None]                                      # + diag(z)

    def apply(self, f, j: int, P: np.ndarray, out: np.ndarray):
        mode = self.mode
        if mode == "lstm":
            n = self.cell.hidden_size
            np.matmul(f[0][:, j, :], P[:n], out=out)
            out.reshape(2, n, -1).__iadd__(f[1][j] * P[n:])
        elif mode == "rnn":
            np.matmul(self.cell.weight_hh, P, out=out)
            if f is not None:
                out *= f[j]
        elif mode == "gru":
            np.matmul(f[0][:, j, :], P, out=out)
            out += f[1][j] * P
        else:
            np.matmul(f[j], P, out=out)


def log_norm_curves(cell: Cell, cache: dict, blocks=(), progress=None) -> tuple[np.ndarray, list]:
    """log10 ‖J_t ⋯ J_1‖₂ for t = 0..T, and for each (rows, cols) slice pair in `blocks` the
    log10 spectral norm of that block of the product. Exact up to rounding (certified to 1e-12
    relative, see above); never overflows.

    Small states (m ≤ BATCH_MAX_M) form a chunk's products first and certify their norms together
    (`_log2_norms_batch`, vectorised over the chunk: per-step Python work dominates there);
    larger ones certify each product right after forming it, while it is still in cache."""
    T = cache["T"]
    m = cell.state_size
    out = np.zeros(T + 1)
    outs = [np.zeros(T + 1) for _ in blocks]
    if T == 0:
        return out, outs
    prod = _Product(cell, cache)
    batched = m <= BATCH_MAX_M
    buf = np.empty((min(CHUNK, T), m, m)) if batched else None
    iters = 3                    # vectorised power-iteration passes per chunk (batched path)
    exps = np.empty(CHUNK, dtype=np.int64)
    fros = np.empty(CHUNK)
    p, q = np.eye(m), np.empty((m, m))
    exp = 0                      # P_true = 2^exp · p
    v = _start_vector(m)
    vb = [None] * len(blocks)
    with np.errstate(divide="ignore"):
        for a in range(0, T, CHUNK):
            _report(progress, 0.2 + 0.8 * a / T)
            b = min(T, a + CHUNK)
            fac = prod.chunk(a, b)
            if batched and fac is None and prod.mode == "rnn" and not blocks:
                # a linear chunk (every φ' = 1): P_{a+j} = W^j P_a for all j at once
                C = b - a
                done = _linear_chunk(cell.weight_hh, p, buf[:C], exps[:C], fros[:C], exp)
                if done == "zero":
                    j0 = int(np.argmax(fros[:C] == 0.0))
                    out[a + j0 + 1:] = -np.inf
                    if j0:
                        _finish_batch(buf[:j0], fros[:j0], exps[:j0], v, out, a, blocks, outs, vb, iters)
                    return out, outs
                if done:
                    v, iters = _finish_batch(buf[:C], fros[:C], exps[:C], v, out, a, blocks, outs, vb, iters)
                    exp = int(exps[C - 1])
                    p = q
                    p[...] = buf[C - 1]
                    continue
            for j in range(b - a):
                t = a + j + 1
                dst = buf[j] if batched else q
                prod.apply(fac, j, p, dst)
                F = _fro2(dst)
                if not 2.0 ** -60 < F < 2.0 ** 60:     # exact power-of-two rescaling
                    e, F = _rescale(dst)
                    if e is None:                      # an exactly zero product stays zero:
                        out[t:] = -np.inf              # log10 = −inf
                        for o in outs:
                            o[t:] = -np.inf
                        if batched and j:
                            _finish_batch(buf[:j], fros[:j], exps[:j], v, out, a, blocks, outs, vb, iters)
                        return out, outs
                    exp += e
                if batched:
                    exps[j], fros[j] = exp, F
                    p = dst
                    continue
                p, q = q, p
                l2, v = _log2_norm(p, v, F)
                out[t] = (exp + l2) * LOG10_2
                for k, (rows, cols) in enumerate(blocks):
                    x = p[rows, cols].copy()            # C-contiguous, never a view of p
                    Fx, ex = _fro2(x), 0
                    if not 2.0 ** -60 < Fx < 2.0 ** 60:
                        ex, Fx = _rescale(x)
                        if ex is None:
                            outs[k][t] = -np.inf
                            continue
                    if vb[k] is None or vb[k].shape[0] != x.shape[1]:
                        vb[k] = _start_vector(x.shape[1])
                    l2, vb[k] = _log2_norm(x, vb[k], Fx)
                    outs[k][t] = (exp + ex + l2) * LOG10_2
            if batched:
                C = b - a
                v, iters = _finish_batch(buf[:C], fros[:C], exps[:C], v, out, a, blocks, outs, vb, iters)
                p = q
                p[...] = buf[C - 1]                     # the buffer is refilled by the next chunk
    return out, outs


def _linear_chunk(W, P, out, exps, fros, exp):
    """out[j] = W^(j+1) P (exactly rescaled by powers of two: true = 2^exps[j] · out[j], with
    F = ‖out[j]‖_F² in fros) for a chunk of a linear RNN, the powers W^1…W^C by doubling (log₂ C
    batched matmuls instead of C Python-level ones). → True; "zero" if a product is exactly
    zero (fros[j] = 0 there); False if a power left float range (the caller goes step by step)."""
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
            return False
        np.matmul(pw, P, out=out)
    f = np.einsum("tij,tij->t", out, out)
    exps[:] = exp
    if not np.isfinite(f).all():
        return False
    for j in np.flatnonzero(~((2.0 ** -60 < f) & (f < 2.0 ** 60))):
        e, f[j] = _rescale(out[j])
        if e is None:
            fros[:] = f
            fros[j] = 0.0
            return "zero"
        exps[j] += e
    fros[:] = f
    return True


def _finish_batch(P, F, exps, v, out, a, blocks, outs, vb, iters=3):
    """Norms of a chunk's products P (C, m, m) = 2^(−exps)·J_t⋯J_1 (F = ‖P‖_F²) into
    out[a+1 : a+1+C], and of each block into outs; → (warm start, vectorised passes) for the
    next chunk."""
    C = P.shape[0]
    l2, v, missed = _log2_norms_batch(P, F, v, iters)
    out[a + 1:a + 1 + C] = (exps + l2) * LOG10_2
    for k, (rows, cols) in enumerate(blocks):
        x = np.ascontiguousarray(P[:, rows, cols])
        fx = np.einsum("tij,tij->t", x, x)
        ex = np.zeros(C, dtype=np.int64)
        zero = ~x.reshape(C, -1).any(axis=1)        # exactly zero entries (a tiny block's ‖·‖_F²
                                                    # can underflow to 0: that one is rescaled)
        bad = ~(2.0 ** -60 < fx) | ~(fx < 2.0 ** 60)
        for j in np.flatnonzero(bad & ~zero):        # rare: a block far smaller than the whole
            e, fx[j] = _rescale(x[j])
            ex[j] = e
        if vb[k] is None or vb[k].shape[0] != x.shape[2]:
            vb[k] = _start_vector(x.shape[2])
        lb = np.full(C, -np.inf)
        keep = np.flatnonzero(~zero)
        if keep.size:
            lk, vb[k], _ = _log2_norms_batch(x[keep], fx[keep], vb[k], iters)
            lb[keep] = lk + ex[keep]
        outs[k][a + 1:a + 1 + C] = (exps + lb) * LOG10_2
    # most of this chunk needed the step-by-step path (a flat or rotating spectrum): give the
    # next chunk one vectorised pass, not three
    return v, (1 if missed > 0.5 else 3)


def _log2_norms_batch(P, F, v, iters: int = 3):
    """log2 σ₁ of each P[t] (C, m, m; F[t] = ‖P[t]‖_F² > 0), certified to TOL by the same test
    as `_power_certify`, vectorised over t from the common warm start v; the few not certified
    within `iters` go through `_log2_norm` one by one.
    → (log2 σ₁ (C,), warm start for next, fraction that needed the one-by-one path)."""
    C, m = P.shape[0], P.shape[2]                 # v lives in the column space
    res = np.empty(C)
    last = np.broadcast_to(v, (C, m)).copy()                    # each t's latest unit vector
    idx, V, A = np.arange(C), last.copy(), P
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(iters):
            U = np.matmul(A, V[:, :, None])[:, :, 0]                # u = A v
            th = np.einsum("ti,ti->t", U, U)                       # θ = ‖Av‖²
            W = np.matmul(U[:, None, :], A)[:, 0, :]                # w = AᵀA v
            R = W - th[:, None] * V                                # r = w − θv ⟂ v
            b2 = np.einsum("ti,ti->t", R, R)
            wn = np.sqrt(th * th + b2)                             # ‖w‖
            c = np.maximum(F[idx] - th, 0.0)
            half = 0.5 * (th - c)
            ok = (0.5 * (th + c) + np.sqrt(half * half + b2) <= th * (1.0 + TOL)) & (th > 0.0)
            ok &= np.isfinite(wn)
            res[idx[ok]] = 0.5 * np.log2(th[ok])
            moved = (wn > 0.0) & np.isfinite(wn)
            V[moved] = W[moved] / wn[moved, None]
            last[idx] = V
            if ok.all():
                return res, last[-1], 0.0
            keep = ~ok
            idx, V = idx[keep], V[keep]
            A = P[idx]
    prev = -2
    for j in idx:              # not certified: one by one, each warm-started from its predecessor
        start = last[j - 1] if j == prev + 1 else last[j]
        res[j], last[j] = _log2_norm(P[j], start, F[j])
        prev = j
    return res, last[-1], len(idx) / C


def _directions(cell: Cell, cache: dict, jac: np.ndarray, progress=None) -> np.ndarray:
    """log10 σᵢ(∂s_t/∂s_0) for t = 0..T (T+1, m) on the forward cache `simulate` used; steps past
    a non-finite state (an LSTM / GRU whose state left float range) are NaN; where `jac` is −inf
    (an exactly zero product) every value is −inf (the graded QR leaves a rounding residue)."""
    from .directions import log_singular_curves
    from .lyapunov import _finite_cache
    T, m = cache["T"], cell.state_size
    finite = _finite_cache(cell, cache)
    out = np.full((T + 1, m), np.nan)
    out[:finite["T"] + 1] = log_singular_curves(cell, finite, progress)
    out[np.isneginf(jac)] = -np.inf
    return out


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
    if cell.kind == "rnn" and cache["T"]:
        bad = ~np.isfinite(cache["h"]).all(axis=1) | ~np.isfinite(cache["a"]).all(axis=1)
        if bad.any():
            # h_t = φ(W h_{t−1} + …) left float64 range: keep the steps before it, say where
            k = int(np.argmax(bad))
            overflow = k + 1
            cache = {key: (v[:k] if isinstance(v, np.ndarray) and v.ndim == 2 else v)
                     for key, v in cache.items()}
            cache["T"] = k
            inputs = inputs[:k]
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
    svals = _directions(cell, cache, jac, progress) if directions else None
    return Trace(cell.kind, _ro(inputs.copy()), _ro(h), _ro(c), gates, _ro(preact), _ro(slope),
                 _ro(jac), _ro(cell_norm), _ro(carousel), overflow, _ro(svals))
