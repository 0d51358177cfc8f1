"""`simulate --directions`: every singular value of ∂s_t/∂s₀ and the Lyapunov spectrum in the
trace export.

    add_directions_options(parser)              # adds --directions
    extra = directions_arrays(cell, inputs, trace) if args.directions else None
    write_trace(trace, args.out, tokens, extra)  # NPZ arrays / CSV columns

log10_singular_values (T+1, m): log10 σᵢ(∂s_t/∂s₀), descending, row 0 zeros
(core.directions.log_singular_curves); lyapunov (m,): the Lyapunov exponents in nats per step,
descending (core.lyapunov.lyapunov_spectrum), omitted for a trace of no steps.
"""
from __future__ import annotations

import argparse

import numpy as np

from ..directions import log10_singular_values
from ..lyapunov import lyapunov_spectrum
from ..simulate import Trace


def add_directions_options(parser: argparse.ArgumentParser) -> None:
    """Add --directions (a flag) to the simulate command's parser."""
    parser.add_argument(
        "--directions", action="store_true",
        help="also write every singular value of ∂s_t/∂s₀ (log10_singular_values, one column a "
             "direction) and the Lyapunov spectrum (lyapunov, nats per step) with --out")


def directions_arrays(cell, inputs, trace: Trace) -> dict[str, np.ndarray]:
    """{"log10_singular_values": (T+1, m), "lyapunov": (m,)} for the trace `trace` that
    simulate(cell, inputs) made (T = trace.steps: an overflowed trace's steps only; its own
    h0, c0). The singular values are the trace's own when it has them (directions=True)."""
    T = trace.steps
    x = np.asarray(inputs, dtype=np.float64)[:T]
    h0 = trace.h[0]
    c0 = None if trace.c is None else trace.c[0]
    sv = trace.log10_singular_values
    if sv is None:
        sv = np.full((T + 1, cell.state_size), np.nan)
        got = log10_singular_values(cell, x, h0, c0)
        sv[:got.shape[0]] = got
        sv[np.isneginf(np.asarray(trace.log10_jac_norm))] = -np.inf
    out = {"log10_singular_values": np.asarray(sv, dtype=np.float64)}
    if T > 0:
        out["lyapunov"] = lyapunov_spectrum(cell, x, h0, c0)
    return out
