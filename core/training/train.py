"""Training in NumPy: a recurrent cell + softmax (or linear) readout of the last hidden state,
back-propagation through time for RNN / LSTM / GRU (both GRU conventions), SGD and Adam, gradient
clipping by norm, and the per-step gradient norms ‖∂ℓ/∂h_k‖ that show why a plain RNN cannot learn
"I grew up in France … I speak fluent [French]".

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
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..cells import CONVENTIONS, GATE_BLOCKS, KINDS, NONLINEARITIES, Cell, activation, make_cell, sigmoid
from .tasks import ADDING_TOLERANCE, TASKS, Task, TaskError, make_batch, make_task

OPTIMIZERS = ("adam", "sgd")
PARAM_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out")
#: Sequences used to measure ‖∂ℓ/∂h_k‖ (drawn from the test stream, the same for every cell).
PROBE_SIZE = 256


class TrainError(ValueError):
    """Bad training settings (a one-line, user-facing message)."""


# ----------------------------------------------------------------------------------------------
# Model

@dataclass(frozen=True, eq=False)
class Model:
    """A recurrent cell and its readout. `params` holds float64 arrays (never modified in place:
    every update builds new arrays, so a Model handed to another thread stays valid)."""

    kind: str
    params: dict
    nonlinearity: str = "tanh"
    convention: str = "pytorch"

    @property
    def hidden_size(self) -> int:
        return self.params["weight_hh"].shape[1]

    @property
    def input_size(self) -> int:
        return self.params["weight_ih"].shape[1]

    @property
    def output_size(self) -> int:
        return self.params["weight_out"].shape[0]

    def cell(self) -> Cell:
        """The recurrent part as a core.cells.Cell (for core.simulate and the other views)."""
        p = self.params
        return make_cell(self.kind, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
                         nonlinearity=self.nonlinearity, convention=self.convention)

    def n_parameters(self) -> int:
        return int(sum(a.size for a in self.params.values()))


def init_model(kind: str, input_size: int, hidden_size: int, output_size: int, *, seed: int = 0,
               forget_bias: float = 1.0, nonlinearity: str = "tanh", convention: str = "pytorch") -> Model:
    """PyTorch's default initialisation: every weight and bias ~ U(−1/√n, 1/√n) (readout:
    U(−1/√n, 1/√n) too), drawn from default_rng((seed, 0)); then the LSTM forget-gate bias b_ih[f]
    is set to `forget_bias` (and b_hh[f] to 0), so f starts near σ(forget_bias)."""
    if kind not in KINDS:
        raise TrainError(f"unknown cell {kind!r}; choose one of {', '.join(KINDS)}")
    if nonlinearity not in NONLINEARITIES:
        raise TrainError(f"unknown nonlinearity {nonlinearity!r}; choose one of {', '.join(NONLINEARITIES)}")
    if convention not in CONVENTIONS:
        raise TrainError(f"unknown GRU convention {convention!r}; choose one of {', '.join(CONVENTIONS)}")
    n, d, C, G = int(hidden_size), int(input_size), int(output_size), GATE_BLOCKS[kind]
    rng = np.random.default_rng((int(seed), 0))
    k = 1.0 / np.sqrt(n)
    p = {"weight_ih": rng.uniform(-k, k, (G * n, d)), "weight_hh": rng.uniform(-k, k, (G * n, n)),
         "bias_ih": rng.uniform(-k, k, G * n), "bias_hh": rng.uniform(-k, k, G * n),
         "weight_out": rng.uniform(-k, k, (C, n)), "bias_out": rng.uniform(-k, k, C)}
    if kind == "lstm":
        p["bias_ih"][n:2 * n] = forget_bias
        p["bias_hh"][n:2 * n] = 0.0
    return Model(kind, p, nonlinearity, convention)


# ----------------------------------------------------------------------------------------------
# Forward and backward through time

def forward(model: Model, x: np.ndarray, h0=None, c0=None) -> dict:
    """Run the cell over x (T, B, d) → cache of (T, B, ·) arrays; cache["h"] is (T+1, B, n) with
    h[0] = h0 (zeros by default), likewise cache["c"] for the LSTM."""
    p, kind = model.params, model.kind
    T, B, _ = x.shape
    n = model.hidden_size
    w_hh, b_hh = p["weight_hh"], p["bias_hh"]
    xw = x @ p["weight_ih"].T + p["bias_ih"]             # (T, B, G·n)
    H = np.empty((T + 1, B, n))
    H[0] = 0.0 if h0 is None else h0
    cache = {"x": x, "xw": xw, "h": H, "T": T}
    if kind == "rnn":
        S = np.empty((T, B, n))
        for t in range(T):
            a = xw[t] + (H[t] @ w_hh.T + b_hh)
            H[t + 1], S[t] = activation(model.nonlinearity, a)
        cache["slope"] = S
    elif kind == "lstm":
        Cs = np.empty((T + 1, B, n))
        Cs[0] = 0.0 if c0 is None else c0
        I, F, Gg, O, TC = (np.empty((T, B, n)) for _ in range(5))
        for t in range(T):
            pre = xw[t] + (H[t] @ w_hh.T + b_hh)
            I[t] = sigmoid(pre[:, :n])
            F[t] = sigmoid(pre[:, n:2 * n])
            Gg[t] = np.tanh(pre[:, 2 * n:3 * n])
            O[t] = sigmoid(pre[:, 3 * n:])
            Cs[t + 1] = F[t] * Cs[t] + I[t] * Gg[t]
            TC[t] = np.tanh(Cs[t + 1])
            H[t + 1] = O[t] * TC[t]
        cache.update(c=Cs, i=I, f=F, g=Gg, o=O, tc=TC)
    else:
        R, Z, N = (np.empty((T, B, n)) for _ in range(3))
        X2 = np.empty((T, B, n))     # pytorch: hn = W_hn h + b_hn;  seed: r ⊙ h
        seed = model.convention == "seed"
        for t in range(T):
            h = H[t]
            if seed:
                gh = h @ w_hh[:2 * n].T + b_hh[:2 * n]
            else:
                gh = h @ w_hh.T + b_hh
            R[t] = sigmoid(xw[t, :, :n] + gh[:, :n])
            Z[t] = sigmoid(xw[t, :, n:2 * n] + gh[:, n:2 * n])
            if seed:
                X2[t] = R[t] * h
                N[t] = np.tanh(xw[t, :, 2 * n:] + (X2[t] @ w_hh[2 * n:].T + b_hh[2 * n:]))
                H[t + 1] = (1.0 - Z[t]) * h + Z[t] * N[t]
            else:
                X2[t] = gh[:, 2 * n:]
                N[t] = np.tanh(xw[t, :, 2 * n:] + R[t] * X2[t])
                H[t + 1] = (1.0 - Z[t]) * N[t] + Z[t] * h
        cache.update(r=R, z=Z, n=N, x2=X2)
    return cache


def backward(model: Model, cache: dict, dh_last: np.ndarray, *, record: bool = False):
    """BPTT from δh_T = ∂ℓ/∂h_T (B, n) → (grads of the cell's four arrays, record).

    record (if asked): {"h": (T, B, n) ∂ℓ/∂h_k for k = 1..T, and for the LSTM "c": ∂ℓ/∂c_k} — the
    derivatives with respect to the state s_k = h_k (or [h_k; c_k], each part holding the other
    fixed), i.e. δs_k = (∂s_T/∂s_k)ᵀ δs_T with core.cells' Jacobians."""
    p, kind = model.params, model.kind
    T = cache["T"]
    H = cache["h"]
    n = model.hidden_size
    G = GATE_BLOCKS[kind]
    B = H.shape[1]
    w_hh = p["weight_hh"]
    dxw = np.empty((T, B, G * n))        # ∂ℓ/∂(W_ih x_t + b_ih)
    dgh = np.empty((T, B, G * n))        # ∂ℓ/∂(W_hh · in_t + b_hh) (in_t = h_{t−1}, or r ⊙ h for seed n)
    dh = np.array(dh_last, dtype=np.float64, copy=True)
    rec_h = np.empty((T, B, n)) if record else None
    rec_c = np.empty((T, B, n)) if record and kind == "lstm" else None
    if kind == "rnn":
        S = cache["slope"]
        for t in range(T - 1, -1, -1):
            if record:
                rec_h[t] = dh
            da = dh * S[t]
            dxw[t] = da
            dgh[t] = da
            dh = da @ w_hh
    elif kind == "lstm":
        Cs, I, F, Gg, O, TC = (cache[k] for k in ("c", "i", "f", "g", "o", "tc"))
        dc = np.zeros_like(dh)
        for t in range(T - 1, -1, -1):
            if record:
                rec_h[t] = dh
                rec_c[t] = dc
            i, f, g, o, tc = I[t], F[t], Gg[t], O[t], TC[t]
            dc = dc + dh * o * (1.0 - tc * tc)                    # h = o tanh(c)
            d = dxw[t]
            d[:, :n] = dc * g * i * (1.0 - i)                    # c = f c₋ + i g
            d[:, n:2 * n] = dc * Cs[t] * f * (1.0 - f)
            d[:, 2 * n:3 * n] = dc * i * (1.0 - g * g)
            d[:, 3 * n:] = dh * tc * o * (1.0 - o)
            dgh[t] = d
            dc = dc * f
            dh = d @ w_hh
    else:
        R, Z, N, X2 = (cache[k] for k in ("r", "z", "n", "x2"))
        seed = model.convention == "seed"
        w_hn = w_hh[2 * n:]
        for t in range(T - 1, -1, -1):
            if record:
                rec_h[t] = dh
            r, z, cand, h = R[t], Z[t], N[t], H[t]
            d = dxw[t]
            if seed:                                             # h' = (1−z) h + z ñ
                da_n = dh * z * (1.0 - cand * cand)
                d[:, 2 * n:] = da_n
                d_rh = da_n @ w_hn                               # ñ = tanh(… + W_hn (r ⊙ h) + b_hn)
                d[:, :n] = d_rh * h * r * (1.0 - r)
                d[:, n:2 * n] = dh * (cand - h) * z * (1.0 - z)
                dgh[t] = d
                dh = dh * (1.0 - z) + d_rh * r + d[:, :2 * n] @ w_hh[:2 * n]
            else:                                                # h' = (1−z) n + z h
                da_n = dh * (1.0 - z) * (1.0 - cand * cand)
                d[:, 2 * n:] = da_n                              # n = tanh(… + r ⊙ (W_hn h + b_hn))
                d[:, :n] = da_n * X2[t] * r * (1.0 - r)
                d[:, n:2 * n] = dh * (h - cand) * z * (1.0 - z)
                dgh[t] = d
                dgh[t, :, 2 * n:] = da_n * r
                dh = dh * z + dgh[t] @ w_hh
    x = cache["x"]
    flat = (T * B, G * n)
    grads = {"weight_ih": dxw.reshape(flat).T @ x.reshape(T * B, -1),
             "bias_ih": dxw.sum(axis=(0, 1)), "bias_hh": dgh.sum(axis=(0, 1))}
    if kind == "gru" and model.convention == "seed":
        hin = H[:-1].reshape(T * B, n)
        dg = dgh.reshape(flat)
        grads["weight_hh"] = np.vstack([dg[:, :2 * n].T @ hin,
                                        dg[:, 2 * n:].T @ cache["x2"].reshape(T * B, n)])
    else:
        grads["weight_hh"] = dgh.reshape(flat).T @ H[:-1].reshape(T * B, n)
    record_out = None
    if record:
        record_out = {"h": rec_h}
        if rec_c is not None:
            record_out["c"] = rec_c
    return grads, record_out


def _readout(model: Model, hT: np.ndarray, y: np.ndarray, regression: bool, reduce: bool = True):
    """logits, per-sequence loss (B,), correct (B,) and ∂(Σ or mean ℓ)/∂logits."""
    p = model.params
    out = hT @ p["weight_out"].T + p["bias_out"]
    B = hT.shape[0]
    scale = 1.0 / B if reduce else 1.0
    if regression:
        err = out[:, 0] - y
        losses = err * err
        dout = (2.0 * err * scale)[:, None]
        correct = np.abs(err) < ADDING_TOLERANCE
    else:
        zmax = out - out.max(axis=1, keepdims=True)
        logp = zmax - np.log(np.exp(zmax).sum(axis=1, keepdims=True))
        rows = np.arange(B)
        losses = -logp[rows, y]
        dout = np.exp(logp)
        dout[rows, y] -= 1.0
        dout *= scale
        correct = np.argmax(out, axis=1) == y
    return out, losses, correct, dout


def loss_and_grads(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False):
    """Mean loss over the batch, its gradient for every parameter, and the batch accuracy."""
    cache = forward(model, x)
    hT = cache["h"][-1]
    _, losses, correct, dout = _readout(model, hT, y, regression)
    grads, _ = backward(model, cache, dout @ model.params["weight_out"])
    grads["weight_out"] = dout.T @ hT
    grads["bias_out"] = dout.sum(axis=0)
    return float(losses.mean()), grads, float(correct.mean())


def loss_value(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False) -> float:
    """Mean loss only (for finite differences and evaluation)."""
    return evaluate(model, x, y, regression)[0]


def evaluate(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False,
             chunk: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) over all sequences of x, in chunks of `chunk` sequences."""
    loss = acc = 0.0
    B = x.shape[1]
    for a in range(0, B, chunk):
        xb, yb = x[:, a:a + chunk], y[a:a + chunk]
        _, losses, correct, _ = _readout(model, forward(model, xb)["h"][-1], yb, regression)
        loss += float(losses.sum())
        acc += float(correct.sum())
    return loss / B, acc / B


@dataclass(frozen=True, eq=False)
class GradNorms:
    """Per-sequence gradient norms with respect to every hidden state.

    h (B, T): ‖∂ℓ_b/∂h_k‖₂ for k = 1..T (column k−1), ℓ_b the loss of sequence b alone;
    c (B, T) for the LSTM: ‖∂ℓ_b/∂c_k‖₂ (the conveyor belt), else None.
    """

    h: np.ndarray
    c: np.ndarray | None = None

    @property
    def h_mean(self) -> np.ndarray:
        """(T,) mean over sequences of ‖∂ℓ/∂h_k‖ — the curve to plot (log scale)."""
        return self.h.mean(axis=0)

    @property
    def c_mean(self) -> np.ndarray | None:
        return None if self.c is None else self.c.mean(axis=0)

    @property
    def first(self) -> float:
        """Mean ‖∂ℓ/∂h_1‖: the gradient that reaches the first token ("France")."""
        return float(self.h[:, 0].mean())

    @property
    def first_c(self) -> float | None:
        """Mean ‖∂ℓ/∂c_1‖ (LSTM), the gradient on the conveyor belt at the first token."""
        return None if self.c is None else float(self.c[:, 0].mean())

    @property
    def log10_ratio(self) -> np.ndarray:
        """(T,) mean over sequences of log10(‖∂ℓ/∂h_k‖ / ‖∂ℓ/∂h_T‖): the share of the output's
        gradient that survives back to step k, independent of how small the loss already is."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.mean(np.log10(self.h) - np.log10(self.h[:, -1:]), axis=0)


def hidden_grad_norms(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False) -> GradNorms:
    """‖∂ℓ_b/∂h_k‖ for every sequence b of x (T, B, d) and every step k = 1..T (see GradNorms)."""
    cache = forward(model, x)
    hT = cache["h"][-1]
    _, _, _, dout = _readout(model, hT, y, regression, reduce=False)
    _, rec = backward(model, cache, dout @ model.params["weight_out"], record=True)
    h = np.linalg.norm(rec["h"], axis=2).T
    c = np.linalg.norm(rec["c"], axis=2).T if "c" in rec else None
    return GradNorms(h, c)


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
# The training loop

@dataclass(frozen=True)
class TrainConfig:
    """Everything a run depends on. The same config (seed included) gives the same run.

    Curriculum (if on): train at gap `curriculum_start`, and whenever the validation accuracy at
    the current gap reaches `curriculum_threshold`, grow the gap ×1.5 (at least +1) up to `gap`.
    Early stop (stop_accuracy not None): stop once the validation accuracy at the full gap reaches it.
    """

    task: str = "france"
    gap: int | None = None             # None: the task's default (40; clouds 3)
    n_classes: int = 4
    n_distractors: int = 8
    lead: int = 0
    cell: str = "lstm"
    hidden: int = 32
    nonlinearity: str = "tanh"
    convention: str = "pytorch"
    forget_bias: float = 1.0
    optimizer: str = "adam"
    lr: float = 0.01
    batch: int = 64
    iters: int = 1500
    clip: float | None = 1.0           # None or 0: no clipping
    curriculum: bool = True
    curriculum_start: int = 5
    curriculum_threshold: float = 0.95
    eval_every: int = 25
    val_size: int = 256
    test_size: int = 2000
    stop_accuracy: float | None = 0.99
    seed: int = 0

    def make_task(self) -> Task:
        try:
            return make_task(self.task, self.gap, n_classes=self.n_classes,
                             n_distractors=self.n_distractors, lead=self.lead)
        except TaskError as exc:
            raise TrainError(str(exc)) from None

    def replace(self, **changes) -> TrainConfig:
        return replace(self, **changes)


def validate_config(cfg: TrainConfig) -> Task:
    """Raise TrainError (one line) for bad settings; return the task."""
    if cfg.task not in TASKS:
        raise TrainError(f"unknown task {cfg.task!r}; choose one of {', '.join(TASKS)}")
    if cfg.cell not in KINDS:
        raise TrainError(f"unknown cell {cfg.cell!r}; choose one of {', '.join(KINDS)}")
    if cfg.optimizer not in OPTIMIZERS:
        raise TrainError(f"unknown optimizer {cfg.optimizer!r}; choose one of {', '.join(OPTIMIZERS)}")
    checks = [(1 <= cfg.hidden <= 1024, f"hidden size must be between 1 and 1024, got {cfg.hidden}"),
              (1 <= cfg.batch <= 4096, f"batch must be between 1 and 4096, got {cfg.batch}"),
              (0 <= cfg.iters <= 10**7, f"iterations must be between 0 and 10000000, got {cfg.iters}"),
              (np.isfinite(cfg.lr) and cfg.lr > 0, f"learning rate must be a positive number, got {cfg.lr}"),
              (cfg.clip is None or (np.isfinite(cfg.clip) and cfg.clip >= 0),
               f"clipping threshold must be ≥ 0 (0 = off), got {cfg.clip}"),
              (np.isfinite(cfg.forget_bias), f"forget bias must be finite, got {cfg.forget_bias}"),
              (cfg.eval_every >= 1, f"eval_every must be ≥ 1, got {cfg.eval_every}"),
              (1 <= cfg.val_size <= 100000, f"validation size must be between 1 and 100000, got {cfg.val_size}"),
              (1 <= cfg.test_size <= 100000, f"test size must be between 1 and 100000, got {cfg.test_size}"),
              (cfg.curriculum_start >= 0, f"curriculum start must be ≥ 0, got {cfg.curriculum_start}"),
              (cfg.stop_accuracy is None or 0 < cfg.stop_accuracy <= 1,
               f"stop accuracy must be in (0, 1], got {cfg.stop_accuracy}"),
              (cfg.seed >= 0, f"seed must be ≥ 0, got {cfg.seed}")]
    for ok, msg in checks:
        if not ok:
            raise TrainError(msg)
    if cfg.nonlinearity not in NONLINEARITIES:
        raise TrainError(f"unknown nonlinearity {cfg.nonlinearity!r}; choose one of {', '.join(NONLINEARITIES)}")
    if cfg.convention not in CONVENTIONS:
        raise TrainError(f"unknown GRU convention {cfg.convention!r}; choose one of {', '.join(CONVENTIONS)}")
    return cfg.make_task()


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
class TrainResult:
    """A finished (or stopped) run. history: one row per iteration (iteration, gap, loss, accuracy,
    grad_norm, clipped); evals: one row per evaluation (iteration, gap, val_loss, val_accuracy).
    grads_init / grads_final: GradNorms on the probe set at the full gap before and after training."""

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

    @property
    def chance(self) -> float:
        return self.task.chance

    def summary(self) -> dict:
        """Plain JSON-ready data (what `main.py train --json` writes)."""
        cfg = self.config
        out = {"task": cfg.task, "cell": cfg.cell, "gap": self.task.gap, "seed": cfg.seed,
               "test_accuracy": self.test_accuracy, "test_loss": self.test_loss,
               "chance": self.chance, "chance_loss": self.task.chance_loss, "seconds": self.seconds,
               "iterations": self.iterations_done, "stopped": self.stopped,
               "early_stopped": self.early_stopped, "final_gap": self.final_gap,
               "grad_h1_init": self.grads_init.first, "grad_h1_final": self.grads_final.first,
               "log10_ratio_h1_init": float(self.grads_init.log10_ratio[0]),
               "log10_ratio_h1_final": float(self.grads_final.log10_ratio[0]),
               "grad_c1_init": self.grads_init.first_c, "grad_c1_final": self.grads_final.first_c,
               "sigma1_whh_final": float(np.linalg.norm(self.model.params["weight_hh"], 2)),
               "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}}
        return out


def _curriculum_next(gap: int, target: int) -> int:
    return min(target, max(gap + 1, int(round(gap * 1.5))))


def train(config: TrainConfig, callback=None) -> TrainResult:
    """Train a model as `config` says. callback(Progress) is called after every iteration from the
    calling thread; if it returns False the run stops (the result has stopped=True). To pause, block
    inside the callback. Deterministic: data from default_rng((seed, 1)), validation from
    ((seed, 3, gap)), test and probe sets from ((seed, 2)), weights from ((seed, 0))."""
    task = validate_config(config)
    regression = task.is_regression
    t0 = time.perf_counter()
    model = init_model(config.cell, task.input_size, config.hidden, task.output_size, seed=config.seed,
                       forget_bias=config.forget_bias, nonlinearity=config.nonlinearity,
                       convention=config.convention)
    data_rng = np.random.default_rng((config.seed, 1))
    x_test, y_test = make_batch(task, config.test_size, np.random.default_rng((config.seed, 2)))
    x_probe, y_probe = x_test[:, :PROBE_SIZE], y_test[:PROBE_SIZE]
    grads_init = hidden_grad_norms(model, x_probe, y_probe, regression)
    target = task.gap
    min_gap = 2 if regression else 0
    gap = max(min_gap, min(target, config.curriculum_start)) if config.curriculum else target
    val_cache = {}

    def val_set(g):
        if g not in val_cache:
            val_cache[g] = make_batch(task.with_gap(g), config.val_size,
                                      np.random.default_rng((config.seed, 3, g)))
        return val_cache[g]

    params = model.params
    adam = AdamState()
    history, evals = [], []
    stopped = early = False
    it = 0
    for it in range(1, config.iters + 1):
        x, y = make_batch(task.with_gap(gap), config.batch, data_rng)
        loss, grads, acc = loss_and_grads(model, x, y, regression)
        grads, gnorm, clipped = clip_by_norm(grads, config.clip)
        if config.optimizer == "adam":
            params, adam = adam_step(params, grads, adam, config.lr)
        else:
            params = sgd_step(params, grads, config.lr)
        model = Model(model.kind, params, model.nonlinearity, model.convention)
        history.append({"iteration": it, "gap": gap, "loss": loss, "accuracy": acc,
                        "grad_norm": gnorm, "clipped": clipped})
        extra = {}
        trained_gap = gap
        if it % config.eval_every == 0 or it == config.iters:
            vl, va = evaluate(model, *val_set(gap), regression)
            evals.append({"iteration": it, "gap": gap, "val_loss": vl, "val_accuracy": va})
            gn = hidden_grad_norms(model, x_probe, y_probe, regression)
            extra = {"val_loss": vl, "val_accuracy": va, "grad_h": gn.h_mean, "grad_c": gn.c_mean}
            if gap == target:
                if config.stop_accuracy is not None and va >= config.stop_accuracy:
                    early = True
            elif va >= config.curriculum_threshold:
                gap = _curriculum_next(gap, target)
        if callback is not None:
            prog = Progress(it, config.iters, trained_gap, loss, acc, gnorm, clipped,
                            time.perf_counter() - t0, model, **extra)
            if callback(prog) is False:
                stopped = True
                break
        if early:
            break
    test_loss, test_acc = evaluate(model, x_test, y_test, regression)
    grads_final = hidden_grad_norms(model, x_probe, y_probe, regression)
    return TrainResult(config, task, model, test_loss, test_acc, time.perf_counter() - t0,
                       it if config.iters else 0, stopped, early, gap, history, evals,
                       grads_init, grads_final)
