"""Parallel sweeps: a process pool and a Dask cluster give rows bit-identical to the serial sweep
(only the seconds differ); cancelling stops the workers and leaves no process behind; the
command line's --workers and --scheduler."""
import json
import multiprocessing

import pytest
from gatescope.core.cli.sweep import main as sweep_main
from gatescope.core.training.parallel import ParallelRuns, default_workers
from gatescope.core.training.sweep import init_for, sweep, sweep_configs
from gatescope.core.training.train import TrainConfig

TINY = TrainConfig(hidden=4, iters=8, batch=8, test_size=40, val_size=16, eval_every=4, stop_accuracy=None)
GRID = {"cells": ("rnn", "lstm", "gru"), "gaps": (2, 3), "seeds": (0, 1)}


def _strip(rows):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in rows]


def test_process_pool_rows_are_bit_identical_to_the_serial_sweep():
    serial = sweep(TINY, **GRID, workers=1)
    seen = []
    parallel = sweep(TINY, **GRID, workers=2, callback=lambda done, total, row, prog: seen.append((done, row)) or True)
    assert len(serial) == 12 and _strip(parallel) == _strip(serial)       # == on floats: bit for bit
    assert [(r["gap"], r["cell"], r["seed"]) for r in parallel] == [
        (g, c, s) for g in GRID["gaps"] for c in GRID["cells"] for s in GRID["seeds"]]
    finished = [d for d, row in seen if row is not None]
    assert finished == list(range(1, 13))                  # one call per finished run, counted up
    assert not multiprocessing.active_children()


def test_cancel_stops_the_workers_and_leaves_no_process():
    long = TINY.replace(iters=10**6, eval_every=10**6)     # would run for hours
    runs = ParallelRuns(sweep_configs(long, ("lstm",), (30,), (0, 1, 2, 3)), workers=2)
    beats = []

    def heartbeat():
        beats.append(len(multiprocessing.active_children()))
        return len(beats) < 5                               # cancel after ~0.5 s of running

    rows = runs.run(heartbeat=heartbeat)
    assert runs.cancelled and rows == [None] * 4           # no half-trained run is reported
    assert max(beats) >= 1                                  # the workers were running
    assert not multiprocessing.active_children()            # and they are gone, joined


def test_sweep_callback_returning_false_cancels_a_parallel_sweep():
    calls = []
    rows = sweep(TINY.replace(iters=10**6, eval_every=10**6), cells=("rnn",), gaps=(20,), seeds=(0, 1, 2),
                 workers=2, callback=lambda *a: calls.append(a) or len(calls) < 3)
    assert rows == [] and not multiprocessing.active_children()


def test_dask_cluster_rows_equal_the_serial_sweep(capsys):
    distributed = pytest.importorskip("distributed")
    serial = sweep(TINY, cells=("rnn", "gru"), gaps=(2,), seeds=(0, 1), workers=1)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster:
        rows = sweep(TINY, cells=("rnn", "gru"), gaps=(2,), seeds=(0, 1), scheduler=cluster.scheduler_address)
        assert _strip(rows) == _strip(serial)
        code = sweep_main(["--cells", "rnn,gru", "--gaps", "2", "--seeds", "0-1", "--hidden", "4", "--iters", "8",
                           "--batch", "8", "--test-size", "40", "--val-size", "16", "--eval-every", "4",
                           "--stop-accuracy", "0", "--scheduler", cluster.scheduler_address])
    assert code == 0
    out = capsys.readouterr().out
    assert "| rnn | 2 |" in out and "| gru | 2 |" in out


def test_command_line_workers_and_json(tmp_path, capsys):
    out = tmp_path / "sweep.json"
    code = sweep_main(["--cells", "rnn", "--gaps", "2,3", "--seeds", "0-1", "--hidden", "4", "--iters", "6",
                       "--batch", "8", "--test-size", "40", "--workers", "2", "--json", str(out)])
    assert code == 0
    data = json.loads(out.read_text())
    assert [(r["gap"], r["seed"]) for r in data["rows"]] == [(2, 0), (2, 1), (3, 0), (3, 1)]
    assert data["config"]["hidden"] == 4 and len(data["summary"]) == 2
    serial = sweep(TrainConfig(hidden=4, iters=6, batch=8, test_size=40), ("rnn",), (2, 3), (0, 1))
    assert _strip(data["rows"]) == _strip(serial)


@pytest.mark.parametrize("args,needle", [
    (["--workers", "0"], "workers must be between 1"),
    (["--gaps", "5,x"], "comma-separated"),
    (["--seeds", "-1"], "out of range"),
    (["--cells", "rnn,cnn"], "cells must be"),
    (["--init", "chrono", "--cells", "rnn", "--hidden", "0"], "hidden size"),
    (["--json", "/no/such/dir/s.json"], "/no/such/dir/s.json"),
])
def test_command_line_bad_input_is_one_line_and_exit_2(args, needle, capsys):
    with pytest.raises(SystemExit) as exc:
        code = sweep_main(args + ["--iters", "1"])
        raise SystemExit(code)
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("python -m core.sweep: error:") and needle in err[0]


def test_inits_that_do_not_apply_to_a_cell_fall_back_to_the_default():
    assert init_for("rnn", "chrono") == "default" and init_for("lstm", "chrono") == "chrono"
    assert init_for("gru", "irnn") == "default" and init_for("rnn", "irnn") == "irnn"
    cfgs = sweep_configs(TINY.replace(init="chrono"), ("rnn", "lstm"), (2,), (0,))
    assert [c.init for c in cfgs] == ["default", "chrono"]


def test_default_workers_is_every_core_this_process_may_use():
    import os
    expect = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert default_workers() == expect
