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
σᵢ(P_t) = σᵢ(X_t), and X_t is row-graded: graded.py takes its singular values (and vectors)
without losing the small ones' relative accuracy.

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
from dataclasses import dataclass

import numpy as np

from .cell_step import Cell
from .forward import JacobianProduct, finite_cache, forward
from .graded import NEG, GradedState, graded_svd, log2_singular_values, windows
from .progress import report
from .qr import qr_rows, row_plan

__all__ = ["GradedState", "GradientSplit", "gradient_vector", "graded_svd",
           "log10_singular_values", "log2_singular_values", "log_singular_curves",
           "split_from_state", "split_gradient", "windows"]

LOG10_2 = math.log10(2.0)
#: rows re-normalised at least every RENORM_STEPS steps, or sooner when a bound says they could
#: have grown or shrunk by BOUND_BITS
RENORM_STEPS = 8
BOUND_BITS = 256.0
#: at most this many float64 in the stored states of one chunk (bounds memory; two chunks are
#: held when their values are taken while the next is computed), and at most CHUNK_STEPS steps
CHUNK_FLOATS = 1 << 18
CHUNK_STEPS = 128
#: states of at least this size have their values taken in a second thread while the recursion
#: goes on (below it the two threads' Python glue, contending for the GIL, costs more than the
#: overlap gains: measured n = 16 RNN 18 → 21 ms; LSTM n = 64 1.9 → 1.3 s)
PIPELINE_M = 32


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



class _Renorm:
    """When to re-normalise the rows: every RENORM_STEPS steps, or sooner once the log2 bounds
    on their growth (hi: ‖R_t‖₂ ≤ √m · max row norm) or shrinkage (lo: row i moves by at least
    |R_t[i,i]|, as it is orthogonal to the rows below) since the last time pass BOUND_BITS."""

    def __init__(self, m: int):
        self.m = m
        self.reset()

    def reset(self):
        self.hi = self.lo = 0.0
        self.since = 0

    def due(self, row2: float, dmin: float) -> bool:
        self.since += 1
        self.hi += 0.5 * math.log2(self.m * row2) if row2 > 0.0 else 0.0
        self.lo += math.log2(dmin) if dmin > 0.0 else -math.inf
        return self.since >= RENORM_STEPS or self.hi > BOUND_BITS or self.lo < -BOUND_BITS


def _row_blocks(m: int) -> list:
    """Row blocks for X ← R X with R upper triangular: each block times only the rows of X its
    columns reach (≈ 5/8 of the dense work from m = 64 on)."""
    return [(r, min(m, r + 32)) for r in range(0, m, 32)] if m >= 64 else [(0, m)]


def _graded_step(prod, fac, j: int, plan, Q, B, S, M, out, rb, t: int):
    """One step: M = J_t Q_{t−1} = Q_t R_t (Householder), X_t = R_t X_{t−1} as
    out[i] = Σ_k R_t[i,k] 2^{e_k − e_i} B[k] (S holds the powers of two). plan: the chunk's
    (squared row norms of its J_t (C, m), their maxima, whether to sort: `qr.row_plan`).
    → (Q_t, out = B_t, max squared row norm of M, min |R_t[i,i]|)."""
    norms, tops, sorts = plan
    row2 = tops[j]                                   # ‖R_t‖_F² ≤ m · max row²
    if not math.isfinite(row2):
        raise FloatingPointError(f"the Jacobian at step {t} is not finite")
    prod.apply(fac, j, Q, M)                         # M = J_t Q_{t−1}
    Q, R = qr_rows(M, norms[j], sorts[j])            # rows of M: the norms of J_t's
    dmin = min(map(abs, R.diagonal().tolist()))      # row i ⟂ rows below: × |R_ii|
    np.multiply(R, S, out=M)                         # R[i,k] 2^{e_k − e_i}, upper part
    for r0, r1 in rb:                                # X ← R X
        np.matmul(M[r0:r1, r0:], B[r0:], out=out[r0:r1])
    return Q, out, row2, dmin


def _start(m: int, start: GradedState | None):
    """(t₀, Q, B, e) to run from: the identity at 0, or `start` re-normalised (exact)."""
    if start is None:
        return 0, np.eye(m), np.eye(m), np.zeros(m)
    return (int(start.t), *_renormalise(start.Q.copy(), start.B.copy(), start.e.copy()))


def _accumulate(cell: Cell, cache: dict, on_chunk=None, stop=None, progress=None, *,
                start: GradedState | None = None, keep=None) -> GradedState:
    """Run the graded QR recursion over steps t₀+1..stop (default T) from the state at step t₀
    (`start`, a GradedState, default the identity at t₀ = 0: re-normalised first, an exact
    rescaling, so the recursion goes on as if it had never stopped). For each chunk of steps
    a+1..a+C, on_chunk(a, Bs, Es) receives the states X_{a+j+1} = diag(2^Es[j]) Bs[j] (and may
    overwrite them): in a second thread, while the recursion goes on with the next chunk in
    the other of two buffers (NumPy's LAPACK calls release the GIL: the chunk's SVDs overlap
    the next chunk's QRs); its calls come in order, one at a time, all done before this
    returns, and an error in one is raised here. keep = (every, store): a copy of the state at
    every step that is a multiple of `every` goes into store[t] (checkpoints to restart from).
    Returns the state at the last step."""
    T = cache["T"] if stop is None else int(stop)
    m = cell.state_size
    prod = JacobianProduct(cell, cache)
    t0, Q, B, e = _start(m, start)
    if t0 >= T:
        return GradedState(t0, Q, e, B)
    every, store = keep if keep is not None else (0, None)
    S, renorm, rb = _scales(e), _Renorm(m), _row_blocks(m)
    chunk = max(1, min(CHUNK_STEPS, CHUNK_FLOATS // (m * m)))
    n_buf = 2 if on_chunk is not None and T - t0 > chunk and m >= PIPELINE_M else 1
    bufs = [(np.empty((min(chunk, T - t0), m, m)), np.empty((min(chunk, T - t0), m))) for _ in range(n_buf)]
    M = np.empty((m, m))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"), _Pipeline(on_chunk, n_buf) as pipe:
        for k, a in enumerate(range(t0, T, chunk)):
            report(progress, (a - t0) / max(T - t0, 1))
            b = min(T, a + chunk)
            Bs, Es = bufs[k % n_buf]
            pipe.wait_for(k % n_buf)                 # the thread is done with this buffer
            fac = prod.chunk(a, b)
            norms = prod.row_norms(fac, b - a)
            plan = (norms, *row_plan(norms))
            for j in range(b - a):
                Q, B, row2, dmin = _graded_step(prod, fac, j, plan, Q, B, S, M, Bs[j], rb, a + j + 1)
                Es[j] = e
                if renorm.due(row2, dmin):
                    Q, B, e = _renormalise(Q, B, e)
                    S = _scales(e)
                    renorm.reset()
                if every and (a + j + 1) % every == 0 and (a + j + 1) not in store:
                    store[a + j + 1] = GradedState(a + j + 1, Q.copy(), e.copy(), B.copy())
            if B.base is Bs:
                B = B.copy()                    # the buffer: refilled later, scratch now
            pipe.submit(k % n_buf, a, Bs[:b - a], Es[:b - a])
    return GradedState(T, Q, e.copy(), np.array(B))


class _Pipeline:
    """on_chunk's calls in one worker thread, in order (with one buffer: at once, here). As a
    context manager: on leaving, every call is done (or, after an error here, the running one
    finishes and the rest are dropped); the first error of a call is raised."""

    def __init__(self, on_chunk, n_buf: int):
        self.on_chunk, self.n_buf = on_chunk, n_buf
        self.pool = None
        self.busy: dict[int, object] = {}

    def __enter__(self):
        if self.on_chunk is not None and self.n_buf > 1:
            from concurrent.futures import ThreadPoolExecutor
            self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gatescope-svd")
        return self

    def submit(self, slot: int, *args):
        if self.on_chunk is None:
            return
        if self.pool is None:
            self.on_chunk(*args)
        else:
            self.busy[slot] = self.pool.submit(self.on_chunk, *args)

    def wait_for(self, slot: int):
        job = self.busy.pop(slot, None)
        if job is not None:
            job.result()

    def __exit__(self, kind, exc, tb):
        if self.pool is None:
            return False
        if kind is not None:
            for job in self.busy.values():
                job.cancel()
        self.pool.shutdown(wait=True)
        if kind is None:
            for slot in sorted(self.busy):
                self.wait_for(slot)
        return False


# ----------------------------------------------------------------------------------------------
# Every step's values

def log_singular_curves(cell: Cell, cache: dict, progress=None, keep=None) -> np.ndarray:
    """log10 σᵢ(∂s_t/∂s₀) = log10 σᵢ(J_t ⋯ J₁) for t = 0..T, every i: (T+1, m), descending,
    row 0 all zeros (the identity). `cache` is `forward.forward(...)`'s output (finite).
    progress(fraction) returning False raises Cancelled. keep: as `_accumulate`'s."""
    T, m = cache["T"], cell.state_size
    out = np.zeros((T + 1, m))

    def take(a, Bs, Es):
        out[a + 1:a + 1 + Bs.shape[0]] = log2_singular_values(Bs, Es, overwrite=True) * LOG10_2

    _accumulate(cell, cache, take, progress=progress, keep=keep)
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
    return log_singular_curves(cell, finite_cache(cell, cache), progress)


# ----------------------------------------------------------------------------------------------
# One step with its singular vectors: which components of ∂ℓ/∂s_t reach s₀.

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
    g = gradient_vector(cell, grad)
    with np.errstate(over="ignore", invalid="ignore"):
        cache = finite_cache(cell, forward(cell, inputs, h0, c0))
    if not 0 <= int(t) <= cache["T"]:
        raise ValueError(f"step t must lie in 0..{cache['T']}, got {t}")
    state = _accumulate(cell, cache, stop=int(t))
    return split_from_state(cell, state, g, _exact_zeros(cell, cache))


def gradient_vector(cell: Cell, grad) -> np.ndarray:
    """g = ∂ℓ/∂s_t as an (m,) float64 vector: an LSTM's (n,) is ∂ℓ/∂h_t with ∂ℓ/∂c_t = 0.
    ValueError unless m (or the LSTM's n) finite numbers."""
    m, n = cell.state_size, cell.hidden_size
    g = np.asarray(grad, dtype=np.float64).ravel()
    if cell.kind == "lstm" and g.shape == (n,):
        g = np.concatenate([g, np.zeros(n)])
    if g.shape != (m,) or not np.all(np.isfinite(g)):
        raise ValueError(f"the gradient must be {m} finite numbers")
    return g


def split_from_state(cell: Cell, state: GradedState, g: np.ndarray, zeros=None) -> GradientSplit:
    """The split of g (m,) — already read by `gradient_vector` — along the singular directions
    of the product held by `state` (P_t, t = state.t). zeros: `_exact_zeros` of the run, or None."""
    m, t = cell.state_size, int(state.t)
    l, U, V = graded_svd(state)
    if zeros is not None and zeros[t]:
        l[m - zeros[t]:] = -np.inf
    c = U.T @ g
    with np.errstate(divide="ignore"):
        reach = l * LOG10_2 + np.log10(np.abs(c))
    finite = reach[np.isfinite(reach)]
    top = finite.max() if finite.size else -np.inf
    total = top + 0.5 * math.log10(float(np.sum(10.0 ** (2 * (finite - top))))) if finite.size else -np.inf
    return GradientSplit(t, l * LOG10_2, c, reach, float(total), U, V)
