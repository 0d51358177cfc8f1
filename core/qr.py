"""Householder QR for the frame-carrying recursions (`lyapunov`, `directions`).

Straight to LAPACK through NumPy's own gufuncs when they behave as expected (they skip
np.linalg.qr's Python-level checks: 2–3× faster on small matrices), checked once at import
against np.linalg.qr; otherwise the public function.
"""
from __future__ import annotations

import numpy as np

_qr_numpy = np.linalg.qr
try:
    from numpy.linalg import _umath_linalg as _ul

    def _qr_fast(a):
        """Q, and R in the upper triangle of `a` (overwritten; reflectors below the diagonal)."""
        tau = _ul.qr_r_raw(a, signature="d->d")
        return _ul.qr_reduced(a, tau, signature="dd->d"), a

    _t = np.random.default_rng(1).standard_normal((5, 5))
    _q1, _r1 = np.linalg.qr(_t)
    _q2, _r2 = _qr_fast(_t.copy())
    _b = np.array([_t, 2 * _t])
    _ul.qr_r_raw(np.swapaxes(_b, 1, 2), signature="d->d")      # in place, through a view
    _QR = _qr_fast if (np.allclose(_q1, _q2, atol=1e-14) and
                       np.allclose(_r1, np.triu(_r2), atol=1e-14) and
                       np.allclose(np.tril(_b[1]), 2 * np.tril(np.linalg.qr(_t.T, mode="r").T),
                                   atol=1e-13)) else _qr_numpy
except Exception:                  # pragma: no cover - another NumPy: the public function
    _ul = _qr_fast = None
    _QR = _qr_numpy


#: rows of M whose squared norms lie within this ratio need no sorting before the QR
SORT_RATIO = 2.0 ** 20


def qr_step(M: np.ndarray):
    """M = Q R → (Q (m, m), an array whose upper triangle is R, max squared row norm of M).
    Householder QR of M's rows sorted by norm, descending, when their norms differ much: the
    same R (QR is unique up to signs), but row-wise backward stable (Cox & Higham 1998), so a row
    of J_t far smaller than the others (a saturated unit) keeps its own relative accuracy.
    M may be overwritten."""
    nrm = np.einsum("ij,ij->i", M, M)
    top = float(nrm.max())
    q, r = qr_rows(M, nrm, top > SORT_RATIO * nrm.min())
    return q, r, top


def row_plan(nrm: np.ndarray):
    """For squared row norms (C, m) of C matrices: (max of each, as a list; whether each needs
    its rows sorted, as a list) — `qr_step`'s tests, done for a chunk of steps at once."""
    top = nrm.max(axis=1)
    return top.tolist(), (top > SORT_RATIO * nrm.min(axis=1)).tolist()


def qr_rows(M: np.ndarray, nrm: np.ndarray, sort: bool):
    """M = Q R as in `qr_step`, its squared row norms `nrm` (m,) known: sorted by them first
    when `sort`. → (Q, an array whose upper triangle is R). M may be overwritten."""
    if not sort:
        return _QR(M)                                   # r is M, overwritten
    order = np.argsort(-nrm, kind="stable")
    q, r = _QR(M[order])
    Q = np.empty_like(q)
    Q[order] = q
    return Q, r


def qr_r_lower(B):
    """For a stack B (C, m, m), a stack whose lower triangles hold L = R1ᵀ with Bᵀ = W R1 (QR);
    the entries above the diagonal are Householder reflectors (callers mask them). B, a
    temporary, is overwritten."""
    if _QR is _qr_fast:
        _ul.qr_r_raw(np.swapaxes(B, 1, 2), signature="d->d")   # writes R1 into Bᵀ's memory
        return B
    return np.swapaxes(np.linalg.qr(np.swapaxes(B, 1, 2), mode="r"), 1, 2)
