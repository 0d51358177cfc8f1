"""`python -m benchmarks`: run every benchmark, print a table, optionally write JSON (see README)."""
from __future__ import annotations

import argparse
import os
import sys

BLAS_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n")[0])
    p.add_argument("--json", metavar="FILE", help="write a flat {metric: number} JSON object")
    p.add_argument("--quick", action="store_true",
                   help="smoke-test mode: same metrics, far fewer repetitions (numbers not meaningful)")
    p.add_argument("--runs", type=int, default=None,
                   help="runs per engine metric (core, directions, connectivity; default 7, quick 1)")
    p.add_argument("--changes", type=int, default=None, help="σ₁ changes per GUI setup (default 100)")
    p.add_argument("--play-steps", type=int, default=None, help="timed play steps (default 300)")
    p.add_argument("--rss-steps", type=int, default=None, help="play steps for the RSS metric (10000)")
    p.add_argument("--only", metavar="NAME[,NAME]",
                   help="run only these groups (core, gui, floor, directions_view, startup, directions, "
                        "connectivity) or the groups of these metrics, e.g. --only startup")
    p.add_argument("--launches", type=int, default=None,
                   help="timed start-up launches of the app and of the bare window (default 5, quick 1)")
    p.add_argument("--full-repaint", action="store_true",
                   help="stricter 'drawn': also repaint the whole window synchronously after each change")
    p.add_argument("--blas-threads", default="1",
                   help="BLAS threads (default 1, as recommended for the app; 'auto' leaves the "
                        "environment alone). Must be set before NumPy loads, hence here.")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.blas_threads != "auto":
        for var in BLAS_VARS:
            os.environ.setdefault(var, str(int(args.blas_threads)))
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("QT_SCALE_FACTOR", "1")
    # the benchmark's windows keep their settings, log and last session in a folder of their
    # own: the user's next start is never left on a benchmark's setup
    if "GATESCOPE_CONFIG_DIR" not in os.environ:
        import atexit
        import shutil
        import tempfile
        folder = tempfile.mkdtemp(prefix="gatescope-bench-")
        os.environ["GATESCOPE_CONFIG_DIR"] = folder
        atexit.register(shutil.rmtree, folder, True)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    from . import gui_bench
    gui_bench.FULL_REPAINT = args.full_repaint
    from .run import run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
