"""Cells for the app, built from a few teaching knobs instead of raw weights.

Every recurrent block of the cell (RNN W_hh; LSTM W_hi, W_hf, W_hg, W_ho; GRU W_hr, W_hz, W_hn)
gets the same prescribed singular values and the same structure ("symmetric", "rotation" or
"non-normal", see `spectra`), with independent random singular vectors per block (seeded).
Input weights: W_ih = input_scale · G / √d with G ~ N(0, 1). Biases are zero except the LSTM
forget-gate bias b_f and the GRU update-gate bias b_z (put in bias_ih).
"""
from __future__ import annotations

import numpy as np

from .cell_step import GATE_BLOCKS, GATE_NAMES, Cell, make_cell
from .spectra import recurrent_matrix, resolve_structure, spectrum


def block_seed(seed: int, k: int) -> tuple[int, int]:
    """Seed of recurrent block k of a cell built with `seed`."""
    return (int(seed), int(k))


def build_cell(kind: str, hidden_size: int, input_size: int, *, sigma1: float = 1.0,
               shape: str = "spike", singular_values=None, structure: str | None = None,
               normal: bool | None = None, theta=None, seed: int = 0,
               input_scale: float = 1.0, forget_bias: float = 0.0, update_bias: float = 0.0,
               nonlinearity: str = "tanh", convention: str = "pytorch") -> Cell:
    """A cell whose recurrent blocks (each (n, n)) all have singular values `singular_values`
    (or `spectrum(sigma1, n, shape, structure)`) and the W `structure` ("symmetric", "rotation",
    "non-normal"; `normal=True/False` is the older spelling of "symmetric"/"non-normal");
    `theta`: the rotation angles (see `spectra.rotation_angles`)."""
    n, d = int(hidden_size), int(input_size)
    structure = resolve_structure(structure, normal)
    s = (spectrum(sigma1, n, shape, structure) if singular_values is None
         else np.asarray(singular_values, float))
    if s.shape != (n,):
        raise ValueError(f"need {n} singular values, got {s.shape}")
    g = GATE_BLOCKS[kind]
    w_hh = np.vstack([recurrent_matrix(s, seed=block_seed(seed, k), structure=structure,
                                       theta=theta) for k in range(g)])
    rng = np.random.default_rng((int(seed), 100))
    w_ih = input_scale * rng.standard_normal((g * n, d)) / np.sqrt(d)
    b_ih = np.zeros(g * n)
    if kind == "lstm":
        k = GATE_NAMES["lstm"].index("f")
        b_ih[k * n:(k + 1) * n] = forget_bias
    elif kind == "gru":
        k = GATE_NAMES["gru"].index("z")
        b_ih[k * n:(k + 1) * n] = update_bias
    return make_cell(kind, w_ih, w_hh, b_ih, np.zeros(g * n), nonlinearity=nonlinearity,
                     convention=convention)
