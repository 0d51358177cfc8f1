"""Accuracy and ‖∂ℓ/∂h_1‖ against the gap, for RNN / LSTM / GRU over several seeds (plain data).

    rows = sweep(TrainConfig(), cells=("rnn", "lstm", "gru"), gaps=(5, 10, 20, 40, 80, 160),
                 seeds=(0, 1, 2), callback=None)
    table = summarize(rows)          # one dict per (cell, gap): means over seeds
    print(markdown_table(table))

callback(done, total, row_or_None, progress) is called after every iteration of every run
(progress: core.train.Progress) and after every finished run (row given); returning False stops
the sweep after the current run's current iteration (the rows finished so far are returned).

    python -m core.sweep --gaps 5,10,20,40,80,160 --seeds 0,1,2 [--no-curriculum] [--json F]
"""
from __future__ import annotations

import numpy as np

from .train import TrainConfig, train

CELLS = ("rnn", "lstm", "gru")
GAPS = (5, 10, 20, 40, 80, 160)
SEEDS = (0, 1, 2)
#: A run counts as solved at this test accuracy.
SOLVED = 0.9


def sweep(base: TrainConfig, cells=CELLS, gaps=GAPS, seeds=SEEDS, callback=None) -> list[dict]:
    """Train every (gap, cell, seed) with `base`'s other settings; one summary dict per run
    (core.train.TrainResult.summary() without "config")."""
    runs = [(g, c, s) for g in gaps for c in cells for s in seeds]
    rows = []
    halt = []

    def cb(prog, k):
        if callback is not None and callback(k, len(runs), None, prog) is False:
            halt.append(True)
            return False
        return True

    for k, (gap, cell, seed) in enumerate(runs):
        res = train(base.replace(cell=cell, gap=int(gap), seed=int(seed)), lambda p, k=k: cb(p, k))
        if halt:
            break
        row = res.summary()
        row.pop("config")
        rows.append(row)
        if callback is not None and callback(k + 1, len(runs), row, None) is False:
            break
    return rows


def _log10_mean(values) -> float:
    """Mean of log10 (the geometric mean's exponent); −inf if any value is 0."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if v.size == 0:
        return float("nan")
    with np.errstate(divide="ignore"):
        return float(np.mean(np.log10(v)))


def summarize(rows: list[dict]) -> list[dict]:
    """One dict per (cell, gap): seeds, mean/min/max test accuracy, runs solved (≥ 0.9), mean
    seconds and iterations, and log10 of the geometric mean over seeds of ‖∂ℓ/∂h_1‖ (and
    ‖∂ℓ/∂c_1‖ for the LSTM) at initialisation and after training, and of the share
    ‖∂ℓ/∂h_1‖/‖∂ℓ/∂h_T‖ that survives the trip back (independent of how small the loss is)."""
    out = []
    keys = sorted({(r["cell"], r["gap"]) for r in rows}, key=lambda k: (CELLS.index(k[0]), k[1]))
    for cell, gap in keys:
        rs = [r for r in rows if r["cell"] == cell and r["gap"] == gap]
        acc = np.array([r["test_accuracy"] for r in rs])
        out.append({"cell": cell, "gap": gap, "seeds": [r["seed"] for r in rs],
                    "acc_mean": float(acc.mean()), "acc_min": float(acc.min()), "acc_max": float(acc.max()),
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
    lines = ["| cell | gap | test accuracy mean [min–max] | solved (≥ 0.9) | ‖∂ℓ/∂h₁‖ init | ‖∂ℓ/∂h₁‖ trained "
             "| ‖∂ℓ/∂c₁‖ init | ‖∂ℓ/∂c₁‖ trained | ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖ init | … trained | iterations | seconds |",
             "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in summary:
        lines.append(f"| {s['cell']} | {s['gap']} | {s['acc_mean']:.3f} [{s['acc_min']:.3f}–{s['acc_max']:.3f}] "
                     f"| {s['solved']}/{s['runs']} | {_fmt_log(s['log10_h1_init'])} "
                     f"| {_fmt_log(s['log10_h1_final'])} | {_fmt_log(s['log10_c1_init'])} "
                     f"| {_fmt_log(s['log10_c1_final'])} | {_fmt_log(s['log10_ratio_init'])} "
                     f"| {_fmt_log(s['log10_ratio_final'])} | {s['iterations_mean']:.0f} | {s['seconds_mean']:.1f} |")
    return "\n".join(lines)
