"""log10 of the spectral norm of a long matrix product P_t = M_t ⋯ M_1, certified and never
overflowing.

P is kept as 2^(−e)·P_t: whenever ‖P‖_F² leaves [2⁻⁶⁰, 2⁶⁰] it is rescaled by an exact power of
two (no rounding is added), so log10 ‖P_t‖₂ = (e + log2 ‖P‖₂) · log10 2 at any range.

The spectral norm of each product, certified: for any matrix A and unit vector v, with
θ = ‖Av‖² (the Rayleigh quotient of G = AᵀA), r = Gv − θv, β = ‖r‖ and c = ‖A‖_F² − θ (the trace
of G on v⊥, which bounds every eigenvalue of G there because G is positive semi-definite),
writing G in the basis (v, v⊥) gives
    θ ≤ σ₁(A)² ≤ U = (θ + c)/2 + √(((θ − c)/2)² + β²).
A warm-started power iteration (the top right singular vector of J_t⋯J_1 settles as t grows)
usually certifies U ≤ θ(1 + TOL) in one or two matrix-vector pairs. Where the spectrum is too
flat for that (the first steps), the same test is applied to A = PᵀP, (PᵀP)ᵀ(PᵀP), … (σ₁ squares
at each level, the rest of the spectrum fades); if that does not certify either, an exact SVD.
TOL = 1e-12 bounds the error of log10 σ₁ by 2.2e-13, far inside the 1e-9 promised.
"""
from __future__ import annotations

import math

import numpy as np

from .progress import report

LOG10_2 = float(np.log10(2.0))
TOL = 1e-12
_LEVELS = 6          # up to A = (PᵀP)^(2^5): σ₁^64
#: ‖P‖_F² is kept within [_LO, _HI] by exact powers of two
_LO, _HI = 2.0 ** -60, 2.0 ** 60


def start_vector(m: int) -> np.ndarray:
    """The fixed unit vector every power iteration starts from (m,)."""
    v = np.random.default_rng(20240601).standard_normal(m)
    return v / np.linalg.norm(v)


def fro2(A) -> float:
    """‖A‖_F²."""
    a = A.ravel()
    return float(np.dot(a, a))


def rescale(a):
    """a ← 2^(−e)·a in place so that its largest entry lies in [0.5, 1) (exact).
    → (e, ‖a‖_F²), or (None, 0.0) if a is zero; raises FloatingPointError if not finite."""
    big = max(float(a.max()), -float(a.min()))
    if not np.isfinite(big):
        raise FloatingPointError("Jacobian product is not finite")
    if big == 0.0:
        return None, 0.0
    e = int(np.frexp(big)[1])
    np.ldexp(a, -e, out=a)
    return e, fro2(a)


def power_certify(A, v, F, iters):
    """Power iteration on AᵀA from unit v. → (θ or None, v): θ = ‖Av‖² certified, or None."""
    for _ in range(iters):
        u = A @ v
        th = float(np.dot(u, u))
        if th == 0.0:                   # v in the null space: restart from a generic vector
            return None, start_vector(v.shape[0])
        w = u @ A                       # AᵀA v
        r = w - th * v                  # ⟂ v, so ‖w‖² = θ² + ‖r‖²
        b2 = float(np.dot(r, r))
        wn = math.sqrt(th * th + b2)
        if not math.isfinite(wn):
            return None, v
        if wn == 0.0:                   # θ² + β² underflowed: no direction to go on from
            return None, start_vector(v.shape[0])
        c = max(F - th, 0.0)
        half = 0.5 * (th - c)
        if 0.5 * (th + c) + math.sqrt(half * half + b2) <= th * (1.0 + TOL):
            w /= wn
            return th, w
        v = w / wn
        if c >= th:
            break                   # certification impossible at this level: climb
    return None, v


def log2_norm(P, v, F):
    """log2 σ₁(P) (P ≠ 0, F = ‖P‖_F²), certified to TOL; v: warm start, returned improved."""
    th, v = power_certify(P, v, F, 3)
    if th is not None:
        return 0.5 * np.log2(th), v
    A, p, E = P, 1, 0                   # σ₁(A) = σ₁(P)^p · 2^(−E)
    ratio = np.inf
    for _ in range(_LEVELS - 1):
        A = A.T @ A
        F = fro2(A)
        if F == 0.0 or not np.isfinite(F):
            break
        ex = int(np.frexp(F)[1]) // 2
        if ex:
            A *= 2.0 ** -ex
            F = fro2(A)
        p, E = 2 * p, 2 * E + ex
        th, v = power_certify(A, v, F, 4)
        if th is not None:
            return (0.5 * np.log2(th) + E) / p, v
        new_ratio = F / max(float(np.dot(A @ v, A @ v)), 1e-300)
        if new_ratio > 0.75 * ratio:     # a cluster at the top (e.g. repeated σ₁): exact SVD
            break
        ratio = new_ratio
    return float(np.log2(np.linalg.svd(P, compute_uv=False)[0])), v


def log2_norms_batch(P, F, v, iters: int = 3):
    """log2 σ₁ of each P[t] (C, m, m; F[t] = ‖P[t]‖_F² > 0), certified to TOL by the same test
    as `power_certify`, vectorised over t from the common warm start v; the few not certified
    within `iters` go through `log2_norm` one by one.
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
        res[j], last[j] = log2_norm(P[j], start, F[j])
        prev = j
    return res, last[-1], len(idx) / C


def block_log10_norms(P, blocks, exp: int, vb: list, outs: list, t: int) -> None:
    """outs[k][t] = log10 ‖(2^exp · P)[rows, cols]‖₂ for each (rows, cols) block k; vb[k]: its
    warm start (None at first), updated."""
    for k, (rows, cols) in enumerate(blocks):
        x = P[rows, cols].copy()            # C-contiguous, never a view of P
        Fx, ex = fro2(x), 0
        if not _LO < Fx < _HI:
            ex, Fx = rescale(x)
            if ex is None:
                outs[k][t] = -np.inf
                continue
        if vb[k] is None or vb[k].shape[0] != x.shape[1]:
            vb[k] = start_vector(x.shape[1])
        l2, vb[k] = log2_norm(x, vb[k], Fx)
        outs[k][t] = (exp + ex + l2) * LOG10_2


def product_log_norms(T: int, m: int, chunk, apply, blocks=(), step: int = 128, progress=None):
    """log10 ‖P_t‖₂, P_t = M_t ⋯ M_1 (m×m), for t = 0..T, and of each (rows, cols) block of P_t
    → ((T+1,), [(T+1,) per block]); −inf from a step whose product is exactly zero on.

    chunk(a, b) prepares steps a+1..b; apply(fac, j, P, out) writes M_{a+j+1} P into out.
    progress(fraction) before each chunk; returning False raises progress.Cancelled. A product
    that is not finite raises FloatingPointError naming its step."""
    out = np.zeros(T + 1)
    outs = [np.zeros(T + 1) for _ in blocks]
    P, Q = np.eye(m), np.empty((m, m))
    exp, v = 0, start_vector(m)
    vb = [None] * len(blocks)
    with np.errstate(divide="ignore"):
        for a in range(0, T, step):
            report(progress, a / T)
            b = min(T, a + step)
            fac = chunk(a, b)
            for j in range(b - a):
                t = a + j + 1
                apply(fac, j, P, Q)
                F = fro2(Q)
                if not _LO < F < _HI:
                    try:
                        e, F = rescale(Q)
                    except FloatingPointError:
                        raise FloatingPointError(f"the Jacobian product is not finite at step {t}") from None
                    if e is None:                       # exactly zero: stays zero
                        for o in (out, *outs):
                            o[t:] = -np.inf
                        return out, outs
                    exp += e
                P, Q = Q, P
                l2, v = log2_norm(P, v, F)
                out[t] = (exp + l2) * LOG10_2
                block_log10_norms(P, blocks, exp, vb, outs, t)
    return out, outs
