"""Start-up benchmarks (issue 11, requirement 10): a fresh process to its first painted frame.

  startup_first_frame_s      `python main.py` (QT_QPA_PLATFORM=offscreen, a new empty config
                             folder per launch, GATESCOPE_EXIT_AFTER_FIRST_PAINT=1);
  startup_bare_pyqtgraph_s   `python benchmarks/bare_window.py`: a bare QApplication showing one
                             pyqtgraph PlotWidget, the same probe.

Bytecode is cached as on any ordinary install (pip compiles a wheel's modules when it installs
it; a checkout writes `__pycache__` on its first start): the children get a private cache folder
(PYTHONPYCACHEPREFIX, removed afterwards; PYTHONDONTWRITEBYTECODE cleared), filled by the
uncounted warm-up launches, so no launch compiles Gatescope's or pyqtgraph's sources. With
`cache=False` (`--no-bytecode-cache`) the environment is left as it is.

Each launch: the parent takes `time.time()` just before `Popen`; the child prints
`first-paint <time.time()>` once its first frame is painted (gui/startup_probe.py) and exits. The
two kinds of launch alternate (a busy neighbour slows both alike); medians of `launches` each,
after `warmup` uncounted launches of each (disk cache). A child that never prints the line
within TIMEOUT_S is stopped and the metric is skipped with a message (never a hang).

    python -m benchmarks.startup_bench [--launches N]
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TIMEOUT_S = 60.0
PROBE_ENV = "GATESCOPE_EXIT_AFTER_FIRST_PAINT"
PREFIX = "first-paint"
APP = ("startup_first_frame_s", ["main.py"])
BARE = ("startup_bare_pyqtgraph_s", [os.path.join("benchmarks", "bare_window.py")])


class LaunchError(RuntimeError):
    """A launch that did not report its first frame (the message says why, in one line)."""


def _first_paint(stdout: str) -> float | None:
    for line in stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == PREFIX:
            try:
                return float(parts[1])
            except ValueError:
                return None
    return None


def launch(script: list[str], timeout_s: float = TIMEOUT_S,
           bytecode: str | None = None) -> tuple[float, list[str]]:
    """One fresh process to its first painted frame → (seconds, files it wrote in its config
    folder). `bytecode`: a folder for the child's cached bytecode (None: the environment's
    setting). Raises LaunchError when the child fails, times out or never prints the line."""
    folder = tempfile.mkdtemp(prefix="gatescope-startup-")
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", GATESCOPE_CONFIG_DIR=folder)
    env[PROBE_ENV] = "1"
    if bytecode is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = bytecode
    try:
        t0 = time.time()
        proc = subprocess.Popen([sys.executable, *script], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()                        # the child this launch started, by its handle
            out, err = proc.communicate()
            t = _first_paint(out)
            raise LaunchError(f"{' '.join(script)} did not exit within {timeout_s:g} s"
                              + ("" if t is not None else f" and never printed '{PREFIX} …'")) from None
        t = _first_paint(out)
        if proc.returncode != 0:
            last = (err.strip().splitlines() or ["(no message)"])[-1]
            raise LaunchError(f"{' '.join(script)} exited with code {proc.returncode}: {last[:200]}")
        if t is None:
            raise LaunchError(f"{' '.join(script)} exited without printing '{PREFIX} …'")
        written = sorted(os.path.relpath(os.path.join(d, f), folder)
                         for d, _, files in os.walk(folder) for f in files)
        return t - t0, written
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_startup(launches: int = 5, warmup: int = 1, timeout_s: float = TIMEOUT_S,
                cache: bool = True) -> tuple[dict[str, list[float]], list[str]]:
    """→ ({metric: seconds per launch}, notes). A kind of launch that fails is left out of the
    result and explained in the notes (the other kind is still measured). cache: the children
    share a private bytecode cache (see the module's docstring), filled by the warm-up launches
    (with warmup = 0 the first timed launch fills it)."""
    bytecode = tempfile.mkdtemp(prefix="gatescope-startup-bytecode-") if cache else None
    try:
        return _run(launches, warmup, timeout_s, bytecode)
    finally:
        if bytecode is not None:
            shutil.rmtree(bytecode, ignore_errors=True)


def _run(launches, warmup, timeout_s, bytecode):
    times: dict[str, list[float]] = {APP[0]: [], BARE[0]: []}
    notes: list[str] = []
    failed: set[str] = set()
    for k in range(warmup + launches):
        for name, script in (APP, BARE):
            if name in failed:
                continue
            try:
                dt, written = launch(script, timeout_s, bytecode)
            except LaunchError as exc:
                failed.add(name)
                hint = (" (gui/app.py must call gatescope.gui.startup_probe.install(window) right "
                        "after the window is shown)" if name == APP[0] else "")
                notes.append(f"{name}: skipped: {exc}{hint}")
                continue
            if written:
                notes.append(f"{name}: WARNING: the process wrote {', '.join(written[:5])} in its "
                             "config folder")
            if k >= warmup:
                times[name].append(dt)
    return {name: ts for name, ts in times.items() if name not in failed}, notes


def main(argv=None) -> int:
    import argparse
    import statistics
    p = argparse.ArgumentParser(prog="python -m benchmarks.startup_bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--launches", type=int, default=5, help="timed launches of each (default 5)")
    p.add_argument("--no-bytecode-cache", action="store_true",
                   help="leave the environment's bytecode setting as it is (no private cache)")
    args = p.parse_args(argv)
    times, notes = run_startup(max(1, args.launches), cache=not args.no_bytecode_cache)
    for name, ts in times.items():
        print(f"{name:28s} median {statistics.median(ts):.3f} s   ({', '.join(f'{t:.3f}' for t in ts)})")
    for line in notes:
        print(line)
    if len(times) == 2:
        print(f"ratio {statistics.median(times[APP[0]]) / statistics.median(times[BARE[0]]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
