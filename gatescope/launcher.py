"""Gatescope: see why an RNN's gradient vanishes or explodes like σ₁ᵗ, and how LSTM and GRU gates
keep information flowing.

    gatescope (or python main.py)       open the app
    python main.py --preset NAME        open the app on a preset
    python main.py --list-presets       list the presets
    python main.py --screenshot F.png   render the window off screen and exit
    gatescope FILE                      open a session (.json) or a model file (.npz, .safetensors,
                                        .pt, .keras) — what the desktop entry does with a file
    python main.py simulate --help      run the engine without a window
    python main.py train --help         train RNN / LSTM / GRU on the France → French task
"""
from __future__ import annotations

import argparse
import gc
import os
import sys

# One BLAS thread: the simulation worker must not compete with the GUI thread for the cores
# (measured: 1000 products of 128×128 matrices, 496 ms with 2 threads vs 119 ms with 1 under load).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line on stderr and exit code 2 (no usage dump, no traceback)."""

    def error(self, message):
        from gatescope.core.safeio import one_line
        message = one_line(message)
        if len(message) > 200:      # argparse echoes a refused value in full
            message = message[:199] + "…"
        self.exit(2, f"{self.prog}: error: {message}\n")


COMMANDS = ("simulate", "train", "sweep", "export-animation")


def _setup_options(p, *, app: bool):
    """Every setup field of the table (core.config.FIELDS) as an option, plus the inputs."""
    from gatescope.core.cli.options import add_field_options, help_text
    from gatescope.core.config import FIELD, FIELDS
    p.add_argument("--preset", metavar="NAME", help="start from a preset (see --list-presets)")
    add_field_options(p, FIELDS, skip=("text", "signal"))
    p.add_argument("--non-normal", action="store_true", help="the same as --structure non-normal")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--text", help=help_text(FIELD["text"]))
    src.add_argument("--signal", choices=FIELD["signal"].choices, help=help_text(FIELD["signal"]))
    if app:
        return
    src.add_argument("--inputs", metavar="FILE.npy", help="inputs as a (T, d) .npy array")
    p.add_argument("--weights", metavar="FILE",
                   help="a model file: a PyTorch state_dict (.npz, .safetensors, .pt), a Keras 3 .keras "
                        "or a Gatescope trained model; any layers and directions (RNN: tanh unless "
                        "--activation)")
    p.add_argument("--directions", action="store_true",
                   help="also write log10_singular_values (T+1, m) and lyapunov (m,) to the .npz --out")
    p.add_argument("--connectivity", action="store_true",
                   help="also write log10_input_connectivity (T, T) = log10 ‖∂h_t/∂x_k‖₂ to the .npz --out")
    p.add_argument("--out", metavar="FILE", help="write the trace to .npz or .csv")


def _size(text: str):
    """--size WxH: a window (or screenshot) size in pixels, 320×240 to 7680×4320."""
    try:
        w, h = (int(v) for v in text.lower().replace("×", "x").split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WxH such as 1280x720, got {text[:40]!r}") from None
    if not (320 <= w <= 7680 and 240 <= h <= 4320):
        raise argparse.ArgumentTypeError(f"{w}x{h} is outside 320x240 … 7680x4320")
    return w, h


def build_parser() -> Parser:
    from gatescope.core.cli.options import add_field_options
    from gatescope.core.config import VIEW_FIELDS
    p = Parser(prog="gatescope", description=__doc__.split("\n\n")[0],
               formatter_class=argparse.RawDescriptionHelpFormatter,
               epilog="commands:\n  simulate   run the engine headless and print a summary "
                      "(gatescope simulate --help)\n"
                      "  train      train a cell on a memory task headless (gatescope train --help)\n"
                      "  sweep      train over gaps and seeds (gatescope sweep --help)")
    _setup_options(p, app=True)
    add_field_options(p, VIEW_FIELDS)
    p.add_argument("--list-presets", action="store_true", help="print the presets, one a line")
    p.add_argument("--screenshot", metavar="FILE",
                   help="render the window off screen to FILE (.png, .svg or .pdf) and exit")
    p.add_argument("--size", type=_size, metavar="WxH",
                   help="window size in pixels (the screenshot is exactly this size)")
    from gatescope.core.lessons import add_lesson_arguments
    add_lesson_arguments(p)
    p.add_argument("file", nargs="?", metavar="FILE",
                   help="a session (.json) or a model / weights file (" + ", ".join(FILE_TYPES[1:])
                        + ") to open; its setup replaces the last session's")
    return p


#: what `gatescope FILE` opens (a session, or a model in any format the app reads)
FILE_TYPES = (".json", ".npz", ".safetensors", ".pt", ".pth", ".keras")


def _is_file_argument(arg: str) -> bool:
    """`gatescope FILE`: an existing file, or a name with a file type the app opens (so that a
    missing file gets 'no such file' rather than 'unknown command')."""
    return os.path.isfile(arg) or arg.lower().endswith(FILE_TYPES) or os.sep in arg


def build_simulate_parser() -> Parser:
    p = Parser(prog="gatescope simulate",
               description="Run a cell over a sequence without a window; print ‖∂s_T/∂s_0‖ and "
                           "optionally write the whole trace.")
    _setup_options(p, app=False)
    return p


def main(argv=None) -> int:
    """The command line; output piped into a reader that stops early (`| head`) ends quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())        # no second error when Python flushes at exit
        return 1


def _main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] == "train":
        from gatescope.core.cli.train import main as train_main
        return train_main(argv[1:])
    if argv and argv[0] == "sweep":
        from gatescope.core.cli.sweep import main as sweep_main
        return sweep_main(argv[1:])
    if argv and argv[0] == "export-animation":
        # Rendering needs Qt: the renderer lives in gui/, the command's parsing in core/cli/.
        from gatescope.gui.animation_command import run_export_animation
        return run_export_animation(argv[1:])
    if argv and argv[0] == "simulate":
        from gatescope.core.cli.simulate import CommandError, run_simulate
        args = build_simulate_parser().parse_args(argv[1:])
        try:
            return run_simulate(args)
        except CommandError as exc:
            print(f"gatescope simulate: error: {exc}", file=sys.stderr)
            return 2
    if argv and not argv[0].startswith("-") and argv[0] not in COMMANDS and not _is_file_argument(argv[0]):
        print(f"gatescope: error: unknown command {argv[0][:40]!r}; the commands are "
              f"{', '.join(COMMANDS)} (gatescope --help)", file=sys.stderr)
        return 2
    # the window's start builds ~10⁵ long-lived objects and almost no garbage: the cyclic
    # collector's passes over them cost ≈ 4 % of the start; it is back on (with those
    # objects frozen out of its passes) once the window is up (gui/app.py)
    gc.disable()
    args = build_parser().parse_args(argv)
    from gatescope.core.lessons import check_lesson_arguments
    rc = check_lesson_arguments(args)          # --list-steps prints and exits; a bad lesson: 2
    if rc is not None:
        return rc
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
        print(f"gatescope: error: {exc}", file=sys.stderr)
        return 2
    from gatescope.gui.app import run_app
    return run_app(args)


if __name__ == "__main__":
    sys.exit(main())
