"""Gatescope: see why an RNN's gradient vanishes or explodes like σ₁ᵗ, and how LSTM and GRU gates
keep information flowing.

    python main.py                      open the app
    python main.py --preset NAME        open the app on a preset
    python main.py --list-presets       list the presets
    python main.py --screenshot F.png   render the window off screen and exit
    python main.py simulate --help      run the engine without a window
    python main.py train --help         train RNN / LSTM / GRU on the France → French task
"""
from __future__ import annotations

import argparse
import os
import sys

# One BLAS thread: the simulation worker must not compete with the GUI thread for the cores
# (measured: 1000 products of 128×128 matrices, 496 ms with 2 threads vs 119 ms with 1 under load).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit code 2 (no usage dump, no traceback)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def _cell_options(p, *, app: bool):
    from gatescope.core.cells import CONVENTIONS, KINDS, NONLINEARITIES
    from gatescope.core.inputs import SIGNALS
    from gatescope.core.spectra import SHAPES
    p.add_argument("--preset", metavar="NAME", help="start from a preset (see --list-presets)")
    p.add_argument("--cell", choices=KINDS, help="cell kind")
    if app:
        return
    p.add_argument("--activation", choices=NONLINEARITIES, help="RNN nonlinearity")
    p.add_argument("--convention", choices=CONVENTIONS,
                   help="GRU equations: 'seed' = the notes' (h' = (1-z)h + z h~), "
                        "'pytorch' = PyTorch/Keras (h' = (1-z)n + z h)")
    p.add_argument("--hidden", type=int, metavar="N", help="hidden size n (1-256)")
    p.add_argument("--input-size", type=int, metavar="D", help="input size d")
    p.add_argument("--sigma1", type=float, metavar="S", help="largest singular value σ₁ (0.01-3)")
    p.add_argument("--shape", choices=SHAPES, help="spectrum shape")
    p.add_argument("--non-normal", action="store_true", help="W = UΣVᵀ with U ≠ V (default: normal)")
    p.add_argument("--seed", type=int, help="random seed")
    p.add_argument("--forget-bias", type=float, help="LSTM forget-gate bias")
    p.add_argument("--update-bias", type=float, help="GRU update-gate bias")
    p.add_argument("--input-scale", type=float, help="scale of the input weights")
    p.add_argument("--clip", type=float, help="gradient-clipping threshold (0 = off)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help="input sentence")
    src.add_argument("--signal", choices=SIGNALS, help="synthetic input signal")
    src.add_argument("--inputs", metavar="FILE.npy", help="inputs as a (T, d) .npy array")
    p.add_argument("--length", type=int, metavar="T", help="length of a synthetic signal (1-5000)")
    p.add_argument("--weights", metavar="FILE.npz",
                   help="a cell from PyTorch state_dict arrays (weight_ih, weight_hh, bias_ih, bias_hh)")
    p.add_argument("--out", metavar="FILE", help="write the trace to .npz or .csv")


def build_parser() -> Parser:
    p = Parser(prog="main.py", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog="commands:\n  simulate   run the engine headless and print a summary "
                      "(python main.py simulate --help)\n"
                      "  train      train a cell on a memory task headless (python main.py train --help)")
    _cell_options(p, app=True)
    p.add_argument("--list-presets", action="store_true", help="print the presets, one a line")
    p.add_argument("--screenshot", metavar="FILE.png",
                   help="render the whole window off screen at 1600×1000 to FILE.png and exit")
    p.add_argument("--step", type=int, metavar="T", help="show step T")
    p.add_argument("--view", choices=("explore", "compare", "lab"), default="explore",
                   help="open on the Explore tab (default), Compare RNN · LSTM · GRU, or the Training lab")
    return p


def build_simulate_parser() -> Parser:
    p = Parser(prog="main.py simulate",
               description="Run a cell over a sequence without a window; print ‖∂s_T/∂s_0‖ and "
                           "optionally write the whole trace.")
    _cell_options(p, app=False)
    return p


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "train":
        from gatescope.core.cli.train import main as train_main
        return train_main(argv[1:])
    if argv and argv[0] == "simulate":
        from gatescope.core.cli.simulate import CommandError, run_simulate
        args = build_simulate_parser().parse_args(argv[1:])
        try:
            return run_simulate(args)
        except CommandError as exc:
            print(f"main.py simulate: error: {exc}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    from gatescope.core.config import ConfigError
    from gatescope.core.presets import get_preset, list_presets
    try:
        if args.list_presets:
            for p in list_presets():
                print(f"{p.name}\t{p.description}")
            return 0
        if args.preset:
            get_preset(args.preset)
    except ConfigError as exc:
        print(f"main.py: error: {exc}", file=sys.stderr)
        return 2
    from gatescope.gui.app import run_app
    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
