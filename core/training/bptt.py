"""Back-propagation through time for RNN / LSTM / GRU (both GRU conventions) with a softmax (or
linear) readout of the last hidden state, in NumPy float64.

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
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..cells import GATE_BLOCKS, Cell, activation, dsigmoid, dtanh, make_cell, sigmoid
from .fields import bptt_bytes
from .tasks import ADDING_TOLERANCE, DataSet

#: Evaluation runs the forward pass on sub-batches whose activations stay below this.
EVAL_BYTES = 128 * 1024**2


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
        """The recurrent part as a core.cells.Cell (for core.simulate, the views, weight files)."""
        p = self.params
        return make_cell(self.kind, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"],
                         nonlinearity=self.nonlinearity, convention=self.convention)

    def n_parameters(self) -> int:
        return int(sum(a.size for a in self.params.values()))


# ----------------------------------------------------------------------------------------------
# Forward and backward through time

def forward(model: Model, x: np.ndarray, h0=None, c0=None) -> dict:
    """Run the cell over x (T, B, d) → cache of (T, B, ·) arrays; cache["h"] is (T+1, B, n) with
    h[0] = h0 (zeros by default), likewise cache["c"] for the LSTM.

    xw_t = W_ih x_t + b_ih (T, B, G·n) for every step at once, then s_t = F(xw_t, s_{t−1}) step by
    step (one function per cell kind, each adding its own arrays to the cache)."""
    p = model.params
    T, B, _ = x.shape
    xw = x @ p["weight_ih"].T + p["bias_ih"]             # (T, B, G·n)
    H = np.empty((T + 1, B, model.hidden_size))
    H[0] = 0.0 if h0 is None else h0
    cache = {"x": x, "xw": xw, "h": H, "T": T}
    steps = {"rnn": _forward_rnn, "lstm": _forward_lstm, "gru": _forward_gru}[model.kind]
    cache.update(steps(model, xw, H, c0))
    return cache


def _forward_rnn(model: Model, xw: np.ndarray, H: np.ndarray, c0) -> dict:
    """h_t = φ(a_t), a_t = xw_t + W_hh h_{t−1} + b_hh; fills H (T+1, B, n) → {"slope": φ'(a) (T, B, n)}."""
    w_hh, b_hh = model.params["weight_hh"], model.params["bias_hh"]
    T, B, n = H.shape[0] - 1, H.shape[1], H.shape[2]
    S = np.empty((T, B, n))
    for t in range(T):
        a = xw[t] + (H[t] @ w_hh.T + b_hh)
        H[t + 1], S[t] = activation(model.nonlinearity, a)
    return {"slope": S}


def _forward_lstm(model: Model, xw: np.ndarray, H: np.ndarray, c0) -> dict:
    """Gates (PyTorch order i, f, g, o) from pre_t = xw_t + W_hh h_{t−1} + b_hh (T, B, 4n):
        c_t = f ⊙ c_{t−1} + i ⊙ g,   h_t = o ⊙ tanh(c_t);
    fills H → {"c" (T+1, B, n) with c[0] = c0, "i", "f", "g", "o", "tc" = tanh(c_t) (T, B, n), "pre"}."""
    w_hh, b_hh = model.params["weight_hh"], model.params["bias_hh"]
    T, B, n = H.shape[0] - 1, H.shape[1], H.shape[2]
    Cs = np.empty((T + 1, B, n))
    Cs[0] = 0.0 if c0 is None else c0
    I, F, Gg, O, TC = (np.empty((T, B, n)) for _ in range(5))
    PRE = np.empty((T, B, 4 * n))
    for t in range(T):
        pre = PRE[t]
        np.add(xw[t], H[t] @ w_hh.T + b_hh, out=pre)
        I[t] = sigmoid(pre[:, :n])
        F[t] = sigmoid(pre[:, n:2 * n])
        Gg[t] = np.tanh(pre[:, 2 * n:3 * n])
        O[t] = sigmoid(pre[:, 3 * n:])
        Cs[t + 1] = F[t] * Cs[t] + I[t] * Gg[t]
        TC[t] = np.tanh(Cs[t + 1])
        H[t + 1] = O[t] * TC[t]
    return {"c": Cs, "i": I, "f": F, "g": Gg, "o": O, "tc": TC, "pre": PRE}


def _forward_gru(model: Model, xw: np.ndarray, H: np.ndarray, c0) -> dict:
    """Both GRU forms (core.cells): r, z = σ(xw_{r,z} + W_h{r,z} h + b_h{r,z}), then
        pytorch: ñ = tanh(xw_n + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ ñ + z ⊙ h
        seed:    ñ = tanh(xw_n + W_hn (r ⊙ h) + b_hn),   h' = (1 − z) ⊙ h + z ⊙ ñ;
    fills H → {"r", "z", "n", "x2" (pytorch: W_hn h + b_hn; seed: r ⊙ h) (T, B, n), "pre" (T, B, 3n)}."""
    w_hh, b_hh = model.params["weight_hh"], model.params["bias_hh"]
    T, B, n = H.shape[0] - 1, H.shape[1], H.shape[2]
    R, Z, N = (np.empty((T, B, n)) for _ in range(3))
    A = np.empty((T, B, 3 * n))  # the pre-activations of r, z and n
    X2 = np.empty((T, B, n))     # pytorch: hn = W_hn h + b_hn;  seed: r ⊙ h
    seed = model.convention == "seed"
    for t in range(T):
        h = H[t]
        if seed:
            gh = h @ w_hh[:2 * n].T + b_hh[:2 * n]
        else:
            gh = h @ w_hh.T + b_hh
        np.add(xw[t, :, :2 * n], gh[:, :2 * n], out=A[t, :, :2 * n])
        R[t] = sigmoid(A[t, :, :n])
        Z[t] = sigmoid(A[t, :, n:2 * n])
        if seed:
            X2[t] = R[t] * h
            np.add(xw[t, :, 2 * n:], X2[t] @ w_hh[2 * n:].T + b_hh[2 * n:], out=A[t, :, 2 * n:])
            N[t] = np.tanh(A[t, :, 2 * n:])
            H[t + 1] = (1.0 - Z[t]) * h + Z[t] * N[t]
        else:
            X2[t] = gh[:, 2 * n:]
            np.add(xw[t, :, 2 * n:], R[t] * X2[t], out=A[t, :, 2 * n:])
            N[t] = np.tanh(A[t, :, 2 * n:])
            H[t + 1] = (1.0 - Z[t]) * N[t] + Z[t] * h
    return {"r": R, "z": Z, "n": N, "x2": X2, "pre": A}


def backward(model: Model, cache: dict, dh_last: np.ndarray, *, record: bool = False, deltas: bool = False,
             dh_steps: np.ndarray | None = None, dpre_steps: np.ndarray | None = None):
    """BPTT from δh_T = ∂ℓ/∂h_T (B, n) → (grads of the cell's four arrays, record).

    dh_steps (T, B, n), if given: a loss that also reads h_1 … h_T directly (a readout at every
    step, core.training.step_loss); dh_steps[t] = its direct ∂ℓ/∂h_{t+1}, added to what flows back
    from the later steps (dh_last adds to dh_steps[T−1]). dpre_steps (T, B, 4n), LSTM only: a
    loss's direct ∂ℓ/∂(i, f, g, o pre-activations) at each step (a penalty on the gates), added to
    what flows into them through c and h.

    record (if asked): {"h": (T, B, n) ∂ℓ/∂h_k for k = 1..T, and for the LSTM "c": ∂ℓ/∂c_k} — the
    derivatives with respect to the state s_k = h_k (or [h_k; c_k], each part holding the other
    fixed), i.e. δs_k = (∂s_T/∂s_k)ᵀ δs_T with core.cells' Jacobians.
    deltas (if asked) adds to the record "dxw" (T, B, G·n) = ∂ℓ/∂(W_ih x_k + b_ih) and "dgh"
    (T, B, G·n) = ∂ℓ/∂(W_hh in_k + b_hh), the per-step terms whose sums are the weight gradients
    (core.training.contributions splits ∂ℓ/∂W by step with them)."""
    kind = model.kind
    if dpre_steps is not None and kind != "lstm":
        raise ValueError("dpre_steps: LSTM gates only")
    T, H = cache["T"], cache["h"]
    n, G, B = model.hidden_size, GATE_BLOCKS[kind], H.shape[1]
    dxw = np.empty((T, B, G * n))        # ∂ℓ/∂(W_ih x_t + b_ih)
    dgh = np.empty((T, B, G * n))        # ∂ℓ/∂(W_hh · in_t + b_hh) (in_t = h_{t−1}, or r ⊙ h for seed n)
    dh = np.array(dh_last, dtype=np.float64, copy=True)
    rec_h = np.empty((T, B, n)) if record else None
    rec_c = np.empty((T, B, n)) if record and kind == "lstm" else None
    steps = {"rnn": _back_rnn, "lstm": _back_lstm, "gru": _back_gru}[kind]
    steps(model, cache, dh, dxw, dgh, rec_h, rec_c, dh_steps, dpre_steps)
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
    if record or deltas:
        record_out = {}
        if record:
            record_out["h"] = rec_h
        if rec_c is not None:
            record_out["c"] = rec_c
        if deltas:
            record_out.update(dxw=dxw, dgh=dgh)
    return grads, record_out


#: |a| beyond which s(1 − s) (σ(a) = s) and 1 − y² (tanh(a) = y) would lose relative accuracy (below
#: them each keeps ≲ 1e-13; beyond, they round to 0 where the true slopes are e^(−|a|)-size): there
#: the slopes come from the pre-activations (cells.dsigmoid, cells.dtanh)
SATURATED_SIGMOID = 6.0
SATURATED_TANH = 3.0


def _sigmoid_slope(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """σ'(a) for gate values s = σ(a): s (1 − s), from a where |a| > SATURATED_SIGMOID."""
    d = s * (1.0 - s)
    far = np.abs(a) > SATURATED_SIGMOID
    if far.any():
        d[far] = dsigmoid(a[far])
    return d


def _tanh_slope(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """tanh'(a) for y = tanh(a): 1 − y², from a where |a| > SATURATED_TANH."""
    d = 1.0 - y * y
    far = np.abs(a) > SATURATED_TANH
    if far.any():
        d[far] = dtanh(a[far])
    return d


def _complement(s: np.ndarray, a: np.ndarray) -> np.ndarray:
    """1 − σ(a) for s = σ(a): 1 − s, or σ(−a) where a > SATURATED_SIGMOID (s rounds towards 1)."""
    d = 1.0 - s
    far = a > SATURATED_SIGMOID
    if far.any():
        d[far] = sigmoid(-a[far])
    return d


def _back_rnn(model, cache, dh, dxw, dgh, rec_h, rec_c, dh_steps, dpre_steps):
    """h' = φ(a): δa = δh' ⊙ φ'(a), δh = W_hhᵀ δa (φ' kept by the forward pass)."""
    S, w_hh = cache["slope"], model.params["weight_hh"]
    for t in range(cache["T"] - 1, -1, -1):
        if dh_steps is not None:
            dh = dh + dh_steps[t]
        if rec_h is not None:
            rec_h[t] = dh
        da = dh * S[t]
        dxw[t] = da
        dgh[t] = da
        dh = da @ w_hh


def _back_lstm(model, cache, dh, dxw, dgh, rec_h, rec_c, dh_steps, dpre_steps):
    """c' = f c + i g, h' = o tanh(c'): δc += δh' o tanh'(c'), then the four gates' δ (PyTorch
    order i, f, g, o), δc ← δc f, δh = W_hhᵀ δgates."""
    Cs, I, F, Gg, O, TC, PRE = (cache[k] for k in ("c", "i", "f", "g", "o", "tc", "pre"))
    n, w_hh = model.hidden_size, model.params["weight_hh"]
    dc = np.zeros_like(dh)
    for t in range(cache["T"] - 1, -1, -1):
        if dh_steps is not None:
            dh = dh + dh_steps[t]
        if rec_h is not None:
            rec_h[t] = dh
            rec_c[t] = dc
        i, f, g, o, tc, pre = I[t], F[t], Gg[t], O[t], TC[t], PRE[t]
        dc = dc + dh * o * _tanh_slope(tc, Cs[t + 1])            # h = o tanh(c)
        d = dxw[t]
        d[:, :n] = dc * g * _sigmoid_slope(i, pre[:, :n])        # c = f c₋ + i g
        d[:, n:2 * n] = dc * Cs[t] * _sigmoid_slope(f, pre[:, n:2 * n])
        d[:, 2 * n:3 * n] = dc * i * _tanh_slope(g, pre[:, 2 * n:3 * n])
        d[:, 3 * n:] = dh * tc * _sigmoid_slope(o, pre[:, 3 * n:])
        if dpre_steps is not None:
            d += dpre_steps[t]
        dgh[t] = d
        dc = dc * f
        dh = d @ w_hh


def _back_gru(model, cache, dh, dxw, dgh, rec_h, rec_c, dh_steps, dpre_steps):
    """Both GRU forms (module docstring of core.cells): δ of the candidate's, r's and z's
    pre-activations, and δh through (1 − z) or z, the gates and the candidate."""
    R, Z, N, X2, A, H = (cache[k] for k in ("r", "z", "n", "x2", "pre", "h"))
    n, w_hh = model.hidden_size, model.params["weight_hh"]
    seed = model.convention == "seed"
    w_hn = w_hh[2 * n:]
    for t in range(cache["T"] - 1, -1, -1):
        if dh_steps is not None:
            dh = dh + dh_steps[t]
        if rec_h is not None:
            rec_h[t] = dh
        r, z, cand, h, a = R[t], Z[t], N[t], H[t], A[t]
        dr, dz = _sigmoid_slope(r, a[:, :n]), _sigmoid_slope(z, a[:, n:2 * n])
        dn, zc = _tanh_slope(cand, a[:, 2 * n:]), _complement(z, a[:, n:2 * n])     # zc = 1 − z
        d = dxw[t]
        if seed:                                             # h' = (1−z) h + z ñ
            da_n = dh * z * dn
            d[:, 2 * n:] = da_n
            d_rh = da_n @ w_hn                               # ñ = tanh(… + W_hn (r ⊙ h) + b_hn)
            d[:, :n] = d_rh * h * dr
            d[:, n:2 * n] = dh * (cand - h) * dz
            dgh[t] = d
            dh = dh * zc + d_rh * r + d[:, :2 * n] @ w_hh[:2 * n]
        else:                                                # h' = (1−z) n + z h
            da_n = dh * zc * dn
            d[:, 2 * n:] = da_n                              # n = tanh(… + r ⊙ (W_hn h + b_hn))
            d[:, :n] = da_n * X2[t] * dr
            d[:, n:2 * n] = dh * (h - cand) * dz
            dgh[t] = d
            dgh[t, :, 2 * n:] = da_n * r
            dh = dh * z + dgh[t] @ w_hh


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


def forward_backward(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False, *,
                     reduce: bool = True, record: bool = False, deltas: bool = False) -> dict:
    """One forward and backward pass over a batch: {"cache", "out" (B, C), "losses" (B,),
    "correct" (B,), "grads" (every parameter's ∂ℓ/∂θ, ℓ the mean loss, or the sum if not reduce),
    "record" (backward's record, or None)}."""
    cache = forward(model, x)
    hT = cache["h"][-1]
    out, losses, correct, dout = _readout(model, hT, y, regression, reduce)
    grads, rec = backward(model, cache, dout @ model.params["weight_out"], record=record, deltas=deltas)
    grads["weight_out"] = dout.T @ hT
    grads["bias_out"] = dout.sum(axis=0)
    return {"cache": cache, "out": out, "losses": losses, "correct": correct, "grads": grads, "record": rec}


def loss_and_grads(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False):
    """Mean loss over the batch, its gradient for every parameter, and the batch accuracy."""
    r = forward_backward(model, x, y, regression)
    return float(r["losses"].mean()), r["grads"], float(r["correct"].mean())


def loss_value(model: Model, x: np.ndarray, y: np.ndarray, regression: bool = False) -> float:
    """Mean loss only (for finite differences and evaluation)."""
    return evaluate(model, x, y, regression)[0]


def sub_batch(model: Model, length: int) -> int:
    """Sequences per forward pass so that its activations stay below EVAL_BYTES (1 … 1024)."""
    per = bptt_bytes(model.kind, length, 1, model.hidden_size, model.input_size)
    return int(max(1, min(1024, EVAL_BYTES // max(per, 1))))


def _sums(model: Model, x: np.ndarray, y: np.ndarray, regression: bool, chunk: int) -> tuple[float, float]:
    """(Σ loss, Σ correct) over the sequences of x, `chunk` at a time."""
    loss = acc = 0.0
    for a in range(0, x.shape[1], chunk):
        xb, yb = x[:, a:a + chunk], y[a:a + chunk]
        _, losses, correct, _ = _readout(model, forward(model, xb)["h"][-1], yb, regression)
        loss += float(losses.sum())
        acc += float(correct.sum())
    return loss, acc


def evaluate(model: Model, x, y=None, regression: bool = False, chunk: int = 1024) -> tuple[float, float]:
    """(mean loss, accuracy) over x (T, B, d) with targets y, or over a tasks.DataSet given as x
    (streamed chunk by chunk); forward passes on at most `chunk` sequences (fewer for long T)."""
    items = x if isinstance(x, DataSet) else [(x, y)]
    loss = acc = 0.0
    count = 0
    for xb, yb in items:
        l_, a_ = _sums(model, xb, yb, regression, min(chunk, sub_batch(model, xb.shape[0])))
        loss, acc, count = loss + l_, acc + a_, count + xb.shape[1]
    return loss / count, acc / count


