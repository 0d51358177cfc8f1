"""The fast paths over a sequence: the forward pass of every step, and the Jacobian products on
its cache.

`forward` runs the reference step's arithmetic (`cells.step_cache`, tested against it to 1e-12)
over T steps, written into preallocated arrays so that only the serial recurrence runs in the
Python loop; its cache holds each step's intermediates stacked, entries (T, n) (keys as
`cells.step_cache`), and T, h0, c0. `JacobianProduct` applies J_t = ∂s_t/∂s_{t−1} to a running
product without forming J_t where its structure allows (`cells.jacobian_coefficients`).
"""
from __future__ import annotations

import numpy as np

from .cell_step import GATE_BLOCKS, Cell, activation
from .cells import jacobian_coefficients, jacobian_from_cache
from .progress import report


def _sigmoid_into(x, out, e):
    """sigmoid(x) into `out`, bit for bit the same as cells.sigmoid (e: scratch like x)."""
    np.abs(x, out=e)
    np.negative(e, out=e)
    np.exp(e, out=e)
    num = np.where(x >= 0, 1.0, e)
    np.add(e, 1.0, out=e)
    np.divide(num, e, out=out)


def _activate_into(name, a, out, e):
    if name == "tanh":
        np.tanh(a, out=out)
    elif name == "relu":
        np.maximum(a, 0.0, out=out)
    elif name == "identity":
        out[...] = a
    elif name == "sigmoid":
        _sigmoid_into(a, out, e)
    else:
        activation(name, a)       # raises the usual error


def forward(cell: Cell, inputs: np.ndarray, h0=None, c0=None, progress=None) -> dict:
    """All steps' caches stacked: each entry (T, n) (keys as `cells.step_cache`), and "T",
    "h0", "c0". progress(fraction) is called every 256 steps (fractions 0…0.2: the forward pass
    is the first fifth of `simulate`); returning False raises progress.Cancelled."""
    x = np.asarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != cell.input_size:
        raise ValueError(f"inputs must have shape (T, {cell.input_size}), got {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("inputs contain NaN or infinite values")
    n = cell.hidden_size
    h = np.zeros(n) if h0 is None else np.asarray(h0, dtype=np.float64).copy()
    c = None
    if cell.kind == "lstm":
        c = np.zeros(n) if c0 is None else np.asarray(c0, dtype=np.float64).copy()
    if h.shape != (n,) or (c is not None and c.shape != (n,)):
        raise ValueError(f"initial states must have shape ({n},)")
    T = x.shape[0]
    xw = x @ cell.weight_ih.T + cell.bias_ih          # W_ih x_t + b_ih for every t at once
    hs = np.empty((T + 1, n))
    hs[0] = h
    out = _LOOPS[cell.kind](cell, xw, hs, c, progress)
    out["h0"], out["c0"] = (np.zeros(n) if h0 is None else np.asarray(h0, float),
                            None if cell.kind != "lstm" else
                            (np.zeros(n) if c0 is None else np.asarray(c0, float)))
    out["T"] = T
    return out


def _lstm_loop(cell: Cell, xw, hs, c, progress) -> dict:
    T, n = xw.shape[0], cell.hidden_size
    W, bh = cell.weight_hh, cell.bias_hh
    h, gh = hs[0], np.empty(W.shape[0])
    cs = np.empty((T + 1, n))
    cs[0] = c
    pre, gates, tcs = np.empty((T, 4 * n)), np.empty((T, 4 * n)), np.empty((T, n))
    e = np.empty(4 * n)
    for t in range(T):
        if t % 256 == 255:
            report(progress, 0.2 * t / T)
        np.dot(W, h, out=gh)
        gh += bh
        p, g = pre[t], gates[t]
        np.add(xw[t], gh, out=p)
        _sigmoid_into(p, g, e)                               # i, f, o (g overwritten next)
        np.tanh(p[2 * n:3 * n], out=g[2 * n:3 * n])
        c_new = cs[t + 1]
        np.multiply(g[n:2 * n], c, out=c_new)                # f ⊙ c + i ⊙ g
        c_new += g[:n] * g[2 * n:3 * n]
        np.tanh(c_new, out=tcs[t])
        h = hs[t + 1]
        np.multiply(g[3 * n:], tcs[t], out=h)
        c = c_new
    return {"h_prev": hs[:-1], "c_prev": cs[:-1], "i": gates[:, :n], "f": gates[:, n:2 * n],
            "g": gates[:, 2 * n:3 * n], "o": gates[:, 3 * n:], "c": cs[1:], "tc": tcs,
            "h": hs[1:], "pre": pre}


def _rnn_loop(cell: Cell, xw, hs, c, progress) -> dict:
    T, n = xw.shape[0], cell.hidden_size
    W, bh = cell.weight_hh, cell.bias_hh
    h, gh = hs[0], np.empty(W.shape[0])
    a_all = np.empty((T, n))
    e = np.empty(n)
    name = cell.nonlinearity
    for t in range(T):
        if t % 256 == 255:
            report(progress, 0.2 * t / T)
        np.dot(W, h, out=gh)
        gh += bh
        a = a_all[t]
        np.add(xw[t], gh, out=a)
        h = hs[t + 1]
        _activate_into(name, a, h, e)
    return {"h_prev": hs[:-1], "a": a_all, "slope": activation(name, a_all)[1], "h": hs[1:]}


def _gru_loop(cell: Cell, xw, hs, c, progress) -> dict:
    T, n = xw.shape[0], cell.hidden_size
    W, bh = cell.weight_hh, cell.bias_hh
    h, gh = hs[0], np.empty(W.shape[0])
    pytorch = cell.convention == "pytorch"
    a_rz, rz = np.empty((T, 2 * n)), np.empty((T, 2 * n))
    a_n, cand = np.empty((T, n)), np.empty((T, n))
    hn_all = np.empty((T, n)) if pytorch else None
    w_n, b_n = W[2 * n:], bh[2 * n:]
    e = np.empty(2 * n)
    for t in range(T):
        if t % 256 == 255:
            report(progress, 0.2 * t / T)
        np.dot(W, h, out=gh)
        gh += bh
        xt = xw[t]
        np.add(xt[:2 * n], gh[:2 * n], out=a_rz[t])
        g = rz[t]
        _sigmoid_into(a_rz[t], g, e)
        r, z = g[:n], g[n:]
        an = a_n[t]
        if pytorch:
            hn = hn_all[t]
            hn[...] = gh[2 * n:]
            np.multiply(r, hn, out=an)
            an += xt[2 * n:]
        else:
            np.add(xt[2 * n:], w_n @ (r * h), out=an)
            an += b_n
        cd = cand[t]
        np.tanh(an, out=cd)
        h_new = hs[t + 1]
        np.subtract(1.0, z, out=h_new)
        if pytorch:                                        # (1 − z) ⊙ n + z ⊙ h
            h_new *= cd
            h_new += z * h
        else:                                              # (1 − z) ⊙ h + z ⊙ h̃
            h_new *= h
            h_new += z * cd
        h = h_new
    out = {"h_prev": hs[:-1], "r": rz[:, :n], "z": rz[:, n:], "n": cand, "h": hs[1:],
           "a_r": a_rz[:, :n], "a_z": a_rz[:, n:], "a_n": a_n}
    if pytorch:
        out["hn"] = hn_all
    return out


_LOOPS = {"lstm": _lstm_loop, "rnn": _rnn_loop, "gru": _gru_loop}


def take(cache: dict, a: int, b: int) -> dict:
    """Steps a+1 … b of a forward cache: every (T, ·) entry cut to rows a … b−1."""
    return {k: v[a:b] for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2}


def finite_cache(cell: Cell, cache: dict) -> dict:
    """The steps before the state first leaves float64 range (h, an RNN's pre-activation or an
    LSTM's cell state not finite): the cache itself if it never does, else a copy cut there."""
    T = cache["T"]
    if not T:
        return cache
    bad = ~np.isfinite(cache["h"]).all(axis=1)
    for key in ("a", "c"):                       # RNN pre-activations, LSTM cell state
        if key in cache:
            bad |= ~np.isfinite(cache[key]).all(axis=1)
    if not bad.any():
        return cache
    k = int(np.argmax(bad))
    cut = {key: (v[:k] if isinstance(v, np.ndarray) and v.ndim == 2 else v) for key, v in cache.items()}
    cut["T"] = k
    return cut


class JacobianProduct:
    """Applies J_t to the running product P (P ← J_t P) without forming J_t where its structure
    allows: LSTM J = [[A, diag(k⊙f)], [B, diag(f)]] with [A; B] rows combinations of the W_h·
    rows (half the multiply work of the dense 2n product), RNN J = diag(φ') W_hh, GRU ("pytorch")
    J = M + diag(z) with M's rows combinations of W_hr, W_hz, W_hn rows."""

    def __init__(self, cell: Cell, cache: dict):
        self.cell, self.cache = cell, cache
        n = cell.hidden_size
        self.mode = cell.kind if (cell.kind != "gru" or cell.convention == "pytorch") else "dense"
        if self.mode in ("lstm", "gru"):
            g = GATE_BLOCKS[cell.kind]
            wg = cell.weight_hh.reshape(g, n, n).transpose(1, 0, 2)         # (n, g, n): row j of each block
            self.wrows = np.ascontiguousarray(np.concatenate([wg, wg]) if cell.kind == "lstm" else wg)

    def chunk(self, a: int, b: int):
        """The factors of J_{a+1} … J_b (cells.jacobian_coefficients, every step at once)."""
        cell, n = self.cell, self.cell.hidden_size
        part = take(self.cache, a, b)
        if self.mode == "dense":
            return jacobian_from_cache(cell, part)
        coef, direct = jacobian_coefficients(cell, part)
        if self.mode == "rnn":                                             # J = diag(φ') W_hh
            return None if np.all(coef == 1.0) else coef
        ab = np.matmul(coef.transpose(1, 0, 2), self.wrows)               # (m, C, n): Σ_g coef_g W_hg
        if self.mode == "lstm":
            return ab, direct.reshape(b - a, 2, n)[..., None]              # diag(k⊙f), diag(f)
        return ab, direct[:, :, None]                                      # + diag(z)

    def row_norms(self, f, steps: int) -> np.ndarray:
        """(steps, m): the squared row norms of J_{a+1} … J_{a+steps} for the factors f of a
        chunk (`chunk`), every step at once. Row i of J_t Q has the norm of row i of J_t for an
        orthogonal Q (to rounding), so the QR recursion need not measure each step's rows."""
        mode, W = self.mode, self.cell.weight_hh
        if mode == "rnn":                                                 # diag(φ') W
            w2 = np.einsum("ij,ij->i", W, W)
            return np.broadcast_to(w2, (steps, w2.shape[0])) if f is None else f[..., 0] ** 2 * w2
        if mode == "dense":
            return np.einsum("cij,cij->ci", f, f)
        ab, direct = f
        n2 = np.einsum("icn,icn->ci", ab, ab)
        d = direct.reshape(steps, -1)
        if mode == "lstm":                                                # [A, diag(k⊙f); B, diag(f)]
            return n2 + d * d
        diag = np.einsum("ici->ci", ab)                                   # GRU: M + diag(z)
        return n2 + d * (2.0 * diag + d)

    def apply(self, f, j: int, P: np.ndarray, out: np.ndarray):
        """out ← J_{a+j+1} P for the factors f of a chunk starting at step a."""
        mode = self.mode
        if mode == "lstm":
            n = self.cell.hidden_size
            np.matmul(f[0][:, j, :], P[:n], out=out)
            out.reshape(2, n, -1).__iadd__(f[1][j] * P[n:])
        elif mode == "rnn":
            np.matmul(self.cell.weight_hh, P, out=out)
            if f is not None:
                out *= f[j]
        elif mode == "gru":
            np.matmul(f[0][:, j, :], P, out=out)
            out += f[1][j] * P
        else:
            np.matmul(f[j], P, out=out)
