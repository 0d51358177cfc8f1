"""Initialisations of a trainable cell + readout (PyTorch layout, float64), from the literature.

    default     PyTorch's: every weight and bias ~ U(−1/√n, 1/√n); the LSTM forget-gate bias
                b_ih[f] = forget_bias, b_hh[f] = 0, so f starts near σ(forget_bias).
    chrono      Tallec & Ollivier (2018), "Can recurrent neural networks warp time?": the gate that
                keeps the state gets b ~ log U[1, T_max − 1], so its characteristic forgetting
                time 1/(1 − σ(b)) = 1 + e^b is spread uniformly over [2, T_max]:
                  LSTM  b_f = log u, b_i = −b_f  (f ≈ 1 − 1/(1+u) keeps, i lets little in)
                  GRU   PyTorch form h' = (1−z)n + zh: z keeps, b_z = log u;
                        the notes' form h' = (1−z)h + zh̃: 1 − z keeps, b_z = −log u.
                PyTorch adds bias_ih and bias_hh, so the value goes into bias_ih and the same
                rows of bias_hh are 0 (the sum is what the cell sees).
    irnn        Le, Jaitly & Hinton (2015): a ReLU RNN with W_hh = I and zero biases (W_ih and the
                readout as default); the state neither grows nor decays until training moves W.
    orthogonal  every n × n block of W_hh orthogonal (QR of a Gaussian, signs fixed so Q is
                Haar-distributed): all its singular values are 1 (Saxe et al. 2014; Arjovsky 2016).

Random numbers: default_rng((seed, 0)) for the default weights, ((seed, 4)) for the chrono
biases and the orthogonal blocks, so changing the init never changes the other weights.
"""
from __future__ import annotations

import numpy as np

from ..cells import CONVENTIONS, GATE_BLOCKS, KINDS, NONLINEARITIES
from .bptt import Model
from .fields import INITS, TrainError


def _check(kind, nonlinearity, convention, init):
    for value, allowed, what in ((kind, KINDS, "cell"), (nonlinearity, NONLINEARITIES, "nonlinearity"),
                                 (convention, CONVENTIONS, "GRU convention"), (init, INITS, "initialisation")):
        if value not in allowed:
            raise TrainError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")


def default_params(kind: str, d: int, n: int, C: int, seed: int) -> dict:
    """PyTorch's U(−1/√n, 1/√n) for weight_ih (G·n, d), weight_hh (G·n, n), bias_ih, bias_hh (G·n,),
    weight_out (C, n), bias_out (C,), from default_rng((seed, 0))."""
    G = GATE_BLOCKS[kind]
    rng = np.random.default_rng((int(seed), 0))
    k = 1.0 / np.sqrt(n)
    return {"weight_ih": rng.uniform(-k, k, (G * n, d)), "weight_hh": rng.uniform(-k, k, (G * n, n)),
            "bias_ih": rng.uniform(-k, k, G * n), "bias_hh": rng.uniform(-k, k, G * n),
            "weight_out": rng.uniform(-k, k, (C, n)), "bias_out": rng.uniform(-k, k, C)}


def orthogonal(n: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random orthogonal n × n matrix: Q R = A (A Gaussian), Q ← Q diag(sign(diag R))."""
    q, r = np.linalg.qr(rng.standard_normal((n, n)))
    return q * np.where(np.diag(r) < 0, -1.0, 1.0)


def chrono_bias(n: int, t_max: int, rng: np.random.Generator) -> np.ndarray:
    """b = log u, u ~ U[1, T_max − 1] (n,): forgetting times 1/(1 − σ(b)) = 1 + u ∈ [2, T_max]."""
    hi = max(float(t_max) - 1.0, 1.0)
    return np.log(rng.uniform(1.0, hi, n))


def _set_bias(p: dict, rows: slice, value) -> None:
    """b_ih[rows] = value and b_hh[rows] = 0: PyTorch's cell sees their sum."""
    p["bias_ih"][rows] = value
    p["bias_hh"][rows] = 0.0


def init_params(kind: str, d: int, n: int, C: int, *, seed: int = 0, init: str = "default",
                forget_bias: float = 1.0, convention: str = "pytorch", t_max: int = 2) -> dict:
    """The parameter dict of `init` (module docstring); t_max: the longest sequence (chrono)."""
    p = default_params(kind, d, n, C, seed)
    rng = np.random.default_rng((int(seed), 4))
    if kind == "lstm" and init != "chrono":
        _set_bias(p, slice(n, 2 * n), forget_bias)
    if init == "chrono":
        b = chrono_bias(n, t_max, rng)
        if kind == "lstm":                     # gates i, f, g, o
            _set_bias(p, slice(n, 2 * n), b)
            _set_bias(p, slice(0, n), -b)
        elif kind == "gru":                    # gates r, z, n
            _set_bias(p, slice(n, 2 * n), b if convention == "pytorch" else -b)
        else:
            raise TrainError("chrono initialisation sets gate biases: choose an LSTM or a GRU")
    elif init == "irnn":
        if kind != "rnn":
            raise TrainError("IRNN is a ReLU RNN with W_hh = I: choose cell rnn and activation relu")
        p["weight_hh"] = np.eye(n)
        p["bias_ih"][:] = 0.0
        p["bias_hh"][:] = 0.0
    elif init == "orthogonal":
        p["weight_hh"] = np.vstack([orthogonal(n, rng) for _ in range(GATE_BLOCKS[kind])])
    return p


def init_model(kind: str, input_size: int, hidden_size: int, output_size: int, *, seed: int = 0,
               forget_bias: float = 1.0, nonlinearity: str = "tanh", convention: str = "pytorch",
               init: str = "default", t_max: int = 2) -> Model:
    """A core.training.train.Model initialised by `init` (module docstring). IRNN is a ReLU RNN:
    init="irnn" needs nonlinearity "relu"."""
    _check(kind, nonlinearity, convention, init)
    if init == "irnn" and nonlinearity != "relu":
        raise TrainError("IRNN is a ReLU RNN with W_hh = I: choose cell rnn and activation relu")
    p = init_params(kind, int(input_size), int(hidden_size), int(output_size), seed=seed, init=init,
                    forget_bias=forget_bias, convention=convention, t_max=t_max)
    return Model(kind, p, nonlinearity, convention)
