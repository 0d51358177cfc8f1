"""Every singular value of ∂s_t/∂s₀ at every step, exact in log space far below σ₁.

The notes' ∂ℓ/∂h₀ = Σᵢ σᵢᵗ vᵢ uᵢᵀ ∂ℓ/∂h_t: each direction i grows or shrinks with its own σᵢ.
An explicit product P_t = J_t ⋯ J₁ (J_k = ∂s_k/∂s_{k−1}) keeps only σᵢ ≳ σ₁·10⁻¹⁶; here P_t is kept
as a graded QR factorisation (Stewart 1995; Oliveira & Stewart 2000, "exponential splittings"):

    P_t = Q_t · diag(2^{e_t}) · B_t,          Q_t orthogonal (m, m), e_t integers, B_t (m, m),
    J_t Q_{t−1} = Q_t R_t  (Householder QR),   X_t = R_t X_{t−1}  with X = diag(2^e) B,

i.e. row i of X_t = Σ_{k≥i} R_t[i,k] 2^{e_k} B_k: computed as 2^{e_i} Σ_k (R_t[i,k] 2^{e_k−e_i}) B_k
with e non-increasing, so no factor exceeds 1 and a row far below the others never meets a
larger number than itself. The exponents are exact powers of two (no rounding, any range); rows
are re-normalised (and re-sorted, which permutes Q's columns: P unchanged) every few steps.
σᵢ(P_t) = σᵢ(X_t). X_t is row-graded (rows sorted by scale); it is right-reduced,
X = D L Wᵀ (QR of Bᵀ: an orthogonal transform from the right, harmless for a row-graded
matrix), L lower triangular, and LAPACK's SVD (Householder bidiagonalisation) of the row-graded
D L keeps each value's relative accuracy (the SVD of the dense D B can lose κ(B)·ε):

- rows spanning ≤ ONE_SVD_BITS: one SVD of 2^{e−e₀}·L, float range is enough;
- wider: (DL)(DL)ᵀ = D A D with A = LLᵀ, and the Schur complement of any leading block of
  D A D is exactly D₂ L₂₂ L₂₂ᵀ D₂: a window of rows/columns [k₀, k₁) of D L has the singular
  values of the whole up to ≈ (2^{−margin})² relative for every index at least `margin` (in
  scale) inside it (checked afterwards on the values: SAFE_BITS). Overlapping windows, each
  within float range, cover all indices.

Rows are kept (nearly) sorted, so the state's rows may be a few bits out of order: the windows'
margins widen by that much, and a state further out of order is sorted before its SVD.

Accuracy: each step's Householder QR is backward stable, an error ≲ ε‖J_t‖ in J_t (row-wise, as
M's rows are sorted by size first: a saturated unit's row keeps its own accuracy), so a value
moves by ≈ ε κ(J_t) relative per step at worst. The tests find ≈ 1e-12 (identity RNN over 1200
decades; random cells against mpmath products); cells with heavily saturated gates (κ(J_t) ≈
1e11 and more) have smallest values that are ill-determined by float64 Jacobians themselves.
Exactly singular RNN Jacobians (dead ReLU units, saturated units with φ' = 0) give exact zeros
(−inf). Other numerically singular ones — an LSTM or GRU whose gates saturate under huge inputs,
rows of J_t mixing entries 10⁻¹²⁵ and 1 — give, below that step's rounding level (≈ ε‖J_t‖),
rounding residues, not the true tiny values or zeros; where the whole product is exactly zero
(`simulate`'s log10_jac_norm = −inf: structural zeros the orthogonal frame mixes away) even the
largest value here is such a residue (≈ 10⁻¹⁵⁵ for an LSTM with input scale 10⁶, b_f = −20).
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass

import numpy as np

from .cells import Cell
from .lyapunov import _QR, _finite_cache, _qr_fast, _report, _ul, qr_step
from .simulate import _Product, forward

LOG10_2 = math.log10(2.0)
#: exponent of an exactly zero row (finite, so that exponent differences never give NaN)
NEG = -(2.0 ** 60)
#: rows re-normalised at least every RENORM_STEPS steps, or sooner when a bound says they could
#: have grown or shrunk by BOUND_BITS
RENORM_STEPS = 8
BOUND_BITS = 256.0
#: a state whose rows span at most this many bits is solved by one SVD
ONE_SVD_BITS = 450.0
#: span (bits) of one window, and the margin kept on each side of the values taken from it
WINDOW_BITS = 280.0
MARGIN_BITS = 48.0
#: every value taken from a window lies at least this far (bits) from the cuts, checked on the
#: values themselves (the decoupling error is then ≲ 2^(−2·SAFE_BITS) relative)
SAFE_BITS = 30.0
#: rows out of order by at most this many bits are left as they are (LAPACK's SVD and the
#: windows tolerate it: the margins widen by it); states with larger inversions are sorted
INVERSION_BITS = 8.0
#: at most this many float64 in the stored states of one chunk (bounds memory)
CHUNK_FLOATS = 1 << 18


# ----------------------------------------------------------------------------------------------
# The graded recursion.

_UPPER: dict[int, np.ndarray] = {}


def _scales(e: np.ndarray) -> np.ndarray:
    """S[i, k] = 2^{e_k − e_i} for k ≥ i, 0 below the diagonal (e non-increasing: S ≤ 1)."""
    m = e.shape[0]
    upper = _UPPER.get(m)
    if upper is None:
        upper = _UPPER.setdefault(m, np.triu(np.ones((m, m))))
    d = np.clip(e[None, :] - e[:, None], -2000.0, 0.0).astype(np.int32)
    return np.ldexp(upper, d)


def _renormalise(Q, B, e):
    """X = diag(2^e) B → the same X with rows of B at max |entry| ∈ [0.5, 1) and e sorted
    descending; Q's columns permuted alike, so P = Q X is unchanged. Exact (powers of two)."""
    mx = np.abs(B).max(axis=1)
    f = np.frexp(mx)[1]
    e = np.where((mx == 0.0) | (e <= NEG / 2), NEG, e + f)
    B = np.ldexp(B, -f[:, None])
    order = np.argsort(-e, kind="stable")
    return np.take(Q, order, axis=1), B[order], e[order]


@dataclass
class GradedState:
    """P_t = Q · diag(2^e) · B at step t (shapes (m, m), (m,), (m, m))."""

    t: int
    Q: np.ndarray
    e: np.ndarray
    B: np.ndarray


def _accumulate(cell: Cell, cache: dict, on_chunk=None, stop=None, progress=None) -> GradedState:
    """Run the graded QR recursion over steps 1..stop (default T). For each chunk of steps
    a+1..a+C, on_chunk(a, Bs, Es) receives the states X_{a+j+1} = diag(2^Es[j]) Bs[j] (and may
    overwrite them). Returns the state at the last step."""
    T = cache["T"] if stop is None else int(stop)
    m = cell.state_size
    prod = _Product(cell, cache)
    Q, B, e = np.eye(m), np.eye(m), np.zeros(m)
    S = _scales(e)
    chunk = max(1, min(128, CHUNK_FLOATS // (m * m)))
    Bs = np.empty((min(chunk, max(T, 1)), m, m))
    Es = np.empty((Bs.shape[0], m))
    M = np.empty((m, m))
    # C (upper triangular) times B by row blocks, each with the columns it has: ≈ 5/8 of the work
    rb = [(r, min(m, r + 32)) for r in range(0, m, 32)] if m >= 64 else [(0, m)]
    hi = lo = 0.0                    # log2 bounds on the rows' growth / shrinkage since renorm
    since = 0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for a in range(0, T, chunk):
            _report(progress, a / max(T, 1))
            b = min(T, a + chunk)
            fac = prod.chunk(a, b)
            for j in range(b - a):
                prod.apply(fac, j, Q, M)                     # M = J_t Q_{t−1}
                Q, R, row2 = qr_step(M)                      # ‖R_t‖_F² ≤ m · max row²
                if not math.isfinite(row2):
                    raise FloatingPointError(f"the Jacobian at step {a + j + 1} is not finite")
                dmin = min(map(abs, R.diagonal().tolist()))  # row i ⟂ rows below: × |R_ii|
                np.multiply(R, S, out=M)                     # R[i,k] 2^{e_k − e_i}, upper part
                out = Bs[j]
                for r0, r1 in rb:                            # X ← R X
                    np.matmul(M[r0:r1, r0:], B[r0:], out=out[r0:r1])
                B = out
                Es[j] = e
                since += 1
                hi += 0.5 * math.log2(m * row2) if row2 > 0.0 else 0.0
                lo += math.log2(dmin) if dmin > 0.0 else -math.inf
                if since >= RENORM_STEPS or hi > BOUND_BITS or lo < -BOUND_BITS:
                    Q, B, e = _renormalise(Q, B, e)
                    S = _scales(e)
                    hi = lo = 0.0
                    since = 0
            if B.base is Bs:
                B = B.copy()                    # the buffer: refilled next chunk, scratch now
            if on_chunk is not None:
                on_chunk(a, Bs[:b - a], Es[:b - a])
    return GradedState(T, Q, e.copy(), np.array(B))


# ----------------------------------------------------------------------------------------------
# Singular values of a row-graded X = diag(2^e) B.

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


def windows(e, width: float | None = None, margin: float | None = None) -> list:
    """Windows for non-increasing finite exponents e (r,): tuples (k0, k1, lo, hi) such that
    values lo..hi−1 are taken from the SVD of rows/columns k0..k1−1, where
    e[k0] − e[k1−1] ≤ width, e[k0−1] ≥ e[i] + margin (or k0 = 0) and e[i] ≥ e[k1] + margin
    (or k1 = r) for every lo ≤ i < hi. The (lo, hi) ranges tile 0..r−1."""
    width = WINDOW_BITS if width is None else width
    margin = MARGIN_BITS if margin is None else margin
    if width <= 2 * margin:
        raise ValueError("a window must be wider than twice its margin")
    neg = [-float(v) for v in e]                   # increasing: bisect (cheaper than NumPy here)
    r = len(neg)
    out, i = [], 0
    while i < r:
        k0 = bisect_right(neg, neg[i] - margin)
        k1 = bisect_right(neg, neg[k0] + width)
        hi = r if k1 >= r else bisect_right(neg, neg[k1] - margin)
        out.append((k0, k1, i, hi))
        i = hi
    return out


def _qr_r_lower(B):
    """For a stack B (C, m, m), a stack whose lower triangles hold L = R1ᵀ with Bᵀ = W R1 (QR);
    the entries above the diagonal are Householder reflectors (callers mask them). B, a
    temporary, is overwritten."""
    if _QR is _qr_fast:
        _ul.qr_r_raw(np.swapaxes(B, 1, 2), signature="d->d")   # writes R1 into Bᵀ's memory
        return B
    return np.swapaxes(np.linalg.qr(np.swapaxes(B, 1, 2), mode="r"), 1, 2)


def _bucket(size: int) -> int:
    """Windows are solved in batches of one size: small ones padded up to a multiple of 8 (with
    zeros, which add zero values only), large ones (where padding would cost) exact."""
    return size if size <= 8 or size > 32 else -(-size // 8) * 8


def _windowed(L, u, extra, e, nz):
    """log2 σ of each state X = diag(2^e) L Wᵀ (L: `_qr_r_lower`) through overlapping windows
    of L. u: non-increasing envelope of the row scales (suffix maximum), which exceeds a row's
    own scale by at most `extra` bits (the margins widen by it). → (C, m), unsorted.

    The margins are set on row scales; the decoupling needs them between singular values, which
    lie below their rows' scales where L's rows are nearly dependent. So every cut is checked
    afterwards (the values kept at least SAFE_BITS from the excluded rows' scales, and from the
    smallest value above) and a state that fails is solved again with margins that wide."""
    C, m, _ = L.shape
    margin = MARGIN_BITS + extra
    out = np.full((C, m), -np.inf)
    todo = np.arange(C)
    for _ in range(4):
        wins = _solve_windows(L, u, margin, e, nz, todo, out)
        short = {c: _shortfall(out[c], u[c], nz[c], w) for c, w in wins.items()}
        todo = np.array([c for c, d in short.items() if d > 0], dtype=int)
        if not todo.size:
            break
        margin = margin.copy()
        margin[todo] += np.array([short[c] for c in todo]) + 8.0
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


def _solve_windows(L, u, margin, e, nz, todo, out) -> dict:
    """Values of states `todo` into `out` (one batched SVD per window size); → their windows."""
    C, m, _ = L.shape
    jobs: dict[int, list] = {}
    wins = {}
    for c in todo:
        wins[c] = windows(u[c, :nz[c]], max(WINDOW_BITS, 2 * margin[c] + 16), margin[c])
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
    L = _qr_r_lower(B if (overwrite or B is not B0) else B.copy())   # lower: L; above: reflectors
    out = np.full((C, m), -np.inf)
    low = np.where(nz > 0, np.take_along_axis(u, np.maximum(nz - 1, 0)[:, None], 1)[:, 0], 0.0)
    one = (nz > 0) & (u[:, 0] - low <= ONE_SVD_BITS)
    rest = (nz > 0) & ~one
    if one.any():
        sel = slice(None) if one.all() else one
        d = np.clip(e[sel] - u[sel, :1], -2200.0, 2200.0).astype(np.int32)
        X = np.ldexp(L[sel] * _lower(m), d[:, :, None])        # reflectors 0, rows scaled
        with np.errstate(divide="ignore"):
            out[sel] = np.log2(np.linalg.svd(X, compute_uv=False)) + u[sel, :1]
    if rest.any():
        out[rest] = _windowed(L if rest.all() else L[rest], u[rest], extra[rest], e[rest], nz[rest])
    return -np.sort(-out, axis=1)


def log_singular_curves(cell: Cell, cache: dict, progress=None) -> np.ndarray:
    """log10 σᵢ(∂s_t/∂s₀) = log10 σᵢ(J_t ⋯ J₁) for t = 0..T, every i: (T+1, m), descending,
    row 0 all zeros (the identity). `cache` is `simulate.forward(...)`'s output (finite).
    progress(fraction) returning False raises Cancelled."""
    T, m = cache["T"], cell.state_size
    out = np.zeros((T + 1, m))

    def take(a, Bs, Es):
        out[a + 1:a + 1 + Bs.shape[0]] = log2_singular_values(Bs, Es, overwrite=True) * LOG10_2

    _accumulate(cell, cache, take, progress=progress)
    zeros = _exact_zeros(cell, cache)
    if zeros is not None:            # rank(J_t⋯J₁) ≤ m − k: the k smallest are exactly 0
        rows = np.flatnonzero(zeros)
        cols = m - np.arange(1, m + 1)[None, :] < zeros[rows, None]
        out[rows] = np.where(cols, -np.inf, out[rows])
    return out


def _exact_zeros(cell: Cell, cache: dict):
    """RNN: k_t = max_{s≤t} #{units with φ'(a_s) = 0} (rows of J_s exactly zero: dead ReLU units,
    fully saturated sigmoid/tanh), (T+1,); None where there are none or for LSTM/GRU (whose
    exactly singular Jacobians are left to the arithmetic: rounding-level values)."""
    if cell.kind != "rnn" or not cache["T"]:
        return None
    dead = np.count_nonzero(cache["slope"].reshape(cache["T"], -1) == 0.0, axis=1)
    if not dead.any():
        return None
    return np.concatenate([[0], np.maximum.accumulate(dead)])


def log10_singular_values(cell: Cell, inputs, h0=None, c0=None, *, progress=None) -> np.ndarray:
    """Run `cell` over inputs (T, d) and return log10 σᵢ(∂s_t/∂s₀), (T'+1, m), descending, with
    T' = T unless the state leaves float64 range (then the steps before it, like `simulate`)."""
    with np.errstate(over="ignore", invalid="ignore"):
        cache = forward(cell, inputs, h0, c0)
    return log_singular_curves(cell, _finite_cache(cell, cache), progress)


# ----------------------------------------------------------------------------------------------
# One step with its singular vectors: which components of ∂ℓ/∂s_t reach s₀.

def graded_svd(state: GradedState):
    """P_t = U diag(2^l) Vᵀ for a GradedState → (l = log2 σ (m,) descending, U (m, m) at s_t,
    V (m, m) at s₀). Values exact as above; vectors to absolute accuracy ≈ ε (a direction whose
    σ is far from its neighbours' is well determined, a cluster's only as a subspace)."""
    m = state.B.shape[0]
    e_true = _row_scales(state.B[None], state.e[None])[0]
    order = np.argsort(-e_true, kind="stable")
    B, e, e_true = state.B[order], state.e[order], e_true[order]
    nz = int(np.count_nonzero(e_true > NEG / 2))
    l = np.full(m, -np.inf)
    UL, VL = np.eye(m), np.eye(m)
    W, R1 = np.linalg.qr(B.T)                               # X_sorted = D L Wᵀ, L = R1ᵀ
    L = R1.T
    if nz and e_true[0] - e_true[nz - 1] <= ONE_SVD_BITS:
        spans = [(0, m, 0, nz)]                             # one SVD of all of D L
    else:
        spans = windows(e_true[:nz]) if nz else []
    for k0, k1, lo, hi in spans:
        u, s, vt = np.linalg.svd(_scaled(L[k0:k1, k0:k1], e[k0:k1], e_true[k0]))
        with np.errstate(divide="ignore"):
            l[lo:hi] = np.log2(s[lo - k0:hi - k0]) + e_true[k0]
        UL[:, lo:hi] = 0.0
        VL[:, lo:hi] = 0.0
        UL[k0:k1, lo:hi] = u[:, lo - k0:hi - k0]
        VL[k0:k1, lo:hi] = vt.T[:, lo - k0:hi - k0]
    VL = W @ VL                                             # zero rows: σ = 0, any completion
    U = np.empty((m, m))
    U[order] = UL                                           # X = Πᵀ X_sorted
    idx = np.argsort(-l, kind="stable")
    return l[idx], (state.Q @ U)[:, idx], VL[:, idx]


@dataclass(frozen=True)
class GradientSplit:
    """∂ℓ/∂s₀ = P_tᵀ g = Σᵢ σᵢ cᵢ vᵢ with cᵢ = uᵢᵀ g: the chosen g = ∂ℓ/∂s_t split along the
    singular directions of P_t = ∂s_t/∂s₀ (m = state size; i descending in σ).

    log10_sigma (m,): log10 σᵢ;  coefficient (m,): cᵢ = uᵢᵀ g;  log10_reach (m,):
    log10 |σᵢ cᵢ|, the size of direction i's contribution to ∂ℓ/∂s₀ ("what survives the trip
    back"); log10_total: log10 ‖∂ℓ/∂s₀‖₂; u (m, m) left singular vectors (at s_t, columns),
    v (m, m) right singular vectors (at s₀)."""

    step: int
    log10_sigma: np.ndarray
    coefficient: np.ndarray
    log10_reach: np.ndarray
    log10_total: float
    u: np.ndarray
    v: np.ndarray


def split_gradient(cell: Cell, inputs, t: int, grad, h0=None, c0=None) -> GradientSplit:
    """Split g = ∂ℓ/∂s_t (m,) — for an LSTM also (n,), read as ∂ℓ/∂h_t with ∂ℓ/∂c_t = 0 — along
    the singular directions of ∂s_t/∂s₀ (t = 0..T) and say how much of each reaches s₀."""
    m, n = cell.state_size, cell.hidden_size
    g = np.asarray(grad, dtype=np.float64).ravel()
    if cell.kind == "lstm" and g.shape == (n,):
        g = np.concatenate([g, np.zeros(n)])
    if g.shape != (m,) or not np.all(np.isfinite(g)):
        raise ValueError(f"the gradient must be {m} finite numbers")
    with np.errstate(over="ignore", invalid="ignore"):
        cache = _finite_cache(cell, forward(cell, inputs, h0, c0))
    if not 0 <= int(t) <= cache["T"]:
        raise ValueError(f"step t must lie in 0..{cache['T']}, got {t}")
    state = _accumulate(cell, cache, stop=int(t))
    l, U, V = graded_svd(state)
    zeros = _exact_zeros(cell, cache)
    if zeros is not None and zeros[int(t)]:
        l[m - zeros[int(t)]:] = -np.inf
    c = U.T @ g
    with np.errstate(divide="ignore"):
        reach = l * LOG10_2 + np.log10(np.abs(c))
    finite = reach[np.isfinite(reach)]
    top = finite.max() if finite.size else -np.inf
    total = top + 0.5 * math.log10(float(np.sum(10.0 ** (2 * (finite - top))))) if finite.size else -np.inf
    return GradientSplit(int(t), l * LOG10_2, c, reach, float(total), U, V)
