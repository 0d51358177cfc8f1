"""What `simulate --weights FILE` does for whole models (any layers, directions, a readout) and
`simulate --preset trained-…` for the shipped trained models. No Qt.

    run_model(path, inputs, out_path=None, nonlinearity=None) -> summary dict
    run_trained(name, text=None, out_path=None) -> summary dict
    summary_lines(summary) -> the lines to print
    single_run(model, trace, tokens) -> ModelRun of a one-layer model from its core.simulate Trace
    prediction_line(model, run) -> "predicted after 'fluent': French (p = 0.9989)" or None

The trace file (.npz) holds, for a batch of one:
    output (T, D·p)          the last layer's output at each input position (PyTorch's `output`)
    h_n (L·D, p), c_n        final states in PyTorch's order l0, l0_reverse, l1, … (c_n: LSTM)
    log10_jac_norm (T+1,)    log10 ‖∂S_t/∂S_0‖₂ of the whole stacked state (one-directional)
    h_l{k} (T+1, p)          layer k's h, row 0 = h0; h_l{k}_reverse in the reverse pass's own
                             time (row j: after reading x_T … x_{T−j+1}); c_l{k}[_reverse] likewise
    log10_jac_norm_l{k}[_reverse] (T+1,)   that layer on its own: ‖J^k_t ⋯ J^k_1‖₂
    gate_{g}_l{k}[_reverse] (T, n)         its gates (LSTM i f g o, GRU r z n)
    readout (T, C), probabilities (T, K)   with a readout
"""
from __future__ import annotations

import io
import os

import numpy as np

from ..config import MAX_STEPS
from ..fileio import atomic_write_bytes
from ..models import Model, ModelError, load_model
from ..models.readout import ModelRun
from ..safeio import SafeIOError, read_npy, show_path
from ..simulate import Trace
from ..stack import StackTrace
from ..theory import format_pow10

#: Refuse runs whose Jacobian products would cost more than this many multiply-adds (minutes).
MAX_WORK = 2e11


def load_inputs(inputs, d: int) -> np.ndarray:
    """(T, d) float64 from an array or an .npy path (read header-first); ModelError otherwise."""
    name = "inputs"
    if isinstance(inputs, (str, bytes, os.PathLike)):
        name = show_path(os.fspath(inputs))
        try:
            inputs = read_npy(inputs, max_bytes=256 * 1024 * 1024)
        except SafeIOError as exc:
            raise ModelError(str(exc)) from None
    x = np.asarray(inputs)
    if x.dtype.kind not in "iuf":
        raise ModelError(f"{name}: inputs must be real numbers, got dtype {x.dtype}")
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]                                         # a batch of one (1, T, d)
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] == 0:
        raise ModelError(f"{name}: inputs have shape {x.shape}; the model needs (T, {d})")
    if x.shape[0] > MAX_STEPS:
        raise ModelError(f"{name}: {x.shape[0]} steps; at most {MAX_STEPS}")
    with np.errstate(over="ignore"):
        x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ModelError(f"{name}: inputs contain NaN or infinite values")
    return x


def check_work(model: Model, T: int) -> None:
    """Refuse a run whose Jacobian products alone would take minutes (T · Σ m³ multiply-adds)."""
    stack = model.stack
    per_layer = sum(d.state_size ** 3 for _, _, d in stack.directions())
    stacked = stack.state_size ** 3 if not stack.bidirectional and stack.num_layers > 1 else 0
    work = T * (per_layer + stacked)
    if work > MAX_WORK:
        raise ModelError(f"{T} steps through this model need about {work:.1e} multiply-adds for the "
                         f"gradient norms; at most {MAX_WORK:.0e} (use fewer steps)")


def trace_arrays(run: ModelRun) -> dict[str, np.ndarray]:
    """The arrays of the trace file (see the module docstring)."""
    tr = run.trace
    out = {"output": tr.output}
    if tr.h_n_array is not None:
        out["h_n"] = tr.h_n_array
    if tr.c_n is not None and tr.c_n_array is not None:
        out["c_n"] = tr.c_n_array
    if tr.log10_jac_norm is not None:
        out["log10_jac_norm"] = tr.log10_jac_norm
    for l, layer in enumerate(tr.traces):
        for k, t in enumerate(layer):
            tag = f"_l{l}" + ("_reverse" if k else "")
            out["h" + tag] = t.h
            if t.c is not None:
                out["c" + tag] = t.c
            out["log10_jac_norm" + tag] = t.log10_jac_norm
            for g, a in t.gates.items():
                out[f"gate_{g}{tag}"] = a
    if run.outputs is not None:
        out["readout"] = run.outputs
    if run.probabilities is not None:
        out["probabilities"] = run.probabilities
    return out


def check_out_path(out_path) -> None:
    """A model trace is written as .npz only (refused before any work)."""
    if out_path is None:
        return
    p = os.fspath(out_path)
    if not p.lower().endswith(".npz"):
        raise ModelError(f"--out {show_path(p)}: a model's trace is written as .npz (one array per "
                         "layer and direction)")
    folder = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(folder) or not os.access(folder, os.W_OK) or os.path.isdir(p):
        raise ModelError(f"--out {show_path(p)}: cannot write there (no such folder, not writable, "
                         "or a folder)")


def _write(arrays: dict, out_path) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    try:
        atomic_write_bytes(out_path, buf.getvalue())
    except OSError as exc:
        raise ModelError(f"cannot write {show_path(os.fspath(out_path))}: "
                         f"{exc.strerror or exc}") from None


def summarise(model: Model, run: ModelRun, file: str = "") -> dict:
    """Plain JSON-ready numbers of a run."""
    tr, stack = run.trace, model.stack
    s = {"file": file, "describe": model.describe(), "kind": stack.kind, "layers": stack.num_layers,
         "directions": stack.num_directions, "hidden": [layer[0].hidden_size for layer in stack.layers],
         "proj_size": stack.direction(0).output_size if stack.direction(0).weight_hr is not None else None,
         "input_size": stack.input_size, "steps": tr.steps,
         "log10_jac_norm_T": None if tr.log10_jac_norm is None else float(tr.log10_jac_norm[-1]),
         "layer_log10_jac_norm_T": {f"l{l}" + ("_reverse" if k else ""): float(t.log10_jac_norm[-1])
                                    for l, layer in enumerate(tr.traces) for k, t in enumerate(layer)}}
    if run.probabilities is not None:
        names = model.classes or tuple(str(k) for k in range(run.probabilities.shape[1]))
        k = int(np.argmax(run.probabilities[-1]))
        s["predicted"], s["probability"] = names[k], float(run.probabilities[-1, k])
    return s


def run_model(path, inputs=None, out_path=None, nonlinearity=None, *, convention="pytorch",
              text=None) -> dict:
    """Load a model file, run it on inputs (T, d) (an array or an .npy path) — or on `text`
    through the model's own input encoding (a trained Gatescope model) — and write the trace
    (.npz) if out_path is given; → summary (see `summarise`). Raises ModelError (one line)."""
    check_out_path(out_path)
    model = load_model(path, nonlinearity=nonlinearity, convention=convention)
    if inputs is None:
        if text is None or not model.encoding:
            raise ModelError("give the inputs (T, d) as an .npy file" + (
                "" if text is None else ": this model has no text encoding of its own"))
        x, _ = model.encode(text)
    else:
        x = load_inputs(inputs, model.stack.input_size)
    check_work(model, x.shape[0])
    run = model.run(x if inputs is not None else text)
    if out_path is not None:
        _write(trace_arrays(run), out_path)
    return summarise(model, run, os.path.basename(os.fspath(path)))


def run_trained(name: str, text: str | None = None, out_path=None) -> dict:
    """Run a shipped trained model on `text` (default: its prompt, "… I speak fluent") → summary
    with the predicted last word and its probability, and the word-by-word predictions."""
    from ..models.trained import load_trained, prompt_text
    check_out_path(out_path)
    model = load_trained(name)
    prompt = prompt_text(model, text)
    run = model.run(prompt)
    tok = run.tokens[-1]
    k = int(np.argmax(run.probabilities[-1]))
    word, prob = model.classes[k], float(run.probabilities[-1, k])
    if out_path is not None:
        _write(trace_arrays(run), out_path)
    s = summarise(model, run, name)
    s.update(text=prompt, last_token=tok, predicted=word, probability=prob)
    return s


def summary_lines(s: dict) -> list[str]:
    """What `simulate` prints for a model run."""
    lines = [f"{s['describe']}  T = {s['steps']}"]
    if s.get("log10_jac_norm_T") is not None and s["layers"] > 1:
        v = s["log10_jac_norm_T"]
        lines.append(f"‖∂S_T/∂S_0‖₂ (whole stack) = {format_pow10(v)}  (log10 = {v:.6f})")
    for tag, v in s["layer_log10_jac_norm_T"].items():
        lines.append(f"layer {tag[1:]}: ‖∂s_T/∂s_0‖₂ = {format_pow10(v)}  (log10 = {v:.6f})")
    if "predicted" in s:
        after = f" after '{s['last_token']}'" if s.get("last_token") else ""
        lines.append(f"predicted{after}: {s['predicted']} (p = {s['probability']:.4f})")
    return lines


def single_run(model: Model, trace: Trace, tokens=None) -> ModelRun:
    """The ModelRun of a one-layer, one-direction model whose layer ran as `trace` (core.simulate's:
    a trace that stops where the state leaves float64 range stays as it is)."""
    h = trace.h[1:]
    c_n = None if trace.c is None else (np.array(trace.c[-1]),)
    st = StackTrace(model.stack, ((trace,),), (h,), (np.array(trace.h[-1]),), c_n, trace.log10_jac_norm)
    if model.readout is None:
        return ModelRun(st, tokens=tokens)
    y = model.readout(h)
    return ModelRun(st, y, model.readout.probabilities(y), tokens)


def prediction_line(model: Model, run: ModelRun) -> str | None:
    """What the readout predicts after the last input, or None without probabilities."""
    if run.probabilities is None or not len(run.probabilities):
        return None
    names = model.classes or tuple(str(k) for k in range(run.probabilities.shape[1]))
    k = int(np.argmax(run.probabilities[-1]))
    after = f" after '{run.tokens[-1]}'" if run.tokens else ""
    return f"predicted{after}: {names[k]} (p = {float(run.probabilities[-1, k]):.4f})"


def write_arrays(arrays: dict, out_path) -> None:
    """Write a trace's arrays as .npz, atomically (ModelError naming the file otherwise)."""
    _write(arrays, out_path)
