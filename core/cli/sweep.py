"""`python -m core.sweep …`: a (cell, gap, seed) sweep headless, in parallel; prints a Markdown
table and optionally writes JSON. The training options are TRAIN_FIELDS' (as `main.py train`).

    python -m core.sweep --gaps 5,10,20,40,80,160 --seeds 0-9 [--cells rnn,lstm,gru]
                         [--workers N | --scheduler tcp://host:8786] [--no-curriculum] [--json F]

--workers N runs N processes (default: every core); --scheduler runs the runs on a Dask cluster
(pip install "gatescope[cluster]"). The rows are identical either way. --init chrono applies to
the gated cells and --init irnn to the RNN; the other cells keep PyTorch's default. Bad input: one line on
stderr, exit code 2, before any training.
"""
from __future__ import annotations

import argparse
import json
import sys

from ..cell_step import KINDS
from ..training.fields import TRAIN_FIELD, TrainError, check_value, validate_config
from ..training.parallel import default_workers
from ..training.sweep import CELLS, GAPS, SEEDS, markdown_table, summarize, sweep, sweep_configs
from .train import Parser, add_train_arguments, check_writable, config_from_args

PROG = "python -m core.sweep"


def int_list(name: str):
    """An argparse type: '5,10,20' or '0-9' (inclusive ranges), each value in TRAIN_FIELD[name]'s range."""
    def parse(text: str) -> tuple[int, ...]:
        values = []
        try:
            for part in (p.strip() for p in text.split(",")):
                if not part:
                    continue
                lo, _, hi = part.partition("-") if "-" in part[1:] else (part, "", "")
                values.extend(range(int(lo), int(hi) + 1) if hi else [int(lo)])
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers or ranges "
                                             f"like 0-9, got {text!r}") from None
        if not values or len(values) > 10000:
            raise argparse.ArgumentTypeError(f"give between 1 and 10000 values, got {len(values)}")
        try:
            return tuple(check_value(name, v) for v in values)
        except TrainError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def cell_list(text: str) -> tuple[str, ...]:
    cells = tuple(c.strip() for c in text.split(",") if c.strip())
    bad = [c for c in cells if c not in KINDS]
    if bad or not cells:
        raise argparse.ArgumentTypeError(f"cells must be some of {', '.join(KINDS)}, got {text!r}")
    return cells


def workers_type(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if not 1 <= n <= 1024:
        raise argparse.ArgumentTypeError(f"workers must be between 1 and 1024, got {n}")
    return n


def build_sweep_parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", type=cell_list, default=CELLS, help="cells to train (default rnn,lstm,gru)")
    p.add_argument("--gaps", type=int_list("gap"), default=GAPS,
                   help=f"gaps, e.g. 5,10,20 ({TRAIN_FIELD['gap'].lo}–{TRAIN_FIELD['gap'].hi})")
    p.add_argument("--seeds", type=int_list("seed"), default=SEEDS, help="seeds, e.g. 0,1,2 or 0-9")
    p.add_argument("--workers", type=workers_type, default=None,
                   help=f"processes to run the runs in (default: every core, here {default_workers()})")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="run on this Dask distributed scheduler instead (needs gatescope[cluster])")
    p.add_argument("--json", metavar="FILE", help="write the runs and the summary to FILE")
    add_train_arguments(p, skip=("cell", "gap", "seed"))
    return p


def _report(done, total, row, prog):
    if row is not None:
        print(f"[{done}/{total}] {row['cell']} gap {row['gap']} seed {row['seed']}: "
              f"acc {row['test_accuracy']:.3f} loss {row['test_loss']:.4f} it {row['iterations']} "
              f"{row['seconds']:.1f}s ‖∂ℓ/∂h1‖ {row['grad_h1_init']:.2e} → {row['grad_h1_final']:.2e}",
              file=sys.stderr, flush=True)
    return True


def main(argv=None) -> int:
    a = build_sweep_parser().parse_args(argv)
    try:
        base = config_from_args(a)
        for cfg in sweep_configs(base, a.cells, a.gaps, a.seeds[:1]):
            validate_config(cfg)
        if a.json:
            check_writable(a.json, "--json")
        if a.scheduler:
            try:
                import distributed  # noqa: F401
            except ImportError:
                raise TrainError('--scheduler needs Dask: pip install "gatescope[cluster]"') from None
        rows = sweep(base, a.cells, a.gaps, a.seeds, _report,
                     workers=a.workers or default_workers(), scheduler=a.scheduler)
    except (TrainError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    summary = summarize(rows)
    print(markdown_table(summary))
    if a.json:
        from ..fileio import atomic_write_text
        atomic_write_text(a.json, json.dumps({"config": base.to_dict(), "rows": rows, "summary": summary},
                                             indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
