"""Directions benchmarks (issue 14, requirement 7): every singular value of ∂s_t/∂s₀ at every
step (`core.directions.log10_singular_values`, forward pass included), and the floor of its QR
work measured in the same run: T Householder QR factorisations (`numpy.linalg.qr`) of m × m
matrices chained by T m × m matmuls, q ← qr(J_t q), in a tight loop. NumPy only.

    python -m benchmarks.directions_bench [--runs N] [--blas-threads N|auto]

(one BLAS thread by default, as the app runs; set before NumPy loads).
"""
from __future__ import annotations

import os
import sys

if __name__ == "__main__":                    # before NumPy loads (see benchmarks/__main__.py)
    _threads = "1"
    if "--blas-threads" in sys.argv:
        _threads = sys.argv[sys.argv.index("--blas-threads") + 1]
    if _threads != "auto":
        for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(_var, str(int(_threads)))

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from core import Config  # noqa: E402
from core.directions import log10_singular_values  # noqa: E402
from core.lyapunov import lyapunov_spectrum  # noqa: E402

#: metric → Config overrides (everything else Config's default: n = 16, T = 365, identity RNN)
DIRECTIONS_CASES = {
    "directions_default": {},
    "directions_lstm_n64_T1000": {"cell": "lstm", "hidden": 64, "length": 1000},
}
LIMIT = ("qr_limit_lstm_n64_T1000", "directions_lstm_n64_T1000")
LYAPUNOV = ("lyapunov_lstm_n64_T1000", "directions_lstm_n64_T1000")


def setup(overrides: dict):
    cfg = Config(**overrides)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    return cell, x


def _timed(f) -> tuple[float, float]:
    """(wall ms, CPU ms of this process) of f(). On a busy shared machine the CPU time is the
    steadier measure of the work; both are reported."""
    w0, c0 = time.perf_counter(), time.process_time()
    f()
    return (time.perf_counter() - w0) * 1e3, (time.process_time() - c0) * 1e3


def time_directions(cell, x) -> tuple[float, float]:
    return _timed(lambda: log10_singular_values(cell, x))


def time_lyapunov(cell, x) -> tuple[float, float]:
    return _timed(lambda: lyapunov_spectrum(cell, x))


def qr_limit(m: int, T: int, rng=None) -> None:
    """T chained steps q ← qr(J_t q) of (m, m) float64 matrices: one numpy.matmul (out= buffer)
    and one numpy.linalg.qr each, nothing else."""
    rng = rng or np.random.default_rng(0)
    js = rng.standard_normal((8, m, m)) / np.sqrt(m)
    q, p = np.eye(m), np.empty((m, m))
    for t in range(T):
        np.matmul(js[t & 7], q, out=p)
        q, _ = np.linalg.qr(p)


def time_qr_limit(m: int, T: int, rng=None) -> tuple[float, float]:
    return _timed(lambda: qr_limit(m, T, rng))


def run_directions(runs: int = 7) -> dict[str, float]:
    """Medians (ms) of interleaved runs (a busy neighbour slows every metric alike), wall clock
    and, as `<name>_cpu`, this process's CPU time; and the ratios directions / QR limit."""
    setups = {name: setup(over) for name, over in DIRECTIONS_CASES.items()}
    for cell, x in setups.values():            # warm-up (imports, allocator, BLAS init)
        log10_singular_values(cell, x)
    lstm_cell, lstm_x = setups[LIMIT[1]]
    m, T = lstm_cell.state_size, lstm_x.shape[0]
    time_qr_limit(m, 20)
    samples: dict[str, list[tuple[float, float]]] = {
        name: [] for name in (*DIRECTIONS_CASES, LIMIT[0], LYAPUNOV[0])}
    for _ in range(runs):
        for name, (cell, x) in setups.items():
            samples[name].append(time_directions(cell, x))
        samples[LIMIT[0]].append(time_qr_limit(m, T))
        samples[LYAPUNOV[0]].append(time_lyapunov(lstm_cell, lstm_x))
    out: dict[str, float] = {}
    for name, v in samples.items():
        out[name] = float(np.median([w for w, _ in v]))
        out[name + "_cpu"] = float(np.median([c for _, c in v]))
    out["ratio_lstm_to_qr_limit"] = out[LIMIT[1]] / out[LIMIT[0]]
    out["ratio_lstm_to_qr_limit_cpu"] = out[LIMIT[1] + "_cpu"] / out[LIMIT[0] + "_cpu"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.directions_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7, help="interleaved runs per metric (default 7)")
    p.add_argument("--blas-threads", default="1", help="BLAS threads (default 1; 'auto': leave alone)")
    args = p.parse_args(argv)
    res = run_directions(args.runs)
    print(f"BLAS threads: {os.environ.get('OPENBLAS_NUM_THREADS', 'default')}, runs: {args.runs}")
    targets = {"directions_default": "≤ 15 ms", "ratio_lstm_to_qr_limit": "≤ 2"}
    for name, v in res.items():
        print(f"{name:30s} {v:10.2f}  {targets.get(name, '')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
