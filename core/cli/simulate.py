"""Headless commands behind `python main.py simulate` (no Qt).

    simulate [setup options] [--text … | --signal … | --inputs x.npy] [--out trace.npz|.csv]
    simulate --weights FILE [--inputs x.npy | --text …] [--activation φ] [--out trace.npz]
        (a Gatescope model file without --inputs / --text / --signal reads its own prompt)
    simulate --preset trained-lstm-france   (or --model NAME: a shipped trained model)

--weights reads any model file (core.models.load_weights_or_model): a one-layer file prints and
writes what it always did (plus the model keys of core.cli.model: output, h_n, c_n, h_l0, …), a
whole model (layers, directions, projections, Keras) the model summary and trace (.npz only). A
PyTorch RNN file runs with --activation if given, else tanh (PyTorch's default: the file does not
say). A trained model prints its prediction after the last word: of its own prompt (a shipped
model's sentence, the Training lab's task sentence) unless the input is given.
"""
from __future__ import annotations

import sys

import numpy as np

from ..config import FIELD, FIELDS, Config, ConfigError
from ..export import check_trace_path, write_trace
from ..presets import get_preset
from ..safeio import SafeIOError, clip_text, finite_float64, one_line, read_npy, show_path
from ..simulate import simulate
from ..theory import format_pow10
from ..weights import WeightsError

MAX_INPUT_FILE_BYTES = 256 * 1024 * 1024
#: The longest message printed (the values in it are clipped already; this bounds the rest).
MAX_MESSAGE_CHARS = 300


class CommandError(Exception):
    """A user-facing error: printed as one line on stderr, exit code 2."""

    def __init__(self, message):
        text = one_line(message)
        if len(text) > MAX_MESSAGE_CHARS:
            text = text[:MAX_MESSAGE_CHARS - 1] + "…"
        super().__init__(text)


def _non_utf8(option: str, value) -> None:
    """argv bytes that are not UTF-8 arrive as lone surrogates (surrogateescape): refuse them."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = ord(value[exc.start]) - 0xDC00 if 0xDC80 <= ord(value[exc.start]) <= 0xDCFF \
                else None
            what = f"byte 0x{byte:02x}" if byte is not None else "a lone surrogate"
            raise CommandError(f"{option}: not UTF-8 text ({what} at character {exc.start})") \
                from None


def config_from_args(args) -> Config:
    """Start from --preset (or the defaults) and apply every option the user gave: one option
    per setup field (FIELDS; argparse dest = the field's name), each checked by Config."""
    for option in ("text", "preset", "signal"):
        _non_utf8(f"--{option}", getattr(args, option, None))
    base = get_preset(args.preset).config if getattr(args, "preset", None) else Config()
    changes = {f.name: getattr(args, f.name) for f in FIELDS
               if getattr(args, f.name, None) is not None}
    if getattr(args, "non_normal", False):      # the flag predates the 'structure' field
        if "structure" in FIELD:
            changes["structure"] = "non-normal"
        else:
            changes["normal"] = False
    if getattr(args, "text", None) is not None:
        changes.update(source="text", text=args.text)
    elif getattr(args, "signal", None) is not None or getattr(args, "length", None) is not None:
        changes["source"] = "signal"
    config = base.replace(**changes)
    if config.model:
        from ..models.trained import list_trained
        if config.model not in list_trained():
            raise CommandError(f"unknown trained model '{clip_text(config.model)}'; choose one of "
                               f"{', '.join(list_trained())}")
    return config


def _inputs_header_check(d: int):
    """Refuse an inputs header before its data is read: shape (T, d) — or (T,) when d = 1 —
    with 1 ≤ T ≤ the setup table's longest sequence (FIELD['length'].hi)."""
    t_max = int(FIELD["length"].hi)

    def check(_name, dtype, shape):
        if dtype.kind == "c":
            raise ValueError(f"inputs must be real numbers, got dtype {dtype}")
        ok = (len(shape) == 2 and shape[1] == d) or (len(shape) == 1 and d == 1)
        if not ok or shape[0] == 0:
            raise ValueError(f"inputs have shape {clip_text(shape)}; the cell needs (T, {d})")
        if shape[0] > t_max:
            raise ValueError(f"inputs have T = {clip_text(shape[0])} steps; at most {t_max} "
                             f"('length' is 1–{t_max})")
    return check


def load_inputs(path, d: int) -> np.ndarray:
    """(T, d) float64 inputs from an `.npy` file, read header-first through safeio."""
    try:
        x = read_npy(path, max_bytes=MAX_INPUT_FILE_BYTES, check=_inputs_header_check(d))
        x = finite_float64(x, "inputs")
    except SafeIOError as exc:
        reason = exc.reason
        if reason.startswith(("cannot open", "permission denied")):
            reason = f"not a readable .npy array ({reason})"
        raise CommandError(f"{show_path(path)}: {reason}") from None
    return x[:, None] if x.ndim == 1 else x


def _check_out(path) -> None:
    """--out: a trace file name (.npz or .csv) in a writable place, checked before any work."""
    try:
        check_trace_path(path)
    except OSError as exc:
        raise CommandError(f"--out: {exc}") from None
    except ValueError:
        raise CommandError(f"--out {show_path(path)}: use a .npz or .csv file name") from None


def _extra_arrays(args, cell, x, trace) -> dict:
    """--directions: every singular value of ∂s_t/∂s₀ and the Lyapunov spectrum; --connectivity:
    log10 ‖∂h_t/∂x_k‖ for every pair of steps (both .npz only: checked before the run)."""
    extra = {}
    if getattr(args, "directions", False):
        from .directions import directions_arrays
        extra.update(directions_arrays(cell, x, trace))
    if getattr(args, "connectivity", False):
        from ..connectivity import trace_connectivity
        try:
            extra.update(trace_connectivity(cell, trace))
        except ValueError as exc:
            raise CommandError(str(exc)) from None
    return extra


def _run(args):
    """(config, cell, trace) of the command's options, or (config, None, lines) for a model file
    or a trained model; every refusal as CommandError."""
    try:
        if args.out:
            _check_out(args.out)
        wants = [f"--{k}" for k in ("directions", "connectivity") if getattr(args, k, False)]
        if wants and not (args.out and str(args.out).lower().endswith(".npz")):
            verb = "needs" if len(wants) == 1 else "need"
            raise CommandError(f"{' and '.join(wants)} {verb} an --out file ending in .npz")
        config = config_from_args(args)
        if args.weights or config.model:
            return config, None, _run_model(args, config)
        cell = config.build_cell()
        tokens = None
        if args.inputs:
            x = load_inputs(args.inputs, cell.input_size)
        else:
            x, tokens = config.build_inputs(cell.input_size)
        directions = getattr(args, "directions", False)
        trace = simulate(cell, x, directions=directions)
        if args.out:
            extra = _extra_arrays(args, cell, x, trace)
            try:
                write_trace(trace, args.out, tokens, extra=extra or None)
            except (OSError, ValueError) as exc:
                raise CommandError(str(exc)) from None
    except (ConfigError, WeightsError, SafeIOError) as exc:
        raise CommandError(str(exc)) from None
    return config, cell, trace


def _model(args, config):
    """The model of --weights FILE (φ: --activation if given, else the file's or tanh), or of the
    trained model the setup names (--preset trained-…, --model)."""
    from ..models import load_weights_or_model, with_options
    if args.weights:
        return load_weights_or_model(args.weights, nonlinearity=getattr(args, "activation", None),
                                     convention=getattr(args, "convention", None))
    from ..models.trained import load_trained
    return with_options(load_trained(config.model), getattr(args, "activation", None),
                        getattr(args, "convention", None))


#: The options that choose a model's input (without any, --weights reads the model's own prompt).
INPUT_OPTIONS = ("inputs", "text", "signal", "length", "preset")


def _model_inputs(args, config, model):
    """(T, d) inputs and tokens: --inputs; a sentence through a trained model's own encoding
    (without the answer word it predicts: core.models.trained.prompt_text) — with --weights and
    none of INPUT_OPTIONS, the file's own prompt (a Gatescope model's meta["prompt"]: a shipped
    model's sentence, the lab's task sentence); else the setup's."""
    d = model.stack.input_size
    if args.inputs:
        return load_inputs(args.inputs, d), None
    own = args.weights and model.encoding and str(model.meta.get("prompt") or "").strip()
    if own and all(getattr(args, k, None) is None for k in INPUT_OPTIONS):
        from ..models.trained import prompt_text
        return model.encode(prompt_text(model))
    if config.source == "text" and model.encoding:
        from ..models.trained import prompt_text
        return model.encode(prompt_text(model, config.text))
    return config.build_inputs(d)


def _run_model(args, config) -> list[str]:
    """Run a model file or a trained model; write the trace; → the lines to print."""
    from ..models import single_cell
    model = _model(args, config)
    cell = single_cell(model)
    if cell is None and args.out and not str(args.out).lower().endswith(".npz"):
        raise CommandError(f"--out {show_path(args.out)}: a model with {model.stack.describe()} "
                           "is written as .npz (one array per layer and direction)")
    x, tokens = _model_inputs(args, config, model)
    if cell is None:
        run, lines = _run_stack_model(args, config, model, x, tokens)
    else:
        run, lines = _run_cell_model(model, cell, x, tokens)
    if args.out:
        _write_model_trace(args.out, run, cell, tokens)
        lines.append(f"trace written to {show_path(args.out)}")
    return lines


def _run_stack_model(args, config, model, x, tokens):
    """(run, lines) of a whole model (layers, directions, projections) over x (T, d): its summary
    with the prediction after the last word (if it makes one) as the last line."""
    from dataclasses import replace

    from ..stack import StackError
    from .model import check_work, prediction_line, summarise, summary_lines
    check_work(model, x.shape[0])
    try:
        run = model.run(x)
    except StackError as exc:
        raise CommandError(f"{model.name}: {exc}") from None
    if tokens is not None:
        run = replace(run, tokens=list(tokens))
    name = show_path(args.weights) if args.weights else config.model
    lines = summary_lines(summarise(model, run, name))
    pred = prediction_line(model, run)
    return run, [line for line in lines if not line.startswith("predicted")] + ([pred] if pred else [])


def _run_cell_model(model, cell, x, tokens):
    """(run, lines) of a one-cell model over x (T, d): the cell's lines (_cell_lines), and for a
    trained model what it is before them and its prediction after."""
    from .model import prediction_line, single_run
    trace = simulate(cell, x)
    run = single_run(model, trace, tokens)
    lines = _cell_lines(cell, trace)
    pred = prediction_line(model, run)
    if pred:                                  # a trained model: what it is, what it says
        lines = [model.describe()] + lines + [pred]
    return run, lines


def _write_model_trace(out, run, cell, tokens) -> None:
    """--out of a model run: .npz with the model's arrays (core.cli.model; a one-cell model's also
    with the cell trace's), or a one-cell model's .csv trace."""
    from ..export import trace_arrays as cell_arrays
    from .model import trace_arrays, write_arrays
    if str(out).lower().endswith(".npz"):
        write_arrays({**cell_arrays(run.trace.traces[0][0]), **trace_arrays(run)} if cell is not None
                     else trace_arrays(run), out)
        return
    try:
        write_trace(run.trace.traces[0][0], out, tokens)
    except OSError as exc:
        raise CommandError(str(exc)) from None


def _cell_lines(cell, trace) -> list[str]:
    """The cell, ‖∂s_T/∂s_0‖₂ and ‖∂c_T/∂c_0‖₂ of a one-cell run, and an overflow note."""
    T = trace.steps
    lines = [f"{cell.kind.upper()}  n = {cell.hidden_size}  d = {cell.input_size}  T = {T}"
             + (f"  ({cell.nonlinearity})" if cell.kind == "rnn" else "")
             + (f"  ({cell.convention} convention)" if cell.kind == "gru" else ""),
             f"‖∂s_T/∂s_0‖₂ = {format_pow10(trace.log10_jac_norm[-1])}"
             f"  (log10 = {trace.log10_jac_norm[-1]:.6f})"]
    if trace.log10_cell_norm is not None:
        lines.append(f"‖∂c_T/∂c_0‖₂ = {format_pow10(trace.log10_cell_norm[-1])}"
                     f"  (log10 = {trace.log10_cell_norm[-1]:.6f})")
    if trace.overflow_step is not None:
        lines.append(f"note: the hidden state leaves float64 range at step {trace.overflow_step}; "
                     f"the trace stops at T = {T}")
    return lines


def run_simulate(args, out=None) -> int:
    """`main.py simulate`: print the cell, ‖∂s_T/∂s_0‖₂ (and ‖∂c_T/∂c_0‖₂), σ₁ᵀ — or a model's
    summary and prediction; 0 on success, CommandError (one line, exit code 2 in the launcher)
    for any bad option or file."""
    out = sys.stdout if out is None else out
    config, cell, trace = _run(args)
    if cell is None:
        print("\n".join(trace), file=out)
        return 0
    T = trace.steps
    lines = _cell_lines(cell, trace)
    if not args.weights:
        s1 = config.sigma1
        lines.append(f"σ₁ᵀ = {format_pow10(T * np.log10(s1))}  (σ₁ = {s1:g})")
    if args.out:
        lines.append(f"trace written to {show_path(args.out)}")
    print("\n".join(lines), file=out)
    return 0
