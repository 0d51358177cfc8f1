"""The one mechanism for background work (simulation and training): a job runs on a Python
thread and reports through queued Qt signals, tagged with a generation number so that results of
superseded jobs are dropped.

    worker = Worker()
    worker.finished.connect(on_result)           # (gen, result)
    worker.partial.connect(on_partial)           # (gen, early part of the result), optional
    worker.failed.connect(on_error)              # (gen, message, details); message "" = cancelled
    worker.start(gen, job)                       # job(ctx) -> result
    worker.cancel(); worker.wait(timeout_s)

A job gets a `JobContext`: `ctx.progress(fraction)` (returns False once cancelled: the job should
stop, e.g. by raising `Cancelled`), `ctx.partial(value)` and `ctx.cancelled`. With `inline=True`
a job too small to be worth a thread hand-off runs at once on the calling thread, through the same
signals.
"""
from __future__ import annotations

import threading
import time
import traceback

from gatescope.core.simulate import Cancelled
from PySide6.QtCore import QObject, Signal

#: Progress is reported only for jobs still running after this long (quick ones would flicker).
PROGRESS_AFTER_S = 0.15


class JobContext:
    """`background`: the job runs on the worker's thread (False: inline, on the caller's — where
    an early partial result would only be drawn and replaced within the same frame)."""

    def __init__(self, worker: Worker, gen: int, background: bool = True):
        self._worker, self._gen, self._t0 = worker, gen, time.perf_counter()
        self._event = worker._cancel
        self.background = background

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def progress(self, fraction: float) -> bool:
        if time.perf_counter() - self._t0 > PROGRESS_AFTER_S:
            self._worker.progress.emit(self._gen, float(fraction))
        return not self._event.is_set()

    def partial(self, value) -> None:
        self._worker.partial.emit(self._gen, value)


class Worker(QObject):
    finished = Signal(int, object)      # generation, result
    partial = Signal(int, object)       # generation, early part of the result
    failed = Signal(int, str, str)      # generation, message ("" = cancelled), details
    progress = Signal(int, float)       # generation, fraction done

    #: exceptions whose message is for the user as it is (bad input, not a bug)
    EXPECTED = (ValueError, FloatingPointError)

    def __init__(self, name: str = "gatescope-worker", parent=None):
        super().__init__(parent)
        self._name = name
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None

    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, gen: int, job, *, inline: bool = False):
        self._cancel.clear()
        ctx = JobContext(self, gen, background=not inline)

        def run():
            try:
                result = job(ctx)
            except Cancelled:
                self.failed.emit(gen, "", "cancelled")
                return
            except self.EXPECTED as exc:
                self.failed.emit(gen, str(exc), traceback.format_exc())
                return
            except Exception as exc:  # noqa: BLE001 — reported to the user, never swallowed
                self.failed.emit(gen, f"{type(exc).__name__}: {exc}", traceback.format_exc())
                return
            self.finished.emit(gen, result)

        if inline:
            run()
            return
        self._thread = threading.Thread(target=run, name=self._name, daemon=True)
        self._thread.start()

    def cancel(self):
        self._cancel.set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the running job has ended (its signals may still be queued)."""
        t = self._thread
        if t is not None:
            t.join(timeout_s)
            return not t.is_alive()
        return True
