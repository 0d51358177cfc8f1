"""The one owner of Gatescope's mutable state: the setup (Config), the loaded model (weights from a
file, a shipped trained model, the lab's), the layer and direction drawn, the computed Analysis and
the current step t. Views subscribe to its signals and change things only through its methods.

Signals fire only when a value really changes. Simulation runs on a worker thread; bursts of
changes (a dragged slider) are coalesced: while one computation runs, only the newest pending
setup is computed next, and results of superseded setups are dropped. Every refusal (ConfigError,
ModelError / WeightsError, ValueError) is raised before anything changes; a computation that fails
or is cancelled puts back what is on screen (setup, model and layer alike).

A model (core.models.Model: layers × directions, maybe a readout) is drawn one cell at a time: the
Analysis of the selected layer and direction (core.analysis.analyse_model), so every view keeps
working; switching layers reuses the model's last run (nothing is computed again). The layer and
direction are view state (ViewState.layer / reverse in `view`, restored by `apply_document`,
clamped to the directions the model has). `note` is a one-line message about how the last file
was applied (a clamped layer, a sentence taken from the model file), shown after the analysis's
model line in the status bar until the next change.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np
from gatescope.core.analysis import Analysis, analyse, analyse_model
from gatescope.core.cells import Cell
from gatescope.core.config import Config, ConfigError, ViewState
from gatescope.core.inputs import tokenize
from gatescope.core.models import (
    Model,
    ModelError,
    load_model,
    load_weights_or_model,
    model_from_cell,
    single_cell,
    with_options,
)
from PySide6.QtCore import QObject, QTimer, Signal

from .document import Document
from .worker import Worker

#: Setups cheaper than this (T·m³) are computed on the GUI thread (≈ 3 ms for the default setup).
INLINE_COST = 4e6
#: Long runs first deliver this many steps (see `partial_analysis`).
PREFIX_STEPS = 96
#: The setup fields that change a model's inputs (a cached run is reused only when none changed).
INPUT_FIELDS = ("source", "text", "signal", "length", "seed", "input_size")
KINDS = ("rnn", "lstm", "gru")


@dataclass(frozen=True)
class Plan:
    """What one computation needs (captured on the GUI thread, read on the worker)."""
    config: Config
    model: Model | None = None           # the effective model (options applied), or None
    name: str | None = None
    layer: int = 0
    reverse: bool = False
    inputs: np.ndarray | None = None     # custom (T, d) inputs instead of the setup's
    run: object | None = None            # a ModelRun of the same model and inputs, to reuse
    compare: bool = False
    note: str | None = None              # Loaded.note, after the analysis's model line

    @property
    def plain_cell(self) -> Cell | None:
        """A loaded one-layer cell without readout or encoding: drawn exactly as before models."""
        m = self.model
        if m is None or m.readout is not None or m.encoding:
            return None
        return single_cell(m)


def _one(plan: Plan, config: Config, progress=None, steps=None):
    """(Analysis, ModelRun or None) of the plan's own cell or model layer."""
    cell = plan.plain_cell
    if plan.model is None or cell is not None:
        a = analyse(config, cell, weights_name=plan.name, progress=progress, steps=steps,
                    inputs=plan.inputs)
        if plan.model is not None:
            a = replace(a, model_line=plan.model.describe())
        return _noted(plan, a), None
    if plan.run is None:
        from gatescope.core.cli.model import check_work
        T = (len(plan.inputs) if plan.inputs is not None else _steps(config))
        check_work(plan.model, T if steps is None else min(T, steps))
    a, run = analyse_model(config, plan.model, layer=plan.layer, reverse=plan.reverse,
                           inputs=plan.inputs, run=plan.run if steps is None else None,
                           progress=progress, steps=steps)
    return _noted(plan, a), run


def _noted(plan: Plan, a: Analysis) -> Analysis:
    """The analysis with the plan's note after its model line (what the status bar shows)."""
    if not plan.note or not a.model_line:
        return a
    return replace(a, model_line=f"{a.model_line} · {plan.note}")


def _steps(config: Config) -> int:
    return len(tokenize(config.text)) if config.source == "text" else config.length


def _analysis_job(plan: Plan):
    """The simulation job for the Worker: (Analysis, {kind: Analysis} or None, ModelRun or None)."""
    config = plan.config

    def job(ctx):
        if plan.compare:
            # the three kinds on the same input and spectrum, each a third of the progress
            mine = None if plan.model is None else plan.model.stack.direction(plan.layer, plan.reverse).kind
            results, run = {}, None
            for k, kind in enumerate(KINDS):
                def part(frac, k=k):
                    return ctx.progress((k + frac) / 3)
                if kind == mine:
                    results[kind], run = _one(plan, config.replace(cell=kind), part)
                else:
                    results[kind] = analyse(config.replace(cell=kind), progress=part, inputs=plan.inputs)
            return results[mine or config.cell], results, run
        T = len(plan.inputs) if plan.inputs is not None else _steps(config)
        one_way = plan.model is None or not plan.model.stack.bidirectional
        if T > 2 * PREFIX_STEPS and plan.run is None and one_way and ctx.background \
                and not ctx.cancelled:
            # the first steps first: the curve's start is drawn while the rest is computed
            ctx.partial(_one(plan, config, steps=PREFIX_STEPS)[0])
        a, run = _one(plan, config, ctx.progress)
        return a, None, run
    return job


def _options_of(model: Model) -> dict:
    """The setup's activation / convention as the model has them (the first RNN / GRU direction)."""
    out = {}
    for _, _, d in model.stack.directions():
        if d.kind == "rnn":
            out.setdefault("activation", d.nonlinearity)
        if d.kind == "gru":
            out.setdefault("convention", d.convention)
    return out


def _sizes_of(model: Model) -> dict:
    d = model.stack.direction(0)
    return {"cell": d.kind, "hidden": d.hidden_size, "input_size": model.stack.input_size}


def as_model(obj, name: str | None = None) -> Model:
    """A core.models.Model from a Model, a Cell, a file path, a mapping of arrays (a state_dict)
    or a live module (duck-typed: anything with state_dict()). ModelError if it is none of these."""
    if isinstance(obj, Model):
        return obj
    if isinstance(obj, Cell):
        return model_from_cell(obj, name or "")
    if isinstance(obj, (str, os.PathLike)):
        return load_weights_or_model(obj)
    if isinstance(obj, Mapping) or hasattr(obj, "state_dict"):
        return replace(load_model(obj), name=str(name or type(obj).__name__)[:80])
    raise ModelError(f"cannot show a {type(obj).__name__}: give a file, a state_dict or a module")


@dataclass(frozen=True, eq=False)
class Loaded:
    """The loaded model as the user chose it: the model as read, the setup's activation and
    convention it came with (a different choice in the setup overrides every RNN / GRU layer),
    its name and file, the layer and direction drawn, custom inputs, and a note on how it was
    opened (a clamped layer, the file's own sentence) or None."""
    base: Model | None = None
    options: tuple = (None, None)
    name: str | None = None
    path: str | None = None
    layer: int = 0
    reverse: bool = False
    inputs: np.ndarray | None = None
    note: str | None = None

    def same(self, other: Loaded) -> bool:
        """The same model object, options, names, layer, note and inputs object."""
        return (self.base is other.base and self.inputs is other.inputs and
                (self.options, self.name, self.path, self.layer, self.reverse, self.note)
                == (other.options, other.name, other.path, other.layer, other.reverse, other.note))

    def at_layer(self, layer: int, reverse: bool) -> Loaded:
        """Drawing (layer, reverse), clamped to the directions the model has (the last layer; the
        forward direction of a one-way layer), with a one-line note when it had to be clamped.
        Without a model: unchanged (layer 1 is all there is)."""
        base = self.base
        if base is None:
            return self
        layers = base.stack.layers
        got = min(max(0, int(layer)), len(layers) - 1)
        rev = bool(reverse) and len(layers[got]) == 2
        note = None
        if (got, rev) != (layer, bool(reverse)):
            def label(k, r):
                return f"layer {k + 1}" + (" (reverse)" if r else "")
            note = (f"{self.name or 'the model'} has no {label(layer, reverse)}: drawing "
                    f"{label(got, rev)} of {len(layers)}")
        return replace(self, layer=got, reverse=rev, note=note)


class Session(QObject):
    config_changed = Signal(object)      # Config (also when the loaded model changes)
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
    model_changed = Signal(object)       # the loaded core.models.Model, or None
    layer_changed = Signal(int, bool)    # the layer (0-based) and direction drawn

    def __init__(self, config: Config | None = None, parent=None, *, view: ViewState | None = None,
                 store=None):
        super().__init__(parent)
        config = config or Config()
        self._loaded = Loaded()
        if config.model:
            try:
                config, self._loaded = self._trained(config)
            except (ModelError, ConfigError):
                config = config.replace(model="")          # start cleanly without it
        self._config = config
        self._view = view or ViewState()
        self._loaded = self._loaded.at_layer(self._view.layer, self._view.reverse)
        self._effective: tuple = (None, None)     # (key, Model) cache of the options applied
        self._run_cache: tuple = (None, None)     # (key, ModelRun) of the last model run
        self._job_key = None
        self._shown: tuple | None = None          # (Config, Loaded) on screen
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
        self._idle_checks: list = []              # add_idle_check: views' own pending work
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
        """The loaded model's name (a file's name, a trained model's, "trained in the lab"), or None."""
        return self._loaded.name if self._loaded.base is not None else None

    @property
    def weights_path(self) -> str | None:
        return self._loaded.path

    @property
    def model(self) -> Model | None:
        """The loaded model with the setup's activation / convention applied, or None (the cell
        built from the setup)."""
        return self._model_for(self._config, self._loaded)

    @property
    def layer(self) -> int:
        return self._loaded.layer

    @property
    def note(self) -> str | None:
        """How the last file was applied, in one line (a layer the model does not have, a
        sentence taken from the model file), or None; cleared by the next change."""
        return self._loaded.note

    @property
    def reverse(self) -> bool:
        return self._loaded.reverse

    def layer_choices(self) -> list[tuple[int, bool, str]]:
        """(layer, reverse, label) of every direction of the loaded model (one entry without one)."""
        base = self._loaded.base
        if base is None:
            return [(0, False, "layer 1 of 1")]
        L = base.stack.num_layers
        return [(layer, rev, f"layer {layer + 1} of {L}" + (" (reverse)" if rev else "")
                 + f": {d.kind.upper()} n = {d.hidden_size}") for layer, rev, d in base.stack.directions()]

    def prediction(self, t: int | None = None):
        """(token, predicted word, probability) after the input read at step t (default: the
        current step) by the direction drawn, or None (t = 0, or a model without a readout)."""
        a = self._analysis
        return None if a is None else a.prediction_at(self._step if t is None else int(t))

    # -- changing the setup ----------------------------------------------------------------------
    def update(self, **changes) -> bool:
        """Change setup properties (validated first: ConfigError, or ModelError for an unknown
        trained model, leaves everything as it was). The current step is kept (clamped). With a
        model loaded, its kind and sizes stay the model's."""
        new = self._config.replace(**changes)
        loaded = self._loaded
        if new.model != self._config.model:
            if new.model:
                new, loaded = self._trained(new)
            elif loaded.base is not None and self._config.model:
                loaded = Loaded()                         # the trained model is dropped
        elif loaded.base is not None:
            new = new.replace(**_sizes_of(loaded.base))
        if loaded.inputs is not None and any(getattr(new, k) != getattr(self._config, k)
                                             for k in INPUT_FIELDS):
            loaded = replace(loaded, inputs=None)         # custom inputs give way to the setup's
        if loaded.note is not None and new != self._config:
            loaded = replace(loaded, note=None)           # the note was about the file as opened
        if new == self._config and loaded.same(self._loaded) and self._analysis is not None:
            return False
        self._commit(new, loaded)
        self._request()
        return True

    def set_config(self, config: Config, *, keep_weights: bool = False, cell=None,
                   weights_path: str | None = None, step: int | None = -1,
                   layer: tuple[int, bool] | None = None) -> bool:
        """Replace the whole setup (a preset or a session file, with the session's loaded weights
        if it had them: `cell` a Cell or a core.models.Model). `step` (−1 = the last, None = keep)
        is where the view goes once computed. A `model` named in the setup is loaded. `layer`:
        (layer, reverse) to draw of the model (a session file's view), clamped to what it has
        with a note (`note`); None: the first layer."""
        if cell is not None:
            model = as_model(cell, os.path.basename(weights_path) if weights_path else "weights")
            config = config.replace(**_sizes_of(model), model="")   # ConfigError: nothing changed
            name = os.path.basename(weights_path) if weights_path else (model.name or "weights")
            model = replace(model, name=name) if model.name != name else model
            loaded = Loaded(model, self._options_tuple(model), name, weights_path)
        elif config.model:
            config, loaded = self._trained(config, keep=self._loaded)
        elif keep_weights and self._loaded.base is not None:
            config = config.replace(**_sizes_of(self._loaded.base))
            loaded = replace(self._loaded, inputs=None, note=None)
        else:
            loaded = Loaded()
        if layer is not None:
            loaded = loaded.at_layer(*layer)
        self._target_step = step
        self._commit(config, loaded, force=True)
        self._request()
        return True

    def apply_document(self, config: Config, view: ViewState, *, cell=None,
                       weights_path: str | None = None):
        """A whole document (a session file or the last session): setup, weights and view (the
        layer and direction drawn clamped to what the model has, saying so in `note`)."""
        if cell is not None:
            config.replace(**_sizes_of(as_model(cell)))          # ConfigError: nothing changed
        elif config.model:
            self._trained(config)                                # ModelError: nothing changed
        self.set_view(view.replace(step=self._view.step))
        self.set_config(config, cell=cell, weights_path=weights_path, step=view.step,
                        layer=(view.layer, view.reverse))

    def set_weights(self, cell: Cell | None, name: str | None = None, path: str | None = None):
        """Use a loaded cell (or None for the cell built from the setup). The setup takes the
        cell's kind and sizes; ConfigError (e.g. a hidden size above the app's limit) changes nothing."""
        if cell is None:
            if self._loaded.base is None and not self._config.model:
                return
            self._target_step = None
            self._commit(self._config.replace(model=""), Loaded())
            self._request()
            return
        self.set_model(cell, name, path)

    def set_model(self, model, name: str | None = None, path: str | None = None, *,
                  setup: dict | None = None, note: str | None = None):
        """Load a model: a core.models.Model, a Cell, a file path, a state_dict mapping or a live
        module (anything with state_dict(), e.g. torch.nn.LSTM). The setup takes its kind, sizes,
        activation and GRU form, and `setup`'s changes in the same change (e.g. the file's own
        sentence); everything is validated first (ModelError, ConfigError: nothing changes). The
        view goes to layer 1; `note` (one line) is shown after the model line until the next change."""
        if isinstance(model, (str, os.PathLike)) and path is None:
            path = os.path.abspath(model)
        m = as_model(model, name)
        config = self._config.replace(**(setup or {}), **_sizes_of(m), **_options_of(m), model="")
        label = str(name or (os.path.basename(path) if path else None) or m.name or "model")[:80]
        m = replace(m, name=label) if m.name != label else m      # the status line names the file
        self._target_step = None
        self._commit(config, Loaded(m, self._options_tuple(m), label, path, note=note))
        self._request()

    def set_inputs(self, inputs):
        """Read these (T, d) vectors (an array or an .npy path) instead of the setup's sentence or
        signal (None: the setup's again); d = the model's (or the setup's) input size. Refused with
        ModelError before anything changes; a change of the setup's input drops them."""
        if inputs is None:
            x = None
        else:
            from gatescope.core.cli.model import load_inputs
            x = load_inputs(inputs, self._config.input_size)
            x.flags.writeable = False
        self._commit(self._config, replace(self._loaded, inputs=x, note=None))
        self._request()

    def set_layer(self, layer: int, reverse: bool = False) -> bool:
        """Draw another layer / direction of the loaded model (ValueError if it has none such:
        nothing changes). Reuses the model's last run."""
        layer, reverse = int(layer), bool(reverse)
        if (layer, reverse) not in {(c[0], c[1]) for c in self.layer_choices()}:
            raise ValueError(f"the model has no layer {layer + 1}{' (reverse)' if reverse else ''}")
        if (layer, reverse) == (self._loaded.layer, self._loaded.reverse):
            return False
        self._target_step = None
        self._commit(self._config, replace(self._loaded, layer=layer, reverse=reverse, note=None))
        self._request()
        return True

    def _trained(self, config: Config, keep: Loaded | None = None) -> tuple[Config, Loaded]:
        """(setup with the trained model's sizes, Loaded) for config.model (ModelError if unknown)."""
        if keep is not None and keep.base is not None and keep.path is None and keep.name == config.model:
            base = keep.base
        else:
            from gatescope.core.models.trained import load_trained
            base = load_trained(config.model)
        config = config.replace(**_sizes_of(base))
        return config, Loaded(base, self._options_tuple(base), config.model, None)

    @staticmethod
    def _options_tuple(model: Model) -> tuple:
        o = _options_of(model)
        return o.get("activation"), o.get("convention")

    def _commit(self, config: Config, loaded: Loaded, *, force: bool = False):
        """Make (config, loaded) the state; signals for what changed."""
        old_config, old = self._config, self._loaded
        self._config, self._loaded = config, loaded
        if old.base is not loaded.base:
            self.model_changed.emit(loaded.base)
        if (old.layer, old.reverse) != (loaded.layer, loaded.reverse):
            self.layer_changed.emit(loaded.layer, loaded.reverse)
        if force or config != old_config or old.base is not loaded.base or old.name != loaded.name:
            self.config_changed.emit(config)

    def _model_for(self, config: Config, loaded: Loaded) -> Model | None:
        base = loaded.base
        if base is None:
            return None
        act0, conv0 = loaded.options
        nl = config.activation if act0 is not None and config.activation != act0 else None
        cv = config.convention if conv0 is not None and config.convention != conv0 else None
        key = (id(base), nl, cv)
        if self._effective[0] != key:
            self._effective = (key, with_options(base, nl, cv))
        return self._effective[1]

    # -- view state ------------------------------------------------------------------------------
    @property
    def view(self) -> ViewState:
        """The view-only state, with the current step and the layer and direction drawn."""
        view = self._view.replace(layer=self._loaded.layer, reverse=self._loaded.reverse)
        return view.replace(step=self._step) if self._analysis is not None else view

    def set_view(self, view: ViewState):
        """Tab, scale and theme (the step has set_step, the layer set_layer: theirs are ignored)."""
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

    def refresh(self):
        """(Re)compute the current setup."""
        self._request()

    # -- computing -------------------------------------------------------------------------------
    def _plan(self) -> Plan:
        c, ld = self._config, self._loaded
        model = self._model_for(c, ld)
        run = None
        key = None
        if model is not None:
            key = (id(model), tuple(getattr(c, k) for k in INPUT_FIELDS), id(ld.inputs))
            if self._run_cache[0] == key:
                run = self._run_cache[1]
        self._job_key = key
        return Plan(c, model, ld.name if model is not None else None, ld.layer, ld.reverse,
                    ld.inputs, run, self._compare, ld.note if model is not None else None)

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
        plan = self._plan()
        # a layer switch on the model's last run only takes the SVDs of the layer's blocks
        d = None if plan.model is None else plan.model.stack.direction(plan.layer, plan.reverse)
        reuse = (plan.run is not None and not plan.compare and d.cell is not None
                 and 8 * len(d.recurrent_blocks()) * d.hidden_size ** 3 < INLINE_COST)
        self._worker.start(self._gen, _analysis_job(plan), inline=reuse or self.cost() < INLINE_COST)

    def cost(self, cell=None) -> float:
        """A work estimate for the current setup: T·m³ multiply-adds (m = state size; a model:
        every direction's, and the stacked state's), ×3 when comparing. Below INLINE_COST (a few
        ms here) it is computed on the GUI thread."""
        c, ld = self._config, self._loaded
        T = len(ld.inputs) if ld.inputs is not None else _steps(c)
        if ld.base is not None and cell is None:
            stack = ld.base.stack
            work = sum(d.state_size ** 3 for _, _, d in stack.directions())
            if stack.num_layers > 1 and not stack.bidirectional:
                work += stack.state_size ** 3
            return T * work * (3 if self._compare else 1)
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
        result, comparison, run = payload
        if gen == self._gen:
            first = self._analysis is None
            self._analysis = result
            if run is not None:
                self._run_cache = (self._job_key, run)
            self._shown = (self._config, self._loaded)
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
        """Back to what is on screen (after a failed or cancelled computation): setup and model."""
        if self._shown is not None and not (self._config == self._shown[0]
                                            and self._loaded.same(self._shown[1])):
            self._commit(*self._shown)

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
        def busy():
            return self._busy or any(self._pending_elsewhere())
        # one pass first: work just posted (a tab's view built when first shown) gets registered
        QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
        while busy() and not deadline.hasExpired():
            QCoreApplication.processEvents(QEventLoop.AllEvents, 20)
            self._worker.wait(0.005)
        QCoreApplication.processEvents()
        return not busy()

    def add_idle_check(self, pending) -> None:
        """A view with background work of its own (pending() → bool: results of the current
        analysis still to come) makes wait_until_idle wait for it too."""
        self._idle_checks.append(pending)

    def _pending_elsewhere(self):
        for check in list(self._idle_checks):
            try:
                yield bool(check())
            except RuntimeError:                  # its widget is gone
                self._idle_checks.remove(check)

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


__all__ = ["ConfigError", "ModelError", "Session", "as_model"]
