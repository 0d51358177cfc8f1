"""Accuracy and ‖∂ℓ/∂h_1‖ against the gap, for RNN / LSTM / GRU over several seeds (plain data).

    rows = sweep(TrainConfig(), cells=("rnn", "lstm", "gru"), gaps=(5, 10, 20, 40, 80, 160),
                 seeds=(0, 1, 2), callback=None, workers=1, scheduler=None)
    table = summarize(rows)          # one dict per (cell, gap): means and spread over seeds
    print(markdown_table(table))

callback(done, total, row_or_None, progress) is called after every finished run (row given) and,
in between, with row None: after every iteration of the run under way when workers = 1 (progress:
core.training.train.Progress), every 0.1 s otherwise (progress None). Returning False stops the
sweep promptly (the rows finished so far are returned, in the sweep's order).

workers > 1 runs the (gap, cell, seed) runs in that many processes, scheduler = a Dask address on
a cluster (core.training.parallel); every run is seeded, so the rows are identical either way.

    python -m core.sweep --gaps 5,10,20,40,80,160 --seeds 0,1,2 [--workers N] [--scheduler ADDR]
"""
from __future__ import annotations

import numpy as np

from .parallel import ParallelRuns
from .train import TrainConfig, train

CELLS = ("rnn", "lstm", "gru")
GAPS = (5, 10, 20, 40, 80, 160)
SEEDS = (0, 1, 2)
#: A run counts as solved at this test accuracy.
SOLVED = 0.9


def init_for(cell: str, init: str) -> str:
    """A sweep's initialisation for one cell: chrono is for gated cells and IRNN for the RNN, so
    the other cells keep PyTorch's default (each row's "init" says which one it had)."""
    if (init == "chrono" and cell == "rnn") or (init == "irnn" and cell != "rnn"):
        return "default"
    return init


def sweep_configs(base: TrainConfig, cells=CELLS, gaps=GAPS, seeds=SEEDS) -> list[TrainConfig]:
    """The sweep's runs in its order: for each gap, for each cell, for each seed."""
    return [base.replace(cell=c, gap=int(g), seed=int(s), init=init_for(c, base.init))
            for g in gaps for c in cells for s in seeds]


def _serial(configs, callback) -> list[dict]:
    rows, halt = [], []

    def cb(prog, k):
        if callback is not None and callback(k, len(configs), None, prog) is False:
            halt.append(True)
            return False
        return True

    for k, cfg in enumerate(configs):
        res = train(cfg, lambda p, k=k: cb(p, k))
        if halt:
            break
        row = res.summary()
        row.pop("config")
        rows.append(row)
        if callback is not None and callback(k + 1, len(configs), row, None) is False:
            break
    return rows


def sweep(base: TrainConfig, cells=CELLS, gaps=GAPS, seeds=SEEDS, callback=None, *,
          workers: int = 1, scheduler: str | None = None) -> list[dict]:
    """Train every (gap, cell, seed) with `base`'s other settings; one summary dict per run
    (core.training.train.TrainResult.summary() without "config"), in the sweep's order."""
    configs = sweep_configs(base, cells, gaps, seeds)
    if (workers == 1 or len(configs) == 1) and not scheduler:     # no pool for a single run
        return _serial(configs, callback)
    runs = ParallelRuns(configs, workers=workers, scheduler=scheduler)
    done = [0]

    def on_row(_, row):
        done[0] += 1
        if callback is not None and callback(done[0], len(configs), row, None) is False:
            runs.cancel()

    def heartbeat():
        return callback is None or callback(done[0], len(configs), None, None) is not False

    return [r for r in runs.run(on_row, heartbeat) if r is not None]


def _log10_mean(values) -> float:
    """Mean of log10 (the geometric mean's exponent); −inf if any value is 0."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return float("nan")
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log10(v)))


def summarize(rows: list[dict]) -> list[dict]:
    """One dict per (cell, gap): seeds, init, mean/std (sample, n−1)/min/max test accuracy, runs
    solved (≥ 0.9), mean
    seconds and iterations, and log10 of the geometric mean over seeds of ‖∂ℓ/∂h_1‖ (and
    ‖∂ℓ/∂c_1‖ for the LSTM) at initialisation and after training, and of the share
    ‖∂ℓ/∂h_1‖/‖∂ℓ/∂h_T‖ that survives the trip back (independent of how small the loss is)."""
    out = []
    keys = sorted({(r["cell"], r["gap"]) for r in rows}, key=lambda k: (CELLS.index(k[0]), k[1]))
    for cell, gap in keys:
        rs = [r for r in rows if r["cell"] == cell and r["gap"] == gap]
        acc = np.array([r["test_accuracy"] for r in rs])
        out.append({"cell": cell, "gap": gap, "seeds": [r["seed"] for r in rs],
                    "init": rs[0].get("init", "default"),
                    "acc_mean": float(acc.mean()), "acc_std": float(acc.std(ddof=1)) if len(acc) > 1 else 0.0,
                    "acc_min": float(acc.min()), "acc_max": float(acc.max()),
                    "solved": int(np.sum(acc >= SOLVED)), "runs": len(rs), "chance": rs[0]["chance"],
                    "seconds_mean": float(np.mean([r["seconds"] for r in rs])),
                    "iterations_mean": float(np.mean([r["iterations"] for r in rs])),
                    "log10_h1_init": _log10_mean(r["grad_h1_init"] for r in rs),
                    "log10_h1_final": _log10_mean(r["grad_h1_final"] for r in rs),
                    "log10_c1_init": _log10_mean(r["grad_c1_init"] for r in rs),
                    "log10_c1_final": _log10_mean(r["grad_c1_final"] for r in rs),
                    "log10_ratio_init": float(np.mean([r["log10_ratio_h1_init"] for r in rs])),
                    "log10_ratio_final": float(np.mean([r["log10_ratio_h1_final"] for r in rs]))})
    return out


def _fmt_log(v: float) -> str:
    if not np.isfinite(v):
        return "0" if v == -np.inf else "–"
    return f"1e{v:+.1f}"


def markdown_table(summary: list[dict]) -> str:
    """The summary as a Markdown table (accuracy as mean [min–max], solved/runs, gradients)."""
    lines = ["| cell | gap | test accuracy mean ± sd [min–max] | solved (≥ 0.9) | ‖∂ℓ/∂h₁‖ init | ‖∂ℓ/∂h₁‖ trained "
             "| ‖∂ℓ/∂c₁‖ init | ‖∂ℓ/∂c₁‖ trained | ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖ init | … trained | iterations | seconds |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        lines.append(f"| {s['cell']} | {s['gap']} | {s['acc_mean']:.3f} ± {s['acc_std']:.3f} "
                     f"[{s['acc_min']:.3f}–{s['acc_max']:.3f}] "
                     f"| {s['solved']}/{s['runs']} | {_fmt_log(s['log10_h1_init'])} "
                     f"| {_fmt_log(s['log10_h1_final'])} | {_fmt_log(s['log10_c1_init'])} "
                     f"| {_fmt_log(s['log10_c1_final'])} | {_fmt_log(s['log10_ratio_init'])} "
                     f"| {_fmt_log(s['log10_ratio_final'])} | {s['iterations_mean']:.0f} | {s['seconds_mean']:.1f} |")
    return "\n".join(lines)
