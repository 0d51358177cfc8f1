"""Gatescope's engine: exact RNN / LSTM / GRU cells with prescribed weight spectra and
overflow-proof gradient norms, in NumPy float64. Never imports Qt."""
from .build import build_cell
from .cells import Cell, make_cell, state_jacobian, step
from .config import Config, ConfigError
from .inputs import SENTENCES, embed_text, france_sentence, signal, tokenize
from .simulate import Trace, simulate
from .spectra import recurrent_matrix, spectral_radius, spectrum
from .theory import clipped_log_norm, format_pow10, pascanu_bound, power_curves, power_readout
from .weights import WeightsError, cell_from_weights, load_weights, save_weights

__all__ = [
    "Cell", "Config", "ConfigError", "SENTENCES", "Trace", "WeightsError", "build_cell",
    "cell_from_weights", "clipped_log_norm", "embed_text", "format_pow10", "france_sentence",
    "load_weights", "make_cell", "pascanu_bound", "power_curves", "power_readout",
    "recurrent_matrix", "save_weights", "signal", "simulate", "spectral_radius", "spectrum",
    "state_jacobian", "step", "tokenize",
]
