"""Lyapunov exponents of a cell driven by an input sequence (nats per step).

Benettin's QR method (Benettin, Galgani, Giorgilli & Strelcyn 1980; for RNNs Engelken, Wolf &
Abbott 2020): an orthonormal frame Q is carried along the trajectory,

    J_t Q_{t−1} = Q_t R_t  (QR),        λᵢ = (1/T') Σ_t ln |R_t[i,i]|,

averaged over the steps after `discard` (the frame needs a few steps to align; the steps before
are still run). Σᵢ ln|R_t[i,i]| = ln|det R_t| = ln|det J_t| exactly, so Σᵢ λᵢ is the mean of
ln|det J_t| (phase-space contraction). λ₁ > 0: nearby trajectories separate (chaos); λ₁ < 0:
they converge, and every gradient direction eventually vanishes.

The largest exponent alone (`top_lyapunov_exponent`, used over a range of gains by
`edge_of_chaos`) follows one tangent vector, renormalised every step: the first column of the
same QR recursion, O(m²) a step instead of O(m³).
"""
from __future__ import annotations

import math

import numpy as np

from .cell_step import Cell, make_cell
from .cells import jacobian_from_cache
from .forward import JacobianProduct, finite_cache, forward, take
from .progress import report
from .qr import qr_step

CHUNK = 128


def _cache(cell: Cell, inputs, h0, c0, discard: int) -> dict:
    with np.errstate(over="ignore", invalid="ignore"):
        cache = finite_cache(cell, forward(cell, inputs, h0, c0))
    if not 0 <= int(discard) < max(cache["T"], 1):
        raise ValueError(f"discard must lie in 0..{max(cache['T'] - 1, 0)}, got {discard}")
    if cache["T"] == 0:
        raise ValueError("a Lyapunov exponent needs at least one step")
    return cache


def lyapunov_spectrum(cell: Cell, inputs, h0=None, c0=None, *, discard: int = 0,
                      progress=None) -> np.ndarray:
    """The m Lyapunov exponents (m = n, or 2n for the LSTM's [h; c]) in nats per step,
    descending, from the steps discard+1..T of `inputs` (T, d). −inf where a direction is
    annihilated exactly (a Jacobian with an exactly zero row, e.g. every ReLU unit off).
    progress(fraction) returning False raises progress.Cancelled."""
    cache = _cache(cell, inputs, h0, c0, discard)
    T, m = cache["T"], cell.state_size
    prod = JacobianProduct(cell, cache)
    Q, M = np.eye(m), np.empty((m, m))
    logs = np.zeros(m)
    with np.errstate(divide="ignore"):
        for a in range(0, T, CHUNK):
            report(progress, a / T)
            b = min(T, a + CHUNK)
            fac = prod.chunk(a, b)
            for j in range(b - a):
                prod.apply(fac, j, Q, M)                   # J_t Q_{t−1} = Q_t R_t
                Q, R, _ = qr_step(M)
                if a + j >= discard:
                    logs += np.log(np.abs(R.ravel()[::m + 1]))
    return -np.sort(-logs / (T - discard))


def log_abs_det_jacobians(cell: Cell, inputs, h0=None, c0=None) -> np.ndarray:
    """ln |det J_t| for t = 1..T (T,), from numpy.linalg.slogdet of each analytic J_t (formed
    CHUNK steps at a time)."""
    cache = _cache(cell, inputs, h0, c0, 0)
    T = cache["T"]
    return np.concatenate([np.linalg.slogdet(jacobian_from_cache(cell, take(cache, a, min(T, a + CHUNK))))[1]
                           for a in range(0, T, CHUNK)])


def top_lyapunov_exponent(cell: Cell, inputs, h0=None, c0=None, *, discard: int = 0,
                          v0=None) -> float:
    """λ₁ in nats per step from one tangent vector v (start v0, default a fixed random unit
    vector): v_t = J_t v_{t−1} / ‖J_t v_{t−1}‖, λ₁ = mean over the steps after `discard` of
    ln ‖J_t v_{t−1}‖. −inf if v is annihilated exactly."""
    cache = _cache(cell, inputs, h0, c0, discard)
    T, m = cache["T"], cell.state_size
    v = np.random.default_rng(20240601).standard_normal((m, 1)) if v0 is None else \
        np.asarray(v0, dtype=np.float64).reshape(m, 1).copy()
    v /= np.linalg.norm(v)
    prod = JacobianProduct(cell, cache)
    w = np.empty((m, 1))
    total = 0.0
    for a in range(0, T, CHUNK):
        b = min(T, a + CHUNK)
        fac = prod.chunk(a, b)
        for j in range(b - a):
            prod.apply(fac, j, v, w)
            norm = math.sqrt(float(np.vdot(w, w)))
            if norm == 0.0:
                return -math.inf
            if a + j >= discard:
                total += math.log(norm)
            np.divide(w, norm, out=v)
    return total / (T - discard)


def scaled_cell(cell: Cell, gain: float) -> Cell:
    """The same cell with every recurrent weight multiplied by `gain` (W_hh → gain · W_hh):
    the natural knob for `edge_of_chaos` on any cell."""
    return make_cell(cell.kind, cell.weight_ih, gain * cell.weight_hh, cell.bias_ih, cell.bias_hh,
                     nonlinearity=cell.nonlinearity, convention=cell.convention)


def gaussian_rnn(n: int, gain: float, *, input_size: int = 1, seed: int = 0,
                 nonlinearity: str = "tanh") -> Cell:
    """A vanilla RNN with W_hh entries N(0, gain²/n) (Sompolinsky, Crisanti & Sommers 1988: in
    the large-n limit the tanh network turns chaotic as the gain crosses 1), zero biases,
    W_ih entries N(0, 1/input_size)."""
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n, n)) * (gain / math.sqrt(n))
    w_ih = rng.standard_normal((n, input_size)) / math.sqrt(input_size)
    return make_cell("rnn", w_ih, w, nonlinearity=nonlinearity)


def edge_of_chaos(cell_factory, gains, inputs, h0=None, c0=None, *, discard: int = 0,
                  progress=None) -> np.ndarray:
    """λ₁ (nats per step, `top_lyapunov_exponent`) for each gain: cell_factory(gain) → Cell,
    run on the same inputs (T, d) from the same h0 (c0). → (len(gains),). Pure; for a
    background thread: progress(fraction done) is called before each gain and after the last,
    and returning False raises progress.Cancelled."""
    gains = np.asarray(gains, dtype=np.float64).ravel()
    out = np.empty(gains.shape[0])
    for k, g in enumerate(gains):
        report(progress, k / max(gains.shape[0], 1))
        out[k] = top_lyapunov_exponent(cell_factory(float(g)), inputs, h0, c0, discard=discard)
    report(progress, 1.0)
    return out
