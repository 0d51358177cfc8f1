"""`python -m core.sweep …` (or `gatescope sweep …`): a (cell, gap, seed) sweep headless; prints a
Markdown table and optionally writes JSON. Bad input: one line on stderr, exit code 2."""
from __future__ import annotations

import argparse
import json
import sys

from ..training.sweep import CELLS, GAPS, SEEDS, markdown_table, summarize, sweep
from ..training.train import TrainConfig, TrainError


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m core.sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--task", default="france")
    p.add_argument("--cells", default=",".join(CELLS))
    p.add_argument("--gaps", type=_ints, default=GAPS)
    p.add_argument("--seeds", type=_ints, default=SEEDS)
    p.add_argument("--iters", type=int, default=TrainConfig.iters)
    p.add_argument("--lr", type=float, default=TrainConfig.lr)
    p.add_argument("--optimizer", default=TrainConfig.optimizer)
    p.add_argument("--forget-bias", type=float, default=TrainConfig.forget_bias)
    p.add_argument("--no-curriculum", action="store_true")
    p.add_argument("--json", metavar="FILE")
    a = p.parse_args(argv)
    base = TrainConfig(task=a.task, iters=a.iters, lr=a.lr, optimizer=a.optimizer,
                       forget_bias=a.forget_bias, curriculum=not a.no_curriculum)

    def cb(done, total, row, prog):
        if row is not None:
            print(f"[{done}/{total}] {row['cell']} gap {row['gap']} seed {row['seed']}: "
                  f"acc {row['test_accuracy']:.3f} loss {row['test_loss']:.4f} it {row['iterations']} "
                  f"{row['seconds']:.1f}s ‖∂ℓ/∂h1‖ {row['grad_h1_init']:.2e} → {row['grad_h1_final']:.2e}",
                  file=sys.stderr, flush=True)
        return True

    try:
        rows = sweep(base, tuple(a.cells.split(",")), a.gaps, a.seeds, cb)
    except TrainError as exc:
        print(f"{p.prog}: error: {exc}", file=sys.stderr)
        return 2
    summary = summarize(rows)
    print(markdown_table(summary))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"config": {k: getattr(base, k) for k in base.__dataclass_fields__},
                       "rows": rows, "summary": summary}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
