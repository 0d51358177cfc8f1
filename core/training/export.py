"""A model the training lab trained, as a Gatescope model: the one-file layout of the shipped
trained models (core.training.train_presets), which core.models reads (load_model,
load_weights_or_model, `simulate --weights`, File → Open weights):

    model_arrays(model, task=None, extra=None) -> {name: array}: weight_ih_l0, weight_hh_l0,
        bias_ih_l0, bias_hh_l0 (PyTorch's names), weight_out, bias_out and "gatescope_meta"
        (UTF-8 JSON: format, kind, nonlinearity, convention, encoding, classes,
        readout_activation, text, prompt, vocabulary, and the task's settings)
    trained_model(model, task=None, extra=None) -> core.models.Model, read from those arrays
        exactly as from the file (so Explore shows what the file holds)
    save_model(model, path, task=None, extra=None) -> path: the arrays as one .npz (npz_bytes)
    model_meta(...), gatescope_arrays(model, meta), npz_bytes(arrays): the layout itself, shared
        with train_presets

Encoding: the lab's recall tasks read one-hot tokens (core.training.tasks.make_batch: token k of
task.vocabulary() is the k-th unit vector), stored as {"type": "one_hot", "vocabulary": …}, so a
sentence of the vocabulary's entries ("France the food … I speak fluent") gives the model the
very vectors the lab trained it on. The adding problem reads numbers, not words: no encoding, a
linear readout named "sum". The readout is the lab's softmax of W_out h + b_out, applied at every
step (the model's guess so far; the lab trains it on h_T). text and prompt: the task's sentence
(example_text), which ends at the query, where the lab reads the answer off.
"""
from __future__ import annotations

import io
import json
import os
import zipfile

import numpy as np

from ..models import Model as GatescopeModel
from ..models import ModelError, model_from_state_dict
from ..models.torch_dict import META_KEY
from .bptt import Model
from .tasks import Task

__all__ = ["example_text", "gatescope_arrays", "model_arrays", "model_meta", "npz_bytes", "save_model",
           "trained_model"]

TRAINED_BY = "the training lab"


def model_meta(model: Model, *, name: str, task: str | None, encoding: dict | None, classes, activation: str,
               text: str, prompt: str, vocabulary, trained_by: str, **extra) -> dict:
    """The "gatescope_meta" object of a one-layer model with a readout (its keys in this order)."""
    return {"format": "gatescope-model", "version": 1, "name": name, "task": task,
            "kind": model.kind, "nonlinearity": model.nonlinearity, "convention": model.convention,
            "encoding": encoding, "classes": classes, "readout_activation": activation, "text": text,
            "prompt": prompt, "vocabulary": vocabulary, "trained_by": trained_by, **extra}


def gatescope_arrays(model: Model, meta: dict) -> dict:
    """The file's arrays: the cell under PyTorch's one-layer names, the readout, the metadata."""
    p = model.params
    arrays = {"weight_ih_l0": p["weight_ih"], "weight_hh_l0": p["weight_hh"],
              "bias_ih_l0": p["bias_ih"], "bias_hh_l0": p["bias_hh"],
              "weight_out": p["weight_out"], "bias_out": p["bias_out"]}
    arrays[META_KEY] = np.frombuffer(json.dumps(meta, ensure_ascii=False).encode(), np.uint8)
    return arrays


def npz_bytes(arrays: dict) -> bytes:
    """An .npz whose bytes depend only on the arrays (fixed member dates, sorted names)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in sorted(arrays):
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(arrays[key]), allow_pickle=False)
            info = zipfile.ZipInfo(key + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, member.getvalue())
    return buf.getvalue()


def example_text(task: Task) -> str:
    """The task's sentence as the lab builds it (tasks.make_batch): `lead` distractors, the first
    key, `gap` distractors, the query — the distractors in turn, e.g. "France the food was … I
    speak fluent" (answer: the first class, "French"). "" for the adding problem."""
    if task.is_regression:
        return ""
    vocab, K, D = task.vocabulary(), task.n_classes, task.n_distractors
    filler = [vocab[K + t % D] for t in range(task.lead + task.gap)]
    return " ".join(filler[:task.lead] + [vocab[0]] + filler[task.lead:] + [vocab[-1]])


def _meta(model: Model, task: Task | None, extra: dict | None) -> dict:
    C = model.output_size
    if task is None:                       # what the arrays alone say: classes or one number
        return model_meta(model, name="", task=None, encoding=None, classes=None,
                          activation="softmax" if C > 1 else "linear", text="", prompt="",
                          vocabulary=None, trained_by=TRAINED_BY, **(extra or {}))
    if task.input_size != model.input_size or task.output_size != C:
        raise ModelError(f"the model has {model.input_size} inputs and {C} outputs; the task "
                         f"'{task.name}' has {task.input_size} and {task.output_size}")
    vocabulary = list(task.vocabulary())
    encoding = None if task.is_regression else {"type": "one_hot", "vocabulary": vocabulary}
    text = example_text(task)
    settings = {"gap": task.gap, "n_classes": task.n_classes, "n_distractors": task.n_distractors,
                "lead": task.lead}
    return model_meta(model, name="", task=task.name, encoding=encoding, classes=list(task.class_names()),
                      activation="linear" if task.is_regression else "softmax", text=text, prompt=text,
                      vocabulary=vocabulary, trained_by=TRAINED_BY, task_settings=settings,
                      **(extra or {}))


def model_arrays(model: Model, task: Task | None = None, extra: dict | None = None) -> dict:
    """The lab's model in the shipped models' layout (see the module's docstring). task: its
    vocabulary, classes and sentence (None: no encoding and no names). extra: more JSON-ready
    metadata (e.g. iterations, test accuracy)."""
    return gatescope_arrays(model, _meta(model, task, extra))


def _read(arrays: dict) -> GatescopeModel:
    meta = json.loads(bytes(arrays[META_KEY]).decode("utf-8"))
    weights = {k: v for k, v in arrays.items() if k != META_KEY}
    try:
        return model_from_state_dict(weights, meta=meta, source="gatescope")
    except ValueError as exc:              # ModelError, StackError: e.g. a diverged run's NaN
        raise ModelError(f"the trained model cannot be used: {exc}") from None


def trained_model(model: Model, task: Task | None = None, extra: dict | None = None) -> GatescopeModel:
    """The lab's model as a core.models.Model (stack, readout with the class names, encoding,
    the task's sentence in meta["text"]), read from model_arrays as load_model reads the file.
    ModelError (one line) if the weights are unusable (not finite)."""
    return _read(model_arrays(model, task, extra))


def save_model(model: Model, path, task: Task | None = None, extra: dict | None = None) -> str:
    """Write model_arrays as one .npz, atomically (WriteError, an OSError, naming the file); the
    model is checked first as trained_model reads it (ModelError: nothing written)."""
    from ..fileio import atomic_write_bytes
    arrays = model_arrays(model, task, extra)
    _read(arrays)
    path = os.fspath(path)
    atomic_write_bytes(path, npz_bytes(arrays))
    return path
