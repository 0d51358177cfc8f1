"""Engine benchmarks: one full `simulate` (states, gates and the whole log10‖∂s_t/∂s_0‖ curve),
and the bare-matmul floor of the same run's Jacobian-product work. NumPy only."""
from __future__ import annotations

import time

import numpy as np
from gatescope.core import Config, simulate

#: metric → (cell kind, hidden size n, steps T); every other setting is Config's default.
CORE_CASES = {
    "core_lstm_n16_T200": ("lstm", 16, 200),
    "core_lstm_n64_T1000": ("lstm", 64, 1000),
    "core_gru_n64_T1000": ("gru", 64, 1000),
    "core_rnn_n64_T1000": ("rnn", 64, 1000),
}
LIMIT = ("matmul_limit_lstm_n64_T1000", "core_lstm_n64_T1000")


def setup(kind: str, n: int, T: int):
    cfg = Config(cell=kind, hidden=n, length=T)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    return cell, x


def time_simulate(cell, x) -> float:
    t0 = time.perf_counter()
    simulate(cell, x)
    return (time.perf_counter() - t0) * 1e3


def time_matmul_limit(m: int, T: int, rng=None) -> float:
    """T chained products P ← J_t P of (m, m) float64 matrices as bare numpy.matmul calls (ms)."""
    rng = rng or np.random.default_rng(0)
    js = rng.standard_normal((8, m, m)) / np.sqrt(m)
    p, q = np.eye(m), np.empty((m, m))
    t0 = time.perf_counter()
    for t in range(T):
        np.matmul(js[t & 7], p, out=q)
        p, q = q, p
    return (time.perf_counter() - t0) * 1e3


def run_core(runs: int) -> dict[str, list[float]]:
    """name → list of times (ms). Runs are interleaved across metrics, so that a busy neighbour
    on a shared machine slows all of them alike and the ratios stay meaningful."""
    setups = {name: setup(*spec) for name, spec in CORE_CASES.items()}
    for cell, x in setups.values():            # warm-up (imports, allocator, BLAS init)
        simulate(cell, x)
    time_matmul_limit(128, 50)
    out: dict[str, list[float]] = {name: [] for name in (*CORE_CASES, LIMIT[0])}
    _, n, T = CORE_CASES[LIMIT[1]]
    for _ in range(runs):
        for name, (cell, x) in setups.items():
            out[name].append(time_simulate(cell, x))
        out[LIMIT[0]].append(time_matmul_limit(2 * n, T))
    return out
