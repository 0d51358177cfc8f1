"""The training lab's state: its TrainConfig, the live run (off the GUI thread) and the sweep.

Like Session, it owns all mutable state of the lab, emits signals only on real changes, and the
lab's views write back only through its methods. Runs call core.train.train on a Python thread;
the callback checks a stop flag and blocks while paused, so Stop and Pause act within one
iteration. Per-iteration numbers are appended to plain lists; the views redraw from them on a
timer (no signal per iteration floods the GUI).
"""
from __future__ import annotations

import csv
import json
import threading
import traceback

import numpy as np
from gatescope.core.fileio import atomic_write_text
from gatescope.core.training.sweep import summarize, sweep
from gatescope.core.training.train import TrainConfig, TrainError, train, validate_config
from PySide6.QtCore import QObject, Signal

STATES = ("idle", "running", "paused", "finished", "stopped")


class TrainSession(QObject):
    config_changed = Signal(object)
    state_changed = Signal(str)
    run_finished = Signal(object)              # summary dict
    sweep_state_changed = Signal(str)          # "idle" | "running" | "finished" | "cancelled"
    sweep_progress = Signal(int, int)          # runs done, runs in all
    sweep_row = Signal(object)                 # one finished run's summary
    error = Signal(str, str)
    _done = Signal(object)
    _sweep_done = Signal(object, bool)
    _sweep_step = Signal(int, int, object)

    def __init__(self, config: TrainConfig | None = None, parent=None):
        super().__init__(parent)
        self._config = config or TrainConfig()
        self._state = "idle"
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._thread = None
        self._lock = threading.Lock()
        self.reset_data()
        self._sweep_state = "idle"
        self._sweep_stop = threading.Event()
        self._sweep_thread = None
        self.sweep_rows: list[dict] = []
        self._done.connect(self._on_done)
        self._sweep_done.connect(self._on_sweep_done)
        self._sweep_step.connect(self._on_sweep_step)

    # -- state -----------------------------------------------------------------------------------
    @property
    def config(self) -> TrainConfig:
        return self._config

    @property
    def state(self) -> str:
        return self._state

    @property
    def sweep_state(self) -> str:
        return self._sweep_state

    def _set_state(self, s):
        if s != self._state:
            self._state = s
            self.state_changed.emit(s)

    def reset_data(self):
        """Clear the live curves (before a run, or on Reset)."""
        with getattr(self, "_lock", threading.Lock()):
            self.iterations: list[int] = []
            self.loss: list[float] = []
            self.accuracy: list[float] = []
            self.grad_norm: list[float] = []       # ‖g‖ before clipping
            self.clipped_norm: list[float] = []    # ‖g‖ after clipping
            self.gaps: list[int] = []
            self.eval_iterations: list[int] = []
            self.val_accuracy: list[float] = []
            self.val_loss: list[float] = []
            self.grad_h: np.ndarray | None = None  # (T,) mean ‖∂ℓ/∂h_k‖ at the last evaluation
            self.grad_c: np.ndarray | None = None
            self.grad_h_init: np.ndarray | None = None
            self.summary: dict | None = None
            self.version = 0                       # bumped on every new data point

    def update(self, **changes) -> bool:
        """Change settings (validated; TrainError leaves everything as it was)."""
        new = self._config.replace(**changes)
        validate_config(new)
        if new == self._config:
            return False
        self._config = new
        self.config_changed.emit(new)
        return True

    # -- a run -----------------------------------------------------------------------------------
    def start(self):
        if self._state in ("running", "paused"):
            return
        validate_config(self._config)
        self.reset_data()
        self._stop.clear()
        self._resume.set()
        config = self._config

        def callback(p):
            with self._lock:
                self.iterations.append(p.iteration)
                self.loss.append(p.loss)
                self.accuracy.append(p.accuracy)
                self.grad_norm.append(p.grad_norm)
                c = config.clip
                self.clipped_norm.append(min(p.grad_norm, c) if c else p.grad_norm)
                self.gaps.append(p.gap)
                if p.val_accuracy is not None:
                    self.eval_iterations.append(p.iteration)
                    self.val_accuracy.append(p.val_accuracy)
                    self.val_loss.append(p.val_loss)
                    self.grad_h = p.grad_h
                    self.grad_c = p.grad_c
                    if self.grad_h_init is None:
                        self.grad_h_init = p.grad_h
                self.version += 1
            while not self._resume.wait(0.05):      # paused: wait here, still stoppable
                if self._stop.is_set():
                    return False
            return not self._stop.is_set()

        def run():
            try:
                result = train(config, callback)
            except TrainError as exc:
                self._done.emit(("error", str(exc), ""))
                return
            except Exception as exc:  # noqa: BLE001 — shown to the user with details
                self._done.emit(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()))
                return
            self._done.emit(("ok", result, None))

        self._thread = threading.Thread(target=run, name="gatescope-train", daemon=True)
        self._set_state("running")
        self._thread.start()

    def pause(self):
        if self._state == "running":
            self._resume.clear()
            self._set_state("paused")

    def resume(self):
        if self._state == "paused":
            self._resume.set()
            self._set_state("running")

    def stop(self):
        """Stop now: the run ends after the current iteration and is evaluated as it is."""
        if self._state in ("running", "paused"):
            self._stop.set()
            self._resume.set()

    def reset(self):
        self.stop()
        self.wait()
        self.reset_data()
        self._set_state("idle")

    def wait(self, timeout: float = 30.0) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
            from PySide6.QtCore import QCoreApplication
            QCoreApplication.processEvents()
            return not self._thread.is_alive()
        return True

    def _on_done(self, payload):
        kind, value, details = payload
        if kind == "error":
            self._set_state("idle")
            self.error.emit(value, details or "")
            return
        summary = value.summary()
        with self._lock:
            self.summary = summary
            self.grad_h = value.grads_final.h_mean
            self.grad_c = value.grads_final.c_mean
            self.grad_h_init = value.grads_init.h_mean
            self.version += 1
        self._set_state("stopped" if value.stopped else "finished")
        self.run_finished.emit(summary)

    # -- the sweep -------------------------------------------------------------------------------
    def start_sweep(self, gaps, seeds, cells=("rnn", "lstm", "gru")):
        if self._sweep_state == "running":
            return
        gaps, seeds = tuple(int(g) for g in gaps), tuple(int(s) for s in seeds)
        if not gaps or not seeds:
            raise TrainError("give at least one gap and one seed")
        for g in gaps:
            validate_config(self._config.replace(gap=g))
        self._sweep_stop.clear()
        self.sweep_rows = []
        base = self._config

        def cb(done, total, row, prog):
            if row is not None or done == 0:
                self._sweep_step.emit(done, total, row)
            return not self._sweep_stop.is_set()

        def run():
            try:
                rows = sweep(base, cells=cells, gaps=gaps, seeds=seeds, callback=cb)
            except Exception as exc:  # noqa: BLE001
                self._sweep_done.emit(("error", f"{type(exc).__name__}: {exc}", traceback.format_exc()), False)
                return
            self._sweep_done.emit(rows, self._sweep_stop.is_set())

        self._sweep_thread = threading.Thread(target=run, name="gatescope-sweep", daemon=True)
        self._sweep_state = "running"
        self.sweep_state_changed.emit("running")
        self.sweep_progress.emit(0, len(gaps) * len(seeds) * len(cells))
        self._sweep_thread.start()

    def cancel_sweep(self):
        self._sweep_stop.set()

    def wait_sweep(self, timeout: float = 120.0) -> bool:
        if self._sweep_thread is not None:
            self._sweep_thread.join(timeout)
            from PySide6.QtCore import QCoreApplication
            QCoreApplication.processEvents()
            return not self._sweep_thread.is_alive()
        return True

    def _on_sweep_step(self, done, total, row):
        if row is not None:
            self.sweep_rows.append(row)
            self.sweep_row.emit(row)
        self.sweep_progress.emit(done, total)

    def _on_sweep_done(self, rows, cancelled):
        if isinstance(rows, tuple) and rows and rows[0] == "error":
            self._sweep_state = "idle"
            self.sweep_state_changed.emit("idle")
            self.error.emit(rows[1], rows[2])
            return
        self.sweep_rows = list(rows)
        self._sweep_state = "cancelled" if cancelled else "finished"
        self.sweep_state_changed.emit(self._sweep_state)

    def sweep_summary(self) -> list[dict]:
        return summarize(self.sweep_rows) if self.sweep_rows else []

    def export_sweep(self, path):
        """The sweep's runs as CSV (one row a run) or JSON (runs and summary), atomically."""
        path = str(path)
        if path.lower().endswith(".json"):
            atomic_write_text(path, json.dumps({"runs": self.sweep_rows, "summary": self.sweep_summary()},
                                               indent=2, default=float))
        elif path.lower().endswith(".csv"):
            import io
            buf = io.StringIO()
            keys = ["cell", "gap", "seed", "test_accuracy", "test_loss", "chance", "iterations",
                    "seconds", "grad_h1_init", "grad_h1_final"]
            w = csv.DictWriter(buf, keys, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            w.writerows(self.sweep_rows)
            atomic_write_text(path, buf.getvalue())
        else:
            raise ValueError(f"cannot export the sweep as '{path}': use .csv or .json")

    def shutdown(self):
        self.stop()
        self.cancel_sweep()
        for t in (self._thread, self._sweep_thread):
            if t is not None:
                t.join(5)
