"""Headless commands behind `python main.py simulate` (no Qt)."""
from __future__ import annotations

import sys

import numpy as np

from ..config import FIELD, FIELDS, Config, ConfigError
from ..export import check_trace_path, write_trace
from ..presets import get_preset
from ..safeio import SafeIOError, clip_text, finite_float64, one_line, read_npy, show_path
from ..simulate import simulate
from ..theory import format_pow10
from ..weights import WeightsError, load_weights

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
    return base.replace(**changes)


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


def _run(args):
    """(config, cell, trace) of the command's options; every refusal as CommandError."""
    try:
        if args.out:
            _check_out(args.out)
        config = config_from_args(args)
        if args.weights:
            cell = load_weights(args.weights, nonlinearity=config.activation,
                                convention=config.convention)
        else:
            cell = config.build_cell()
        tokens = None
        if args.inputs:
            x = load_inputs(args.inputs, cell.input_size)
        else:
            x, tokens = config.build_inputs(cell.input_size)
        trace = simulate(cell, x)
        if args.out:
            try:
                write_trace(trace, args.out, tokens)
            except OSError as exc:
                raise CommandError(str(exc)) from None
    except (ConfigError, WeightsError, SafeIOError) as exc:
        raise CommandError(str(exc)) from None
    return config, cell, trace


def run_simulate(args, out=sys.stdout) -> int:
    """`main.py simulate`: print the cell, ‖∂s_T/∂s_0‖₂ (and ‖∂c_T/∂c_0‖₂), σ₁ᵀ; 0 on success,
    CommandError (one line, exit code 2 in the launcher) for any bad option or file."""
    config, cell, trace = _run(args)
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
    if not args.weights:
        s1 = config.sigma1
        lines.append(f"σ₁ᵀ = {format_pow10(T * np.log10(s1))}  (σ₁ = {s1:g})")
    if args.out:
        lines.append(f"trace written to {show_path(args.out)}")
    print("\n".join(lines), file=out)
    return 0
