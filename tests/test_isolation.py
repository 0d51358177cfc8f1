"""Tests, the app started by tests and the benchmarks never touch the user's files: run with an
empty HOME (and no config folder given), nothing is written there."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _env(home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("XDG_", "GATESCOPE_")) and k != "HOME"}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    return env


def _written(home):
    return sorted(str(p.relative_to(home)) for p in Path(home).rglob("*"))


def test_a_gui_test_run_writes_nothing_in_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                        str(ROOT / "tests" / "test_document.py")],
                       capture_output=True, text=True, cwd=tmp_path, env=_env(home), timeout=300)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert _written(home) == []
