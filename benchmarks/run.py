"""Runs the benchmark groups, prints the table, writes the JSON.

Groups (`--only` takes group names or metric names, comma-separated):
  core          one full `simulate` per setup and the matmul floor (core_bench)
  gui           slider frames, the event-loop stall, play steps, RSS growth (gui_bench)
  floor         the drawing floor of the default slider frames (floor_bench; runs the default
                slider pass too, so `slider_frame_p95_default` is reported beside it)
  directions_view  the default setup with the Directions view on screen: slider frames, play
                steps, and its curves' delay after a drag (gui_bench.run_gui_directions)
  startup       a fresh process to its first painted frame: the app and a bare pyqtgraph window
  directions    every singular value of ∂s_t/∂s₀ and the Lyapunov spectrum (directions_bench)
  connectivity  log10 ‖∂h_t/∂x_k‖: the current row and the full matrix (connectivity_bench)
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import time

import numpy as np

from .core_bench import CORE_CASES, LIMIT, run_core
from .gui_bench import run_gui

DIRECTIONS_METRICS = ("directions_default", "directions_lstm_n64_T1000", "qr_limit_lstm_n64_T1000",
                      "lyapunov_lstm_n64_T1000")
#: the connectivity cases run here (connectivity_bench.CASES), all n = 16, T = 365
CONNECTIVITY_CASES = ("default", "rnn_tanh", "lstm", "gru")
CONNECTIVITY_METRICS = ("connectivity_row_default", "connectivity_row_cached_default",
                        "connectivity_full_default", "connectivity_full_rnn_tanh",
                        "connectivity_full_lstm", "connectivity_full_gru")
GROUPS = {
    "core": (*CORE_CASES, LIMIT[0]),
    "gui": ("slider_frame_p95_default", "slider_frame_p95_large", "first_part_p95_large",
            "event_loop_stall_max_large",
            "play_step_p95_default", "rss_growth_mb_10k_steps"),
    "floor": ("drawing_floor_p95_default",),
    "directions_view": ("slider_frame_p95_directions", "play_step_p95_directions",
                        "directions_settle_ms"),
    "startup": ("startup_first_frame_s", "startup_bare_pyqtgraph_s"),
    "directions": DIRECTIONS_METRICS,
    "connectivity": CONNECTIVITY_METRICS,
}
#: ratio → (numerator, denominator, target: the ratio at most)
RATIOS = {
    "ratio_core_to_matmul_limit": (LIMIT[1], LIMIT[0], 2.0),
    "ratio_slider_to_floor_default": ("slider_frame_p95_default", "drawing_floor_p95_default", 1.5),
    "ratio_startup_to_bare": ("startup_first_frame_s", "startup_bare_pyqtgraph_s", 1.6),
    "ratio_directions_to_qr_limit": ("directions_lstm_n64_T1000", "qr_limit_lstm_n64_T1000", 2.0),
}
METRICS = (*(m for ms in GROUPS.values() for m in ms), *RATIOS)


def _at_most(limit):
    return lambda v, m: v <= limit


#: metric → (target as text, check(value, metrics) → bool)
TARGETS = {
    "core_lstm_n64_T1000": ("≤ 2 × matmul limit", lambda v, m: LIMIT[0] in m and v <= 2 * m[LIMIT[0]]),
    "slider_frame_p95_default": ("≤ 16 ms", _at_most(16)),
    "slider_frame_p95_large": ("≤ 250 ms", _at_most(250)),
    "first_part_p95_large": ("≤ 50 ms", _at_most(50)),
    "event_loop_stall_max_large": ("≤ 50 ms", _at_most(50)),
    "play_step_p95_default": ("≤ 8 ms", _at_most(8)),
    "slider_frame_p95_directions": ("≤ 16 ms", _at_most(16)),
    "play_step_p95_directions": ("≤ 8 ms", _at_most(8)),
    "directions_settle_ms": ("≤ 250 ms", _at_most(250)),
    "rss_growth_mb_10k_steps": ("≤ 5 MB", _at_most(5)),
    "startup_first_frame_s": ("≤ 1.0 s", _at_most(1.0)),
    "directions_default": ("≤ 15 ms", _at_most(15)),
    "connectivity_row_default": ("≤ 5 ms", _at_most(5)),
    **{m: ("≤ 150 ms (off GUI)", _at_most(150)) for m in CONNECTIVITY_METRICS if "_full_" in m},
    **{r: (f"≤ {lim:g}", _at_most(lim)) for r, (_, _, lim) in RATIOS.items()},
}
UNIT = {**{m: "p95" for m in ("slider_frame_p95_default", "slider_frame_p95_large", "first_part_p95_large",
                               "play_step_p95_default", "drawing_floor_p95_default",
                               "slider_frame_p95_directions", "play_step_p95_directions")},
        "directions_settle_ms": "ms",
        "event_loop_stall_max_large": "max", "rss_growth_mb_10k_steps": "MB",
        "startup_first_frame_s": "s", "startup_bare_pyqtgraph_s": "s", **{r: "ratio" for r in RATIOS}}


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


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f} (1, 5, 15 min)"
    except OSError:
        return "load average unknown"


def groups_for(only: str | None) -> list[str]:
    """The groups to run, in their fixed order, for `--only a,b` (group or metric names, the
    ratios included: a ratio runs the groups of both its terms). ValueError on an unknown name."""
    if not only:
        return list(GROUPS)
    wanted: set[str] = set()
    for name in (n.strip() for n in only.split(",")):
        if not name:
            continue
        terms = RATIOS[name][:2] if name in RATIOS else (name,)
        for term in terms:
            group = term if term in GROUPS else next((g for g, ms in GROUPS.items() if term in ms), None)
            if group is None:
                raise ValueError(f"--only: unknown benchmark {name[:40]!r}; the groups are "
                                 f"{', '.join(GROUPS)} (or a metric name)")
            wanted.add(group)
    return [g for g in GROUPS if g in wanted]


@contextlib.contextmanager
def _quick_directions(module):
    """Quick mode: the same metric names on tiny setups (n ≤ 8, T = 40)."""
    saved = module.DIRECTIONS_CASES
    module.DIRECTIONS_CASES = {"directions_default": {"length": 40},
                               "directions_lstm_n64_T1000": {"cell": "lstm", "hidden": 8, "length": 40}}
    try:
        yield
    finally:
        module.DIRECTIONS_CASES = saved


def run_directions(runs: int, quick: bool, notes: list[str]) -> dict[str, float]:
    try:
        from . import directions_bench
        fn = directions_bench.run_directions
    except (ImportError, AttributeError) as exc:
        notes.append(f"directions: skipped: benchmarks/directions_bench.run_directions is not "
                     f"available ({exc})")
        return {}
    with _quick_directions(directions_bench) if quick else contextlib.nullcontext():
        res = fn(runs)
    return {m: float(res[m]) for m in DIRECTIONS_METRICS if m in res}


def run_connectivity(runs: int, quick: bool) -> dict[str, float]:
    from .connectivity_bench import CASES
    from .connectivity_bench import run_connectivity as bench
    cases = {c: dict(CASES[c], **({"length": 80} if quick else {})) for c in CONNECTIVITY_CASES}
    times = bench(runs, cases=cases, by_rows=False)
    return {m: float(np.median(times[m])) for m in CONNECTIVITY_METRICS}


def _gui(args, parts, changes, notes):
    play = args.play_steps or (20 if args.quick else 300)
    rss_steps = args.rss_steps or (50 if args.quick else 10_000)
    what = []
    if "gui" in parts:
        what.append(f"{changes} σ₁ changes per setup, {play} timed play steps, {rss_steps} steps for RSS")
    if "floor" in parts:
        what.append(f"the drawing floor of {changes} default σ₁ changes")
    print(f"app: {'; '.join(what)} …", flush=True)
    gui = run_gui(changes, play, rss_steps, parts=parts)
    out = {"slider_frame_p95_default": p95(gui["slider_default"])}
    samples = {"slider_frame_p95_default": gui["slider_default"]}
    if "gui" in parts:
        out.update(slider_frame_p95_large=p95(gui["slider_large"]),
                   first_part_p95_large=p95(gui["first_part_large"]),
                   event_loop_stall_max_large=float(gui["stall_large"]),
                   play_step_p95_default=p95(gui["play_default"]),
                   rss_growth_mb_10k_steps=float(gui["rss_growth_mb"]))
        samples.update(slider_frame_p95_large=gui["slider_large"], play_step_p95_default=gui["play_default"],
                       first_part_p95_large=gui["first_part_large"])
    if "floor" in parts:
        out["drawing_floor_p95_default"] = p95(gui["floor_default"])
        samples["drawing_floor_p95_default"] = gui["floor_default"]
        notes.append(gui["floor_check"])
    return out, samples


def collect(args, groups: list[str]) -> tuple[dict[str, float], dict[str, list[float]], list[str]]:
    """→ (metric → value, metric → samples for the median column, notes)."""
    quick = args.quick
    runs = args.runs or (1 if quick else 7)
    changes = args.changes or (4 if quick else 100)
    metrics: dict[str, float] = {}
    samples: dict[str, list[float]] = {}
    notes: list[str] = []

    def timed(label):
        print(f"  ({label}: {time.perf_counter() - t_group:.0f} s)", flush=True)

    if "core" in groups:
        t_group = time.perf_counter()
        print(f"core: {runs} interleaved runs per metric …", flush=True)
        core = run_core(runs)
        metrics.update({name: float(np.median(ts)) for name, ts in core.items()})
        samples.update(core)
        timed("core")
    parts = {g for g in ("gui", "floor") if g in groups}
    if parts:
        t_group = time.perf_counter()
        values, s = _gui(args, parts, changes, notes)
        metrics.update(values)
        samples.update(s)
        timed("app")
    if "directions_view" in groups:
        t_group = time.perf_counter()
        from .gui_bench import run_gui_directions
        play = args.play_steps or (20 if quick else 300)
        print(f"app with the Directions view: {changes} σ₁ changes, {play} play steps, 5 drags …",
              flush=True)
        res = run_gui_directions(changes, play)
        metrics.update(slider_frame_p95_directions=p95(res["slider_directions"]),
                       play_step_p95_directions=p95(res["play_directions"]),
                       directions_settle_ms=float(res["settle_directions"]))
        samples.update(slider_frame_p95_directions=res["slider_directions"],
                       play_step_p95_directions=res["play_directions"])
        timed("directions view")
    if "startup" in groups:
        t_group = time.perf_counter()
        from . import startup_bench
        launches = args.launches or (1 if quick else 5)
        print(f"startup: {launches} launches of each, alternating …", flush=True)
        times, more = startup_bench.run_startup(launches, warmup=0 if quick else 1,
                                                timeout_s=30.0 if quick else startup_bench.TIMEOUT_S)
        notes += more
        notes.append("startup: the launches share a private bytecode cache, as an installed app "
                     "has (python -m benchmarks.startup_bench --no-bytecode-cache: without)")
        metrics.update({name: float(np.median(ts)) for name, ts in times.items()})
        notes += [f"{name}: launches {', '.join(f'{t:.3f}' for t in ts)} s" for name, ts in times.items()]
        timed("startup")
    if "directions" in groups:
        t_group = time.perf_counter()
        print(f"directions: {runs} interleaved runs …", flush=True)
        metrics.update(run_directions(runs, quick, notes))
        timed("directions")
    if "connectivity" in groups:
        t_group = time.perf_counter()
        print(f"connectivity: {runs} interleaved runs …", flush=True)
        metrics.update(run_connectivity(runs, quick))
        timed("connectivity")
    for name, (num, den, _) in RATIOS.items():
        if num in metrics and den in metrics and metrics[den] > 0:
            metrics[name] = metrics[num] / metrics[den]
    return metrics, samples, notes


def table(metrics: dict[str, float], samples: dict, groups: list[str]) -> list[str]:
    rows = [f"{'metric':32s} {'value':>9s} {'':6s} {'median':>9s}  {'target':20s} status"]
    wanted = [m for g in groups for m in GROUPS[g]] + list(RATIOS)
    if "floor" in groups and "slider_frame_p95_default" not in wanted:
        wanted.insert(wanted.index("drawing_floor_p95_default"), "slider_frame_p95_default")
    for name in wanted:
        target, check = TARGETS.get(name, ("", None))
        if name not in metrics:
            if name not in RATIOS:
                rows.append(f"{name:32s} {'—':>9s} {'':6s} {'':9s}  {target:20s} skipped")
            continue
        v = metrics[name]
        s = samples.get(name)
        med = f"{np.median(s):9.2f}" if s is not None and UNIT.get(name) in ("p95", None) else " " * 9
        status = ("met" if check(v, metrics) else "MISSED") if check else ""
        kind = UNIT.get(name, "median")
        fmt = f"{v:9.3f}" if kind in ("s", "ratio") else f"{v:9.2f}"
        rows.append(f"{name:32s} {fmt} {kind:6s} {med}  {target:20s} {status}")
    return rows


def run(args) -> int:
    try:
        groups = groups_for(getattr(args, "only", None))
    except ValueError as exc:
        import sys
        print(f"python -m benchmarks: error: {exc}", file=sys.stderr)
        return 2
    t_start = time.perf_counter()
    print(f"machine: {machine()}", flush=True)
    print(f"before: {load_average()}", flush=True)
    metrics, samples, notes = collect(args, groups)
    print()
    print("\n".join(table(metrics, samples, groups)))
    for line in notes:
        print(line)
    print(f"\nafter: {load_average()}   (total {time.perf_counter() - t_start:.0f} s"
          f"{', QUICK mode: numbers not meaningful' if args.quick else ''})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: metrics[k] for k in METRICS if k in metrics}, f, indent=1)
        print(f"wrote {args.json}")
    return 0
