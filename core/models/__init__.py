"""Real models: whole PyTorch recurrent modules (.npz, .safetensors, .pt), Keras 3 Sequential
models (.keras), and Gatescope's own trained models (.npz with their vocabulary and readout).

    load_model(path_or_state_dict, nonlinearity=None, convention="pytorch") -> Model
    Model.stack (core.stack.Stack), Model.readout (Readout or None), Model.run(x or text)

A mapping of arrays is accepted too, e.g. a live torch module's state_dict converted with
{k: v.detach().cpu().numpy() for k, v in module.state_dict().items()} (or with the tensors
themselves: anything with .detach().cpu().numpy() is converted here; torch is not needed).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from ..cells import CONVENTIONS, NONLINEARITIES
from ..safeio import SafeIOError, check_path, clip_text, show_path
from .readout import ACTIVATIONS, Model, ModelRun, Readout, make_readout, predict
from .torch_dict import (
    MAX_LAYERS,
    META_KEY,
    ModelError,
    check_header,
    read_state_dict_file,
    stack_from_state_dict,
)

__all__ = ["MAX_LAYERS", "Model", "ModelError", "ModelRun", "Readout", "load_model",
           "model_from_state_dict", "predict"]


def _as_array(key, value):
    if hasattr(value, "detach"):                 # a torch tensor, duck-typed
        value = value.detach().cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
        value = value.numpy()
    a = np.asarray(value)
    if a.dtype == object:
        raise ModelError(f"'{clip_text(key)}' is not a numeric array")
    return a


def _meta_options(meta: dict | None, nonlinearity, convention):
    """Options and descriptive fields from a Gatescope model's metadata (validated)."""
    if not meta:
        return nonlinearity, convention, None, {}
    if nonlinearity is None and meta.get("nonlinearity") is not None:
        nonlinearity = meta["nonlinearity"]
    convention = meta.get("convention", convention)
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise ModelError(f"metadata: unknown nonlinearity {clip_text(nonlinearity)}")
    if convention not in CONVENTIONS:
        raise ModelError(f"metadata: unknown GRU convention {clip_text(convention)}")
    enc = meta.get("encoding")
    if enc is not None:
        ok = (isinstance(enc, dict) and enc.get("type") == "embed_text"
              and isinstance(enc.get("dim"), int) and 1 <= enc["dim"] <= 256
              and isinstance(enc.get("seed", 0), int) and 0 <= enc.get("seed", 0) < 2 ** 31)
        if not ok:
            raise ModelError(f"metadata: unsupported input encoding {clip_text(enc)}")
    act = meta.get("readout_activation", "linear")
    classes = meta.get("classes")
    if act not in ACTIVATIONS:
        raise ModelError(f"metadata: unknown readout activation {clip_text(act)}")
    if classes is not None and (not isinstance(classes, list) or len(classes) > 4096
                                or not all(isinstance(c, str) for c in classes)):
        raise ModelError("metadata: 'classes' must be a list of names")
    return nonlinearity, convention, enc, {"readout_activation": act, "classes": classes}


def model_from_state_dict(state_dict, *, nonlinearity=None, convention="pytorch", kind=None,
                          meta=None, name="", source="pytorch") -> Model:
    """A Model from a mapping name → array (or tensor-like)."""
    if not isinstance(state_dict, Mapping) and hasattr(state_dict, "state_dict"):
        state_dict = state_dict.state_dict()          # a live module, duck-typed
    if not isinstance(state_dict, Mapping):
        raise ModelError(f"expected a path or a mapping of arrays, got {type(state_dict).__name__}")
    arrays = {k: _as_array(k, v) for k, v in state_dict.items()}
    for k, a in arrays.items():
        if k != META_KEY:
            check_header(k, a.dtype, a.shape)           # the same limits as a file's headers
    nonlinearity, convention, enc, extra = _meta_options(meta, nonlinearity, convention)
    if nonlinearity is not None and nonlinearity not in NONLINEARITIES:
        raise ModelError(f"unknown nonlinearity {clip_text(nonlinearity)}; choose one of "
                         f"{', '.join(NONLINEARITIES)}")
    stack, ro = stack_from_state_dict(arrays, nonlinearity=nonlinearity, convention=convention,
                                      kind=kind)
    readout = None
    if ro is not None:
        readout = make_readout(ro[0], ro[1], extra.get("readout_activation", "linear"),
                               extra.get("classes"))
    info = {k: v for k, v in (meta or {}).items() if k not in ("encoding", "classes")}
    return Model(stack, readout, enc, str(name or (meta or {}).get("name", ""))[:80], source, info)


def load_model(path_or_state_dict, *, nonlinearity=None, convention="pytorch", kind=None) -> Model:
    """A Model from a file (.npz, .safetensors, .pt/.pth, .keras) or a mapping of arrays.

    nonlinearity: the RNN's φ for PyTorch files, which do not store it (None: the file's
    metadata, else tanh as PyTorch's default). Raises ModelError (a WeightsError, ValueError)
    with one line "<file>: <what is unsupported>"."""
    if isinstance(path_or_state_dict, (str, bytes, os.PathLike)):
        return _load_file(path_or_state_dict, nonlinearity, convention, kind)
    try:
        return model_from_state_dict(path_or_state_dict, nonlinearity=nonlinearity,
                                     convention=convention, kind=kind)
    except SafeIOError as exc:
        raise ModelError(str(exc)) from None


def _load_file(path, nonlinearity, convention, kind) -> Model:
    try:
        p = check_path(path)
    except SafeIOError as exc:
        raise ModelError(str(exc)) from None
    base = os.path.basename(p)
    try:
        if p.lower().endswith(".keras"):
            from .keras_file import load_keras
            return load_keras(p)
        arrays, meta, fmt = read_state_dict_file(p)
        source = "gatescope" if meta and meta.get("format") == "gatescope-model" else "pytorch"
        return model_from_state_dict(arrays, nonlinearity=nonlinearity, convention=convention,
                                     kind=kind, meta=meta, name=(meta or {}).get("name") or base,
                                     source=source)
    except SafeIOError as exc:
        raise ModelError(f"{show_path(p)}: {exc.reason}") from None
    except ModelError as exc:
        raise ModelError(f"{show_path(p)}: {exc}") from None
    except MemoryError:
        raise ModelError(f"{show_path(p)}: not enough memory to read it") from None
    except (TypeError, AttributeError, KeyError, IndexError, OverflowError, RecursionError) as exc:
        # a hostile file's structure that the checks above did not foresee: still one line
        raise ModelError(f"{show_path(p)}: malformed model file ({type(exc).__name__})") from None
