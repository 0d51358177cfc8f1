"""Singular values (and vectors) of a row-graded matrix X = diag(2^e) B, exact in log space.

`directions` keeps ∂s_t/∂s₀ as P_t = Q · diag(2^e) · B (a `GradedState`: Q orthogonal, e integer
exponents, far outside float range if need be), so σᵢ(P_t) = σᵢ(X). X is row-graded (rows
sorted by scale); it is right-reduced, X = D L Wᵀ (QR of Bᵀ: an orthogonal transform from the
right, harmless for a row-graded matrix), L lower triangular, and LAPACK's SVD (Householder
bidiagonalisation) of the row-graded D L keeps each value's relative accuracy (the SVD of the
dense D B can lose κ(B)·ε) — within a block of rows without a gap of GAP_BITS between
neighbouring scales: across such a gap it did not always (2·10⁻³ relative on values 50 bits
below the block's largest), so L is cut into diagonal blocks there (the trailing block is the
exact Schur complement; the coupling dropped moves values by ≈ 2^(−2·gap), checked):

- rows spanning ≤ ONE_SVD_BITS: one SVD of 2^{e−e₀}·L (block-diagonal at the gaps), float range
  is enough;
- wider: (DL)(DL)ᵀ = D A D with A = LLᵀ, and the Schur complement of any leading block of
  D A D is exactly D₂ L₂₂ L₂₂ᵀ D₂: a window of rows/columns [k₀, k₁) of D L has the singular
  values of the whole up to ≈ (2^{−margin})² relative for every index at least `margin` (in
  scale) inside it (checked afterwards on the values: SAFE_BITS). Overlapping windows, each
  within float range, cover all indices.

Rows are kept (nearly) sorted, so the state's rows may be a few bits out of order: the windows'
margins widen by that much, and a state further out of order is sorted before its SVD.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from .qr import qr_r_lower

#: exponent of an exactly zero row (finite, so that exponent differences never give NaN)
NEG = -(2.0 ** 60)
#: a state whose rows span at most this many bits is solved by one SVD
ONE_SVD_BITS = 450.0
#: span (bits) of one window, and the margin kept on each side of the values taken from it
WINDOW_BITS = 280.0
MARGIN_BITS = 48.0
#: a gap (bits) between neighbouring row scales at which the rows are solved apart
GAP_BITS = 32.0
#: every value taken from a window lies at least this far (bits) from the cuts, checked on the
#: values themselves (the decoupling error is then ≲ 2^(−2·SAFE_BITS) relative)
SAFE_BITS = 30.0
#: a state whose cuts miss SAFE_BITS is solved again with margins and gaps wider by the
#: shortfall plus WIDEN_BITS, at most WIDEN_ROUNDS times in all
WIDEN_BITS, WIDEN_ROUNDS = 8.0, 4
#: rows out of order by at most this many bits are left as they are (LAPACK's SVD and the
#: windows tolerate it: the margins widen by it); states with larger inversions are sorted
INVERSION_BITS = 8.0


@dataclass
class GradedState:
    """P_t = Q · diag(2^e) · B at step t (shapes (m, m), (m,), (m, m))."""

    t: int
    Q: np.ndarray
    e: np.ndarray
    B: np.ndarray


def _row_scales(B, e):
    """⌈log2 ‖row i‖⌉ of X = diag(2^e) B for a batch (C, m, m), (C, m) → (C, m), integers (so
    that scaling by 2^{e − scale} is exact); NEG: a zero row."""
    n2 = np.einsum("cij,cij->ci", B, B)
    with np.errstate(divide="ignore"):
        s = e + np.ceil(0.5 * np.log2(n2))
    return np.where((n2 == 0.0) | (e <= NEG / 2), NEG, s)


def _scaled(B, e, top):
    """2^{e_i − top} · row i of B (exact; rows far below, or zero rows, become 0). A row of B
    far from max |entry| ≈ 1 may need a factor above 1: still ≤ 1 after the product."""
    d = np.clip(e - np.asarray(top)[..., None], -2200.0, 2200.0).astype(np.int32)
    return np.ldexp(B, d[..., None])


def windows(e, width: float | None = None, margin: float | None = None,
            gap: float | None = None) -> list:
    """Windows for non-increasing finite exponents e (r,): tuples (k0, k1, lo, hi) such that
    values lo..hi−1 are taken from the SVD of rows/columns k0..k1−1, where
    e[k0] − e[k1−1] ≤ width, e[k0−1] ≥ e[i] + margin (or k0 = 0, or k0 a cut) and
    e[i] ≥ e[k1] + margin (or k1 = r, or k1 a cut) for every lo ≤ i < hi. The (lo, hi) ranges
    tile 0..r−1.

    No window spans a gap of `gap` bits or more between neighbours (e[g−1] ≥ e[g] + gap): the
    rows on its two sides decouple already (the Schur complement below the cut is exactly the
    trailing block of L; the coupling moves values by ≈ 2^(−2·gap) relative, checked afterwards
    on the values as for any cut), and LAPACK's SVD of one graded block keeps the relative
    accuracy of values far below the block's largest only most of the time (seen: 2·10⁻³
    relative for values 50 bits below it, 3·10⁻⁵ at 45 bits)."""
    width = WINDOW_BITS if width is None else width
    margin = MARGIN_BITS if margin is None else margin
    gap = GAP_BITS if gap is None else gap
    if width <= 2 * margin:
        raise ValueError("a window must be wider than twice its margin")
    neg = [-float(v) for v in e]                   # increasing: bisect (cheaper than NumPy here)
    r = len(neg)
    cuts = [g for g in range(1, r) if neg[g] - neg[g - 1] >= gap] + [r]
    out, i, start = [], 0, 0
    for end in cuts:                               # rows start..end−1: no gap inside
        while i < end:
            k0 = max(bisect_right(neg, neg[i] - margin), start)
            k1 = min(bisect_right(neg, neg[k0] + width), end)
            hi = end if k1 >= end else bisect_right(neg, neg[k1] - margin)
            out.append((k0, k1, i, hi))
            i = hi
        start = end
    return out


def gap_cuts(u: np.ndarray, nz: np.ndarray, bits) -> np.ndarray:
    """Where the non-increasing row scales u (C, m) drop by at least `bits` (scalar or (C,))
    between neighbours among their first nz (C,) → (C, m − 1) bool: [c, g − 1] for a cut
    before row g."""
    gaps = u[:, :-1] - u[:, 1:]
    inside = np.arange(1, u.shape[1])[None, :] < nz[:, None]
    return (gaps >= np.reshape(bits, (-1, 1))) & inside


def has_gap(u: np.ndarray, nz: np.ndarray, bits) -> np.ndarray:
    """Whether any gap_cuts → (C,) bool."""
    return gap_cuts(u, nz, bits).any(axis=1)


def _bucket(size: int) -> int:
    """Windows are solved in batches of one size: small ones padded up to a multiple of 8 (with
    zeros, which add zero values only), large ones (where padding would cost) exact."""
    return size if size <= 8 or size > 32 else -(-size // 8) * 8


def _windowed(L, u, extra, e, nz):
    """log2 σ of each state X = diag(2^e) L Wᵀ (L: `qr.qr_r_lower`) through overlapping windows
    of L. u: non-increasing envelope of the row scales (suffix maximum), which exceeds a row's
    own scale by at most `extra` bits (the margins widen by it). → (C, m), unsorted.

    The margins are set on row scales; the decoupling needs them between singular values, which
    lie below their rows' scales where L's rows are nearly dependent. So every cut is checked
    afterwards (the values kept at least SAFE_BITS from the excluded rows' scales, and from the
    smallest value above) and a state that fails is solved again with margins that wide."""
    C, m, _ = L.shape
    margin = MARGIN_BITS + extra
    gap = GAP_BITS + extra                                   # grows with the margin
    out = np.full((C, m), -np.inf)
    todo = np.arange(C)
    for _ in range(WIDEN_ROUNDS):
        wins = _solve_windows(L, u, margin, gap, e, nz, todo, out)
        short = {c: _shortfall(out[c], u[c], nz[c], w) for c, w in wins.items()}
        todo = np.array([c for c, d in short.items() if d > 0], dtype=int)
        if not todo.size:
            break
        margin, gap = margin.copy(), gap.copy()
        grow = np.array([short[c] for c in todo]) + WIDEN_BITS
        margin[todo] += grow
        gap[todo] += grow
    return out


def _shortfall(l, u, nz, wins) -> float:
    """By how many bits the cuts of one state's windows miss SAFE_BITS (0: none): the values kept
    from a window against the scale of the first row below it and against the smallest value
    above it."""
    k0, k1, lo, _ = np.array(wins).T
    kept = np.minimum.reduceat(l[:nz], lo)                 # the (lo, hi) ranges tile 0..nz−1
    above = np.minimum.accumulate(l[:nz])
    below = np.where(k1 < nz, kept - u[np.minimum(k1, nz - 1)], np.inf)
    over = np.where(k0 > 0, above[np.maximum(k0 - 1, 0)] - u[lo], np.inf)
    return max(0.0, SAFE_BITS - float(min(below.min(), over.min())))


def _solve_windows(L, u, margin, gap, e, nz, todo, out) -> dict:
    """Values of states `todo` into `out` (one batched SVD per window size); → their windows."""
    C, m, _ = L.shape
    jobs: dict[int, list] = {}
    wins = {}
    for c in todo:
        wins[c] = windows(u[c, :nz[c]], max(WINDOW_BITS, 2 * margin[c] + 16), margin[c], gap[c])
        for k0, k1, lo, hi in wins[c]:
            size = _bucket(k1 - k0)
            jobs.setdefault(size if k0 + size <= m else k1 - k0, []).append((c, k0, k1, lo, hi))
    sc, sr, sk = L.strides
    for size, js in jobs.items():
        cs, k0, k1, lo, hi = np.array(js).T
        blocks = np.lib.stride_tricks.as_strided(              # blocks[c, k] = L[c, k:k+s, k:k+s]
            L, shape=(C, m - size + 1, size, size), strides=(sc, sr + sk, sr, sk), writeable=False)
        Z = blocks[cs, k0]
        rows = k0[:, None] + np.arange(size)
        top = u[cs, k0]
        d = np.clip(e[cs[:, None], np.minimum(rows, m - 1)] - top[:, None], -2200.0, 2200.0)
        d = np.where(rows < k1[:, None], d, -2200.0).astype(np.int32)
        Z *= _lower(size)                                   # reflectors 0
        np.ldexp(Z, d[:, :, None], out=Z)                   # rows scaled, padding 0
        with np.errstate(divide="ignore"):
            sv = np.log2(np.linalg.svd(Z, compute_uv=False)) + top[:, None]
        q = np.repeat(np.arange(len(cs)), hi - lo)            # every (window, kept value)
        pos = np.arange(q.shape[0]) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo)
        out[cs[q], lo[q] + pos] = sv[q, lo[q] - k0[q] + pos]
    return wins


_LOWER: dict[int, np.ndarray] = {}


def _lower(size: int) -> np.ndarray:
    """The (size, size) lower-triangular matrix of ones."""
    t = _LOWER.get(size)
    return t if t is not None else _LOWER.setdefault(size, np.tril(np.ones((size, size))))


def _envelope(B, e):
    """Row scales, their non-increasing envelope (suffix maximum) and how far the envelope lies
    above any row; states whose rows are out of order by more than INVERSION_BITS (or with a
    zero row before a non-zero one) are sorted first. → (B, e, u, extra, nz)."""
    s = _row_scales(B, e)
    u = np.maximum.accumulate(s[:, ::-1], axis=1)[:, ::-1]
    extra = (u - s).max(axis=1)
    bad = extra > INVERSION_BITS
    if bad.any():
        order = np.argsort(-s[bad], axis=1, kind="stable")
        B, e, s, u, extra = B.copy(), e.copy(), s.copy(), u.copy(), extra.copy()
        B[bad] = np.take_along_axis(B[bad], order[..., None], axis=1)
        e[bad] = np.take_along_axis(e[bad], order, axis=1)
        s[bad] = u[bad] = np.take_along_axis(s[bad], order, axis=1)
        extra[bad] = 0.0
    return B, e, u, extra, np.count_nonzero(s > NEG / 2, axis=1)


def _one_svd(L, u, e, nz, gap):
    """log2 σ of states whose rows span ≤ ONE_SVD_BITS, one batched SVD: X = D L with L cut into
    diagonal blocks at every gap of ≥ `gap` bits between neighbouring row scales (the trailing
    block below a cut is exactly the Schur complement; the dropped coupling moves values by
    ≈ 2^(−2·gap)), so each block's values keep their relative accuracy however far below the
    top they lie. → (values (C, m) descending, ok (C,) bool): ok False where a block's smallest
    value comes within SAFE_BITS of the next block's rows (the cut is not safe there)."""
    C, m, _ = L.shape
    cut = gap_cuts(u, nz, gap)
    d = np.clip(e - u[:, :1], -2200.0, 2200.0).astype(np.int32)
    X = L * _lower(m)                                       # reflectors 0
    if cut.any():
        block = np.concatenate([np.zeros((C, 1), dtype=np.intp), np.cumsum(cut, axis=1)], axis=1)
        X *= block[:, :, None] == block[:, None, :]         # block-diagonal
    np.ldexp(X, d[:, :, None], out=X)                       # rows scaled
    with np.errstate(divide="ignore"):
        sv = np.log2(np.linalg.svd(X, compute_uv=False)) + u[:, :1]
    ok = ~(cut & (sv[:, :-1] < u[:, 1:] + SAFE_BITS)).any(axis=1)
    return sv, ok


def log2_singular_values(B: np.ndarray, e: np.ndarray, overwrite: bool = False) -> np.ndarray:
    """log2 σᵢ(diag(2^e) B), descending, for a batch: B (C, m, m), e (C, m) → (C, m).
    The exponents (integers) may lie far outside float range; −inf marks a zero value.
    overwrite: B may be used as scratch space.

    Always through the right-reduced X = diag(2^e) L Wᵀ (Bᵀ = W Lᵀ, Householder QR, which is
    column-wise stable: the rows' own scales need no equalising first): LAPACK's SVD of the
    row-graded lower-triangular D L keeps full relative accuracy where the SVD of the dense D B
    can lose κ(B)·ε (seen: 5e-9 for an LSTM state with κ(B) = 2e4)."""
    B = np.asarray(B, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    C, m, _ = B.shape
    B0 = B
    B, e, u, extra, nz = _envelope(B, e)
    L = qr_r_lower(B if (overwrite or B is not B0) else B.copy())   # lower: L; above: reflectors
    out = np.full((C, m), -np.inf)
    low = np.where(nz > 0, np.take_along_axis(u, np.maximum(nz - 1, 0)[:, None], 1)[:, 0], 0.0)
    one = (nz > 0) & (u[:, 0] - low <= ONE_SVD_BITS)
    if one.any():
        sel = slice(None) if one.all() else one
        out[sel], ok = _one_svd(L[sel], u[sel], e[sel], nz[sel], GAP_BITS + extra[sel])
        one[np.flatnonzero(one)[~ok]] = False                # coupled across a cut: windows
    rest = (nz > 0) & ~one
    if rest.any():
        out[rest] = _windowed(L if rest.all() else L[rest], u[rest], extra[rest], e[rest], nz[rest])
    return -np.sort(-out, axis=1)


# ----------------------------------------------------------------------------------------------
# One state with its singular vectors

def graded_svd(state: GradedState):
    """P_t = U diag(2^l) Vᵀ for a GradedState → (l = log2 σ (m,) descending, U (m, m) at s_t,
    V (m, m) at s₀). Values those of `log2_singular_values` (to rounding: blocks cut at the
    same gaps, windows checked and widened alike, `_spans`).

    Vectors, absolute accuracy: from one SVD of all of D L (rows within ONE_SVD_BITS, no gap),
    LAPACK's, ≈ ε / (relative gap to the neighbouring values), a cluster only as a subspace.
    With blocks solved apart (gap cuts, windows) a block's own SVD drops the first-order
    coupling of its left vectors to the rows outside it, ≈ 2^(−d) with d the bits between σᵢ
    and those rows' scales (≥ SAFE_BITS by the check, typically about the gap). It is put
    back: below the block from uᵢ = X vᵢ / σᵢ (`_rows_below`), above it by orthogonalising in
    the blocks' order (`_orthonormalise`). What is left is of second order, ≈ 2^(−2d) ≲ 1e-18,
    like V's own coupling, so U and V are as accurate as from one SVD (tested against mpmath
    to ≈ 1e-15 for well-conditioned rows; uncorrected, U was off by up to 1e-10). U is
    orthonormal to rounding, V up to that second order. Both are limited, as the values are, by
    how well the float rows of B fix them: ≈ ε κ(B̂) / (relative gap), B̂ = B with unit rows
    (nearly dependent rows: large κ)."""
    m = state.B.shape[0]
    e_true = _row_scales(state.B[None], state.e[None])[0]
    order = np.argsort(-e_true, kind="stable")
    B, e, e_true = state.B[order], state.e[order], e_true[order]
    nz = int(np.count_nonzero(e_true > NEG / 2))
    W, R1 = np.linalg.qr(B.T)                               # X_sorted = D L Wᵀ, L = R1ᵀ
    L = R1.T
    spans, (l, UL, VL, s, top, k1) = _spans(L, e, e_true, nz)
    if len(spans) > 1:                                      # the coupling across the cuts
        UL[:nz, :nz] += _rows_below(L[:nz, :nz], e[:nz], e_true[:nz], VL[:nz, :nz], s[:nz], top[:nz],
                                    k1[:nz])
        UL[:nz, :nz] = _orthonormalise(UL[:nz, :nz])
    VL = W @ VL                                             # zero rows: σ = 0, any completion
    U = np.empty((m, m))
    U[order] = UL                                           # X = Πᵀ X_sorted
    idx = np.argsort(-l, kind="stable")
    return l[idx], (state.Q @ U)[:, idx], VL[:, idx]


def _spans(L, e, e_true, nz):
    """The blocks of D L (rows sorted, e_true their scales, nz of them non-zero) and their
    SVDs (`_block_svds`): one SVD of all of it when the rows span ≤ ONE_SVD_BITS without a gap
    of GAP_BITS; otherwise the windows, checked as `_windowed` checks them (every kept value
    SAFE_BITS from the rows and values outside its window, `_shortfall`) and taken again with
    margins and gaps that much wider where they miss (so the values are those of
    `log2_singular_values`, and no direction is coupled across a cut by more than 2^−SAFE_BITS).
    → (spans, _block_svds' output)."""
    m = L.shape[0]
    if nz and e_true[0] - e_true[nz - 1] <= ONE_SVD_BITS and not has_gap(
            e_true[None], np.array([nz]), GAP_BITS)[0]:
        spans = [(0, m, 0, nz)]                             # one SVD of all of D L
        return spans, _block_svds(L, e, e_true, spans)
    margin, gap = MARGIN_BITS, GAP_BITS
    for _ in range(WIDEN_ROUNDS):
        spans = windows(e_true[:nz], max(WINDOW_BITS, 2 * margin + 16), margin, gap) if nz else []
        out = _block_svds(L, e, e_true, spans)
        short = _shortfall(out[0], e_true, nz, spans) if len(spans) > 1 else 0.0
        if short <= 0.0:
            break
        margin, gap = margin + short + WIDEN_BITS, gap + short + WIDEN_BITS
    return spans, out


def _block_svds(L, e, e_true, spans):
    """The SVD of each span's block 2^{−top}·(D L)[k₀:k₁, k₀:k₁] (top = e_true[k₀]), its kept
    triples lo..hi−1 placed in rows/columns k₀..k₁−1 of UL, VL (identity columns for the zero
    rows). → (l = log2 σ, UL, VL, and per kept index: the block's s, its top, its k₁)."""
    m = L.shape[0]
    l = np.full(m, -np.inf)
    UL, VL = np.eye(m), np.eye(m)
    s_all, top, k1s = np.zeros(m), np.zeros(m), np.full(m, m)
    for k0, k1, lo, hi in spans:
        u, s, vt = np.linalg.svd(_scaled(L[k0:k1, k0:k1], e[k0:k1], e_true[k0]))
        s = s[lo - k0:hi - k0]
        with np.errstate(divide="ignore"):
            l[lo:hi] = np.log2(s) + e_true[k0]
        UL[:, lo:hi] = 0.0
        VL[:, lo:hi] = 0.0
        UL[k0:k1, lo:hi] = u[:, lo - k0:hi - k0]
        VL[k0:k1, lo:hi] = vt.T[:, lo - k0:hi - k0]
        s_all[lo:hi], top[lo:hi], k1s[lo:hi] = s, e_true[k0], k1
    return l, UL, VL, s_all, top, k1s


def _rows_below(L, e, e_true, V, s, top, k1):
    """The rows r ≥ k₁ beneath each kept triple's block of its left vector uᵢ = X vᵢ / σᵢ,
    σᵢ = 2^topᵢ·sᵢ: 2^{e_r − topᵢ} (L_r · vᵢ) / sᵢ, the first-order coupling (≈ 2^(scale of
    row k₁ − log2 σᵢ)) that the block's own SVD drops (vᵢ's own coupling is of second order).
    All (nz, nz) at once: vᵢ is 0 outside its block, L lower triangular. Powers of two exact,
    never formed (sᵢ = f·2^k, f ∈ [0.5, 1)). Rows of the block and above: 0. A column with
    sᵢ = 0, or with σᵢ below the scale of row k₁ (the coupling is not small: the cut is not
    safe), is left 0."""
    nz = L.shape[0]
    f, k = np.frexp(s)
    first = e_true[np.minimum(k1, nz - 1)]                  # the largest row beneath
    with np.errstate(divide="ignore"):
        ok = (s > 0) & ((k1 >= nz) | (np.log2(s) + top >= first))
    d = np.clip(e[:, None] - (top + k)[None, :], -2200.0, 2200.0).astype(np.int32)
    out = np.ldexp((L @ V) / np.where(ok, f, 1.0), d)
    out[np.arange(nz)[:, None] < k1[None, :]] = 0.0         # the block's rows and above
    out[:, ~ok] = 0.0
    return out


def _orthonormalise(U):
    """Q of U = Q R, R upper triangular with positive diagonal (each column signed as U's),
    columns in the blocks' order (top block first). With every column right in its block's
    rows and below, projecting a block's columns against the columns before it puts in their
    first-order components in the rows above the block (the true vectors are orthogonal, and
    the earlier ones span those rows up to second order: uᵢ ≈ [−X₁₁^{−T} X₂₁ᵀ u₂; u₂]).
    Cholesky QR (R from UᵀU = RᵀR, Q = U R^{−1}: U is within first order of orthogonal, so its
    orthogonality is ε-level; ≈ 3× cheaper than Householder here); Householder if UᵀU is not
    numerically positive definite."""
    try:
        Rt = np.linalg.cholesky(U.T @ U)                    # Rᵀ, lower triangular
    except np.linalg.LinAlgError:
        q, r = np.linalg.qr(U)
        return q * np.where(np.diagonal(r) < 0.0, -1.0, 1.0)
    return np.linalg.solve(Rt, U.T).T                       # U R^{−1} = (R^{−T} Uᵀ)ᵀ
