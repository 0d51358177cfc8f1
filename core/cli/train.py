"""`python main.py train …`: train headless with a plain-text progress bar on stderr (no Qt).

    python main.py train --task france --cell lstm --gap 40 --seed 0 [--iters N] [--init chrono]
                         [--json out.json] [--save-weights cell.npz]

Every option (range, default, help) comes from core.training.fields.TRAIN_FIELDS. Prints the final
test accuracy and loss on stdout; --json writes them with at least the keys test_accuracy,
test_loss, chance (1/K) and seconds; --save-weights writes the trained cell as PyTorch state_dict
arrays (what `main.py simulate --weights` opens). Bad input: one line on stderr, exit code 2,
before any training (also an unwritable --json or --save-weights path).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from ..fileio import check_writable as _check_writable
from ..training.fields import TRAIN_FIELD, TRAIN_FIELDS, TrainConfig, TrainError, check_value, option_name
from ..training.train import train

#: Fields with their own command-line form (not `--name VALUE` of the field's type).
SPECIAL = ("curriculum",)


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line `main.py train: error: …` on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def field_type(name: str):
    """An argparse type for TRAIN_FIELD[name]: parses the text and checks the table's range."""
    f = TRAIN_FIELD[name]

    def parse(text: str):
        try:
            value = int(text) if f.type is int else float(text) if f.type is float else text
        except ValueError:
            kind = "a whole number" if f.type is int else "a number"
            raise argparse.ArgumentTypeError(f"expected {kind}, got {text!r}") from None
        try:
            return check_value(name, value)
        except TrainError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = f.type.__name__
    return parse


#: Short names for option values in --help.
METAVARS = {"gap": "G", "n_classes": "K", "n_distractors": "D", "lead": "L", "hidden": "N",
            "forget_bias": "B", "lr": "LR", "batch": "B", "iters": "N", "clip": "T",
            "curriculum_start": "G", "curriculum_threshold": "A", "eval_every": "N", "val_size": "M",
            "test_size": "M", "stop_accuracy": "A", "seed": "S"}


def _num(f, v) -> str:
    return str(int(v)) if f.type is int else f"{v:g}"


def _help(f, default) -> str:
    parts = [f"{_num(f, f.lo)}–{_num(f, f.hi)}"] if f.lo is not None else []
    if default is not None:
        parts.append(f"default {default}")
    return (f"{f.help} [{', '.join(parts)}]" if parts else f.help).replace("%", "%%")


def add_field_option(p: argparse.ArgumentParser, name: str, default=argparse.SUPPRESS, **extra):
    """`--option` for one TRAIN_FIELDS row, with its range, choices, default and help."""
    f = TRAIN_FIELD[name]
    default = f.default if default is argparse.SUPPRESS else default
    kw = {"dest": name, "default": default, "help": _help(f, default)}
    if f.choices is not None:
        kw["choices"] = f.choices
    else:
        kw.update(type=field_type(name), metavar=METAVARS.get(name, "X"))
    kw.update(extra)
    p.add_argument(option_name(f), **kw)


def add_curriculum_option(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    cur = p.add_mutually_exclusive_group()
    cur.add_argument("--curriculum", dest="curriculum", action="store_true", default=d.curriculum,
                     help=f"start at gap {d.curriculum_start}, grow ×1.5 at "
                          f"{100 * d.curriculum_threshold:.0f}%% validation accuracy (default on)")
    cur.add_argument("--no-curriculum", dest="curriculum", action="store_false",
                     help="train at the full gap from the start")


def add_train_arguments(p: argparse.ArgumentParser, skip=()) -> argparse.ArgumentParser:
    """Every TRAIN_FIELDS option except `skip` (the sweep sets cell, gap and seed itself)."""
    for f in TRAIN_FIELDS:
        if f.name in skip or f.name in SPECIAL:
            continue
        if f.name == "nonlinearity":        # IRNN implies relu unless --activation says otherwise
            add_field_option(p, f.name, default=None)
        else:
            add_field_option(p, f.name)
    add_curriculum_option(p)
    return p


def build_train_parser(parser_class=Parser) -> argparse.ArgumentParser:
    p = parser_class(prog="main.py train",
                     description="Train an RNN, LSTM or GRU in NumPy on the notes' France → French task "
                                 "(or clouds → sky, or the adding problem) and report test accuracy.")
    add_train_arguments(p)
    p.add_argument("--json", metavar="FILE", help="write the results to FILE as JSON")
    p.add_argument("--save-weights", metavar="FILE.npz",
                   help="write the trained cell as PyTorch state_dict arrays (opens with simulate --weights)")
    return p


def config_from_args(args, **fixed) -> TrainConfig:
    """A TrainConfig from parsed options (0 for --clip and --stop-accuracy means off)."""
    values = {f.name: getattr(args, f.name) for f in TRAIN_FIELDS if hasattr(args, f.name)}
    values.update(fixed)
    for name in ("lr", "clip", "forget_bias", "stop_accuracy"):
        v = values.get(name)
        if v is not None and not math.isfinite(v):
            raise TrainError(f"--{name.replace('_', '-')} must be a finite number, got {v}")
    if values.get("nonlinearity") is None:
        values["nonlinearity"] = "relu" if values.get("init") == "irnn" else TRAIN_FIELD["nonlinearity"].default
    values["clip"] = values.get("clip") or None
    values["stop_accuracy"] = values.get("stop_accuracy") or None
    return TrainConfig(**values)


def check_writable(path: str, option: str) -> None:
    """Refuse (TrainError) an output path that cannot be written, before any work is done."""
    try:
        _check_writable(path)
    except OSError as exc:
        raise TrainError(f"{option}: {exc}") from None


class ProgressBar:
    """`[#####.....]  300/1500  gap 40  loss 0.1234  acc 0.98  12.3s` on `stream`: redrawn in place
    with \\r on a terminal; otherwise a plain new line at most every 5 % (and at the end)."""

    def __init__(self, stream=sys.stderr, width: int = 30):
        self.stream, self.width = stream, width
        isatty = getattr(stream, "isatty", None)
        self.tty = bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
        self.last_bucket = -1
        self.printed = None

    def line(self, p) -> str:
        frac = p.iteration / max(1, p.iterations)
        full = int(round(frac * self.width))
        val = f"  val {p.val_accuracy:.3f}" if p.val_accuracy is not None else ""
        return (f"[{'#' * full}{'.' * (self.width - full)}] {p.iteration:>{len(str(p.iterations))}}/"
                f"{p.iterations}  gap {p.gap}  loss {p.loss:.4f}  acc {p.accuracy:.2f}{val}  {p.elapsed:.1f}s")

    def __call__(self, p) -> bool:
        if self.tty:
            self.stream.write("\r" + self.line(p))
        else:
            bucket = int(20 * p.iteration / max(1, p.iterations))
            if bucket != self.last_bucket:
                self.last_bucket = bucket
                self.printed = p.iteration
                self.stream.write(self.line(p) + "\n")
        self.stream.flush()
        return True

    def finish(self, p=None):
        """End the bar (on a non-terminal: print the last state unless already printed)."""
        if p is not None and not self.tty and self.printed != p.iteration:
            self.stream.write(self.line(p) + "\n")
        elif self.tty:
            self.stream.write("\n")
        self.stream.flush()


def run_train(args, out=sys.stdout, err=sys.stderr) -> int:
    """Train as `args` say; print the result; write --json and --save-weights. Raises TrainError
    for bad input (before training)."""
    from ..training.fields import validate_config
    config = config_from_args(args)
    validate_config(config)
    for option, path in (("--json", args.json), ("--save-weights", getattr(args, "save_weights", None))):
        if path:
            check_writable(path, option)
    bar = ProgressBar(err)
    last = []

    def cb(p):
        last[:] = [p]
        return bar(p)

    result = train(config, cb)
    bar.finish(last[0] if last else None)
    _print_result(result, out)
    if args.json:
        try:
            from ..fileio import atomic_write_text
            atomic_write_text(args.json, json.dumps(result.summary(), indent=1) + "\n")
        except OSError as exc:
            raise TrainError(f"cannot write {args.json}: {exc.strerror or exc}") from None
        print(f"results written to {args.json}", file=out)
    if getattr(args, "save_weights", None):
        from ..training.train import save_trained
        save_trained(result.model, args.save_weights, result.task)
        print(f"trained cell written to {args.save_weights}", file=out)
    return 0


def _print_result(result, out) -> None:
    s, task, config = result.summary(), result.task, result.config
    metric = "|error| < 0.04" if task.is_regression else "argmax = target"
    print(f"{config.cell.upper()} on {config.task}, gap {task.gap}, seed {config.seed}, init {config.init}: "
          f"{result.iterations_done} iterations in {result.seconds:.1f} s"
          + (" (stopped early: validation accuracy reached the target)" if result.early_stopped else ""),
          file=out)
    print(f"test accuracy {result.test_accuracy:.4f} ({metric}; chance {task.chance:.4f})  "
          f"test loss {result.test_loss:.4f} (chance {task.chance_loss:.4f})", file=out)
    print(f"‖∂ℓ/∂h_1‖ (mean over {min(256, config.test_size)} test sequences): "
          f"{s['grad_h1_init']:.3e} at initialisation, {s['grad_h1_final']:.3e} after training; "
          f"share ‖∂ℓ/∂h_1‖/‖∂ℓ/∂h_T‖ 10^{s['log10_ratio_h1_init']:.1f} → 10^{s['log10_ratio_h1_final']:.1f}",
          file=out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_train_parser().parse_args(argv)
    try:
        return run_train(args)
    except TrainError as exc:
        print(f"main.py train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("main.py train: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
