"""PyTorch state_dict names ↔ Cell, and `.npz` weight files (read with allow_pickle=False).

Export from PyTorch (see README):
    sd = model.state_dict()   # nn.RNN / nn.LSTM / nn.GRU, one layer
    np.savez("w.npz", **{k: v.detach().cpu().numpy() for k, v in sd.items()})
"""
from __future__ import annotations

import os
import zipfile

import numpy as np

from .cells import GATE_BLOCKS, Cell, make_cell

NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
#: Weight files larger than this are refused before reading (256 MiB).
MAX_WEIGHT_FILE_BYTES = 256 * 1024 * 1024


class WeightsError(ValueError):
    """A weight file or mapping cannot be turned into a cell; the message says why."""


def _normalise_names(weights) -> dict:
    out = {}
    for key, value in dict(weights).items():
        if not isinstance(key, str):
            raise WeightsError(f"weight names must be strings, got {key!r}")
        base = key[:-3] if key.endswith("_l0") else key
        if base not in NAMES:
            if key.endswith("_reverse") or any(key.endswith(f"_l{k}") for k in range(1, 100)):
                raise WeightsError(f"'{key}': only single-layer, one-direction cells are supported")
            raise WeightsError(f"unknown weight name '{key}'; expected {', '.join(NAMES)} "
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


def cell_from_weights(kind, weights, *, nonlinearity="tanh", convention="pytorch") -> Cell:
    """A Cell from a mapping of PyTorch state_dict names (weight_ih, weight_hh, bias_ih, bias_hh;
    the `_l0` suffixed names also accepted; missing biases are zeros)."""
    w = _normalise_names(weights)
    for name in ("weight_ih", "weight_hh"):
        if name not in w:
            raise WeightsError(f"missing '{name}' (or '{name}_l0')")
    arrays = {}
    for name, value in w.items():
        a = np.asarray(value)
        if a.dtype == object or not (np.issubdtype(a.dtype, np.integer)
                                     or np.issubdtype(a.dtype, np.floating)):
            raise WeightsError(f"'{name}' must be a real numeric array, got dtype {a.dtype}")
        arrays[name] = a
    try:
        return make_cell(kind, arrays["weight_ih"], arrays["weight_hh"], arrays.get("bias_ih"),
                         arrays.get("bias_hh"), nonlinearity=nonlinearity, convention=convention)
    except ValueError as exc:
        raise WeightsError(str(exc)) from None


def load_weights(path, *, nonlinearity="tanh", convention="pytorch") -> Cell:
    """A Cell from an `.npz` of state_dict arrays; the kind is inferred from weight_hh's shape."""
    path = os.fspath(path)
    if os.path.isdir(path):
        raise WeightsError(f"{path}: is a directory, not a weight file")
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise WeightsError(f"{path}: cannot open ({exc.strerror or exc})") from None
    if size == 0:
        raise WeightsError(f"{path}: file is empty")
    if size > MAX_WEIGHT_FILE_BYTES:
        raise WeightsError(f"{path}: file is {size / 2**20:.0f} MiB; weight files above "
                           f"{MAX_WEIGHT_FILE_BYTES // 2**20} MiB are refused")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(4)
        if magic != b"PK\x03\x04":
            raise WeightsError(f"{path}: not a readable .npz archive (no zip header)")
        with np.load(path, allow_pickle=False) as data:
            if not isinstance(data, np.lib.npyio.NpzFile):
                raise WeightsError(f"{path}: not an .npz archive (a single .npy array?)")
            weights = {k: data[k] for k in data.files}
        for k, v in weights.items():
            if not isinstance(v, np.ndarray):
                raise WeightsError(f"{path}: not a readable .npz archive (member '{k}' is not a "
                                   ".npy array)")
    except WeightsError:
        raise
    except PermissionError:
        raise WeightsError(f"{path}: permission denied") from None
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise WeightsError(f"{path}: not a readable .npz archive ({exc})") from None
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise WeightsError(f"{path}: contains object arrays, which are never unpickled") from None
        raise WeightsError(f"{path}: cannot read ({exc})") from None
    if not weights:
        raise WeightsError(f"{path}: not a readable .npz archive (it holds no arrays)")
    try:
        w = _normalise_names(weights)
        if "weight_hh" not in w:
            raise WeightsError("missing 'weight_hh' (or 'weight_hh_l0')")
        return cell_from_weights(infer_kind(w["weight_hh"]), w, nonlinearity=nonlinearity,
                                 convention=convention)
    except WeightsError as exc:
        raise WeightsError(f"{path}: {exc}") from None


def save_weights(cell: Cell, path) -> None:
    """Write the cell as an `.npz` of state_dict names (atomic: temp file, then replace)."""
    import io

    from .fileio import atomic_write_bytes
    buf = io.BytesIO()
    np.savez(buf, **cell.to_state_dict())
    atomic_write_bytes(path, buf.getvalue())
