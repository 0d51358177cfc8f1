"""The training lab's state: its TrainConfig, the live run (off the GUI thread), Step, and the sweep.

Like Session, it owns all mutable state of the lab, emits signals only on real changes, and the
lab's views write back only through its methods. Background work goes through gui.worker.Worker
(the app's one mechanism): a run is a core.training.train.Trainer driven an iteration at a time on
the worker's thread; it checks a stop flag and blocks while paused, so Stop and Pause act within
one iteration. Step runs one iteration in slow motion (a StepRecord: forward pass, backward pass,
update) and leaves the run paused; Resume goes on from there. Per-iteration numbers are appended
to plain lists; the views redraw from them on a timer (no signal per iteration floods the GUI).
The sweep runs its (cell, gap, seed) runs in a local process pool (core.training.parallel);
Cancel stops the worker processes within one iteration and joins them.

For the main window: `trained_cell()` is the Cell trained so far (None before any training),
`trained_model()` the whole model as a core.models.Model (readout, the task's one-hot encoding,
class names and sentence: core.training.export), `send_to_explore()` emits
`open_in_explore(Model)`, `save_weights(path)` writes that model as one .npz (the shipped trained
models' layout, which File → Open weights and `simulate --weights` read).
"""
from __future__ import annotations

import csv
import io
import json
import threading

import numpy as np
from gatescope.core.fileio import atomic_write_text
from gatescope.core.models import ModelError
from gatescope.core.training.export import trained_model
from gatescope.core.training.parallel import default_workers
from gatescope.core.training.sweep import summarize, sweep
from gatescope.core.training.train import TrainConfig, Trainer, TrainError, save_trained, validate_config
from PySide6.QtCore import QCoreApplication, QObject, Signal

from .worker import Worker

STATES = ("idle", "running", "paused", "finished", "stopped")
SWEEP_CSV_KEYS = ("cell", "gap", "seed", "init", "test_accuracy", "test_loss", "chance", "iterations",
                  "seconds", "grad_h1_init", "grad_h1_final", "grad_hT_init", "grad_hT_final",
                  "log10_ratio_h1_init", "log10_ratio_h1_final")


class TrainSession(QObject):
    config_changed = Signal(object)
    state_changed = Signal(str)
    run_finished = Signal(object)              # summary dict
    step_done = Signal(object)                 # core.training.train.StepRecord
    model_changed = Signal()                   # a (new) trained model exists: trained_cell()
    open_in_explore = Signal(object)           # core.models.Model, from send_to_explore()
    sweep_state_changed = Signal(str)          # "idle" | "running" | "finished" | "cancelled"
    sweep_progress = Signal(int, int)          # runs done, runs in all
    sweep_row = Signal(object)                 # one finished run's summary
    error = Signal(str, str)
    _sweep_step = Signal(int, int, object)

    def __init__(self, config: TrainConfig | None = None, parent=None, workers: int | None = None):
        super().__init__(parent)
        self._config = config or TrainConfig()
        self._state = "idle"
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._step_request = threading.Event()
        self._lock = threading.Lock()
        self._trainer: Trainer | None = None
        self._model = None
        self._task = None
        self._gen = 0
        self.reset_data()
        self._run = Worker("gatescope-train", self)
        self._run.finished.connect(self._on_done)
        self._run.partial.connect(self._on_partial)
        self._run.failed.connect(self._on_failed)
        self.sweep_workers = workers or default_workers()
        self._sweep_state = "idle"
        self._sweep_stop = threading.Event()
        self._sweep = Worker("gatescope-sweep", self)
        self._sweep.finished.connect(self._on_sweep_done)
        self._sweep.failed.connect(self._on_sweep_failed)
        self.sweep_rows: list[dict] = []
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

    @property
    def lock(self) -> threading.Lock:
        """Hold it while reading the live lists (the run's thread appends to them)."""
        return self._lock

    def _set_state(self, s):
        if s != self._state:
            self._state = s
            self.state_changed.emit(s)

    def reset_data(self):
        """Clear the live curves (before a run, or on Reset)."""
        with self._lock:
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
            self.contrib_init: np.ndarray | None = None    # (T,) ‖step k's part of ∂ℓ/∂W_hh‖
            self.contrib_final: np.ndarray | None = None
            self.last_step = None                  # the last StepRecord
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
    def _record(self, p):
        c = self._config.clip
        with self._lock:
            self.iterations.append(p.iteration)
            self.loss.append(p.loss)
            self.accuracy.append(p.accuracy)
            self.grad_norm.append(p.grad_norm)
            self.clipped_norm.append(min(p.grad_norm, c) if c else p.grad_norm)
            self.gaps.append(p.gap)
            if p.val_accuracy is not None:
                self.eval_iterations.append(p.iteration)
                self.val_accuracy.append(p.val_accuracy)
                self.val_loss.append(p.val_loss)
                self.grad_h, self.grad_c = p.grad_h, p.grad_c
            self._model = p.model
            self.version += 1

    def _job(self, config: TrainConfig, gen: int):
        def job(ctx):
            trainer = Trainer(config)           # the probe's first gradients: off the GUI thread
            with self._lock:
                if gen == self._gen:
                    self._trainer, self._task, self._model = trainer, trainer.task, trainer.model
                    self.grad_h_init = trainer.grads_init.h_mean
                    self.grad_h, self.grad_c = trainer.grads_init.h_mean, trainer.grads_init.c_mean
                    self.contrib_init = trainer.contrib_init
                    self.version += 1
            stopped = False
            while not trainer.done:
                if self._stop.is_set():
                    stopped = True
                    break
                if self._step_request.is_set():
                    self._step_request.clear()
                    prog, rec = trainer.step(detail=True)
                    self._record(prog)
                    ctx.partial(rec)
                    continue
                if not self._resume.wait(0.05):            # paused: wait here, still stoppable
                    continue
                prog, _ = trainer.step()
                self._record(prog)
            return trainer.finish(stopped)
        return job

    def _launch(self, paused: bool):
        validate_config(self._config)
        self.reset_data()
        self._stop.clear()
        self._step_request.clear()
        (self._resume.clear if paused else self._resume.set)()
        self._run.wait(30)                     # a stopped run's thread has ended before the next
        self._gen += 1
        self._set_state("paused" if paused else "running")
        self._run.start(self._gen, self._job(self._config, self._gen))

    def start(self):
        if self._state in ("running", "paused"):
            return
        self._launch(paused=False)

    def step(self):
        """One iteration in slow motion (step_done(StepRecord) follows); the run stays paused.
        From idle or a finished run this starts a new run at its first iteration."""
        if self._state == "running":
            self.pause()
        if self._state != "paused":
            self._launch(paused=True)
        self._step_request.set()

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
        self._gen += 1                         # whatever the old run still sends is dropped
        self._trainer = self._model = None
        self.reset_data()
        self._set_state("idle")
        self.model_changed.emit()

    def wait(self, timeout: float = 30.0) -> bool:
        """Block until the run's thread has ended, then deliver its queued signals."""
        ok = self._run.wait(timeout)
        QCoreApplication.processEvents()
        return ok

    def _on_partial(self, gen, rec):
        if gen != self._gen:
            return
        with self._lock:
            self.last_step = rec
            self.version += 1
        self.step_done.emit(rec)
        self.model_changed.emit()

    def _on_done(self, gen, result):
        if gen != self._gen:
            return
        summary = result.summary()
        with self._lock:
            self.summary = summary
            self.grad_h = result.grads_final.h_mean
            self.grad_c = result.grads_final.c_mean
            self.grad_h_init = result.grads_init.h_mean
            self.contrib_init, self.contrib_final = result.contrib_init, result.contrib_final
            self._model = result.model
            self.version += 1
        self._set_state("stopped" if result.stopped else "finished")
        self.run_finished.emit(summary)
        self.model_changed.emit()

    def _on_failed(self, gen, message, details):
        if gen != self._gen:
            return
        self._set_state("idle")
        if message:
            self.error.emit(message, details or "")

    # -- the trained model -----------------------------------------------------------------------
    def trained_cell(self):
        """The cell as trained so far (core.cells.Cell), or None before any training."""
        model = self._model
        if model is None or not self.iterations:
            return None
        return model.cell()

    def _extra(self) -> dict:
        """What the file says about the run: its settings and iterations (and its test result)."""
        trainer, s = self._trainer, self.summary
        extra = {"iterations": len(self.iterations)}
        if trainer is not None:
            extra["config"] = trainer.config.to_dict()
        if s is not None:
            extra.update(test_accuracy=s["test_accuracy"], test_loss=s["test_loss"])
        return extra

    def trained_model(self):
        """The model as trained so far as a core.models.Model (core.training.export.trained_model:
        readout, encoding, class names, the task's sentence in meta["text"]), or None before any
        training. ModelError if its weights are unusable (a diverged run)."""
        if self.trained_cell() is None:
            return None
        return trained_model(self._model, self._task, self._extra())

    def send_to_explore(self) -> bool:
        """Emit open_in_explore(Model) for the trained model; False if there is none yet (or, with
        an error signal, if its weights are unusable)."""
        try:
            model = self.trained_model()
        except ModelError as exc:
            self.error.emit(str(exc), "")
            return False
        if model is None:
            return False
        self.open_in_explore.emit(model)
        return True

    def save_weights(self, path) -> str:
        """Write the trained model as one .npz (core.training.train.save_trained: the cell under
        PyTorch's names, the readout, the task's encoding, classes and sentence). Returns the path.
        TrainError before any training, ModelError for unusable weights, WriteError (an OSError)."""
        if self.trained_cell() is None:
            raise TrainError("nothing trained yet: press Start or Step first")
        return save_trained(self._model, path, self._task, self._extra())

    # -- the sweep -------------------------------------------------------------------------------
    def start_sweep(self, gaps, seeds, cells=("rnn", "lstm", "gru")):
        if self._sweep_state == "running":
            return
        gaps, seeds = tuple(int(g) for g in gaps), tuple(int(s) for s in seeds)
        if not gaps or not seeds:
            raise TrainError("give at least one gap and one seed")
        for g in gaps:
            for c in cells:
                validate_config(self._config.replace(gap=g, cell=c))
        self._sweep_stop.clear()
        self.sweep_rows = []
        base, workers = self._config, self.sweep_workers

        def cb(done, total, row, prog):
            if row is not None:
                self._sweep_step.emit(done, total, row)
            return not self._sweep_stop.is_set()

        def job(ctx):
            rows = sweep(base, cells=cells, gaps=gaps, seeds=seeds, callback=cb, workers=workers)
            return rows, self._sweep_stop.is_set()

        self._sweep_state = "running"
        self.sweep_state_changed.emit("running")
        self.sweep_progress.emit(0, len(gaps) * len(seeds) * len(cells))
        self._sweep.start(0, job)

    def cancel_sweep(self):
        """Stop the sweep: its worker processes end within one iteration and are joined."""
        self._sweep_stop.set()

    def wait_sweep(self, timeout: float = 120.0) -> bool:
        ok = self._sweep.wait(timeout)
        QCoreApplication.processEvents()
        return ok

    def _on_sweep_step(self, done, total, row):
        self.sweep_rows.append(row)
        self.sweep_row.emit(row)
        self.sweep_progress.emit(done, total)

    def _on_sweep_done(self, _gen, payload):
        rows, cancelled = payload
        self.sweep_rows = list(rows)
        self._sweep_state = "cancelled" if cancelled else "finished"
        self.sweep_state_changed.emit(self._sweep_state)

    def _on_sweep_failed(self, _gen, message, details):
        self._sweep_state = "idle"
        self.sweep_state_changed.emit("idle")
        if message:
            self.error.emit(message, details)

    def sweep_summary(self) -> list[dict]:
        return summarize(self.sweep_rows) if self.sweep_rows else []

    def export_sweep(self, path):
        """The sweep's runs as CSV (one row a run) or JSON (runs and summary), atomically."""
        path = str(path)
        if path.lower().endswith(".json"):
            atomic_write_text(path, json.dumps({"runs": self.sweep_rows, "summary": self.sweep_summary()},
                                               indent=2, default=float))
        elif path.lower().endswith(".csv"):
            buf = io.StringIO()
            w = csv.DictWriter(buf, SWEEP_CSV_KEYS, extrasaction="ignore", lineterminator="\n")
            w.writeheader()
            w.writerows(self.sweep_rows)
            atomic_write_text(path, buf.getvalue())
        else:
            raise ValueError(f"cannot export the sweep as '{path}': use .csv or .json")

    def shutdown(self):
        """Stop everything and wait for it (the app is closing)."""
        self.stop()
        self.cancel_sweep()
        self._run.wait(5)
        self._sweep.wait(10)
