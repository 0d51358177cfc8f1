"""Runs of a sweep in parallel: a local process pool, or a Dask distributed cluster.

Every run is a pure function of its TrainConfig (the seed fixes the weights, the batches and the
test set), so a run gives bit-identical numbers in any process; the results come back in the
order of `configs`, whatever order they finish in.

    runs = ParallelRuns(configs, workers=4)            # or scheduler="tcp://host:8786"
    rows = runs.run(on_row=lambda index, row: ...)    # blocks; rows[i] is None if cancelled
    runs.cancel()                                      # from any thread: stops within an iteration

Local: concurrent.futures.ProcessPoolExecutor with the 'spawn' start method (safe beside Qt and
threads, the same on Linux, macOS and Windows). Cancelling sets a multiprocessing Event that every
worker checks after each training iteration, so a running run ends within one iteration, the
queued ones are dropped, and the pool is shut down and joined (no process outlives run()).
Workers use one BLAS thread each (OPENBLAS_NUM_THREADS etc. = 1 unless already set).

Dask (`pip install "gatescope[cluster]"`, i.e. dask[distributed]; every worker needs gatescope
installed): the same run function is submitted to the scheduler at `scheduler`; cancelling sets a
distributed Event that the workers check about once a second, and cancels the queued futures.
Runs are sent and returned as plain dicts (TrainConfig.to_dict(), TrainResult.summary()).
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import threading
import time
import uuid

from .fields import TrainConfig

BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
#: How often run() looks at cancellation and calls its heartbeat (seconds).
POLL_S = 0.1

_cancel = None          # in a pool worker: the multiprocessing Event set by cancel()


def default_workers() -> int:
    """Every core this process may run on (sched_getaffinity where it exists, else cpu_count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def run_config(config: dict, should_stop=None) -> dict | None:
    """Train one run from a plain config dict → its summary row (no "config" key), or None if
    should_stop() became true (checked after every iteration; the run is then not evaluated)."""
    from .train import Trainer
    trainer = Trainer(TrainConfig.from_dict(config))
    while not trainer.done:
        trainer.step()
        if should_stop is not None and should_stop():
            return None
    row = trainer.finish().summary()
    row.pop("config")
    return row


def _pool_init(event) -> None:
    global _cancel
    _cancel = event


def _pool_run(config: dict) -> dict | None:
    return run_config(config, _cancel.is_set if _cancel is not None else None)


def _dask_run(config: dict, event_name: str) -> dict | None:
    from distributed import Event
    event, last = Event(event_name), [time.monotonic(), False]

    def should_stop():
        now = time.monotonic()
        if now - last[0] >= 1.0:
            last[:] = [now, event.is_set()]
        return last[1]

    return run_config(config, should_stop)


class ParallelRuns:
    """Run TrainConfigs in parallel (see the module docstring). workers: local processes (None:
    every core); scheduler: a Dask scheduler address instead of the local pool."""

    def __init__(self, configs, workers: int | None = None, scheduler: str | None = None):
        self.configs = [c.to_dict() if isinstance(c, TrainConfig) else dict(c) for c in configs]
        self.workers = max(1, min(int(workers or default_workers()), max(1, len(self.configs))))
        self.scheduler = scheduler
        self._stop = threading.Event()
        self._hooks = []

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def cancel(self) -> None:
        """Stop: running runs end within one iteration, queued ones never start (thread-safe)."""
        self._stop.set()
        for hook in list(self._hooks):
            hook()

    def run(self, on_row=None, heartbeat=None) -> list:
        """Block until every run is done (or cancelled). on_row(index, row) after each run, in the
        order they finish; heartbeat() every POLL_S seconds (return False to cancel)."""
        if self.scheduler:
            return self._run_dask(on_row, heartbeat)
        return self._run_pool(on_row, heartbeat)

    def _collect(self, futures: dict, wait, on_row, heartbeat) -> list:
        rows = [None] * len(self.configs)
        pending = set(futures)
        while pending:
            done, pending = wait(pending)
            for fut in done:
                if fut.cancelled():
                    continue
                row = fut.result()
                if row is not None and not self.cancelled:
                    rows[futures[fut]] = row
                    if on_row is not None:
                        on_row(futures[fut], row)
            if heartbeat is not None and heartbeat() is False:
                self.cancel()
        return rows

    def _run_pool(self, on_row, heartbeat) -> list:
        ctx = multiprocessing.get_context("spawn")
        event = ctx.Event()
        for var in BLAS_THREAD_VARS:
            os.environ.setdefault(var, "1")
        pool = cf.ProcessPoolExecutor(self.workers, mp_context=ctx, initializer=_pool_init, initargs=(event,))
        self._hooks.append(event.set)
        if self.cancelled:
            event.set()
        try:
            futures = {pool.submit(_pool_run, c): i for i, c in enumerate(self.configs)}

            def wait(pending):
                if self.cancelled:
                    for f in pending:
                        f.cancel()
                return cf.wait(pending, timeout=POLL_S, return_when=cf.FIRST_COMPLETED)

            return self._collect(futures, wait, on_row, heartbeat)
        finally:
            event.set()
            pool.shutdown(wait=True, cancel_futures=True)
            self._hooks.remove(event.set)

    def _run_dask(self, on_row, heartbeat) -> list:
        try:
            from distributed import Client, Event
            from distributed import wait as dask_wait
        except ImportError:
            raise RuntimeError('--scheduler needs Dask: pip install "gatescope[cluster]" '
                               '(dask[distributed])') from None
        name = f"gatescope-sweep-{uuid.uuid4().hex}"
        with Client(self.scheduler, timeout="10s") as client:
            event = Event(name, client=client)
            hook = event.set
            self._hooks.append(hook)
            futures = {client.submit(_dask_run, c, name, pure=False): i for i, c in enumerate(self.configs)}
            try:
                def wait(pending):
                    if self.cancelled:
                        client.cancel(list(pending))
                    res = dask_wait(list(pending), timeout=POLL_S, return_when="FIRST_COMPLETED")
                    return set(res.done), set(res.not_done)

                return self._collect(futures, _tolerant(wait), on_row, heartbeat)
            finally:
                self._hooks.remove(hook)
                event.set()
                client.cancel(list(futures))


def _tolerant(wait):
    """dask's wait raises TimeoutError when nothing finished in time: that means 'none done yet'."""
    def inner(pending):
        try:
            return wait(pending)
        except (TimeoutError, cf.TimeoutError):
            return set(), set(pending)
    return inner
