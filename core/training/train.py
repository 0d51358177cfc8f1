"""Training in NumPy: a recurrent cell + softmax (or linear) readout of the last hidden state,
back-propagation through time for RNN / LSTM / GRU (both GRU conventions; core.training.bptt),
SGD and Adam, gradient clipping by norm, and the per-step gradient norms ‖∂ℓ/∂h_k‖ that show why
a plain RNN has a hard time learning "I grew up in France … I speak fluent [French]"
(core.training.contributions).

Shapes: T steps, B sequences, d inputs, n hidden units, G gate blocks (RNN 1, LSTM 4, GRU 3),
C outputs (K classes, or 1 for the adding problem). Batches are time-first: x (T, B, d).

Parameters (a dict, PyTorch layout as in core.cells): weight_ih (G·n, d), weight_hh (G·n, n),
bias_ih (G·n,), bias_hh (G·n,), weight_out (C, n), bias_out (C,).

Forward (the same equations as core.cells.step_cache, batched over B; tested against it):
    xw_t = W_ih x_t + b_ih,  s_t = F(xw_t, s_{t−1}),  s_0 = 0,   logits = W_out h_T + b_out
Loss, averaged over the batch:
    classes:  ℓ = −log softmax(logits)[y]          ∂ℓ/∂logits = p − onehot(y)
    adding:   ℓ = (ŷ − y)²,  ŷ = logits[0]         ∂ℓ/∂ŷ = 2 (ŷ − y)
BPTT: δh_T = W_outᵀ ∂ℓ/∂logits, then for t = T … 1 the chain rule through step t gives
∂ℓ/∂(W, b) += (local terms) and δs_{t−1} = (∂s_t/∂s_{t−1})ᵀ δs_t, which is why
‖∂ℓ/∂h_1‖ ≤ ‖∂ℓ/∂h_T‖ · ∏ ‖∂s_t/∂s_{t−1}‖ shrinks like σ₁ᵗ for the plain RNN (the notes, §2).
Clipping (the notes, §3.1): g = ∇ℓ over all parameters; if ‖g‖₂ ≥ threshold: g ← threshold/‖g‖₂ · g.

The loop lives in `Trainer` (one iteration a `step()`, which can also return a StepRecord of the
batch's forward pass, backward pass and update for the lab's Step button); `train(config,
callback)` runs it to the end. The settings are core.training.fields.TrainConfig (re-exported).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..cells import Cell
from .bptt import Model, backward, evaluate, forward, forward_backward, loss_and_grads, loss_value
from .contributions import GradNorms, contribution_norms, contributions_from, hidden_grad_norms
from .fields import OPTIMIZERS, TrainConfig, TrainError, validate_config
from .inits import init_model
from .tasks import TASKS, DataSet, Task, TaskError, make_batch, make_task

__all__ = ["OPTIMIZERS", "PARAM_NAMES", "TASKS", "AdamState", "GradNorms", "Model", "Progress",
           "StepRecord", "Task", "TaskError", "TrainConfig", "TrainError", "TrainResult", "Trainer",
           "adam_step", "backward", "clip_by_norm", "evaluate", "forward", "forward_backward", "global_norm",
           "hidden_grad_norms", "init_model", "loss_and_grads", "loss_value", "make_batch", "make_task",
           "save_trained", "sgd_step", "train", "validate_config"]

PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out")
#: Sequences used to measure ‖∂ℓ/∂h_k‖ (the first of the test set, the same for every cell).
PROBE_SIZE = 256


# ----------------------------------------------------------------------------------------------
# Clipping and optimisers

def global_norm(grads: dict) -> float:
    """‖g‖₂ over every parameter's gradient together."""
    return float(np.sqrt(sum(float(np.sum(g * g)) for g in grads.values())))


def clip_by_norm(grads: dict, threshold: float | None) -> tuple[dict, float, bool]:
    """The notes' §3.1: if ‖g‖ ≥ threshold, g ← (threshold / ‖g‖) g. threshold None or ≤ 0: off.
    Returns (grads, ‖g‖ before clipping, clipped?)."""
    norm = global_norm(grads)
    if threshold is None or threshold <= 0 or norm < threshold:
        return grads, norm, False
    s = threshold / norm
    return {k: g * s for k, g in grads.items()}, norm, True


@dataclass(frozen=True, eq=False)
class AdamState:
    """Adam's moments m, v (dicts like the params) after `step` updates."""

    step: int = 0
    m: dict = field(default_factory=dict)
    v: dict = field(default_factory=dict)


def sgd_step(params: dict, grads: dict, lr: float) -> dict:
    """θ ← θ − lr · g (new arrays)."""
    return {k: params[k] - lr * grads[k] for k in params}


def adam_step(params: dict, grads: dict, state: AdamState, lr: float, beta1: float = 0.9,
              beta2: float = 0.999, eps: float = 1e-8) -> tuple[dict, AdamState]:
    """Kingma & Ba (2015): m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g², θ ← θ − lr·m̂/(√v̂ + ε) with
    m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ). Returns new params and state (nothing modified in place)."""
    t = state.step + 1
    m = {k: beta1 * state.m.get(k, 0.0) + (1.0 - beta1) * g for k, g in grads.items()}
    v = {k: beta2 * state.v.get(k, 0.0) + (1.0 - beta2) * g * g for k, g in grads.items()}
    c1, c2 = 1.0 - beta1 ** t, 1.0 - beta2 ** t
    new = {k: params[k] - lr * (m[k] / c1) / (np.sqrt(v[k] / c2) + eps) for k in params}
    return new, AdamState(t, m, v)


# ----------------------------------------------------------------------------------------------
# What a run reports

@dataclass(frozen=True, eq=False)
class Progress:
    """What the callback receives after every iteration.

    iteration (1-based) of iterations; gap: the gap trained on now (curriculum); loss, accuracy:
    this training batch's; grad_norm: ‖g‖ before clipping; clipped: whether it was clipped;
    elapsed: seconds since the start; model: the model after this update.
    At evaluation points (every eval_every iterations, and the last one) also: val_loss,
    val_accuracy (validation set at the current gap) and grad_h (T,) = mean ‖∂ℓ/∂h_k‖ on the probe
    set at the full gap, grad_c likewise for the LSTM's cell state; otherwise these are None.
    """

    iteration: int
    iterations: int
    gap: int
    loss: float
    accuracy: float
    grad_norm: float
    clipped: bool
    elapsed: float
    model: Model
    val_loss: float | None = None
    val_accuracy: float | None = None
    grad_h: np.ndarray | None = None
    grad_c: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class StepRecord:
    """One iteration in slow motion (the lab's Step button), for the batch of B sequences of T steps.

    forward:  x0 (T, d) and y0, the first sequence's inputs and target; h0 (T+1, n) its hidden
              states h_0 … h_T; out0 (C,) its output (logits, or ŷ); losses (B,); loss, accuracy.
    backward: grad_h (T,) ‖∂ℓ/∂h_k‖_F over the batch (ℓ the batch's mean loss); grad_params
              {name: ‖∂ℓ/∂θ‖}; contrib (T,) ‖contribution of step k to ∂ℓ/∂W_hh‖_F
              (core.training.contributions); grad_norm ‖g‖ before clipping; clipped; threshold.
    update:   delta {name: ‖Δθ‖} and param_norm {name: ‖θ‖ before}; loss_after, the same batch's
              mean loss with the updated weights; model_before, model_after.
    """

    iteration: int
    gap: int
    x0: np.ndarray
    y0: float
    h0: np.ndarray
    out0: np.ndarray
    losses: np.ndarray
    loss: float
    accuracy: float
    grad_h: np.ndarray
    grad_params: dict
    contrib: np.ndarray
    grad_norm: float
    clipped: bool
    threshold: float | None
    delta: dict
    param_norm: dict
    loss_after: float
    model_before: Model
    model_after: Model


@dataclass(frozen=True, eq=False)
class TrainResult:
    """A finished (or stopped) run. history: one row per iteration (iteration, gap, loss, accuracy,
    grad_norm, clipped); evals: one row per evaluation (iteration, gap, val_loss, val_accuracy).
    grads_init / grads_final: GradNorms on the probe set at the full gap before and after training;
    contrib_init / contrib_final: (T,) ‖step k's contribution to ∂ℓ/∂W_hh‖ on the probe set."""

    config: TrainConfig
    task: Task
    model: Model
    test_loss: float
    test_accuracy: float
    seconds: float
    iterations_done: int
    stopped: bool
    early_stopped: bool
    final_gap: int
    history: list
    evals: list
    grads_init: GradNorms
    grads_final: GradNorms
    contrib_init: np.ndarray | None = None
    contrib_final: np.ndarray | None = None

    @property
    def chance(self) -> float:
        return self.task.chance

    def cell(self) -> Cell:
        """The trained recurrent cell (for Explore and weight files)."""
        return self.model.cell()

    def summary(self) -> dict:
        """Plain JSON-ready data (what `main.py train --json` writes)."""
        cfg, gi, gf = self.config, self.grads_init, self.grads_final
        return {"task": cfg.task, "cell": cfg.cell, "gap": self.task.gap, "seed": cfg.seed, "init": cfg.init,
                "test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
                "chance": self.chance, "chance_loss": self.task.chance_loss, "seconds": self.seconds,
                "iterations": self.iterations_done, "stopped": self.stopped,
                "early_stopped": self.early_stopped, "final_gap": self.final_gap,
                "grad_h1_init": gi.first, "grad_h1_final": gf.first,
                "grad_hT_init": gi.last, "grad_hT_final": gf.last,
                "log10_ratio_h1_init": float(gi.log10_ratio[0]),
                "log10_ratio_h1_final": float(gf.log10_ratio[0]),
                "grad_c1_init": gi.first_c, "grad_c1_final": gf.first_c,
                "sigma1_whh_final": float(np.linalg.norm(self.model.params["weight_hh"], 2)),
                "config": cfg.to_dict()}


# ----------------------------------------------------------------------------------------------
# The training loop

def _curriculum_next(gap: int, target: int) -> int:
    return min(target, max(gap + 1, int(round(gap * 1.5))))


def _norms(d: dict) -> dict:
    return {k: float(np.linalg.norm(v)) for k, v in d.items()}


class Trainer:
    """One run, an iteration at a time. Deterministic: weights from default_rng((seed, 0)) (and
    (seed, 4), core.training.inits), training batches from ((seed, 1)), the test set (its first
    PROBE_SIZE sequences are the probe) from ((seed, 2, chunk)), validation from ((seed, 3, gap,
    chunk)). Not thread-safe: one thread drives it."""

    def __init__(self, config: TrainConfig):
        self.config = config
        self.task = task = validate_config(config)
        self.regression = task.is_regression
        self.t0 = time.perf_counter()
        self.model = init_model(config.cell, task.input_size, config.hidden, task.output_size,
                                seed=config.seed, forget_bias=config.forget_bias, init=config.init,
                                nonlinearity=config.nonlinearity, convention=config.convention,
                                t_max=task.length)
        self.data_rng = np.random.default_rng((config.seed, 1))
        self.test_set = DataSet(task, config.test_size, (config.seed, 2))
        self.probe = self.test_set.first(PROBE_SIZE)
        self.grads_init = hidden_grad_norms(self.model, *self.probe, self.regression)
        self.contrib_init = self._probe_contributions()
        self.target = task.gap
        lowest = 2 if self.regression else 0
        self.gap = max(lowest, min(self.target, config.curriculum_start)) if config.curriculum else self.target
        self.adam = AdamState()
        self.iteration = 0
        self.history, self.evals = [], []
        self.early = False
        self._val = {}

    @property
    def done(self) -> bool:
        return self.early or self.iteration >= self.config.iters

    def val_set(self, gap: int) -> DataSet:
        if gap not in self._val:
            self._val[gap] = DataSet(self.task.with_gap(gap), self.config.val_size, (self.config.seed, 3, gap))
        return self._val[gap]

    def _probe_contributions(self) -> np.ndarray:
        x, y = self.probe
        return contribution_norms(self.model, x[:, :64], y[:64], self.regression)

    def _update(self, grads: dict) -> None:
        if self.config.optimizer == "adam":
            params, self.adam = adam_step(self.model.params, grads, self.adam, self.config.lr)
        else:
            params = sgd_step(self.model.params, grads, self.config.lr)
        m = self.model
        self.model = Model(m.kind, params, m.nonlinearity, m.convention)

    def _evaluate(self, gap: int) -> dict:
        vl, va = evaluate(self.model, self.val_set(gap), regression=self.regression)
        self.evals.append({"iteration": self.iteration, "gap": gap, "val_loss": vl, "val_accuracy": va})
        gn = hidden_grad_norms(self.model, *self.probe, self.regression)
        if gap == self.target:
            stop = self.config.stop_accuracy
            self.early = bool(stop) and va >= stop
        elif va >= self.config.curriculum_threshold:
            self.gap = _curriculum_next(gap, self.target)
        return {"val_loss": vl, "val_accuracy": va, "grad_h": gn.h_mean, "grad_c": gn.c_mean}

    def step(self, detail: bool = False) -> tuple[Progress, StepRecord | None]:
        """One iteration: a fresh batch at the current gap, BPTT, clipping, the optimiser's update
        (and, at evaluation points, validation and the probe). detail: also a StepRecord."""
        cfg = self.config
        self.iteration += 1
        gap = self.gap
        x, y = make_batch(self.task.with_gap(gap), cfg.batch, self.data_rng)
        before = self.model
        r = forward_backward(before, x, y, self.regression, record=detail, deltas=detail)
        loss, acc = float(r["losses"].mean()), float(r["correct"].mean())
        grads, gnorm, clipped = clip_by_norm(r["grads"], cfg.clip)
        self._update(grads)
        self.history.append({"iteration": self.iteration, "gap": gap, "loss": loss, "accuracy": acc,
                             "grad_norm": gnorm, "clipped": clipped})
        extra = self._evaluate(gap) if self.iteration % cfg.eval_every == 0 or self.iteration == cfg.iters else {}
        prog = Progress(self.iteration, cfg.iters, gap, loss, acc, gnorm, clipped,
                        time.perf_counter() - self.t0, self.model, **extra)
        rec = self._record(gap, x, y, r, gnorm, clipped, before) if detail else None
        return prog, rec

    def _record(self, gap, x, y, r, gnorm, clipped, before) -> StepRecord:
        after = self.model
        contrib = contributions_from(before, r["cache"], r["record"], "weight_hh")
        delta = {k: after.params[k] - before.params[k] for k in before.params}
        return StepRecord(self.iteration, gap, x[:, 0].copy(), float(y[0]), r["cache"]["h"][:, 0].copy(),
                          r["out"][0].copy(), r["losses"].copy(), float(r["losses"].mean()),
                          float(r["correct"].mean()), np.linalg.norm(r["record"]["h"], axis=(1, 2)),
                          _norms(r["grads"]), np.linalg.norm(contrib.reshape(len(contrib), -1), axis=1),
                          gnorm, clipped, self.config.clip, _norms(delta), _norms(before.params),
                          evaluate(after, x, y, self.regression)[0], before, after)

    def finish(self, stopped: bool = False) -> TrainResult:
        """Test the model as it is now (streamed over the test set) and report the run."""
        test_loss, test_acc = evaluate(self.model, self.test_set, regression=self.regression)
        grads_final = hidden_grad_norms(self.model, *self.probe, self.regression)
        return TrainResult(self.config, self.task, self.model, test_loss, test_acc,
                           time.perf_counter() - self.t0, self.iteration, stopped, self.early, self.gap,
                           self.history, self.evals, self.grads_init, grads_final,
                           self.contrib_init, self._probe_contributions())


def train(config: TrainConfig, callback=None) -> TrainResult:
    """Train a model as `config` says. callback(Progress) is called after every iteration from the
    calling thread; if it returns False the run stops (the result has stopped=True). To pause, block
    inside the callback. Deterministic (see Trainer)."""
    trainer = Trainer(config)
    stopped = False
    while not trainer.done:
        prog, _ = trainer.step()
        if callback is not None and callback(prog) is False:
            stopped = True
            break
    return trainer.finish(stopped)


# ----------------------------------------------------------------------------------------------
# Weight files

def save_trained(model: Model, path, task: Task | None = None, extra: dict | None = None) -> str:
    """Write the trained model as one .npz in the shipped trained models' layout
    (core.training.export): the cell under PyTorch's one-layer names (weight_ih_l0, weight_hh_l0,
    bias_ih_l0, bias_hh_l0), the readout (weight_out, bias_out) and "gatescope_meta" (kind,
    encoding, classes, vocabulary and sentence of the task), which `simulate --weights` and File →
    Open weights read with its readout and encoding. Atomic; no pickle. Returns the path."""
    from .export import save_model
    return save_model(model, path, task, extra)
