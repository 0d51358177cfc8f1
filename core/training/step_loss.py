"""A classification loss read at every step, not only after the last one.

The lab's loss (core.training.bptt) reads the readout once, at h_T. Here the same softmax readout
reads every h_t, and the target at each step is a class (the sequence's class y_b at every step)
or a distribution q_{t,b} over the classes (e.g. the share of positive cues read so far):

    p_t = softmax(W_out h_t + b_out),   ℓ = Σ_{t,b} w_{t,b} · (−Σ_c q_{t,b,c} log p_t[c]) / Σ_{t,b} w_{t,b}

(q = onehot(y_b) for a class), with weights w (T, B) (default: all 1, the mean over steps and
sequences). Trained this way, a model must give its answer as soon as the sequence has told it
and keep it through the words that tell nothing — so its guess moves at the words that matter.

Optionally (an LSTM), a cost for moving its gates away from rest — input gate closed, forget
and output gates open —

    P = λ · Σ_{t,b,j} (i_t[j] + (1 − f_t[j]) + (1 − o_t[j])) / (T B n),

so that the cell writes to its cell state, forgets from it and hides it only where the loss
needs it (an L1 activity penalty on each gate's distance from rest).

Gradients: ∂ℓ/∂logits_{t,b} = w_{t,b} (p_t − q_{t,b}) / Σw, so the direct ∂ℓ/∂h_t =
(∂ℓ/∂logits_t) W_out enters BPTT at every step (core.training.bptt.backward's dh_steps); the
cost's ∂P/∂a_i = c · i (1 − i), ∂P/∂a_f = −c · f (1 − f) and ∂P/∂a_o = −c · o (1 − o),
c = λ / (T B n), enter through the gates' pre-activations a (backward's dpre_steps).
"""
from __future__ import annotations

import numpy as np

from .bptt import Model, backward, forward


def _targets(y, T: int, C: int) -> np.ndarray:
    """(T, B, C) target distributions from classes y (B,) or distributions (T, B, C)."""
    y = np.asarray(y)
    if y.ndim == 1:
        q = np.zeros((T, y.shape[0], C))
        q[:, np.arange(y.shape[0]), y] = 1.0
        return q
    if y.shape[0] != T or y.shape[2] != C:
        raise ValueError(f"targets must be (T, B, {C}) = ({T}, …), got {y.shape}")
    return np.asarray(y, dtype=np.float64)


def _step_readout(model: Model, H: np.ndarray, y, weights):
    """(losses (T, B), correct (T, B), ∂ℓ/∂logits (T, B, C), normalised weights (T, B))."""
    p = model.params
    z = H @ p["weight_out"].T + p["bias_out"]                         # (T, B, C)
    z = z - z.max(axis=2, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=2, keepdims=True))
    T, B, C = z.shape
    q = _targets(y, T, C)
    w = np.ones((T, B)) if weights is None else np.broadcast_to(np.asarray(weights, float), (T, B))
    w = w / w.sum()
    losses = -(q * logp).sum(axis=2)
    dz = (np.exp(logp) - q) * w[:, :, None]
    return losses, np.argmax(logp, axis=2) == np.argmax(q, axis=2), dz, w


#: The LSTM gates' resting values for the gate cost (input closed, forget and output open) and
#: their blocks in the pre-activations [i, f, g, o].
REST = {"i": 0.0, "f": 1.0, "o": 1.0}
BLOCK = {"i": 0, "f": 1, "o": 3}


def write_cost(model: Model, cache: dict, lam: float, grad: bool = True):
    """(P, ∂P/∂(pre-activations) (T, B, 4n) or None) for an LSTM's forward cache (module docstring)."""
    if lam == 0.0:
        return 0.0, None
    if model.kind != "lstm":
        raise ValueError("the gate cost needs an LSTM")
    T, B, n = cache["i"].shape
    c = lam / (T * B * n)
    total = 0.0
    dpre = np.zeros((T, B, 4 * n)) if grad else None
    for name, rest in REST.items():
        g = cache[name]
        total += c * float(np.abs(g - rest).sum())
        if grad:
            k = BLOCK[name] * n
            dpre[:, :, k:k + n] = (c if rest == 0.0 else -c) * g * (1.0 - g)
    return total, dpre


def step_loss_and_grads(model: Model, x: np.ndarray, y, weights=None, penalty: float = 0.0):
    """(ℓ + P, every parameter's gradient of it, accuracy after the last step) for x (T, B, d),
    targets y (classes (B,) or distributions (T, B, C)), step weights (T, B) or (T, 1) (None: all
    steps alike) and the gate cost's λ (`penalty`, LSTM only; 0: none)."""
    cache = forward(model, x)
    H = cache["h"][1:]
    losses, correct, dz, w = _step_readout(model, H, y, weights)
    pen, dpre = write_cost(model, cache, float(penalty))
    w_out = model.params["weight_out"]
    grads, _ = backward(model, cache, np.zeros(H.shape[1:]), dh_steps=dz @ w_out, dpre_steps=dpre)
    C, n = w_out.shape
    grads["weight_out"] = dz.reshape(-1, C).T @ H.reshape(-1, n)
    grads["bias_out"] = dz.sum(axis=(0, 1))
    return float((w * losses).sum()) + pen, grads, float(correct[-1].mean())


def step_loss_value(model: Model, x: np.ndarray, y, weights=None, penalty: float = 0.0) -> float:
    """ℓ + P only."""
    cache = forward(model, x)
    losses, _, _, w = _step_readout(model, cache["h"][1:], y, weights)
    return float((w * losses).sum()) + write_cost(model, cache, float(penalty), grad=False)[0]
