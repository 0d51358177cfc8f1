"""Connectivity benchmarks (issue 15): the row log10 ‖∂h_t/∂x_k‖ at the current step t (one
backward sweep; target ≤ 5 ms on the default setup, so it follows the cursor) and the whole T × T
matrix (target ≤ 150 ms at T = 365, n = 16, off the GUI thread). NumPy only.

    python -m benchmarks.connectivity_bench [--runs N] [--json FILE]

Cases are `Config()` (the default: identity RNN, n = 16, T = 365, whose connectivity is
Toeplitz) and the same setup with a tanh RNN, an LSTM and a GRU in both forms. Metrics (ms,
median of the runs, interleaved across cases; the table adds the minimum and the median process
CPU time, which on a shared machine is closer to what an idle one would take):
  connectivity_row_<case>         `prepare(cell, x).row(T)`: forward pass, factors and one sweep,
                                  everything from the inputs;
  connectivity_row_cached_<case>  `conn.row(t)` on a prepared sequence while t steps back from T
                                  (what stepping the cursor costs once the sequence is prepared);
  connectivity_full_<case>        `input_connectivity(cell, x)`, the whole matrix;
  connectivity_full_rows_rnn_tanh the same by T row sweeps (scheme "rows"), for comparison.
"""
from __future__ import annotations

import os

if __name__ == "__main__":       # one BLAS thread, as the app; must be set before NumPy loads
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from gatescope.core import Config  # noqa: E402
from gatescope.core.connectivity import input_connectivity, prepare  # noqa: E402

#: case → Config overrides (everything else is the default setup: n = 16, T = 365)
CASES = {
    "default": {},
    "rnn_tanh": {"activation": "tanh"},
    "lstm": {"cell": "lstm"},
    "gru": {"cell": "gru"},
    "gru_seed": {"cell": "gru", "convention": "seed"},
}
#: metric → target (ms)
TARGETS = {"connectivity_row_default": 5.0, "connectivity_full_default": 150.0}


def setup(overrides: dict):
    cfg = Config(**overrides)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    return cell, x


CPU: dict[str, list[float]] = {}      # metric → process CPU times (ms) of the same runs


def _ms(fn, *args, name: str | None = None) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    fn(*args)
    if name is not None:
        CPU.setdefault(name, []).append((time.process_time() - c0) * 1e3)
    return (time.perf_counter() - t0) * 1e3


def run_connectivity(runs: int, cases: dict | None = None, by_rows: bool = True) -> dict[str, list[float]]:
    """metric → wall times (ms); the process CPU times go to CPU (with one BLAS thread, what the
    wall time would be on an idle machine). Runs interleave the cases, so a busy neighbour slows
    all alike. `cases`: name → Config overrides (default CASES); `by_rows`: also time the
    rnn_tanh matrix by row sweeps (needs that case)."""
    setups = {name: setup(o) for name, o in (CASES if cases is None else cases).items()}
    prepared = {name: prepare(cell, x) for name, (cell, x) in setups.items()}
    for name, (cell, x) in setups.items():              # warm-up
        prepared[name].row(x.shape[0])
        input_connectivity(cell, x)
    out: dict[str, list[float]] = {}

    def record(metric, fn, *args):
        out.setdefault(metric, []).append(_ms(fn, *args, name=metric))

    def row_from_inputs(cell, x):
        return prepare(cell, x).row(x.shape[0])

    def matrix_by_rows(cell, x):
        return prepare(cell, x).matrix(scheme="rows")

    CPU.clear()
    for r in range(runs):
        for name, (cell, x) in setups.items():
            T = x.shape[0]
            record(f"connectivity_row_{name}", row_from_inputs, cell, x)
            for t in range(T - 10 * r, T - 10 * r - 10, -1):     # the cursor stepping back
                record(f"connectivity_row_cached_{name}", prepared[name].row, t)
            record(f"connectivity_full_{name}", input_connectivity, cell, x)
        if by_rows:
            record("connectivity_full_rows_rnn_tanh", matrix_by_rows, *setups["rnn_tanh"])
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.connectivity_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=7, help="runs per metric (default 7)")
    p.add_argument("--json", metavar="FILE", help="write {metric: median ms}")
    args = p.parse_args(argv)
    times = run_connectivity(max(1, args.runs))
    medians = {name: float(np.median(ts)) for name, ts in times.items()}
    print(f"{'metric (ms)':40s} {'median':>9s} {'min':>9s} {'CPU med':>9s}  target")
    for name, ts in times.items():
        target = TARGETS.get(name)
        status = "" if target is None else f"≤ {target:g} ms: {'met' if medians[name] <= target else 'MISSED'}"
        print(f"{name:40s} {medians[name]:9.2f} {min(ts):9.2f} {np.median(CPU[name]):9.2f}  {status}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(medians, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
