"""`python main.py train …`: train headless with a plain-text progress bar on stderr (no Qt).

    python main.py train --task france --cell lstm --gap 40 --seed 0 [--iters N] [--json out.json]

Prints the final test accuracy and loss on stdout; --json writes them with at least the keys
test_accuracy, test_loss, chance (1/K) and seconds. Bad input: one line on stderr, exit code 2.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

from ..cells import CONVENTIONS, KINDS, NONLINEARITIES
from ..training.tasks import TASKS
from ..training.train import OPTIMIZERS, TrainConfig, TrainError, train


class Parser(argparse.ArgumentParser):
    """Bad arguments: one line `main.py train: error: …` on stderr and exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}\n")


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    d = TrainConfig()
    p.add_argument("--task", choices=TASKS, default=d.task,
                   help="france: long-gap recall (default); clouds: short-gap contrast; adding: "
                        "Hochreiter & Schmidhuber's adding problem (T = --gap)")
    p.add_argument("--cell", choices=KINDS, default=d.cell, help="cell kind (default lstm)")
    p.add_argument("--gap", type=int, metavar="G",
                   help="distractors between the key and the query (adding: sequence length); "
                        "default 40 (clouds 3)")
    p.add_argument("--seed", type=int, default=d.seed, help="random seed (default 0)")
    p.add_argument("--iters", type=int, default=d.iters, metavar="N",
                   help=f"maximum training iterations (default {d.iters})")
    p.add_argument("--json", metavar="FILE", help="write the results to FILE as JSON")
    p.add_argument("--classes", type=int, default=d.n_classes, metavar="K",
                   help=f"number of countries K (chance = 1/K; default {d.n_classes})")
    p.add_argument("--distractors", type=int, default=d.n_distractors, metavar="D",
                   help=f"number of distractor tokens (default {d.n_distractors})")
    p.add_argument("--lead", type=int, default=d.lead, metavar="L",
                   help="distractors before the key (default 0)")
    p.add_argument("--hidden", type=int, default=d.hidden, metavar="N", help=f"hidden size (default {d.hidden})")
    p.add_argument("--batch", type=int, default=d.batch, metavar="B", help=f"sequences per step (default {d.batch})")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer, help="default adam")
    p.add_argument("--lr", type=float, default=d.lr, help=f"learning rate (default {d.lr})")
    p.add_argument("--clip", type=float, default=d.clip, metavar="T",
                   help=f"clip the gradient norm at T (0 = off; default {d.clip})")
    p.add_argument("--forget-bias", type=float, default=d.forget_bias,
                   help=f"LSTM forget-gate bias (default {d.forget_bias})")
    p.add_argument("--activation", choices=NONLINEARITIES, default=d.nonlinearity, help="RNN nonlinearity")
    p.add_argument("--convention", choices=CONVENTIONS, default=d.convention, help="GRU equations")
    cur = p.add_mutually_exclusive_group()
    cur.add_argument("--curriculum", dest="curriculum", action="store_true", default=d.curriculum,
                     help=f"start at gap {d.curriculum_start}, grow ×1.5 at "
                          f"{100 * d.curriculum_threshold:.0f}%% validation accuracy (default on)")
    cur.add_argument("--no-curriculum", dest="curriculum", action="store_false",
                     help="train at the full gap from the start")
    p.add_argument("--stop-accuracy", type=float, default=d.stop_accuracy, metavar="A",
                   help=f"stop early at validation accuracy A at the full gap (0 = never; default {d.stop_accuracy})")
    p.add_argument("--test-size", type=int, default=d.test_size, metavar="M",
                   help=f"test sequences (default {d.test_size})")
    return p


def build_train_parser(parser_class=Parser) -> argparse.ArgumentParser:
    p = parser_class(prog="main.py train",
                     description="Train an RNN, LSTM or GRU in NumPy on the notes' France → French task "
                                 "(or clouds → sky, or the adding problem) and report test accuracy.")
    return add_train_arguments(p)


def config_from_args(args) -> TrainConfig:
    for name in ("lr", "clip", "forget_bias", "stop_accuracy"):
        v = getattr(args, name)
        if v is not None and not math.isfinite(v):
            raise TrainError(f"--{name.replace('_', '-')} must be a finite number, got {v}")
    stop = args.stop_accuracy if args.stop_accuracy and args.stop_accuracy > 0 else None
    return TrainConfig(task=args.task, gap=args.gap, n_classes=args.classes, n_distractors=args.distractors,
                       lead=args.lead, cell=args.cell, hidden=args.hidden, nonlinearity=args.activation,
                       convention=args.convention, forget_bias=args.forget_bias, optimizer=args.optimizer,
                       lr=args.lr, batch=args.batch, iters=args.iters, clip=args.clip or None,
                       curriculum=args.curriculum, stop_accuracy=stop, test_size=args.test_size,
                       seed=args.seed)


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
    """Train as `args` say; print the result; write --json. Raises TrainError for bad input."""
    config = config_from_args(args)
    if args.json:
        folder = os.path.dirname(os.path.abspath(args.json))
        if os.path.isdir(args.json) or not os.path.isdir(folder):
            raise TrainError(f"cannot write {args.json}: "
                             + ("is a directory" if os.path.isdir(args.json) else "no such directory"))
    bar = ProgressBar(err)
    last = []

    def cb(p):
        last[:] = [p]
        return bar(p)

    result = train(config, cb)
    bar.finish(last[0] if last else None)
    s = result.summary()
    task = result.task
    metric = "|error| < 0.04" if task.is_regression else "argmax = target"
    print(f"{config.cell.upper()} on {config.task}, gap {task.gap}, seed {config.seed}: "
          f"{result.iterations_done} iterations in {result.seconds:.1f} s"
          + (" (stopped early: validation accuracy reached the target)" if result.early_stopped else ""),
          file=out)
    print(f"test accuracy {result.test_accuracy:.4f} ({metric}; chance {task.chance:.4f})  "
          f"test loss {result.test_loss:.4f} (chance {task.chance_loss:.4f})", file=out)
    print(f"‖∂ℓ/∂h_1‖ (mean over {min(256, config.test_size)} test sequences): "
          f"{s['grad_h1_init']:.3e} at initialisation, {s['grad_h1_final']:.3e} after training", file=out)
    if args.json:
        try:
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(s, f, indent=1)
                f.write("\n")
        except OSError as exc:
            raise TrainError(f"cannot write {args.json}: {exc.strerror or exc}") from None
        print(f"results written to {args.json}", file=out)
    return 0


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
