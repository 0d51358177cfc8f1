"""Optional, one-off: the full gradient curve from `core.simulate` against torch.func.jacfwd over
the unrolled LSTM sequence (same cell, same inputs, float64, same thread count), followed by a
batched spectral norm. torch is not a dependency: this script exits quietly without it.

    python -m benchmarks.torch_compare [--runs 5] [--threads 1]
"""
from __future__ import annotations

import argparse
import os
import sys
import time


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.torch_compare")
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="BLAS / torch threads (default 1)")
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--length", type=int, default=1000)
    args = p.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(args.threads))
    try:
        import torch
        from torch.func import jacfwd
    except ImportError:
        print("torch is not installed: skipped (pip install torch to run this comparison)")
        return 0
    import numpy as np
    from gatescope.core import Config, simulate
    torch.set_num_threads(args.threads)
    cfg = Config(cell="lstm", hidden=args.hidden, length=args.length)
    cell = cfg.build_cell()
    x, _ = cfg.build_inputs(cell.input_size)
    n, T = cell.hidden_size, x.shape[0]
    w_hh = torch.tensor(cell.weight_hh)
    xw = torch.tensor(x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh)

    def unrolled(s0):
        h, c = s0[:n], s0[n:]
        states = []
        for t in range(T):
            g = xw[t] + w_hh @ h
            i, f = torch.sigmoid(g[:n]), torch.sigmoid(g[n:2 * n])
            gg, o = torch.tanh(g[2 * n:3 * n]), torch.sigmoid(g[3 * n:])
            c = f * c + i * gg
            h = o * torch.tanh(c)
            states.append(torch.cat([h, c]))
        return torch.stack(states)                      # (T, 2n)

    s0 = torch.zeros(2 * n, dtype=torch.float64)

    def torch_curve():
        jac = jacfwd(unrolled)(s0)                      # (T, 2n, 2n): ∂s_t/∂s_0 for every t
        with torch.no_grad():
            return torch.log10(torch.linalg.matrix_norm(jac, ord=2)).numpy()

    def ours():
        return simulate(cell, x).log10_jac_norm[1:]

    ref, mine = torch_curve(), ours()                   # warm-up, and agreement
    ok = np.isfinite(ref) & (np.abs(ref) < 250)
    agree = float(np.max(np.abs(ref[ok] - mine[ok]))) if ok.any() else float("nan")
    t_torch, t_ours = [], []
    for _ in range(args.runs):                          # interleaved
        t0 = time.perf_counter()
        torch_curve()
        t_torch.append((time.perf_counter() - t0) * 1e3)
        t0 = time.perf_counter()
        ours()
        t_ours.append((time.perf_counter() - t0) * 1e3)
    mt, mo = float(np.median(t_torch)), float(np.median(t_ours))
    print(f"LSTM n={n}, T={T}, {args.threads} thread(s), torch {torch.__version__}, {args.runs} runs")
    print(f"torch.func.jacfwd + matrix_norm(ord=2): median {mt:9.1f} ms")
    print(f"core.simulate (whole trace):           median {mo:9.1f} ms")
    print(f"speed-up {mt / mo:.2f}×; max |Δ log10| where representable ({int(ok.sum())} steps): {agree:.2e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
