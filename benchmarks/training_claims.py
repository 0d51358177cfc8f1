"""The training lab's claims, from measurement: regenerates benchmarks/training_results.md and the
README's training table (between <!-- training-table:start --> and <!-- training-table:end -->).

    python -m benchmarks.training_claims [--workers N] [--cache runs.json] [--no-readme]

Runs every experiment below with the parallel sweep (core.training.parallel; every run is seeded,
so the numbers are the same on any machine with any number of workers, only the seconds differ),
measures the gradient's decay per step at initialisation, and times --workers 1 against
--workers N on a small sweep (medians of repeated runs). --cache keeps finished runs in a JSON file
(keyed by their whole configuration), so an interrupted regeneration resumes where it stopped.
tests/test_contributions.py checks the README's per-step factors on a reduced run of
decay_per_step.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402
from gatescope.core.training.contributions import hidden_grad_norms  # noqa: E402
from gatescope.core.training.inits import init_model  # noqa: E402
from gatescope.core.training.parallel import ParallelRuns, default_workers  # noqa: E402
from gatescope.core.training.sweep import markdown_table, summarize, sweep, sweep_configs  # noqa: E402
from gatescope.core.training.tasks import make_batch, make_task  # noqa: E402
from gatescope.core.training.train import TrainConfig  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "training_results.md"
README = ROOT / "README.md"
START, END = "<!-- training-table:start -->", "<!-- training-table:end -->"
CELLS = ("rnn", "lstm", "gru")
SEEDS = tuple(range(10))
#: name → (what it is, the TrainConfig changes, gaps, seeds)
EXPERIMENTS = {
    "curriculum": ("the defaults: curriculum on, PyTorch's initialisation (LSTM forget bias 1)",
                   {}, (40, 80, 160), SEEDS),
    "chrono": ("no curriculum; LSTM and GRU with chrono gate biases, the RNN with PyTorch's default",
               {"curriculum": False, "init": "chrono"}, (40, 80, 160), SEEDS),
    "plain": ("no curriculum, PyTorch's initialisation for every cell (3 seeds: the slowest runs)",
              {"curriculum": False}, (40,), (0, 1, 2)),
}
#: Init-only measurement: the share ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖ at initialisation against the gap.
DECAY_GAPS, DECAY_SEEDS = (20, 40, 80, 160), SEEDS
#: The small sweep timed with 1 and with N workers (seconds of each are measured, not cached).
SPEED = {"base": {"hidden": 16, "iters": 300, "stop_accuracy": None, "curriculum": False, "eval_every": 100,
                  "test_size": 256}, "cells": CELLS, "gaps": (10, 20), "seeds": (0, 1), "repeats": 3}


def _key(cfg: TrainConfig) -> str:
    return json.dumps(cfg.to_dict(), sort_keys=True)


def run_experiments(experiments: dict, workers: int, cache_path: str | None) -> dict:
    """{name: rows} for every experiment, all runs in one pool (cached runs are not repeated)."""
    cache = {}
    if cache_path and os.path.exists(cache_path):
        with open(cache_path, encoding="utf-8") as f:
            cache = json.load(f)
    plan = {name: sweep_configs(TrainConfig(**changes), CELLS, gaps, seeds)
            for name, (_, changes, gaps, seeds) in experiments.items()}
    todo = list({_key(c): c for cfgs in plan.values() for c in cfgs if _key(c) not in cache}.values())
    t0 = time.perf_counter()
    print(f"{len(todo)} runs to train ({sum(map(len, plan.values())) - len(todo)} cached or shared), {workers} workers",
          file=sys.stderr, flush=True)

    def on_row(i, row):
        cache[_key(todo[i])] = row
        print(f"[{len(cache)}] {time.perf_counter() - t0:6.0f} s  {row['cell']} {row['init']} gap {row['gap']} "
              f"seed {row['seed']}: acc {row['test_accuracy']:.3f}, {row['iterations']} it, {row['seconds']:.1f} s",
              file=sys.stderr, flush=True)
        if cache_path:
            with open(cache_path, "w", encoding="utf-8") as f:
                json.dump(cache, f)

    if todo:
        ParallelRuns(todo, workers=workers).run(on_row)
    return {name: [cache[_key(c)] for c in cfgs] for name, cfgs in plan.items()}


def decay_per_step(gaps=DECAY_GAPS, seeds=DECAY_SEEDS, probe: int = 256) -> dict:
    """{cell: (factor per step, [log10 share at each gap])}: the share ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖ of
    freshly initialised models (TrainConfig's defaults), mean of log10 over probe sequences and
    seeds, and 10^slope of its least-squares line against the gap (the factor lost per step)."""
    out = {}
    d = TrainConfig()
    for cell in CELLS:
        logs = []
        for gap in gaps:
            task = make_task("france", gap)
            vals = []
            for seed in seeds:
                m = init_model(cell, task.input_size, d.hidden, task.output_size, seed=seed,
                               forget_bias=d.forget_bias, t_max=task.length)
                x, y = make_batch(task, probe, np.random.default_rng((seed, 2, 0)))
                vals.append(hidden_grad_norms(m, x, y).log10_ratio[0])
            logs.append(float(np.mean(vals)))
        slope = np.polyfit(np.asarray(gaps, float), logs, 1)[0]
        out[cell] = (float(10.0 ** slope), logs)
    return out


def time_sweep(workers: int, spec=SPEED) -> dict:
    """{1: [seconds of each repeat], workers: [...], "runs": {w: [Σ of the runs' own seconds]},
    "load": [1-minute load average before each repeat]} for the same small sweep, repeats
    interleaved (the parallel time includes starting the worker processes). A parallel Σ far above
    the serial one means the cores were busy with other work."""
    base = TrainConfig(**spec["base"])
    times = {1: [], workers: []}
    runs, load = {1: [], workers: []}, []
    reference = None
    for _ in range(spec["repeats"]):
        load.append(os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan"))
        for w in (1, workers):
            t0 = time.perf_counter()
            rows = sweep(base, spec["cells"], spec["gaps"], spec["seeds"], workers=w)
            times[w].append(time.perf_counter() - t0)
            runs[w].append(sum(r["seconds"] for r in rows))
            same = [{k: v for k, v in r.items() if k != "seconds"} for r in rows]
            if reference is None:
                reference = same
            elif same != reference:
                raise SystemExit("the parallel sweep's rows differ from the serial sweep's")
    times["runs"], times["load"] = runs, load
    return times


# -- rendering ---------------------------------------------------------------------------------------

def _cell(s: dict | None) -> str:
    if s is None:
        return "–"
    return f"{s['acc_mean']:.2f} ± {s['acc_std']:.2f} ({s['solved']}/{s['runs']})"


def readout_table(results: dict) -> str:
    """The README's table: test accuracy mean ± sd (runs ≥ 0.9 / runs) for each setting and gap."""
    cols = [("curriculum", c) for c in CELLS] + [("chrono", c) for c in CELLS]
    heads = ["RNN, curriculum", "LSTM, curriculum", "GRU, curriculum",
             "RNN, none (default init)", "LSTM, none, chrono", "GRU, none, chrono"]
    summ = {name: {(s["cell"], s["gap"]): s for s in summarize(rows)} for name, rows in results.items()}
    gaps = sorted({g for name, _ in cols for (_, g) in summ.get(name, {})})
    lines = ["| gap | " + " | ".join(heads) + " |", "|---:|" + "---|" * len(heads)]
    for g in gaps:
        lines.append(f"| {g} | " + " | ".join(_cell(summ.get(n, {}).get((c, g))) for n, c in cols) + " |")
    return "\n".join(lines)


def verdicts(results: dict) -> list[str]:
    """Per gap of the chrono experiment: does 'the RNN fails where gated cells learn' hold?
    Strictly: no RNN seed solves the task (test accuracy ≥ 0.9) while LSTM and GRU each solve
    ≥ 80 % of their seeds. In the mean: the RNN solves ≤ 30 % of its seeds and its mean accuracy is
    ≥ 0.25 below both gated cells', which solve ≥ 80 % of theirs."""
    summ = {(s["cell"], s["gap"]): s for s in summarize(results["chrono"])}
    out = []
    for g in sorted({gap for _, gap in summ}):
        r, l_, u = summ[("rnn", g)], summ[("lstm", g)], summ[("gru", g)]
        gated = l_["solved"] >= 0.8 * l_["runs"] and u["solved"] >= 0.8 * u["runs"]
        strict = gated and r["solved"] == 0
        mean = (gated and r["solved"] <= 0.3 * r["runs"]
                and r["acc_mean"] <= min(l_["acc_mean"], u["acc_mean"]) - 0.25)
        word = "holds strictly" if strict else "holds in the mean, not in every seed" if mean else "does not hold"
        out.append(f"gap {g}: {word} — RNN {_cell(r)}, chrono LSTM {_cell(l_)}, chrono GRU {_cell(u)}")
    return out


def per_seed_table(rows: list[dict]) -> str:
    lines = ["| cell | init | gap | seed | test accuracy | iterations | seconds | ‖∂ℓ/∂h₁‖ init → trained "
             "| ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖ init → trained |", "|---|---|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        lines.append(f"| {r['cell']} | {r['init']} | {r['gap']} | {r['seed']} | {r['test_accuracy']:.3f} "
                     f"| {r['iterations']} | {r['seconds']:.1f} | {r['grad_h1_init']:.1e} → {r['grad_h1_final']:.1e} "
                     f"| 10^{r['log10_ratio_h1_init']:.1f} → 10^{r['log10_ratio_h1_final']:.1f} |")
    return "\n".join(lines)


def _runs_line(results: dict) -> str:
    unique = {(r["cell"], r["init"], r["gap"], r["seed"], r["iterations"], r["test_loss"]): r["seconds"]
              for rows in results.values() for r in rows}
    return (f"{len(unique)} runs, {sum(unique.values()) / 60:.0f} min of run time in all "
            f"(the sum of each run's own seconds)")


def render_results(results, decay, speed, elapsed, workers) -> str:
    med = {w: statistics.median(speed[w]) for w in (1, workers)}
    ratio = med[workers] / med[1]
    parts = [
        "# Training lab: measured results",
        "",
        "Generated by `python -m benchmarks.training_claims` (do not edit by hand). Every run is seeded:",
        "the same command gives the same accuracies and gradients on any machine, with any number of",
        "workers; only the seconds depend on the machine and its load.",
        "",
        f"**Machine:** {os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), shared with "
        f"other users; Python {platform.python_version()}, NumPy {np.__version__}, one BLAS thread per "
        f"process; {workers} worker processes. {_runs_line(results)}; this regeneration took "
        f"{elapsed / 60:.1f} min (runs kept in a --cache file are not trained again).",
        "",
        "Task: France → French (K = 4 countries, D = 8 distractor words, chance 0.25), n = 32, Adam "
        "lr 0.01, clipping at 1, batch 64, at most 1500 iterations, early stop at 99 % validation "
        "accuracy at the full gap; 2000 test sequences. A run is *solved* at test accuracy ≥ 0.9. "
        "Accuracy: mean ± sample standard deviation over the seeds [min–max].",
        "",
        "## The claim: does the plain RNN fail where the gated cells learn?",
        "",
        "Criteria, without a curriculum, chrono-initialised gated cells against the RNN with PyTorch's "
        "initialisation: *strictly* — no RNN seed solves the task (test accuracy ≥ 0.9) while LSTM and GRU "
        "each solve at least 80 % of their seeds; *in the mean* — the RNN solves at most 30 % of its seeds "
        "and its mean accuracy is at least 0.25 below both gated cells'.",
        "",
        *[f"- {v}" for v in verdicts(results)],
        "",
        "## Summary (the README's table)",
        "",
        readout_table(results),
        "",
    ]
    for name, (what, changes, gaps, seeds) in EXPERIMENTS.items():
        if name not in results:
            continue
        flags = " ".join(f"--{k.replace('_', '-')} {v}" if not isinstance(v, bool) else
                         ("--no-" + k.replace("_", "-") if not v else "--" + k.replace("_", "-"))
                         for k, v in changes.items())
        parts += [f"## {name}: {what}", "",
                  f"Reproduce: `python -m core.sweep --gaps {','.join(map(str, gaps))} --seeds "
                  f"{seeds[0]}-{seeds[-1]} {flags}`".rstrip() + "", "",
                  markdown_table(summarize(results[name])), "", "<details><summary>every run</summary>", "",
                  per_seed_table(results[name]), "", "</details>", ""]
    parts += ["## At initialisation: the share of the output's gradient that reaches the first token", "",
              f"Mean of log10(‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖) over 256 probe sequences and seeds {DECAY_SEEDS[0]}–"
              f"{DECAY_SEEDS[-1]}, freshly initialised (PyTorch's default, LSTM forget bias 1); the factor "
              "per step is 10^slope of the least-squares line against the gap.", "",
              "| cell | " + " | ".join(f"gap {g}" for g in DECAY_GAPS) + " | factor per step |",
              "|---|" + "---:|" * (len(DECAY_GAPS) + 1)]
    for cell, (factor, logs) in decay.items():
        parts.append(f"| {cell} | " + " | ".join(f"10^{v:.1f}" for v in logs) + f" | ×{factor:.2f} |")
    parts += ["", "## Parallel sweeps: --workers 1 against --workers N", "",
              f"The same small sweep ({len(SPEED['cells'])} cells × gaps {SPEED['gaps']} × seeds "
              f"{SPEED['seeds']}, {SPEED['base']['iters']} iterations, n = {SPEED['base']['hidden']}), "
              f"{SPEED['repeats']} times each, interleaved; rows checked identical.", "",
              "| workers | seconds (each repeat) | median | Σ of the runs' own seconds |", "|---:|---|---:|---|"]
    for w in (1, workers):
        parts.append(f"| {w} | {', '.join(f'{t:.2f}' for t in speed[w])} | {med[w]:.2f} "
                     f"| {', '.join(f'{t:.1f}' for t in speed['runs'][w])} |")
    parts += ["", f"Ratio of medians: **{ratio:.2f}×** the time of one worker (1-minute load average "
              f"before the repeats: {', '.join(f'{v:.1f}' for v in speed['load'])} on {os.cpu_count()} CPUs).",
              "The parallel time includes starting the worker processes (spawn). When the runs' own "
              "seconds add up to much more in parallel than in series, the cores were busy with other "
              "work and the ratio measures that, not the pool.", ""]
    return "\n".join(parts)


def readme_block(results, decay) -> str:
    f = {c: decay[c][0] for c in CELLS}
    return "\n".join([START, "", readout_table(results), "",
                      "Test accuracy, mean ± sd over the seeds (runs reaching ≥ 0.9 / runs); chance 0.25. At "
                      f"initialisation the share of the output's gradient that reaches the first token "
                      f"falls by about ×{f['rnn']:.2f} a step for the RNN, ×{f['gru']:.2f} for the GRU and "
                      f"×{f['lstm']:.2f} for the LSTM (PyTorch's initialisation).", "",
                      "The claim, gap by gap (no curriculum; chrono LSTM and GRU against the RNN):", "",
                      *[f"- {v}" for v in verdicts(results)], "", END])


def write_readme(block: str) -> bool:
    text = README.read_text(encoding="utf-8")
    if START not in text or END not in text:
        print(block)
        return False
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    README.write_text(head + block + tail, encoding="utf-8")
    return True


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.training_claims", description=__doc__.split("\n\n")[0])
    p.add_argument("--workers", type=int, default=None, help="worker processes (default: every core)")
    p.add_argument("--cache", metavar="FILE", help="keep finished runs in FILE (JSON) and reuse them")
    p.add_argument("--no-readme", action="store_true", help="print the README block instead of writing it")
    a = p.parse_args(argv)
    workers = a.workers or default_workers()
    t0 = time.perf_counter()
    results = run_experiments(EXPERIMENTS, workers, a.cache)
    decay = decay_per_step()
    speed = time_sweep(workers)
    RESULTS.write_text(render_results(results, decay, speed, time.perf_counter() - t0, workers),
                       encoding="utf-8")
    block = readme_block(results, decay)
    if a.no_readme or not write_readme(block):
        print(block)
    print("\n".join(verdicts(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
