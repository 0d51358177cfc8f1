"""The trace export: every plotted series (core.series.plotted_series) with its unit, the
directions' arrays (every singular value, the Lyapunov spectrum) and extra arrays, read back from
the CSV and NPZ files and compared with independent engine calls."""
import csv
import re

import numpy as np
import pytest
from gatescope.core import Config, lyapunov_spectrum, simulate
from gatescope.core import export as export_module
from gatescope.core.analysis import analyse, assemble
from gatescope.core.cli.directions import add_directions_options, directions_arrays
from gatescope.core.directions import log_singular_curves
from gatescope.core.export import write_analysis, write_trace
from gatescope.core.series import plotted_series
from gatescope.core.simulate import forward

HEAD = re.compile(r"^(?P<name>.+?)(?:\.(?P<j>\d+))? \[(?P<unit>.*)\]$")


def read_series_csv(path):
    """name → (array (rows,) or (rows, k), unit), tokens from a write_analysis CSV."""
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    heads, body = rows[0], rows[1:]
    cols: dict = {}
    tokens = None
    for k, h in enumerate(heads):
        m = HEAD.match(h)
        assert m, h
        if m["name"] == "token":
            tokens = [r[k] for r in body]
            continue
        vals = np.array([float(r[k]) for r in body])
        cols.setdefault(m["name"], (m["unit"], []))[1].append((m["j"], vals))
    out = {}
    for name, (unit, parts) in cols.items():
        out[name] = (parts[0][1] if parts[0][0] is None else np.stack([v for _, v in parts], axis=1),
                     unit)
    return out, tokens


def same(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    np.testing.assert_array_equal(a[ok], b[ok])


CONFIGS = [Config(length=40), Config(cell="lstm", length=30), Config(cell="gru", length=25,
                                                                      source="text")]


@pytest.mark.parametrize("config", CONFIGS, ids=["rnn", "lstm", "gru"])
def test_csv_round_trips_every_plotted_series_with_units(tmp_path, config):
    a = analyse(config)
    path = tmp_path / "series.csv"
    write_analysis(a, path)
    got, tokens = read_series_csv(path)
    want = plotted_series(a)
    assert set(want) <= set(got)
    for name, (arr, unit) in want.items():
        assert got[name][1] == unit, name
        same(got[name][0], arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr)
    if a.tokens:
        assert tokens == [""] + list(a.tokens[:a.steps])


def test_npz_round_trips_series_units_and_extra(tmp_path):
    a = analyse(Config(cell="lstm", length=30))
    T, n = a.steps, a.cell.hidden_size
    conn = np.random.default_rng(3).standard_normal((T, T))
    path = tmp_path / "series.npz"
    write_analysis(a, path, extra={"log10_input_connectivity": conn})
    with np.load(path, allow_pickle=False) as z:
        units = dict(map(tuple, z["units"]))
        for name, (arr, unit) in plotted_series(a).items():
            assert units[name] == unit
            same(z[name], arr)
        # T rows (step-made) → padded to T+1 with row 0 NaN
        assert np.isnan(z["log10_input_connectivity"][0]).all()
        same(z["log10_input_connectivity"][1:], conn)
        assert units["log10_input_connectivity"].startswith("log10")
        assert z["h"].shape == (T + 1, n)


def test_directions_arrays_in_both_formats(tmp_path):
    config = Config(length=50)
    cell = config.build_cell()
    x, tokens = config.build_inputs(cell.input_size)
    trace = simulate(cell, x, directions=True)
    sv = log_singular_curves(cell, forward(cell, x))        # independent of simulate's own
    same(trace.log10_singular_values, sv)
    extra = directions_arrays(cell, x, trace)
    same(extra["lyapunov"], lyapunov_spectrum(cell, x))
    write_trace(trace, tmp_path / "t.npz", tokens, extra)
    with np.load(tmp_path / "t.npz", allow_pickle=False) as z:
        same(z["log10_singular_values"], sv)
        same(z["lyapunov"], extra["lyapunov"])
    write_trace(trace, tmp_path / "t.csv", tokens, extra)
    with open(tmp_path / "t.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    m = cell.state_size
    got = np.array([[float(r[f"log10_singular_values{i}"]) for i in range(m)] for r in rows])
    same(got, sv)
    lyap = np.array([[float(r[f"lyapunov{i}"]) for i in range(m)] for r in rows])
    same(lyap, np.broadcast_to(extra["lyapunov"], lyap.shape))
    # the analysis export carries the trace's singular values too
    write_analysis(assemble(config, cell, trace, tokens), tmp_path / "a.csv")
    series, _ = read_series_csv(tmp_path / "a.csv")
    same(series["log10_singular_values"][0], sv)


def test_directions_of_a_plain_trace_equal_the_engine(tmp_path):
    """Without directions=True the CLI helper computes them from the trace's own inputs, h0."""
    config = Config(cell="lstm", length=20)
    cell = config.build_cell()
    x, _ = config.build_inputs(cell.input_size)
    h0 = np.linspace(-0.5, 0.5, cell.hidden_size)
    trace = simulate(cell, x, h0=h0)
    extra = directions_arrays(cell, x, trace)
    same(extra["log10_singular_values"], log_singular_curves(cell, forward(cell, x, h0)))
    same(extra["lyapunov"], lyapunov_spectrum(cell, x, h0))


def test_directions_option_parses():
    import argparse
    p = argparse.ArgumentParser()
    add_directions_options(p)
    assert p.parse_args(["--directions"]).directions and not p.parse_args([]).directions


def test_too_large_a_csv_is_refused_and_nothing_changed(tmp_path, monkeypatch):
    a = analyse(Config(length=30))
    path = tmp_path / "s.csv"
    path.write_text("old", encoding="utf-8")
    monkeypatch.setattr(export_module, "MAX_CSV_CELLS", 100)
    with pytest.raises(ValueError, match="too many for CSV"):
        write_analysis(a, path)
    with pytest.raises(ValueError, match="too many for CSV"):
        write_trace(a.trace, path)
    assert path.read_text(encoding="utf-8") == "old"
    with pytest.raises(ValueError, match="use .npz or .csv"):
        write_analysis(a, tmp_path / "s.txt")
