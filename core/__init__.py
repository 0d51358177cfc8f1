"""Gatescope's engine: exact RNN / LSTM / GRU cells with prescribed weight spectra and
overflow-proof gradient norms, in NumPy float64. Never imports Qt."""
from .build import build_cell
from .cell_step import Cell, make_cell, step
from .cells import state_jacobian
from .config import Config, ConfigError
from .connectivity import input_connectivity, output_connectivity, prepare
from .directions import log10_singular_values
from .inputs import SENTENCES, embed_text, france_sentence, signal, tokenize
from .lyapunov import lyapunov_spectrum
from .simulate import Trace, simulate
from .spectra import recurrent_matrix, spectral_radius, spectrum
from .text import escape_html, plain
from .theory import clipped_log_norm, format_pow10, pascanu_bound, power_curves, power_readout
from .weights import WeightsError, cell_from_weights, load_weights, save_weights

__all__ = [
    "Cell", "Config", "ConfigError", "SENTENCES", "Trace", "WeightsError", "build_cell",
    "cell_from_weights", "clipped_log_norm", "embed_text", "escape_html", "format_pow10",
    "france_sentence", "input_connectivity", "load_weights", "log10_singular_values",
    "lyapunov_spectrum", "make_cell", "output_connectivity", "pascanu_bound", "plain",
    "power_curves", "power_readout", "prepare", "recurrent_matrix", "save_weights", "signal",
    "simulate", "spectral_radius", "spectrum", "state_jacobian", "step", "tokenize",
]
