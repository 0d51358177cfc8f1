"""Everything the app draws for one setup, computed in one pure function (run off the GUI thread).

Analysis = the cell, its trace, and the closed-form companions of the measured curve:
σ_iᵗ of the recurrent weights (as t·log10 σ_i), Pascanu's bound (γσ₁)ᵗ, the clipped norm.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .cells import Cell
from .config import Config
from .simulate import Trace, simulate
from .theory import clipped_log_norm, pascanu_bound, power_curves


@dataclass(frozen=True, eq=False)
class Analysis:
    config: Config
    cell: Cell
    trace: Trace
    tokens: list | None
    singular_values: dict          # block name → (n,) singular values, descending
    eigenvalues: dict              # block name → (n,) complex eigenvalues
    sigma1: float                  # largest singular value over all recurrent blocks
    sigma_curves: np.ndarray       # (n, T+1): t·log10 σ_i for the block holding σ₁
    pascanu: np.ndarray            # (T+1,): log10 (γσ₁)ᵗ
    clipped: np.ndarray            # (T+1,): log10 min(‖∂s_t/∂s_0‖, threshold)
    weights_name: str | None = None

    @property
    def steps(self) -> int:
        return self.trace.steps

    @property
    def top_block(self) -> str:
        """The recurrent block holding σ₁ (the one sigma_curves describe)."""
        return max(self.singular_values, key=lambda k: self.singular_values[k][0])

    @property
    def spectral_radius(self) -> float:
        """ρ = max |λ| of the block holding σ₁; ‖Wᵗ‖^(1/t) → ρ (Gelfand), ρ ≤ σ₁."""
        return float(np.max(np.abs(self.eigenvalues[self.top_block])))

    def is_normal(self, block: str | None = None) -> bool:
        """W Wᵀ = Wᵀ W (to rounding) for `block` (default: the top block): then ‖Wᵗ‖ = σ₁ᵗ = ρᵗ."""
        return self._normality[block or self.top_block]

    @property
    def rho_below_sigma1(self) -> bool:
        """W (the top block) is not normal and ρ < σ₁: ‖Wᵗ‖ then follows ρᵗ, not σ₁ᵗ (Gelfand)."""
        return not self.is_normal() and 0 < self.spectral_radius < self.sigma1 * (1 - 1e-6)

    @cached_property
    def _normality(self) -> dict:
        blocks = self.cell.recurrent_blocks()
        return {k: normal_matrix(w, float(self.singular_values[k][0])) for k, w in blocks.items()}

    @property
    def smooth(self) -> bool:
        """True unless the derivatives can be exactly 0 (a ReLU RNN): then a zero Jacobian
        product can only be float64 underflow."""
        return not (self.cell.kind == "rnn" and self.cell.nonlinearity == "relu")


def normal_matrix(w: np.ndarray, sigma1: float) -> bool:
    """W Wᵀ = Wᵀ W up to rounding (relative to σ₁²): W is normal."""
    return bool(np.allclose(w @ w.T, w.T @ w, atol=1e-10 * max(1.0, sigma1 ** 2)))


def analyse(config: Config, cell: Cell | None = None, *, weights_name=None,
            progress=None) -> Analysis:
    """Build (or take) the cell and inputs for `config`, simulate, and add the theory curves."""
    cell = config.build_cell() if cell is None else cell
    x, tokens = config.build_inputs(cell.input_size)
    trace = simulate(cell, x, progress=progress)
    blocks = cell.recurrent_blocks()
    svals = {k: np.linalg.svd(w, compute_uv=False) for k, w in blocks.items()}
    eigs = {k: np.linalg.eigvals(w) for k, w in blocks.items()}
    top = max(svals, key=lambda k: svals[k][0])
    s1 = float(svals[top][0])
    T = trace.steps
    gamma_kind = cell.nonlinearity if cell.kind == "rnn" else "tanh"
    return Analysis(config, cell, trace, tokens, svals, eigs, s1, power_curves(svals[top], T),
                    pascanu_bound(s1, T, gamma_kind), clipped_log_norm(trace.log10_jac_norm,
                                                                       config.clip or None),
                    weights_name)
