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

import argparse
import json
import sys

import numpy as np

from .train import TrainConfig, TrainError, train

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


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="france")
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--gaps", type=_ints, default=GAPS)
    p.add_argument("--seeds", type=_ints, default=SEEDS)
    p.add_argument("--iters", type=int, default=TrainConfig.iters)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--optimizer", default=TrainConfig.optimizer)
    p.add_argument("--forget-bias", type=float, default=TrainConfig.forget_bias)
    p.add_argument("--no-curriculum", action="store_true")
    p.add_argument("--json", metavar="FILE")
    a = p.parse_args(argv)
    base = TrainConfig(task=a.task, iters=a.iters, lr=a.lr, optimizer=a.optimizer,
                       forget_bias=a.forget_bias, curriculum=not a.no_curriculum)

    def cb(done, total, row, prog):
        if row is not None:
            print(f"[{done}/{total}] {row['cell']} gap {row['gap']} seed {row['seed']}: "
                  f"acc {row['test_accuracy']:.3f} loss {row['test_loss']:.4f} it {row['iterations']} "
                  f"{row['seconds']:.1f}s ‖∂ℓ/∂h1‖ {row['grad_h1_init']:.2e} → {row['grad_h1_final']:.2e}",
                  file=sys.stderr, flush=True)
        return True

    try:
        rows = sweep(base, tuple(a.cells.split(",")), a.gaps, a.seeds, cb)
    except TrainError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(rows)
    print(markdown_table(summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"config": {k: getattr(base, k) for k in base.__dataclass_fields__},
                       "rows": rows, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
