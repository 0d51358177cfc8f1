"""Where the gradient comes from: by state and by step.

By state — GradNorms / hidden_grad_norms: ‖∂ℓ_b/∂h_k‖ for every sequence b and step k, the
gradient that reaches step k (and its share ‖∂ℓ/∂h_k‖/‖∂ℓ/∂h_T‖ of what arrives at the output).

By step (RNNbow, Cashman et al. 2018) — a shared weight is used at every step, so its gradient is
a sum over the steps at which it was used:
    ∂ℓ/∂W_hh = Σ_k C_k,   C_k = Σ_b δg_{k,b} in_{k,b}ᵀ    (G·n, n)
    ∂ℓ/∂W_ih = Σ_k Σ_b δx_{k,b} x_{k,b}ᵀ,   ∂ℓ/∂b_ih = Σ_k Σ_b δx_{k,b},   ∂ℓ/∂b_hh = Σ_k Σ_b δg_{k,b}
with δx_k = ∂ℓ/∂(W_ih x_k + b_ih), δg_k = ∂ℓ/∂(W_hh in_k + b_hh) from BPTT and in_k = h_{k−1}
(for the notes' GRU, r_k ⊙ h_{k−1} in the candidate's rows). C_k is exactly ∂ℓ/∂W_k if the cell
had its own copy W_k of the weight at step k (tested by finite differences), so C_k says how much
of the update comes from what the cell did at step k: for a plain RNN on a long gap, almost all
of it comes from the last few steps, none from the key word at k = 1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .bptt import Model, forward_backward, sub_batch

CELL_PARAMS = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
#: contributions() refuses to build an array (T, *shape) larger than this; use contribution_norms.
MAX_CONTRIB_BYTES = 256 * 1024**2


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
    def last(self) -> float:
        """Mean ‖∂ℓ/∂h_T‖: the gradient arriving from the output (small once the loss is small)."""
        return float(self.h[:, -1].mean())

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
    """‖∂ℓ_b/∂h_k‖ for every sequence b of x (T, B, d) and every step k = 1..T (see GradNorms);
    computed on sub-batches of sequences (exact: each sequence's loss is its own)."""
    hs, cs = [], []
    step = sub_batch(model, x.shape[0])
    for a in range(0, x.shape[1], step):
        r = forward_backward(model, x[:, a:a + step], y[a:a + step], regression, reduce=False, record=True)
        hs.append(np.linalg.norm(r["record"]["h"], axis=2).T)
        if "c" in r["record"]:
            cs.append(np.linalg.norm(r["record"]["c"], axis=2).T)
    return GradNorms(np.vstack(hs), np.vstack(cs) if cs else None)


def _inputs(model: Model, cache: dict, name: str):
    """in_k (T, B, ·) for the rows of `name`'s gradient: x_k, h_{k−1}, or for the notes' GRU the
    pair (h_{k−1} for r, z; r ⊙ h_{k−1} for the candidate)."""
    if name == "weight_ih":
        return cache["x"]
    if model.kind == "gru" and model.convention == "seed":
        return cache["h"][:-1], cache["x2"]
    return cache["h"][:-1]


def _contribution(model: Model, cache: dict, rec: dict, name: str, ks: slice) -> np.ndarray:
    """C_k for k in ks: (len(ks), *shape of `name`)."""
    if name == "bias_ih":
        return rec["dxw"][ks].sum(axis=1)
    if name == "bias_hh":
        return rec["dgh"][ks].sum(axis=1)
    d = rec["dxw"][ks] if name == "weight_ih" else rec["dgh"][ks]
    inp = _inputs(model, cache, name)
    if isinstance(inp, tuple):                   # notes' GRU: r, z rows see h; n rows see r ⊙ h
        n = model.hidden_size
        h, x2 = inp[0][ks], inp[1][ks]
        return np.concatenate([np.matmul(d[:, :, :2 * n].transpose(0, 2, 1), h),
                               np.matmul(d[:, :, 2 * n:].transpose(0, 2, 1), x2)], axis=1)
    return np.matmul(d.transpose(0, 2, 1), inp[ks])


def _check_name(name: str) -> None:
    if name not in CELL_PARAMS:
        raise ValueError(f"per-step contributions exist for {', '.join(CELL_PARAMS)}, not {name!r}")


def contributions_from(model: Model, cache: dict, rec: dict, name: str = "weight_hh") -> np.ndarray:
    """(T, *shape) C_k for k = 1..T, from a forward cache and a backward record made with
    deltas=True (bptt.forward_backward(..., deltas=True)); Σ_k C_k = ∂ℓ/∂`name`."""
    _check_name(name)
    T = cache["T"]
    shape = model.params[name].shape
    need = T * int(np.prod(shape)) * 8
    if need > MAX_CONTRIB_BYTES:
        raise ValueError(f"{T} steps × {name} {shape} is {need / 2**20:.0f} MiB of contributions; "
                         "use contribution_norms")
    return _contribution(model, cache, rec, name, slice(0, T))


def contributions(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False,
                  name: str = "weight_hh") -> np.ndarray:
    """(T, *shape): step k's contribution C_k to ∂ℓ/∂`name` (ℓ the batch's mean loss)."""
    _check_name(name)
    r = forward_backward(model, x, y, regression, deltas=True)
    return contributions_from(model, r["cache"], r["record"], name)


def contribution_norms(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False,
                       name: str = "weight_hh") -> np.ndarray:
    """(T,) ‖C_k‖_F for k = 1..T, computed a few steps at a time (bounded memory at any T), on
    the first bptt.sub_batch(model, T) sequences of x at most."""
    _check_name(name)
    most = sub_batch(model, x.shape[0])
    x, y = x[:, :most], y[:most]
    r = forward_backward(model, x, y, regression, deltas=True)
    T = r["cache"]["T"]
    size = int(np.prod(model.params[name].shape)) * 8
    step = int(max(1, min(T, (64 * 1024**2) // max(size, 1))))
    out = np.empty(T)
    for a in range(0, T, step):
        c = _contribution(model, r["cache"], r["record"], name, slice(a, a + step))
        out[a:a + step] = np.linalg.norm(c.reshape(len(c), -1), axis=1)
    return out


def _p10(v: float) -> str:
    from ..theory import format_pow10
    return format_pow10(np.log10(v)) if v > 0 and np.isfinite(v) else f"{v:g}"


def explain_reach(s: dict) -> str:
    """What a run's change of ‖∂ℓ/∂h₁‖ means, in one paragraph of plain text (s: a
    TrainResult.summary()). ‖∂ℓ/∂h₁‖ ≈ (share that survives the trip back) × ‖∂ℓ/∂h_T‖, so in
    decades Δ log ‖∂ℓ/∂h₁‖ ≈ Δ log share + Δ log ‖∂ℓ/∂h_T‖: a trained model's loss is small, so
    ‖∂ℓ/∂h_T‖ — what arrives from the output — is small too, and ‖∂ℓ/∂h₁‖ falls even when the path
    back to the first token stays as open as it was. Says which of the two terms dominates."""
    a, b = s["grad_h1_init"], s["grad_h1_final"]
    t0, t1 = s["grad_hT_init"], s["grad_hT_final"]
    r0, r1 = s["log10_ratio_h1_init"], s["log10_ratio_h1_final"]
    with np.errstate(divide="ignore", invalid="ignore"):
        d_total, d_out = np.log10(b / a), np.log10(t1 / t0)
    d_share = r1 - r0
    head = f"‖∂ℓ/∂h₁‖ went from {_p10(a)} to {_p10(b)}"
    share = (f"the share that survives the trip back, ‖∂ℓ/∂h₁‖/‖∂ℓ/∂h_T‖, went from 10^{r0:.1f} to "
             f"10^{r1:.1f}")
    if not (np.isfinite(d_total) and np.isfinite(d_out) and np.isfinite(d_share)):
        return f"{head}; {share}."
    if d_total >= 0:
        return f"{head}: more gradient reaches the first token now; {share}."
    loss = (f" (test loss {s['test_loss']:.3g}, chance {s['chance_loss']:.3g})"
            if "test_loss" in s and "chance_loss" in s else "")
    parts = (f"{head} ({d_total:+.1f} decades). What arrives from the output, ‖∂ℓ/∂h_T‖, went from "
             f"{_p10(t0)} to {_p10(t1)} ({d_out:+.1f}), and {share} ({d_share:+.1f}).")
    if d_out <= d_share:
        return (f"{parts} Mostly the loss: it is small now{loss}, so the whole gradient is small, "
                f"while the path back to the first token is "
                f"{'about as open as' if d_share > -1 else 'somewhat less open than'} before.")
    return (f"{parts} Mostly the path: the trained cell passes less of the gradient back than it did "
            f"(saturated units with φ′ ≈ 0, or closed gates).")
