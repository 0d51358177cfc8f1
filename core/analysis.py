"""Everything the app draws for one setup, computed in one pure function (run off the GUI thread).

Analysis = the cell, its trace, and the closed-form companions of the measured curve:
σ_iᵗ of the recurrent weights (as t·log10 σ_i), Pascanu's bound (γσ₁)ᵗ, the clipped norm.
"""
from __future__ import annotations

from dataclasses import dataclass

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
    def smooth(self) -> bool:
        """True unless the derivatives can be exactly 0 (a ReLU RNN): then a zero Jacobian
        product can only be float64 underflow."""
        return not (self.cell.kind == "rnn" and self.cell.nonlinearity == "relu")


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
