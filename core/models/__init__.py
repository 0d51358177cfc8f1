"""Real models: whole PyTorch recurrent modules (.npz, .safetensors, .pt), Keras 3 Sequential
models (.keras), and Gatescope's own trained models (.npz with their vocabulary and readout).

    load_model(path_or_state_dict, nonlinearity=None, convention="pytorch") -> Model
    Model.stack (core.stack.Stack), Model.readout (Readout or None), Model.run(x or text)
    load_weights_or_model(path, nonlinearity=None, convention=None) -> Model: what `simulate
        --weights` and the app's Open weights read (a one-layer .npz through core.weights with its
        messages, everything else through load_model)
    model_from_cell(cell), single_cell(model), with_options(model, nonlinearity, convention)

A mapping of arrays is accepted too, e.g. a live torch module's state_dict converted with
{k: v.detach().cpu().numpy() for k, v in module.state_dict().items()} (or with the tensors
themselves: anything with .detach().cpu().numpy() is converted here; torch is not needed).
"""
from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

from ..cell_step import CONVENTIONS, NONLINEARITIES, Cell
from ..safeio import SafeIOError, check_path, clip_text, show_path
from ..stack import Direction, StackError, make_direction, make_stack
from ..weights import WeightsError, load_weights
from .readout import ACTIVATIONS, Model, ModelRun, Readout, make_readout, predict, vocabulary_problem
from .torch_dict import (
    MAX_LAYERS,
    META_KEY,
    ModelError,
    check_header,
    read_state_dict_file,
    stack_from_state_dict,
)

__all__ = ["MAX_LAYERS", "Model", "ModelError", "ModelRun", "Readout", "load_model",
           "load_weights_or_model", "model_from_cell", "model_from_state_dict", "predict",
           "single_cell", "with_options"]


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
    if isinstance(enc, dict) and enc.get("type") == "one_hot":
        why = vocabulary_problem(enc.get("vocabulary"))
        if why:
            raise ModelError(f"metadata: the one-hot encoding's vocabulary: {why}")
    elif enc is not None:
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
    if enc is not None and enc["type"] == "one_hot" and len(enc["vocabulary"]) != stack.input_size:
        raise ModelError(f"metadata: a one-hot vocabulary of {len(enc['vocabulary'])} entries for "
                         f"{stack.input_size} inputs")
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


# ----------------------------------------------------------------------------------------------
# One cell as a model, options, and the one reader of weight files

def model_from_cell(cell: Cell, name: str = "", source: str = "pytorch") -> Model:
    """A one-layer, one-direction Model around a core Cell (no readout, no encoding)."""
    d = Direction(cell.kind, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh, None,
                  cell.nonlinearity, cell.convention, cell)
    return Model(make_stack([[d]]), None, None, str(name)[:80], source, {})


def single_cell(model: Model) -> Cell | None:
    """The model's Cell when it is one layer, one direction, without a projection; else None."""
    stack = model.stack
    if stack.num_layers != 1 or stack.bidirectional:
        return None
    return stack.direction(0).cell


def with_options(model: Model, nonlinearity: str | None = None,
                 convention: str | None = None) -> Model:
    """The model with every RNN direction's φ set to `nonlinearity` and every GRU direction's form
    to `convention` (None: as it is). The same object when nothing changes."""
    def wanted(d):
        phi = nonlinearity if d.kind == "rnn" and nonlinearity is not None else d.nonlinearity
        form = convention if d.kind == "gru" and convention is not None else d.convention
        return phi, form

    if all(wanted(d) == (d.nonlinearity, d.convention) for _, _, d in model.stack.directions()):
        return model
    layers = []
    for layer in model.stack.layers:
        dirs = []
        for d in layer:
            phi, form = wanted(d)
            try:
                dirs.append(make_direction(d.kind, d.weight_ih, d.weight_hh, d.bias_ih, d.bias_hh,
                                           d.weight_hr, nonlinearity=phi, convention=form))
            except StackError as exc:
                raise ModelError(str(exc)) from None
        layers.append(dirs)
    return Model(make_stack(layers), model.readout, model.encoding, model.name, model.source,
                 model.meta)


#: core.weights refusals that mean "not a one-layer cell" rather than "a bad file": the file may
#: still be a whole module, a readout or a Gatescope model, which load_model reads.
_LAYOUT = ("single-layer", "unknown weight name", "members; at most")


def _pick(e1: str, e2: str) -> str:
    """One message when neither reader takes a file: core.weights' (e1) for a file that is no
    recurrent module at all, load_model's (e2) where it names what is unsupported."""
    if "unknown key" in e2 or "members; at most" in e2:
        return e1
    if "single-layer" in e1 and ("missing" in e2 or "no weights" in e2):
        return f"{e2} (neither a complete single-layer cell nor a complete multi-layer module)"
    return e2


def load_weights_or_model(path, *, nonlinearity: str | None = None,
                          convention: str | None = None) -> Model:
    """A Model from any weight file. A one-layer PyTorch .npz (weight_ih, weight_hh, …) is read
    by core.weights.load_weights (RNN φ: `nonlinearity`, else tanh as PyTorch's default); any
    other file (more layers, directions, a projection, a readout, a Gatescope model, .safetensors,
    .pt, .keras) by load_model, with `nonlinearity`/`convention` overriding the file's when given.
    Raises ModelError (a WeightsError) with one line naming the file and what is unsupported."""
    p = os.fspath(path) if isinstance(path, (str, os.PathLike)) else path
    if isinstance(p, str) and p.lower().endswith((".safetensors", ".pt", ".pth", ".keras")):
        return _override(load_model(p, nonlinearity=nonlinearity, convention=convention or "pytorch"),
                         nonlinearity, convention)
    try:
        cell = load_weights(p, nonlinearity=nonlinearity or "tanh", convention=convention or "pytorch")
        return model_from_cell(cell, os.path.basename(p) if isinstance(p, str) else "", "pytorch")
    except ModelError:
        raise
    except WeightsError as exc:
        e1 = str(exc)
        if not any(k in e1 for k in _LAYOUT):
            raise ModelError(e1) from None
    try:
        model = load_model(p, nonlinearity=nonlinearity, convention=convention or "pytorch")
    except ModelError as exc:
        raise ModelError(_pick(e1, str(exc))) from None
    return _override(model, nonlinearity, convention)


def _override(model: Model, nonlinearity, convention) -> Model:
    """Keras files name their activations and GRU forms; given options still win."""
    if model.source != "keras":
        return model
    return with_options(model, nonlinearity, convention)
