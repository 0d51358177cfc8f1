"""Write a trace to `.npz` (arrays by name) or `.csv` (one row a step)."""
from __future__ import annotations

import csv
import io
import os

import numpy as np

from .fileio import atomic_write_bytes, atomic_write_text
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


def trace_csv(trace: Trace, tokens=None) -> str:
    """Rows t = 0..T: t, token, log10 norms, h_j, c_j, gates at the step that made t."""
    n = trace.h.shape[1]
    cols = ["t", "token", "log10_jac_norm"]
    extra = [k for k in ("log10_cell_norm", "log10_carousel") if getattr(trace, k) is not None]
    cols += extra + [f"h{j}" for j in range(n)]
    if trace.c is not None:
        cols += [f"c{j}" for j in range(n)]
    for g in trace.gates:
        cols += [f"{g}{j}" for j in range(n)]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(cols)
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
    return buf.getvalue()


def write_trace(trace: Trace, path, tokens=None) -> None:
    """Write by extension (.npz or .csv), atomically."""
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext == ".npz":
        buf = io.BytesIO()
        np.savez(buf, **trace_arrays(trace))
        atomic_write_bytes(path, buf.getvalue())
    elif ext == ".csv":
        atomic_write_text(path, trace_csv(trace, tokens))
    else:
        raise ValueError(f"cannot write a trace as '{ext or path}': use .npz or .csv")
