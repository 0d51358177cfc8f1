"""The one owner of Gatescope's mutable state: the setup (Config), the computed Analysis and the
current step t. Views subscribe to its signals and change things only through its methods.

Signals fire only when a value really changes. Simulation runs on a worker thread; bursts of
changes (a dragged slider) are coalesced: while one computation runs, only the newest pending
setup is computed next, and results of superseded setups are dropped.
"""
from __future__ import annotations

import os

from gatescope.core.analysis import Analysis, analyse
from gatescope.core.cells import Cell
from gatescope.core.config import Config, ConfigError, ViewState
from gatescope.core.inputs import tokenize
from PySide6.QtCore import QObject, QTimer, Signal

from .document import Document
from .worker import Worker

#: Setups cheaper than this (T·m³) are computed on the GUI thread (≈ 3 ms for the default setup).
INLINE_COST = 4e6
#: Long runs first deliver this many steps (see `partial_analysis`).
PREFIX_STEPS = 96


def _analysis_job(config: Config, cell: Cell | None, weights_name, compare: bool):
    """The simulation job for the Worker: (Analysis, {kind: Analysis} or None)."""
    def job(ctx):
        if compare:
            # the three kinds on the same input and spectrum, each a third of the progress
            results = {}
            for k, kind in enumerate(("rnn", "lstm", "gru")):
                def part(frac, k=k):
                    return ctx.progress((k + frac) / 3)
                mine = cell is not None and cell.kind == kind
                results[kind] = analyse(config.replace(cell=kind), cell if mine else None,
                                        weights_name=weights_name if mine else None, progress=part)
            return (results[config.cell] if cell is None else results[cell.kind]), results
        T = len(tokenize(config.text)) if config.source == "text" else config.length
        if T > 2 * PREFIX_STEPS and not ctx.cancelled:
            # the first steps first: the curve's start is drawn while the rest is computed
            ctx.partial(analyse(config, cell, weights_name=weights_name, steps=PREFIX_STEPS))
        return analyse(config, cell, weights_name=weights_name, progress=ctx.progress), None
    return job


class Session(QObject):
    config_changed = Signal(object)      # Config
    analysis_changed = Signal(object)    # Analysis (a new trace)
    comparison_changed = Signal(object)  # {"rnn": Analysis, "lstm": …, "gru": …} in compare mode
    compare_mode_changed = Signal(bool)
    step_changed = Signal(int)
    playing_changed = Signal(bool)
    busy_changed = Signal(bool)
    progress_changed = Signal(float)
    error = Signal(str, str)             # message, details
    speed_changed = Signal(float)
    view_changed = Signal(object)        # ViewState (tab, scale, theme; the step has step_changed)
    partial_analysis = Signal(object)    # the first steps of a long run, before analysis_changed

    def __init__(self, config: Config | None = None, parent=None, *, view: ViewState | None = None,
                 store=None):
        super().__init__(parent)
        self._config = config or Config()
        self._view = view or ViewState()
        self._cell: Cell | None = None            # loaded weights replace the built cell
        self._weights_name: str | None = None
        self._weights_path: str | None = None
        self._analysis: Analysis | None = None
        self._comparison: dict | None = None
        self._compare = self._view.tab == "compare"
        self._step = 0
        self._playing = False
        self._speed = 20.0                        # steps per second
        self._target_step: int | None = self._view.step   # where to go once computed
        self._gen = 0                             # generation of the newest requested setup
        self._pending = False
        self._busy = False
        self._worker = Worker("gatescope-simulate")
        self._worker.finished.connect(self._on_finished)
        self._worker.partial.connect(self._on_partial)
        self._worker.failed.connect(self._on_failed)
        self._worker.progress.connect(self._on_progress)
        #: the files: sessions, weights, recent files, the last session
        self.document = Document(self, store)
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._tick)
        self._timer.setInterval(int(1000 / self._speed))

    # -- read-only state -------------------------------------------------------------------------
    @property
    def config(self) -> Config:
        return self._config

    @property
    def analysis(self) -> Analysis | None:
        return self._analysis

    @property
    def comparison(self) -> dict | None:
        """In compare mode: the Analysis of each kind (same input, same spectrum), else None."""
        return self._comparison

    @property
    def compare_mode(self) -> bool:
        return self._compare

    def set_compare_mode(self, on: bool):
        on = bool(on)
        if on == self._compare:
            return
        self._compare = on
        if not on:
            self._comparison = None
        self.compare_mode_changed.emit(on)
        if on:
            self._request()

    @property
    def step(self) -> int:
        return self._step

    @property
    def steps(self) -> int:
        return self._analysis.steps if self._analysis else 0

    @property
    def playing(self) -> bool:
        return self._playing

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def busy(self) -> bool:
        return self._busy

    @property
    def weights_name(self) -> str | None:
        return self._weights_name

    @property
    def weights_path(self) -> str | None:
        return self._weights_path

    # -- changing the setup ----------------------------------------------------------------------
    def update(self, **changes) -> bool:
        """Change setup properties (validated first: ConfigError leaves everything as it was).
        The current step is kept (clamped to the new length)."""
        new = self._config.replace(**changes)
        if new == self._config and self._analysis is not None:
            return False
        self._config = new
        self.config_changed.emit(new)
        self._request()
        return True

    def set_config(self, config: Config, *, keep_weights: bool = False, cell: Cell | None = None,
                   weights_path: str | None = None, step: int | None = -1) -> bool:
        """Replace the whole setup (a preset or a session file, with the session's loaded cell if it
        had one). `step` (−1 = the last, None = keep) is where the view goes once computed."""
        if cell is not None:
            config = config.replace(**self._sizes_of(cell))      # ConfigError: nothing changed
            self._cell, self._weights_path = cell, weights_path
            self._weights_name = os.path.basename(weights_path) if weights_path else "weights"
        elif not keep_weights:
            self._cell, self._weights_name, self._weights_path = None, None, None
        self._target_step = step
        self._config = config
        self.config_changed.emit(self._config)
        self._request()
        return True

    def apply_document(self, config: Config, view: ViewState, *, cell: Cell | None = None,
                       weights_path: str | None = None):
        """A whole document (a session file or the last session): setup, weights and view."""
        if cell is not None:
            config.replace(**self._sizes_of(cell))               # ConfigError: nothing changed
        self.set_view(view.replace(step=self._view.step))
        self.set_config(config, cell=cell, weights_path=weights_path, step=view.step)

    # -- view state ------------------------------------------------------------------------------
    @property
    def view(self) -> ViewState:
        """The view-only state, with the current step."""
        return self._view.replace(step=self._step) if self._analysis is not None else self._view

    def set_view(self, view: ViewState):
        old = self._view
        self._view = view.replace(step=old.step)
        if (old.tab, old.scale, old.high_contrast) != (view.tab, view.scale, view.high_contrast):
            self.view_changed.emit(self._view)
        if view.tab != old.tab:
            self.set_compare_mode(view.tab == "compare")

    def set_tab(self, tab: str):
        self.set_view(self._view.replace(tab=tab))

    def set_scale(self, scale: float):
        self.set_view(self._view.replace(scale=float(scale)))

    def set_high_contrast(self, on: bool):
        self.set_view(self._view.replace(high_contrast=bool(on)))

    def set_weights(self, cell: Cell | None, name: str | None = None, path: str | None = None):
        """Use a loaded cell (or None for the cell built from the setup). The setup takes the
        cell's kind and sizes; ConfigError (e.g. a hidden size above the app's limit) changes nothing."""
        config = self._config if cell is None else self._config.replace(**self._sizes_of(cell))
        self._cell, self._weights_name = cell, name
        self._weights_path = path if cell is not None else None
        self._target_step = None
        self._config = config
        self.config_changed.emit(self._config)
        self._request()

    @staticmethod
    def _sizes_of(cell: Cell) -> dict:
        return {"cell": cell.kind, "hidden": cell.hidden_size, "input_size": cell.input_size}

    def refresh(self):
        """(Re)compute the current setup."""
        self._request()

    def _effective_cell(self):
        if self._cell is None:
            return None
        c = self._cell
        if c.nonlinearity != self._config.activation or c.convention != self._config.convention:
            from gatescope.core.cells import make_cell
            c = make_cell(c.kind, c.weight_ih, c.weight_hh, c.bias_ih, c.bias_hh,
                          nonlinearity=self._config.activation, convention=self._config.convention)
        return c

    def _request(self):
        self._gen += 1
        if self._worker.busy():
            self._pending = True
            self._worker.cancel()
            return
        self._start()

    def _start(self):
        self._pending = False
        self._set_busy(True)
        cell = self._effective_cell()
        job = _analysis_job(self._config, cell, self._weights_name, self._compare)
        self._worker.start(self._gen, job, inline=self.cost(cell) < INLINE_COST)

    def cost(self, cell=None) -> float:
        """A work estimate for the current setup: T·m³ multiply-adds (m = state size), ×3 when
        comparing. Below INLINE_COST (a few ms here) it is computed on the GUI thread."""
        c = self._config
        T = len(tokenize(c.text)) if c.source == "text" else c.length
        n = cell.hidden_size if cell is not None else c.hidden
        kind = cell.kind if cell is not None else c.cell
        m = 2 * n if kind == "lstm" or self._compare else n
        return T * m ** 3 * (3 if self._compare else 1)

    def _after_run(self):
        if self._pending:
            self._start()
        else:
            self._set_busy(False)

    def _on_finished(self, gen: int, payload):
        result, comparison = payload
        if gen == self._gen:
            first = self._analysis is None
            self._analysis = result
            T = result.steps
            target = self._target_step
            if target is None:
                want = T if first else self._step
            else:
                want = T if target < 0 else target
            self._target_step = None
            old_step, self._step = self._step, min(max(0, want), T)   # valid before views redraw
            self._comparison = comparison if self._compare else None
            self.analysis_changed.emit(result)
            if self._comparison is not None:
                self.comparison_changed.emit(self._comparison)
            if self._step != old_step:
                self.step_changed.emit(self._step)
        self._after_run()

    def _on_partial(self, gen: int, analysis):
        if gen == self._gen:
            self.partial_analysis.emit(analysis)

    def _on_failed(self, gen: int, message: str, details: str):
        if gen == self._gen and message:
            self._revert()
            self.error.emit(message, details)
        self._after_run()

    def _revert(self):
        """Back to the setup that is on screen (after a failed or cancelled computation)."""
        if self._analysis is not None and self._config != self._analysis.config:
            self._config = self._analysis.config
            self.config_changed.emit(self._config)

    def cancel(self):
        """Stop a long computation; the views keep the last computed setup."""
        if self._busy:
            self._pending = False
            self._gen += 1
            self._worker.cancel()
            self._revert()

    def _on_progress(self, gen: int, frac: float):
        if gen == self._gen:
            self.progress_changed.emit(frac)

    def _set_busy(self, busy: bool):
        if busy != self._busy:
            self._busy = busy
            self.busy_changed.emit(busy)

    def wait_until_idle(self, timeout_ms: int = 30000) -> bool:
        """Process events until no computation is pending and its results are on screen (for
        tests, screenshots and exports). True when idle, False on time-out."""
        from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QEventLoop
        deadline = QDeadlineTimer(timeout_ms)
        while self._busy and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
            self._worker.wait(0.005)
        QCoreApplication.processEvents()
        return not self._busy

    wait_idle = wait_until_idle

    # -- stepping --------------------------------------------------------------------------------
    def set_step(self, t: int):
        if self._analysis is None or self._busy and self._target_step is not None:
            self._target_step = int(t)
            return
        self._set_step(min(max(0, int(t)), self.steps))

    def _set_step(self, t: int):
        if t != self._step:
            self._step = t
            self.step_changed.emit(t)

    def step_by(self, k: int):
        self.set_step(self._step + k)

    def go_start(self):
        self.set_step(0)

    def go_end(self):
        self.set_step(self.steps)

    def set_playing(self, playing: bool):
        if playing == self._playing:
            return
        if playing and self._step >= self.steps:
            self.set_step(0)
        self._playing = playing
        if playing:
            self._timer.start()
        else:
            self._timer.stop()
        self.playing_changed.emit(playing)

    def toggle_play(self):
        self.set_playing(not self._playing)

    def set_speed(self, steps_per_second: float):
        steps_per_second = float(min(max(steps_per_second, 0.5), 200.0))
        if steps_per_second != self._speed:
            self._speed = steps_per_second
            self._timer.setInterval(max(1, int(round(1000 / steps_per_second))))
            self.speed_changed.emit(steps_per_second)

    def _tick(self):
        if self._step >= self.steps:
            self.set_playing(False)
        else:
            self.step_by(1)

    # -- presets and files -----------------------------------------------------------------------
    def load_preset(self, name: str):
        from gatescope.core.presets import get_preset
        self.set_config(get_preset(name).config)

    def to_dict(self) -> dict:
        return {"setup": self._config.to_dict(), "view": self.view.to_dict()}

    def shutdown(self, timeout_s: float = 0.25):
        """Stop playing and the computation (a running step finishes within about a chunk)."""
        self._timer.stop()
        self._worker.cancel()
        self._worker.wait(timeout_s)


__all__ = ["Session", "ConfigError"]
