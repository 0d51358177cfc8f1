"""PyTorch state_dict names ↔ Cell, and `.npz` weight files (read header-first through safeio).

Export from PyTorch (see README):
    sd = model.state_dict()   # nn.RNN / nn.LSTM / nn.GRU, one layer
    np.savez("w.npz", **{k: v.detach().cpu().numpy() for k, v in sd.items()})
"""
from __future__ import annotations

import numpy as np

from .cell_step import GATE_BLOCKS, Cell, make_cell
from .config import FIELD
from .fileio import atomic_writer
from .safe_npz import read_npz
from .safeio import SafeIOError, clip_text, finite_float64, one_line, show_path

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
#: Weight files larger than this are refused before reading (256 MiB).
MAX_WEIGHT_FILE_BYTES = 256 * 1024 * 1024
#: A one-layer state_dict has four arrays; a few more are allowed so the message can name them.
MAX_WEIGHT_MEMBERS = 16


#: Weights larger than this in magnitude are refused: W² already overflows float64 near 1e154.
MAX_WEIGHT_MAGNITUDE = 1e100


class WeightsError(ValueError):
    """A weight file or mapping cannot be turned into a cell; the message says why."""


def _normalise_names(weights) -> dict:
    out = {}
    for key, value in dict(weights).items():
        if not isinstance(key, str):
            raise WeightsError(f"weight names must be strings, got {clip_text(key)}")
        base = key[:-3] if key.endswith("_l0") else key
        if base not in NAMES:
            if key.endswith("_reverse") or any(key.endswith(f"_l{k}") for k in range(1, 100)):
                raise WeightsError(f"'{clip_text(key)}': only single-layer, one-direction cells are supported")
            raise WeightsError(f"unknown weight name '{clip_text(key)}'; expected {', '.join(NAMES)} "
                               "(optionally with the _l0 suffix)")
        if base in out:
            raise WeightsError(f"'{base}' is given twice (with and without _l0)")
        out[base] = value
    return out


def infer_kind(weight_hh) -> str:
    """RNN, GRU or LSTM from weight_hh's shape: rows = 1, 3 or 4 × n."""
    shape = np.shape(weight_hh)
    if len(shape) != 2 or shape[1] == 0:
        raise WeightsError(f"weight_hh must be a 2-D (G·n, n) matrix, got shape {shape}")
    ratio, rest = divmod(shape[0], shape[1])
    for kind, g in GATE_BLOCKS.items():
        if rest == 0 and ratio == g:
            return kind
    raise WeightsError(f"weight_hh has shape {shape}: rows must be 1, 3 or 4 × {shape[1]} "
                       "(RNN, GRU or LSTM)")


def _limit(name: str) -> int:
    """The upper limit of a setup field (core/config.py FIELDS): one table for every surface."""
    return int(FIELD[name].hi)


def check_weight_header(name, dtype, shape) -> None:
    """Refuse, from a member's header alone (before its data is read), a name that is not a
    state_dict weight or a shape beyond the setup table's limits: hidden size n ≤ FIELD['hidden']
    .hi, input size d ≤ FIELD['input_size'].hi (weight_hh (G·n, n), weight_ih (G·n, d), biases
    (G·n,), G ≤ 4)."""
    base = _normalise_names({name: None}).popitem()[0]
    n_max, d_max = _limit("hidden"), _limit("input_size")
    rows = shape[0] if len(shape) >= 1 else 0
    if rows > 4 * n_max:
        raise WeightsError(f"'{name}' has {clip_text(rows)} rows: a hidden size above the limit "
                           f"{n_max} ('hidden' is 1–{n_max})")
    if base == "weight_hh" and len(shape) == 2 and shape[1] > n_max:
        raise WeightsError(f"'{name}' has shape {clip_text(shape)}: hidden size n = "
                           f"{clip_text(shape[1])} is above "
                           f"the limit {n_max} ('hidden' is 1–{n_max})")
    if base == "weight_ih" and len(shape) == 2 and shape[1] > d_max:
        raise WeightsError(f"'{name}' has shape {clip_text(shape)}: input size d = "
                           f"{clip_text(shape[1])} is above the "
                           f"limit {d_max} ('input_size' is 1–{d_max})")
    if len(shape) > 2:
        raise WeightsError(f"'{name}' has shape {clip_text(shape)}: weights are 1-D or 2-D")


def cell_from_weights(kind, weights, *, nonlinearity="tanh", convention="pytorch") -> Cell:
    """A Cell from a mapping of PyTorch state_dict names (weight_ih, weight_hh, bias_ih, bias_hh;
    the `_l0` suffixed names also accepted; missing biases are zeros). Every array must be real,
    finite within float64 (an extended-precision 1e400 is refused, not turned into inf) and
    within the setup table's hidden and input sizes."""
    w = _normalise_names(weights)
    for name in ("weight_ih", "weight_hh"):
        if name not in w:
            raise WeightsError(f"missing '{name}' (or '{name}_l0')")
    arrays = {}
    for name, value in w.items():
        try:
            a = np.asarray(value)
            check_weight_header(name, a.dtype, a.shape)
            arrays[name] = finite_float64(a, name)
            big = float(np.max(np.abs(arrays[name]))) if arrays[name].size else 0.0
            if big > MAX_WEIGHT_MAGNITUDE:
                raise SafeIOError(f"'{name}' holds a value of magnitude {big:.3g}; weights above "
                                  f"{MAX_WEIGHT_MAGNITUDE:.0e} are refused (every product with "
                                  "them leaves float64's range)")
        except SafeIOError as exc:
            raise WeightsError(exc.reason) from None
        except (TypeError, ValueError) as exc:
            if isinstance(exc, WeightsError):
                raise
            raise WeightsError(f"'{name}' is not a numeric array ({clip_text(one_line(exc))})") \
                from None
    try:
        return make_cell(kind, arrays["weight_ih"], arrays["weight_hh"], arrays.get("bias_ih"),
                         arrays.get("bias_hh"), nonlinearity=nonlinearity, convention=convention)
    except ValueError as exc:
        raise WeightsError(one_line(exc)) from None


def load_weights(path, *, nonlinearity="tanh", convention="pytorch") -> Cell:
    """A Cell from an `.npz` of state_dict arrays; the kind is inferred from weight_hh's shape.

    Read through safe_npz.read_npz: a regular file of at most MAX_WEIGHT_FILE_BYTES, at most
    MAX_WEIGHT_MEMBERS members expanding to at most MAX_WEIGHT_FILE_BYTES in all, every member's
    header checked (names, dtype, and the hidden/input-size limits of the setup table) before
    its data is read. Every problem raises WeightsError "<path>: <reason>", one line."""
    try:
        weights = read_npz(path, max_file_bytes=MAX_WEIGHT_FILE_BYTES,
                           max_total_bytes=MAX_WEIGHT_FILE_BYTES, max_members=MAX_WEIGHT_MEMBERS,
                           check=check_weight_header)
    except SafeIOError as exc:
        raise WeightsError(str(exc)) from None
    shown = show_path(path)
    try:
        w = _normalise_names(weights)
        if "weight_hh" not in w:
            raise WeightsError("missing 'weight_hh' (or 'weight_hh_l0')")
        return cell_from_weights(infer_kind(w["weight_hh"]), w, nonlinearity=nonlinearity,
                                 convention=convention)
    except WeightsError as exc:
        raise WeightsError(f"{shown}: {exc}") from None


def save_weights(cell: Cell, path) -> None:
    """Write the cell as an `.npz` of state_dict names, atomically (core.fileio: the previous
    file survives any failure; WriteError, an OSError, names the file)."""
    with atomic_writer(path) as fh:
        np.savez(fh, **cell.to_state_dict())
