"""Connectivity: how much each input x_k still reaches the state h_t (or a readout ŷ_t), exactly.

    A[t−1, k−1] = log10 ‖∂h_t/∂x_k‖₂   for 1 ≤ k ≤ t ≤ T,   −inf for k > t (h_t never sees later x).

Chain rule (s = h, or [h; c] for the LSTM; m = state size, n = hidden, d = input size):

    ∂h_t/∂x_k = H_t · J_t J_{t−1} ⋯ J_{k+1} · B_k,   J_j = ∂s_j/∂s_{j−1} (m, m),  B_k = ∂s_k/∂x_k (m, d),

H_t = [I_n 0] (n, m) picks h out of s; for a readout ŷ_t = R h_t + b it is R [I 0] (p, m), and for
softmax probabilities (diag y_t − y_t y_tᵀ) R [I 0]. J comes from `cells.jacobian_from_cache`, B from
`cells.input_jacobian_from_cache`; `influence.influence` reads a row ("how to read it").

Exact in log space: every factor and running product is kept as mantissa · 2^e with an integer e
(power-of-two rescaling is exact), so log10‖·‖ = (e + log2‖mantissa‖₂)·log10 2 never over- or
underflows; σ₁ of each (q, d) block is certified to relative 1e-12 by a warm-started power
iteration, or taken from an exact eigvalsh of its Gram matrix (block_norms.py).

Schemes (all O(T²) block products, memory O(budget), never T²·n² floats):
  row(t)      one backward sweep G ← G J_k from G = H_t (k = t … 1), norms of G B_k batched;
  matrix()    "forward": all x_k's blocks P_k ← J_t P_k side by side (Z = Pᵀ stacked, one GEMM a
              step, work d·m² per pair), or "backward": all rows' G side by side (q·m² per pair),
              whichever is cheaper, seeds chunked to the memory budget; "rows": T row sweeps;
  linear RNN  (every φ' = 1: identity, or ReLU with all units on) J_k = W, B_k = W_ih: A is Toeplitz,
              A[t−1, k−1] = ℓ(t−k), ℓ(j) = log10‖W^j W_ih‖, one sweep for everything.
"""
from __future__ import annotations

import numpy as np

from .block_norms import HI, LO, FactorStack, log2_norms, pow2, renorm, start
from .cell_step import Cell
from .cells import input_jacobian, input_jacobian_from_cache, jacobian_from_cache
from .forward import forward, take
from .influence import Influence, influence
from .product_norms import LOG10_2
from .progress import Cancelled, report

__all__ = ["Cancelled", "Connectivity", "Influence", "connectivity_row", "influence",
           "input_connectivity", "input_jacobian", "input_jacobian_from_cache",
           "output_connectivity", "prepare", "trace_connectivity"]

#: Floats per work array (stacked factors, stacked running products): 2²¹ = 16 MiB.
MAX_FLOATS = 1 << 21


# ----------------------------------------------------------------------------------------------

class Connectivity:
    """A sequence prepared for connectivity: the forward cache of `forward.forward`, the
    normalised factors J_j and B_j (kept when they fit in `max_floats`) and the head H_t.
    Prepare once per setup, then `row(t)` as the cursor moves and `matrix()` off the GUI thread.

    T steps; rows t ≤ valid are exact, later rows NaN (an RNN whose state left float64 range at
    `overflow_step`, the same step as `simulate`'s; never for the identity RNN, whose J and B do
    not depend on the state); q = rows of H_t (n, or p for a readout); linear: Toeplitz case."""

    def __init__(self, cell: Cell, cache: dict, *, readout=None, readout_bias=None,
                 softmax: bool = False, max_floats: int = MAX_FLOATS):
        self.cell, self.cache, self.max_floats = cell, cache, int(max_floats)
        self.T = T = int(cache["T"])
        n = cell.hidden_size
        self.n, self.m, self.d = n, cell.state_size, cell.input_size
        self.overflow_step = self._overflow()
        self.valid = T if self.overflow_step is None else self.overflow_step - 1
        self.readout, self.softmax = None, bool(softmax)
        if readout is not None:
            R = np.asarray(readout, dtype=np.float64)
            if R.ndim != 2 or R.shape[1] != n or not np.isfinite(R).all():
                raise ValueError(f"readout must be a finite (p, {n}) matrix, got shape {R.shape}")
            b = np.zeros(R.shape[0]) if readout_bias is None else np.asarray(readout_bias, float)
            if b.shape != (R.shape[0],):
                raise ValueError(f"readout bias must have shape ({R.shape[0]},)")
            self.readout, self.readout_bias = R, b
        elif softmax:
            raise ValueError("softmax needs a readout")
        self.q = n if readout is None else self.readout.shape[0]
        self.linear = (cell.kind == "rnn" and not self.softmax
                       and bool(np.all(cache["slope"][:self.valid] == 1.0)))
        m, d = self.m, self.d
        self._J = FactorStack(lambda a, b: jacobian_from_cache(cell, take(cache, a, b)), self.valid,
                         m * m, self.max_floats)
        self._B = FactorStack(lambda a, b: input_jacobian_from_cache(cell, take(cache, a, b)),
                         self.valid, m * d, self.max_floats)
        self._lag = self._head = None
        if not self.softmax:
            self._head = self.head(0)                 # H_t = H: the same at every step

    def _overflow(self):
        cell, c = self.cell, self.cache
        if not self.T or (cell.kind == "rnn" and cell.nonlinearity == "identity"):
            return None
        bad = np.zeros(self.T, dtype=bool)
        for v in take(c, 0, self.T).values():
            bad |= ~np.isfinite(v).all(axis=1)
        return int(np.argmax(bad)) + 1 if bad.any() else None

    def head(self, t: int):
        """H_t (q, m) = 2^e · H̃ for step t (1-based): [I 0], R [I 0] or (diag y − y yᵀ) R [I 0]."""
        if self._head is not None:
            return self._head
        R = np.eye(self.n) if self.readout is None else self.readout
        if self.softmax:                              # ∂ softmax(z)/∂z = diag(y) − y yᵀ
            z = R @ self.cache["h"][t - 1] + self.readout_bias
            y = np.exp(z - z.max())
            y /= y.sum()
            R = (np.diag(y) - np.outer(y, y)) @ R
        H = np.zeros((1, R.shape[0], self.m))
        H[0, :, :self.n] = R
        H, e = pow2(H)
        H.flags.writeable = False
        return H[0], int(e[0])

    # -- one row ------------------------------------------------------------------------------
    def row(self, t: int, progress=None) -> np.ndarray:
        """A[t−1, :] (T,): log10 ‖∂h_t/∂x_k‖₂ for k = 1…t, −inf for k > t (NaN past `valid`).
        progress(fraction) every 64 steps of the sweep; returning False raises Cancelled."""
        T = self.T
        if not 1 <= int(t) <= T:
            raise ValueError(f"step t must be in 1…{T}, got {t}")
        t = int(t)
        out = np.full(T, -np.inf)
        if t > self.valid:
            out[:t] = np.nan
        elif self.linear:
            out[:t] = self.lags(progress)[t - 1::-1]  # Toeplitz: A[t−1, k−1] = ℓ(t − k)
        else:
            self._sweep_row(t, out, progress)
        return out

    def lags(self, progress=None) -> np.ndarray:
        """Linear RNN only: ℓ(j) = log10 ‖W^j W_ih‖ (the row at t = valid, reversed), cached."""
        if not self.linear:
            raise ValueError("lags exist only for a linear RNN (every φ' = 1)")
        if self._lag is None:
            out = np.full(self.T, -np.inf)
            if self.valid:
                self._sweep_row(self.valid, out, progress)
            self._lag = out[:self.valid][::-1].copy()
        return self._lag

    def _sweep_row(self, t: int, out: np.ndarray, progress=None):
        """Backward sweep for row t: G_k = H_t J_t ⋯ J_{k+1} (k = t … 1) into a chunk buffer one
        step at a time (the only serial part), then the chunk's G_k B_k and their norms batched."""
        G, e = self.head(t)
        v = np.broadcast_to(start(self.q), (1, self.q))
        hi = t                                       # 0-based steps j = k − 1 still to do: < hi
        while hi > 0:
            mats, exps, lo, _ = self._B.block(hi - 1)
            C = hi - lo
            buf, eb = np.empty((C, self.q, self.m)), np.empty(C, dtype=np.int64)
            for r, j in enumerate(range(hi - 1, lo - 1, -1)):
                if j < t - 1:                        # G ← G J_{k+1}, J_{k+1} = step j + 1
                    J, ej = self._J.get(j + 1)
                    np.matmul(G, J, out=buf[r])
                    e += ej
                    f = float(np.dot(buf[r].ravel(), buf[r].ravel()))
                    if not LO < f < HI:             # exact power-of-two rescaling
                        buf[r:r + 1], eg = pow2(buf[r:r + 1])
                        e += int(eg[0])
                else:
                    buf[r] = G
                G, eb[r] = buf[r], e
                if progress is not None and r % 64 == 63:
                    report(progress, (t - j) / t)
            X = np.matmul(buf, mats[hi - 1 - lo::-1])          # G_k B_k, k = hi … lo + 1
            V = np.repeat(v, C, axis=0)
            l2 = log2_norms(X, V, iters=3)
            out[lo:hi] = ((eb + exps[hi - 1 - lo::-1] + l2) * LOG10_2)[::-1]
            v = V[-1:]
            hi = lo

    # -- the whole matrix ---------------------------------------------------------------------
    def matrix(self, progress=None, scheme: str = "auto") -> np.ndarray:
        """A (T, T), see the module docstring. scheme: "auto", "forward", "backward", "rows".
        progress(fraction) now and then; returning False raises Cancelled."""
        T, Tv = self.T, self.valid
        out = np.full((T, T), -np.inf)
        for i in range(Tv, T):                       # past the overflow: unknown
            out[i, :i + 1] = np.nan
        report(progress, 0.0)
        if scheme == "auto":
            scheme = "linear" if self.linear else ("forward" if self._forward_cheaper() else "backward")
        if scheme == "linear":
            lag = self.lags(progress)
            for i in range(Tv):
                out[i, :i + 1] = lag[i::-1]
        elif scheme == "rows":
            for t in range(1, Tv + 1):
                self._sweep_row(t, out[t - 1])
                if t % 16 == 0:
                    report(progress, t * (t + 1) / (Tv * (Tv + 1)))
        elif scheme in ("forward", "backward"):
            self._sweep_all(out, scheme == "forward", progress)
        else:
            raise ValueError(f"unknown scheme {scheme!r}")
        report(progress, 1.0)
        return out

    def _forward_cheaper(self) -> bool:
        """Work per (t, k) pair: forward d·m² (+ q·m·d for a readout), backward q·m² + q·m·d."""
        m, d, q = self.m, self.d, self.q
        return d * m * m + (0 if self.readout is None else q * m * d) <= q * m * m + q * m * d

    def _sweep_all(self, out, fwd: bool, progress):
        """Every pair at once. Forward: seeds are B_kᵀ (d, m), Z_k ← Z_k J_tᵀ, X = Z_k H_tᵀ;
        backward: seeds are H_t (q, m), Z_t ← Z_t J_{k+1}, X = Z_t B_k. Each block's σ₁ rides a
        power iteration warm-started from the step before. Seeds in chunks of the budget."""
        T, m = self.valid, self.m
        w = self.d if fwd else self.q
        K = max(1, min(T, self.max_floats // (w * m)))
        total, done = T * (T + 1) / 2, 0
        for s0 in range(0, T, K):
            s1 = min(T, s0 + K)
            Z, Zb = np.empty((s1 - s0, w, m)), np.empty((s1 - s0, w, m))
            e = np.zeros(s1 - s0, dtype=np.int64)
            v = np.empty((s1 - s0, w))
            for i in range(s0, T):
                a = min(i, s1) - s0                  # blocks already there
                if a:
                    R, er = self._J.get(i) if fwd else self._J.get(T - i)
                    np.matmul(Z[:a].reshape(-1, m), R.T if fwd else R, out=Zb[:a].reshape(-1, m))
                    Z, Zb = Zb, Z
                    if er:
                        e[:a] += er
                if i < s1:                           # the new seed
                    if fwd:
                        S, es = self._B.get(i)
                        Z[a] = S.T
                    else:
                        Z[a], es = self.head(T - i)
                    e[a], v[a] = es, start(w)
                    a += 1
                F = renorm(Z[:a], e[:a])
                X, ex, FX = self._head_blocks(i, fwd, Z[:a], F)
                l2 = log2_norms(X, v[:a], FX)
                vals = (e[:a] + ex + l2) * LOG10_2
                if fwd:
                    out[i, s0:s0 + a] = vals
                else:
                    out[T - 1 - s0 - np.arange(a), T - 1 - i] = vals
                done += a
                if i % 32 == 0 or a * w * m * m > 1 << 22:     # big steps: report each one
                    report(progress, done / total)

    def _head_blocks(self, i: int, fwd: bool, Z: np.ndarray, F: np.ndarray):
        """Blocks X (a, w, q) whose σ₁ are the entries, their extra exponent, ‖X‖_F² if known."""
        a, m, n = Z.shape[0], self.m, self.n
        if fwd:
            if self.readout is None:
                return (Z, 0, F) if m == n else (Z[:, :, :n], 0, None)
            H, eh = self.head(i + 1)
            return np.matmul(Z.reshape(-1, m), H.T).reshape(a, -1, H.shape[0]), eh, None
        Bk, eb = self._B.get(self.valid - 1 - i)
        return np.matmul(Z.reshape(-1, m), Bk).reshape(a, -1, self.d), eb, None


# ----------------------------------------------------------------------------------------------

def prepare(cell: Cell, inputs, h0=None, c0=None, *, readout=None, readout_bias=None,
            softmax: bool = False, progress=None) -> Connectivity:
    """Run the cell over inputs (T, d) (`forward.forward`) and prepare its connectivity."""
    with np.errstate(over="ignore", invalid="ignore"):
        cache = forward(cell, inputs, h0, c0, progress)
    return Connectivity(cell, cache, readout=readout, readout_bias=readout_bias, softmax=softmax)


def _then(progress, lo: float):
    return None if progress is None else (lambda f: progress(lo + (1.0 - lo) * f))


def input_connectivity(cell: Cell, inputs, h0=None, c0=None, progress=None) -> np.ndarray:
    """A (T, T) float64: A[t−1, k−1] = log10 ‖∂h_t/∂x_k‖₂ (k ≤ t), −inf above the diagonal.
    progress(fraction) may return False to cancel (raises Cancelled)."""
    return prepare(cell, inputs, h0, c0, progress=progress).matrix(_then(progress, 0.2))


def output_connectivity(cell: Cell, inputs, readout_W, readout_b=None, h0=None, c0=None, *,
                        softmax: bool = False, progress=None) -> np.ndarray:
    """A (T, T): log10 ‖∂ŷ_t/∂x_k‖₂ for the readout ŷ_t = readout_W h_t + readout_b (p, n) —
    the logits, or with softmax=True the probabilities softmax(ŷ_t)."""
    conn = prepare(cell, inputs, h0, c0, readout=readout_W, readout_bias=readout_b,
                   softmax=softmax, progress=progress)
    return conn.matrix(_then(progress, 0.2))


def trace_connectivity(cell: Cell, trace, progress=None) -> dict:
    """{"log10_input_connectivity": A (T, T)} of a trace's inputs from h0 = c0 = 0 (as `simulate`
    runs), the array `simulate --connectivity` adds to its .npz. ValueError beyond MAX_STEPS (the
    app's longest sequence: A is T² floats, 200 MB at T = 5000)."""
    from .config import MAX_STEPS
    T = int(trace.inputs.shape[0])
    if T > MAX_STEPS:
        raise ValueError(f"connectivity: T = {T} steps; at most {MAX_STEPS}")
    return {"log10_input_connectivity": input_connectivity(cell, trace.inputs, progress=progress)}


def connectivity_row(cell: Cell, cache_or_inputs, t: int, h0=None, c0=None) -> np.ndarray:
    """Row t of the input connectivity, A[t−1, :] (T,), by one backward sweep. cache_or_inputs:
    a `Connectivity` (fastest: its factors are reused from call to call), a `forward` cache, or
    the inputs (T, d)."""
    if isinstance(cache_or_inputs, Connectivity):
        return cache_or_inputs.row(t)
    if isinstance(cache_or_inputs, dict):
        return Connectivity(cell, cache_or_inputs).row(t)
    return prepare(cell, cache_or_inputs, h0, c0).row(t)

