"""Write a trace to `.npz` (arrays by name) or `.csv` (one row a step), atomically.

`write_trace` writes a Trace (and, given `extra`, more arrays such as the Lyapunov spectrum);
`write_analysis` writes every series the app plots for an Analysis (core.series.plotted_series),
with units: the NPZ holds a (k, 2) string array `units` (name, unit), the CSV names each column
`name [unit]` (`name.j [unit]` for column j of a matrix). Per-step arrays have first axis
t = 0..T (T+1 rows; arrays with T rows are step-made values, row 0 NaN); any other array (the
Lyapunov spectrum (m,)) does not depend on t and is repeated in every CSV row.

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


#: a CSV export holds at most this many numbers (rows × columns): beyond, write an NPZ
MAX_CSV_CELLS = 20_000_000


def trace_arrays(trace: Trace, extra: dict | None = None) -> dict[str, np.ndarray]:
    """name → array of a trace (and the `extra` arrays, e.g. "lyapunov" (m,))."""
    out = {"inputs": trace.inputs, "h": trace.h, "log10_jac_norm": trace.log10_jac_norm}
    for name in ("c", "preact", "slope", "log10_cell_norm", "log10_carousel",
                 "log10_singular_values"):
        if getattr(trace, name) is not None:
            out[name] = getattr(trace, name)
    for g, a in trace.gates.items():
        out[f"gate_{g}"] = a
    for name, a in (extra or {}).items():
        if a is not None:
            out[name] = np.asarray(a, dtype=np.float64)
    return out


def _columns(trace: Trace, extra: list[str]) -> list[str]:
    n = trace.h.shape[1]
    cols = ["t", "token", "log10_jac_norm"] + extra + [f"h{j}" for j in range(n)]
    if trace.c is not None:
        cols += [f"c{j}" for j in range(n)]
    for g in trace.gates:
        cols += [f"{g}{j}" for j in range(n)]
    return cols


def _more_columns(trace: Trace, arrays: dict) -> tuple[list[str], list]:
    """CSV columns after the trace's own: the singular values (sv_i) and each extra array's
    entries (name_j; a (T+1, ·) array one value a step, any other repeated in every row)."""
    cols, values = [], []
    more = dict(arrays or {})
    if trace.log10_singular_values is not None:
        more = {"log10_singular_values": trace.log10_singular_values, **more}
    for name, a in more.items():
        a = np.asarray(a, dtype=np.float64)
        per_step = a.ndim >= 1 and a.shape[0] == trace.steps + 1
        flat = a.reshape(trace.steps + 1, -1) if per_step else np.broadcast_to(
            a.reshape(1, -1), (trace.steps + 1, a.size))
        cols += [f"{name}{j}" for j in range(flat.shape[1])] if a.ndim > (1 if per_step else 0) \
            else [name]
        values.append(flat)
    return cols, values


def write_trace_csv(trace: Trace, fh, tokens=None, extra: dict | None = None) -> None:
    """Rows t = 0..T into the text file `fh`: t, token, log10 norms, h_j, c_j, gates at the step
    that made t (empty at t = 0), then log10_singular_values_i when the trace has them and the
    `extra` arrays (see `_more_columns`)."""
    n = trace.h.shape[1]
    extra_cols, extra_values = _more_columns(trace, extra)
    extra = [k for k in ("log10_cell_norm", "log10_carousel") if getattr(trace, k) is not None]
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(_columns(trace, extra) + extra_cols)
    for t in range(trace.steps + 1):
        tok = tokens[t - 1] if tokens and t > 0 else ""
        row = [t, tok, repr(float(trace.log10_jac_norm[t]))]
        row += [repr(float(getattr(trace, k)[t])) for k in extra]
        row += [repr(float(v)) for v in trace.h[t]]
        if trace.c is not None:
            row += [repr(float(v)) for v in trace.c[t]]
        for a in trace.gates.values():
            row += [repr(float(v)) for v in a[t - 1]] if t > 0 else [""] * n
        for a in extra_values:
            row += [repr(float(v)) for v in a[t]]
        w.writerow(row)


def trace_csv(trace: Trace, tokens=None, extra: dict | None = None) -> str:
    """The CSV of `write_trace_csv` as a string."""
    buf = io.StringIO()
    write_trace_csv(trace, buf, tokens, extra)
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


def _write_text(fh, write) -> None:
    """write(text file) onto the binary `fh`: UTF-8, lone surrogates as backslash escapes."""
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="backslashreplace", newline="")
    write(text)
    text.flush()
    text.detach()


def write_trace(trace: Trace, path, tokens=None, extra: dict | None = None) -> None:
    """Write by extension (.npz or .csv), atomically. Tokens are written as UTF-8; characters it
    cannot encode (lone surrogates) are written as backslash escapes. extra: more arrays by name
    (e.g. core.cli.directions.directions_arrays: "log10_singular_values", "lyapunov")."""
    ext = _format(path)
    extra = {k: v for k, v in (extra or {}).items() if v is not None}
    if ext == ".csv":
        _check_csv_size(sum(int(np.size(v)) for v in trace_arrays(trace, extra).values()))
    with atomic_writer(path) as fh:
        if ext == ".npz":
            np.savez(fh, **trace_arrays(trace, extra))
        else:
            _write_text(fh, lambda text: write_trace_csv(trace, text, tokens, extra))


def _check_csv_size(numbers: int) -> None:
    """Refuse (ValueError) a CSV of more than MAX_CSV_CELLS numbers, before writing."""
    if numbers > MAX_CSV_CELLS:
        raise ValueError(f"{numbers:,} numbers are too many for CSV (at most {MAX_CSV_CELLS:,}): "
                         "write an .npz")


# ----------------------------------------------------------------------------------------------
# Every plotted series of an analysis, with units.

def analysis_series(analysis, extra: dict | None = None) -> dict[str, tuple[np.ndarray, str]]:
    """name → (float64 array, unit): core.series.plotted_series, the trace's
    log10_singular_values when computed, and the `extra` arrays (name → array, or → (array,
    unit); unit defaults to log10 for names starting "log10", else "1"). Arrays with T rows
    (step-made: row t−1 made step t) are padded to T+1 with a NaN row 0."""
    from .series import UNITS, plotted_series
    out = dict(plotted_series(analysis))
    T = analysis.trace.steps
    more = dict(extra or {})
    sv = getattr(analysis.trace, "log10_singular_values", None)
    if sv is not None and "log10_singular_values" not in more:
        more = {"log10_singular_values": sv, **more}
    for name, value in more.items():
        arr, unit = value if isinstance(value, tuple) else (value, None)
        if arr is None:
            continue
        arr = np.asarray(arr, dtype=np.float64)
        if arr.ndim >= 1 and arr.shape[0] == T and T > 0:
            arr = np.concatenate([np.full((1,) + arr.shape[1:], np.nan), arr])
        out[name] = (arr, unit or (UNITS["log10"] if name.startswith("log10") else "1"))
    return out


def _csv_block(name: str, arr: np.ndarray, unit: str, rows: int):
    """(column headers, (rows, k) values) of one series: one column a step-indexed entry."""
    per_step = arr.ndim >= 1 and arr.shape[0] == rows
    flat = arr.reshape(rows, -1) if per_step else np.broadcast_to(arr.reshape(1, -1), (rows, arr.size))
    many = arr.ndim > (1 if per_step else 0)
    heads = [f"{name}.{j} [{unit}]" for j in range(flat.shape[1])] if many else [f"{name} [{unit}]"]
    return heads, flat


def write_analysis_csv(series: dict, fh, tokens=None) -> None:
    """Rows t = 0..T of `series` (name → (array, unit), first axis t) into the text file `fh`:
    the header names each column `name [unit]` (`name.j [unit]` for column j), a `token [text]`
    column after t when tokens are given."""
    rows = series["t"][0].shape[0]
    heads, blocks = [], []
    for name, (arr, unit) in series.items():
        h, b = _csv_block(name, arr, unit, rows)
        heads += h
        blocks.append(b)
    if tokens:
        heads.insert(1, "token [text]")
    w = csv.writer(fh, lineterminator="\n")
    w.writerow(heads)
    for t in range(rows):
        row = [repr(float(v)) for b in blocks for v in b[t]]
        if tokens:
            row.insert(1, tokens[t - 1] if 0 < t <= len(tokens) else "")
        w.writerow(row)


def write_analysis(analysis, path, tokens=None, extra: dict | None = None) -> None:
    """Every plotted series of `analysis` (`analysis_series`) to .npz (arrays by name, and
    `units`: (k, 2) strings name, unit) or .csv (units in the header), atomically. tokens:
    default analysis.tokens. ValueError for a CSV of more than MAX_CSV_CELLS numbers."""
    ext = _format(path)
    series = analysis_series(analysis, extra)
    tokens = analysis.tokens if tokens is None else tokens
    if ext == ".csv":
        rows = series["t"][0].shape[0]
        _check_csv_size(sum(a.size if a.ndim and a.shape[0] == rows else rows * a.size
                            for a, _ in series.values()))
    with atomic_writer(path) as fh:
        if ext == ".npz":
            units = np.array([[k, u] for k, (_, u) in series.items()], dtype=str)
            np.savez(fh, units=units, **{k: a for k, (a, _) in series.items()})
        else:
            _write_text(fh, lambda text: write_analysis_csv(series, text, list(tokens or [])))
