"""`simulate --directions --connectivity --out trace.npz` writes what the engine computes."""
import subprocess
import sys
from pathlib import Path

import numpy as np
from gatescope.core import Config, simulate
from gatescope.core.connectivity import input_connectivity
from gatescope.core.directions import log10_singular_values
from gatescope.core.lyapunov import lyapunov_spectrum

ROOT = Path(__file__).resolve().parent.parent


def test_directions_and_connectivity_reach_the_trace_file(tmp_path):
    out = tmp_path / "t.npz"
    args = ["--cell", "gru", "--sigma1", "0.9", "--length", "40", "--hidden", "6"]
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "simulate", *args, "--directions",
                        "--connectivity", "--out", str(out)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    data = np.load(out)
    cfg = Config(cell="gru", sigma1=0.9, length=40, hidden=6)
    cell, (x, _) = cfg.build_cell(), cfg.build_inputs()
    np.testing.assert_allclose(data["log10_singular_values"], log10_singular_values(cell, x), atol=1e-9)
    np.testing.assert_allclose(data["lyapunov"], lyapunov_spectrum(cell, x), atol=1e-9)
    a, b = data["log10_input_connectivity"], input_connectivity(cell, x)
    assert np.array_equal(np.isneginf(a), np.isneginf(b))
    np.testing.assert_allclose(a[np.isfinite(b)], b[np.isfinite(b)], atol=1e-9)
    np.testing.assert_allclose(data["log10_jac_norm"], simulate(cell, x).log10_jac_norm, atol=1e-12)


def test_they_need_an_npz_file(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "simulate", "--directions", "--out",
                        str(tmp_path / "t.csv")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert "--directions needs an --out file ending in .npz" in r.stderr and not (tmp_path / "t.csv").exists()
