"""Exact powers of two and certified spectral norms of stacked blocks (for `connectivity`).

A stack of N blocks M_j (N, r, c) is kept as 2^{e_j} · M̃_j with integer e_j (power-of-two
rescaling is exact), so log10 ‖M_j‖₂ = (e_j + log2 ‖M̃_j‖₂) · log10 2 never over- or underflows.
σ₁ of each block is certified to relative TOL by a warm-started power iteration, vectorised
over the stack (the bound of product_norms.py), or taken from an exact eigvalsh of its Gram
matrix. `FactorStack` holds a sequence's per-step factors (J_j or B_j) normalised this way.
"""
from __future__ import annotations

import functools

import numpy as np

from .product_norms import TOL, start_vector

#: Steps whose factors are formed together when the whole stack exceeds its budget.
CHUNK = 128
#: Running products and the blocks whose squares are formed keep ‖·‖_F² in [LO, HI]: wide, so
#: that rescaling is rare, and θ², β² of `_certify` stay normal floats.
LO, HI = 2.0 ** -400, 2.0 ** 400


def pow2(M: np.ndarray, slack: int = 0):
    """M (N, r, c) → (M̃, e) with M = 2^e M̃ blockwise, max |M̃| in [½, 1) (e = 0 for a zero block);
    with slack > 0 only blocks whose max |M| lies outside [2^−slack, 2^slack] are rescaled."""
    big = np.maximum(M.max(axis=(1, 2)), -M.min(axis=(1, 2)))
    e = np.frexp(big)[1].astype(np.int64)
    if slack:
        e[np.abs(e) <= slack] = 0
        if not e.any():
            return M, e
    return np.ldexp(M, -e[:, None, None]), e


def fro2_each(X: np.ndarray) -> np.ndarray:
    """‖X_j‖_F² of each block of a stack X (N, r, c) → (N,)."""
    return np.einsum("aij,aij->a", X, X)


def renorm(Z: np.ndarray, e: np.ndarray, F: np.ndarray | None = None) -> np.ndarray:
    """Keep ‖Z_j‖_F² in [LO, HI] by exact powers of two (e_j absorbs them) → ‖Z_j‖_F². When
    one block leaves, every block outside [LO^¼, HI^¼] is rescaled, so it happens rarely."""
    F = fro2_each(Z) if F is None else F
    if F.size and F.min() > LO and F.max() < HI:
        return F
    bad = np.flatnonzero(~((F > LO ** 0.25) & (F < HI ** 0.25)))    # hysteresis: rescale all
    if bad.size:
        Z[bad], de = pow2(Z[bad])
        e[bad] += de
        F[bad] = fro2_each(Z[bad])
    return F


@functools.cache
def start(w: int) -> np.ndarray:
    """product_norms.start_vector(w), shared and read-only."""
    v = start_vector(w)
    v.flags.writeable = False
    return v


def _certify(A: np.ndarray, V: np.ndarray, F: np.ndarray):
    """One power step on M = A Aᵀ from unit rows V (N, w) (A (N, w, r), F = ‖A‖_F² in
    [LO, HI]): u = Aᵀv, θ = ‖u‖², g = Au = Mv, β = ‖g − θv‖, c = F − θ; then (product_norms.py)
        θ ≤ σ₁(A)² ≤ (θ + c)/2 + √(((θ − c)/2)² + β²),
    certified when the bound is ≤ θ(1 + TOL). → (θ, certified, next unit vectors g/‖g‖)."""
    u = np.matmul(V[:, None, :], A)[:, 0]
    th = np.einsum("ai,ai->a", u, u)
    g = np.matmul(A, u[:, :, None])[:, :, 0]
    r = g - th[:, None] * V
    b2 = np.einsum("ai,ai->a", r, r)
    c = np.maximum(F - th, 0.0)
    half = 0.5 * (th - c)
    ok = (0.5 * (th + c) + np.sqrt(half * half + b2) <= th * (1.0 + TOL)) & (th > 0.0)
    gn = np.sqrt(th * th + b2)
    move = gn > 0.0                    # else v ⟂ every row: restart from the fixed vector
    if move.all():
        return th, ok, g / gn[:, None]
    return th, ok, np.where(move[:, None], g / np.where(move, gn, 1.0)[:, None], start(V.shape[1]))


def log2_norms(X: np.ndarray, v: np.ndarray, F=None, iters: int = 2) -> np.ndarray:
    """log2 σ₁(X_j) for blocks X (N, w, q) (−inf for a zero block); v (N, w): unit warm starts
    in the w-space (X Xᵀ's eigenvectors), improved in place: `iters` certified power steps
    (`_certify`), then, for the few not certified, eigvalsh of the smaller Gram matrix (exact)."""
    N, w, q = X.shape
    ex, bad = 0, ()
    if F is None:                              # (a given F belongs to a renormalised block)
        F = fro2_each(X)
        bad = np.flatnonzero(~((F > LO) & (F < HI)))
    if len(bad):                               # far from 1: rescale a copy (squares stay normal)
        X, F, ex = np.array(X), F.copy(), np.zeros(N, dtype=np.int64)
        X[bad], ex[bad] = pow2(X[bad])
        F[bad] = fro2_each(X[bad])
    if min(w, q) == 1:                         # a vector: ‖X‖₂ = ‖X‖_F
        with np.errstate(divide="ignore"):
            return 0.5 * np.log2(F) + ex
    res = np.full(N, -np.inf)
    idx = np.flatnonzero(F > 0.0)              # a zero block stays −inf
    A, V = (X, v) if idx.size == N else (X[idx], v[idx])
    for _ in range(iters):
        th, ok, V = _certify(A, V, F[idx])
        v[idx] = V
        res[idx[ok]] = 0.5 * np.log2(th[ok])
        if ok.all():
            return res + ex
        idx, A, V = idx[~ok], A[~ok], V[~ok]
    M = np.matmul(A, A.transpose(0, 2, 1)) if w <= q else np.matmul(A.transpose(0, 2, 1), A)
    lam = np.linalg.eigvalsh(M)[:, -1]
    with np.errstate(divide="ignore", invalid="ignore"):
        res[idx] = np.where(lam > 0.0, 0.5 * np.log2(lam), -np.inf)
    return res + ex


class FactorStack:
    """Per-step factors 2^e_j · M̃_j (J_j or B_j), all at once if they fit in the budget, else
    in aligned chunks (one kept)."""

    def __init__(self, fn, T: int, size: int, max_floats: int):
        self.fn, self.T = fn, T
        self.C = T if T * size <= max_floats else max(1, min(CHUNK, max_floats // size))
        self.lo = self.hi = 0
        self.mats = self.exps = None

    def block(self, j: int):
        """→ (mats, exps, lo, hi) of the chunk holding step j (0-based)."""
        if not self.lo <= j < self.hi:
            self.lo = (j // self.C) * self.C
            self.hi = min(self.T, self.lo + self.C)
            self.mats, self.exps = pow2(self.fn(self.lo, self.hi), 64)
        return self.mats, self.exps, self.lo, self.hi

    def get(self, j: int):
        """→ (M̃_j, e_j) of step j (0-based)."""
        mats, exps, lo, _ = self.block(j)
        return mats[j - lo], int(exps[j - lo])

