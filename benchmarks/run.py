"""Runs the core and GUI benchmarks, prints the table, writes the JSON."""
from __future__ import annotations

import json
import math
import os
import platform
import time

import numpy as np

from .core_bench import CORE_CASES, LIMIT, run_core
from .gui_bench import run_gui

#: metric → (target as text, check(value, metrics) → bool); None: no target of its own.
TARGETS = {
    "core_lstm_n64_T1000": ("≤ 2 × matmul limit", lambda v, m: v <= 2 * m[LIMIT[0]]),
    "slider_frame_p95_default": ("≤ 16 ms", lambda v, m: v <= 16),
    "slider_frame_p95_large": ("≤ 250 ms", lambda v, m: v <= 250),
    "event_loop_stall_max_large": ("≤ 50 ms", lambda v, m: v <= 50),
    "play_step_p95_default": ("≤ 8 ms", lambda v, m: v <= 8),
    "rss_growth_mb_10k_steps": ("≤ 5 MB", lambda v, m: v <= 5),
}
METRICS = (*CORE_CASES, LIMIT[0], "slider_frame_p95_default", "slider_frame_p95_large",
           "event_loop_stall_max_large", "play_step_p95_default", "rss_growth_mb_10k_steps")


def p95(xs) -> float:
    return float(np.percentile(np.asarray(xs, float), 95)) if len(xs) else math.nan


def machine() -> str:
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    blas = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, NumPy {np.__version__}, BLAS threads {blas}")


def run(args) -> int:
    quick = args.quick
    runs = args.runs or (1 if quick else 7)
    changes = args.changes or (4 if quick else 100)
    play = args.play_steps or (20 if quick else 300)
    rss_steps = args.rss_steps or (200 if quick else 10_000)
    t_start = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    print(f"core: {runs} interleaved runs per metric …", flush=True)
    core = run_core(runs)
    print(f"app: {changes} σ₁ changes per setup, {play} timed play steps, {rss_steps} steps for RSS …",
          flush=True)
    gui = run_gui(changes, play, rss_steps)
    metrics: dict[str, float] = {name: float(np.median(ts)) for name, ts in core.items()}
    metrics["slider_frame_p95_default"] = p95(gui["slider_default"])
    metrics["slider_frame_p95_large"] = p95(gui["slider_large"])
    metrics["event_loop_stall_max_large"] = float(gui["stall_large"])
    metrics["play_step_p95_default"] = p95(gui["play_default"])
    metrics["rss_growth_mb_10k_steps"] = float(gui["rss_growth_mb"])
    medians = {"slider_frame_p95_default": gui["slider_default"], "slider_frame_p95_large": gui["slider_large"],
               "play_step_p95_default": gui["play_default"]}
    rows = []
    for name in METRICS:
        v = metrics[name]
        samples = core.get(name) or medians.get(name)
        med = f"{np.median(samples):9.2f}" if samples else " " * 9
        target, check = TARGETS.get(name, ("", None))
        status = ("met" if check(v, metrics) else "MISSED") if check else ""
        kind = "p95" if name in medians else ("max" if "stall" in name else
                                               "MB" if "rss" in name else "median")
        rows.append(f"{name:30s} {v:9.2f} {kind:6s} {med}  {target:20s} {status}")
    ratio = metrics[LIMIT[1]] / metrics[LIMIT[0]]
    print()
    print(f"{'metric':30s} {'value':>9s} {'':6s} {'median':>9s}  {'target':20s} status")
    print("\n".join(rows))
    print(f"\ncore_lstm_n64_T1000 / matmul_limit_lstm_n64_T1000 = {ratio:.2f}"
          f"   (total {time.perf_counter() - t_start:.0f} s{', QUICK mode' if quick else ''})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: metrics[k] for k in METRICS}, f, indent=1)
        print(f"wrote {args.json}")
    return 0
