"""Splits of a chosen ∂ℓ/∂s_t along the singular directions of ∂s_t/∂s₀ at any step t of one
trace, quickly: the notes' ∂ℓ/∂s₀ = Σᵢ σᵢ vᵢ uᵢᵀ ∂ℓ/∂s_t as the cursor moves.

`directions.split_gradient` runs the graded QR recursion P_t = Q_t diag(2^{e_t}) B_t
(directions._accumulate) from step 0 to t for every split: O(t) steps. A SplitCache keeps the
graded state every K steps (checkpoints), so a split at t advances at most K − 1 steps from the
checkpoint at or below t, or one step from the previous split's state when t is the next step
(play). The pass that gives every σᵢ curve (`curves`) records the checkpoints on its way.
Checkpoints hold at most MAX_FLOATS float64 in all (K grows with T·m²). The recursion restarted
from a state is the same recursion (the state is re-normalised first, an exact rescaling), so a
split equals split_gradient's to rounding (≈ 1e-12 relative in log σ, tested).

Thread-safe: the GUI thread and a worker may ask at once. The lock guards only the choice of a
starting state, never a computation, so a long pass on a worker never blocks the GUI thread;
checkpoints are added to a dict (atomic under the GIL) and never changed.
"""
from __future__ import annotations

import math
import threading
import weakref

import numpy as np

from .cell_step import Cell
from .directions import (
    LOG10_2,
    GradientSplit,
    _accumulate,
    _exact_zeros,
    gradient_vector,
    log_singular_curves,
    split_from_state,
)
from .forward import finite_cache, forward

#: at most this many float64 in all checkpoints of one cache (Q and B: 2m² a checkpoint)
MAX_FLOATS = 1 << 21
#: the densest spacing of checkpoints, in steps
MIN_EVERY = 8


class SplitCache:
    """SplitCache(cell, inputs (T, d), h0=None, c0=None): split(t, g) → GradientSplit as
    directions.split_gradient(cell, inputs, t, g, h0, c0); curves(progress) → the (T'+1, m)
    log10 σᵢ of directions.log_singular_curves (recording the checkpoints); steps_to(t) → how
    many recursion steps split(t, …) would take now (for deciding where to run it)."""

    def __init__(self, cell: Cell, inputs, h0=None, c0=None):
        self.cell = cell
        with np.errstate(over="ignore", invalid="ignore"):
            self.cache = finite_cache(cell, forward(cell, inputs, h0, c0))
        self.steps = int(self.cache["T"])
        m = cell.state_size
        self.every = max(MIN_EVERY, math.ceil(self.steps * 2 * m * m / MAX_FLOATS))
        self._keep: dict = {}                    # t (a multiple of every) → GradedState
        self._last = None                        # the state of the newest split
        self._zeros = _exact_zeros(cell, self.cache)
        self._lock = threading.Lock()

    # -- where a split starts ------------------------------------------------------------------
    def _start(self, t: int):
        """The latest known state at or before step t (None: from step 0)."""
        best = self._keep.get((t // self.every) * self.every)
        if best is None:
            known = [k for k in list(self._keep) if k <= t]     # list(): atomic under the GIL
            best = self._keep[max(known)] if known else None
        last = self._last
        if last is not None and last.t <= t and (best is None or last.t > best.t):
            best = last
        return best

    def steps_to(self, t: int) -> int:
        """Recursion steps a split at t would take from what is known now."""
        with self._lock:
            start = self._start(int(t))
        return int(t) - (start.t if start is not None else 0)

    # -- answers ---------------------------------------------------------------------------
    def split(self, t: int, grad) -> GradientSplit:
        t = int(t)
        if not 0 <= t <= self.steps:
            raise ValueError(f"step t must lie in 0..{self.steps}, got {t}")
        grad = gradient_vector(self.cell, grad)
        with self._lock:
            start = self._start(t)
        state = _accumulate(self.cell, self.cache, stop=t, start=start,
                            keep=(self.every, self._keep))
        with self._lock:
            self._last = state                   # play goes on from here
        return split_from_state(self.cell, state, grad, self._zeros)

    def curves(self, progress=None) -> np.ndarray:
        """log10 σᵢ(∂s_t/∂s₀), (T'+1, m), every step (as log_singular_curves), keeping the
        checkpoints for later splits."""
        return log_singular_curves(self.cell, self.cache, progress, keep=(self.every, self._keep))


_REGISTRY: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def existing_splits(analysis) -> SplitCache | None:
    """The analysis' SplitCache if one was made (splits_for), else None: nothing is computed."""
    with _REGISTRY_LOCK:
        return _REGISTRY.get(analysis)


def splits_for(analysis) -> SplitCache:
    """The one SplitCache of an analysis (its cell, its trace's inputs and initial state),
    shared by whoever asks (the Directions view, the Explain panel); it lives as long as the
    analysis does."""
    with _REGISTRY_LOCK:
        cache = _REGISTRY.get(analysis)
        if cache is None:
            tr = analysis.trace
            cache = SplitCache(analysis.cell, tr.inputs, tr.h[0], None if tr.c is None else tr.c[0])
            _REGISTRY[analysis] = cache
        return cache


__all__ = ["SplitCache", "MAX_FLOATS", "LOG10_2", "GradientSplit", "existing_splits", "splits_for"]
