"""Headless commands behind `python main.py simulate` (no Qt)."""
from __future__ import annotations

import os
import sys

import numpy as np

from ..config import Config, ConfigError
from ..export import TRACE_FORMATS, write_trace
from ..presets import get_preset
from ..simulate import simulate
from ..theory import format_pow10
from ..weights import WeightsError, load_weights

MAX_INPUT_FILE_BYTES = 256 * 1024 * 1024


class CommandError(Exception):
    """A user-facing error: printed as one line on stderr, exit code 2."""


CONFIG_OPTIONS = {  # argparse dest → Config field
    "cell": "cell", "activation": "activation", "convention": "convention", "hidden": "hidden",
    "input_size": "input_size", "sigma1": "sigma1", "shape": "shape", "seed": "seed",
    "forget_bias": "forget_bias", "update_bias": "update_bias", "input_scale": "input_scale",
    "signal": "signal", "length": "length", "clip": "clip",
}


def config_from_args(args) -> Config:
    """Start from --preset (or the defaults) and apply every option the user gave."""
    base = get_preset(args.preset).config if getattr(args, "preset", None) else Config()
    changes = {f: getattr(args, d) for d, f in CONFIG_OPTIONS.items()
               if getattr(args, d, None) is not None}
    if getattr(args, "non_normal", False):
        changes["normal"] = False
    if getattr(args, "text", None) is not None:
        changes.update(source="text", text=args.text)
    elif getattr(args, "signal", None) is not None or getattr(args, "length", None) is not None:
        changes["source"] = "signal"
    return base.replace(**changes)


def load_inputs(path: str, d: int) -> np.ndarray:
    if os.path.isdir(path):
        raise CommandError(f"{path}: is a directory, not an .npy file")
    try:
        if os.path.getsize(path) > MAX_INPUT_FILE_BYTES:
            raise CommandError(f"{path}: larger than {MAX_INPUT_FILE_BYTES // 2**20} MiB")
        x = np.load(path, allow_pickle=False)
    except CommandError:
        raise
    except (OSError, ValueError, EOFError) as exc:
        raise CommandError(f"{path}: not a readable .npy array ({exc})") from None
    if not isinstance(x, np.ndarray):
        raise CommandError(f"{path}: expected a single .npy array, not an archive")
    if x.dtype == object or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise CommandError(f"{path}: inputs must be real numbers, got dtype {x.dtype}")
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d or x.shape[0] == 0:
        raise CommandError(f"{path}: inputs have shape {x.shape}; the cell needs (T, {d})")
    if not np.all(np.isfinite(x)):
        raise CommandError(f"{path}: inputs contain NaN or infinite values")
    return x.astype(np.float64)


def run_simulate(args, out=sys.stdout) -> int:
    try:
        if args.out and os.path.splitext(args.out)[1].lower() not in TRACE_FORMATS:
            raise CommandError(f"--out {args.out}: use a .npz or .csv file name")
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
                raise CommandError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    except (ConfigError, WeightsError, CommandError) as exc:
        raise CommandError(str(exc)) from None
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
        lines.append(f"trace written to {args.out}")
    print("\n".join(lines), file=out)
    return 0
