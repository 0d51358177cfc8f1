"""Write a trace to `.npz` (arrays by name) or `.csv` (one row a step), atomically.

Both formats are streamed into core.fileio.atomic_writer: the previous file survives any failure
(full disk, a kill), and a failure raises WriteError (an OSError) naming the file. Call
`check_trace_path(path)` before the work that makes the trace, so a bad path is refused first.
"""
from __future__ import annotations

import csv
import io
import os

import numpy as np

from .fileio import atomic_writer, check_writable
from .simulate import Trace

TRACE_FORMATS = (".npz", ".csv")


def trace_arrays(trace: Trace) -> dict[str, np.ndarray]:
    out = {"inputs": trace.inputs, "h": trace.h, "log10_jac_norm": trace.log10_jac_norm}
    for name in ("c", "preact", "slope", "log10_cell_norm", "log10_carousel"):
        if getattr(trace, name) is not None:
            out[name] = getattr(trace, name)
    for g, a in trace.gates.items():
        out[f"gate_{g}"] = a
    return out


def _columns(trace: Trace, extra: list[str]) -> list[str]:
    n = trace.h.shape[1]
    cols = ["t", "token", "log10_jac_norm"] + extra + [f"h{j}" for j in range(n)]
    if trace.c is not None:
        cols += [f"c{j}" for j in range(n)]
    for g in trace.gates:
        cols += [f"{g}{j}" for j in range(n)]
    return cols


def write_trace_csv(trace: Trace, fh, tokens=None) -> None:
    """Rows t = 0..T into the text file `fh`: t, token, log10 norms, h_j, c_j, gates at the step
    that made t (empty at t = 0)."""
    n = trace.h.shape[1]
    extra = [k for k in ("log10_cell_norm", "log10_carousel") if getattr(trace, k) is not None]
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(_columns(trace, extra))
    for t in range(trace.steps + 1):
        tok = tokens[t - 1] if tokens and t > 0 else ""
        row = [t, tok, repr(float(trace.log10_jac_norm[t]))]
        row += [repr(float(getattr(trace, k)[t])) for k in extra]
        row += [repr(float(v)) for v in trace.h[t]]
        if trace.c is not None:
            row += [repr(float(v)) for v in trace.c[t]]
        for a in trace.gates.values():
            row += [repr(float(v)) for v in a[t - 1]] if t > 0 else [""] * n
        w.writerow(row)


def trace_csv(trace: Trace, tokens=None) -> str:
    """The CSV of `write_trace_csv` as a string."""
    buf = io.StringIO()
    write_trace_csv(trace, buf, tokens)
    return buf.getvalue()


def _format(path) -> str:
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in TRACE_FORMATS:
        raise ValueError(f"cannot write a trace as '{ext or 'no extension'}': use .npz or .csv")
    return ext


def check_trace_path(path) -> str:
    """Refuse early a trace path with the wrong extension (ValueError) or that cannot be written
    (WriteError, an OSError); returns the extension."""
    ext = _format(path)
    check_writable(path)
    return ext


def write_trace(trace: Trace, path, tokens=None) -> None:
    """Write by extension (.npz or .csv), atomically. Tokens are written as UTF-8; characters it
    cannot encode (lone surrogates) are written as backslash escapes."""
    ext = _format(path)
    with atomic_writer(path) as fh:
        if ext == ".npz":
            np.savez(fh, **trace_arrays(trace))
        else:
            text = io.TextIOWrapper(fh, encoding="utf-8", errors="backslashreplace", newline="")
            write_trace_csv(trace, text, tokens)
            text.flush()
            text.detach()
