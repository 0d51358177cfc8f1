"""The benchmark harness runs (quick mode) and writes every metric; its pieces do what they say
(--only's groups, the start-up launcher and probe, the drawing floor's recorder). No timing is
asserted."""
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks.core_bench import CORE_CASES, time_matmul_limit
from benchmarks.run import GROUPS, METRICS, RATIOS, groups_for

ROOT = Path(__file__).resolve().parent.parent


def test_metric_names_are_the_issues():
    assert set(METRICS) == {
        "core_lstm_n16_T200", "core_lstm_n64_T1000", "core_gru_n64_T1000", "core_rnn_n64_T1000",
        "matmul_limit_lstm_n64_T1000", "slider_frame_p95_default", "slider_frame_p95_large",
        "first_part_p95_large", "slider_frame_p95_directions", "play_step_p95_directions",
        "directions_settle_ms", "event_loop_stall_max_large", "play_step_p95_default", "rss_growth_mb_10k_steps",
        "drawing_floor_p95_default", "startup_first_frame_s", "startup_bare_pyqtgraph_s",
        "directions_default", "directions_lstm_n64_T1000", "qr_limit_lstm_n64_T1000",
        "lyapunov_lstm_n64_T1000", "connectivity_row_default", "connectivity_row_cached_default",
        "connectivity_full_default", "connectivity_full_rnn_tanh", "connectivity_full_lstm",
        "connectivity_full_gru", "ratio_core_to_matmul_limit", "ratio_slider_to_floor_default",
        "ratio_startup_to_bare", "ratio_directions_to_qr_limit"}
    assert set(CORE_CASES) <= set(METRICS)
    for num, den, _ in RATIOS.values():
        assert num in METRICS and den in METRICS


def test_matmul_limit_returns_a_duration():
    assert time_matmul_limit(8, 3) >= 0


def test_only_selects_groups_by_group_metric_or_ratio_name():
    assert groups_for(None) == list(GROUPS)
    assert groups_for("startup") == ["startup"]
    assert groups_for("connectivity_full_lstm,core") == ["core", "connectivity"]
    assert groups_for("ratio_slider_to_floor_default") == ["gui", "floor"]
    with pytest.raises(ValueError, match="unknown benchmark 'nothing'"):
        groups_for("startup,nothing")


def test_only_refuses_an_unknown_name_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--only", "nothing"], cwd=ROOT,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "unknown benchmark 'nothing'" in r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""


# -- the start-up launcher -----------------------------------------------------------------------
def _script(tmp_path, code):
    path = tmp_path / "child.py"
    path.write_text(code)
    return [str(path)]


def test_launch_reads_the_childs_first_paint_time_and_what_it_wrote(tmp_path):
    from benchmarks.startup_bench import launch
    child = _script(tmp_path, "import os, time\n"
                              "open(os.path.join(os.environ['GATESCOPE_CONFIG_DIR'], 'x.ini'), 'w')\n"
                              "assert os.environ['GATESCOPE_EXIT_AFTER_FIRST_PAINT']\n"
                              "time.sleep(0.2)\n"
                              "print('hello'); print(f'first-paint {time.time():.6f}')\n")
    t0 = time.time()
    dt, written = launch(child)
    assert 0.2 <= dt <= time.time() - t0
    assert written == ["x.ini"]


def test_launches_cache_bytecode_in_their_own_folder_only_when_asked(tmp_path, monkeypatch):
    """The children compile each module once into the private folder (as an installed app has
    its bytecode), whatever the caller's PYTHONDONTWRITEBYTECODE says; without it, as before."""
    from benchmarks.startup_bench import launch
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    (tmp_path / "helper_mod.py").write_text("VALUE = 1\n")
    child = _script(tmp_path, "import os, sys, time\n"
                              f"sys.path.insert(0, {str(tmp_path)!r})\n"
                              "import helper_mod\n"
                              "print(f'first-paint {time.time():.6f}')\n")
    cache = tmp_path / "bytecode"
    cache.mkdir()
    launch(child, bytecode=str(cache))
    assert [p.name for p in cache.rglob("*.pyc") if p.name.startswith("helper_mod")]
    other = tmp_path / "unused"
    other.mkdir()
    launch(child)                                    # the environment's setting: nothing cached
    assert not list(tmp_path.rglob("__pycache__")) and not list(other.iterdir())


@pytest.mark.parametrize("code, message", [
    ("print('no line')", "exited without printing 'first-paint …'"),
    ("import sys; sys.exit(3)", "exited with code 3"),
    ("import time; time.sleep(30)", "did not exit within 0.5 s and never printed"),
])
def test_launch_refuses_a_child_that_does_not_report(tmp_path, code, message):
    from benchmarks.startup_bench import LaunchError, launch
    t0 = time.time()
    with pytest.raises(LaunchError, match=message.replace(".", r"\.")):
        launch(_script(tmp_path, code), timeout_s=0.5)
    assert time.time() - t0 < 20                       # the child is stopped, never waited for


def test_first_paint_probe_reports_once_after_the_first_paint(qtbot, monkeypatch):
    from gatescope.gui import startup_probe
    from PySide6.QtWidgets import QMainWindow, QWidget
    monkeypatch.delenv(startup_probe.ENV, raising=False)
    window = QMainWindow()
    window.setCentralWidget(QWidget())
    qtbot.addWidget(window)
    assert startup_probe.install(window) is None        # without the variable: nothing
    times = []
    probe = startup_probe.FirstPaint([window.centralWidget()], times.append)
    t0 = time.time()
    assert not probe.seen
    window.show()
    qtbot.waitUntil(lambda: len(times) == 1, timeout=5000)
    window.centralWidget().repaint()
    qtbot.wait(20)
    assert probe.seen and len(times) == 1 and t0 <= times[0] <= time.time()


# -- the drawing floor's recorder ----------------------------------------------------------------
def test_call_recorder_keeps_callers_calls_only_and_restores_pyqtgraph(qtbot):
    import numpy as np
    import pyqtgraph as pg

    from benchmarks.floor_bench import CallRecorder
    original = pg.PlotCurveItem.setData
    plot = pg.PlotWidget()
    qtbot.addWidget(plot)
    curve = pg.PlotCurveItem()
    hidden = pg.PlotCurveItem()
    plot.addItem(curve)
    plot.addItem(hidden)
    hidden.hide()
    plot.show()
    qtbot.waitExposed(plot)
    x, y = np.arange(5.0), np.array([1.0, 3.0, 2.0, 5.0, 4.0])
    with CallRecorder(os.path.dirname(os.path.abspath(__file__))) as rec:
        assert pg.PlotCurveItem.setData is not original
        rec.on = True
        curve.setData(x, y)                 # from here: kept (pyqtgraph's inner calls are not)
        hidden.setData(x, y)                # a hidden item draws nothing: not kept
        plot.plotItem.setXRange(0, 10)      # PlotItem → ViewBox.setXRange → setRange: kept once
        rec.on = False
        curve.setData(x, -y)                # recorder off
        y[:] = 0                            # the recorded arguments are copies
    assert pg.PlotCurveItem.setData is original
    assert [(fn.__name__, obj) for fn, obj, _, _ in rec.calls] == [("setData", curve),
                                                                   ("setXRange", plot.plotItem)]
    assert rec.skipped == 1
    fn, obj, args, kwargs = rec.calls[0]
    fn(obj, *args, **kwargs)                # the replay: the recorded data again
    assert np.array_equal(curve.yData, [1.0, 3.0, 2.0, 5.0, 4.0])


def test_quick_run_writes_every_metric_and_nothing_in_home(tmp_path):
    """Run with an empty HOME and no config folder given: the benchmark's windows keep their
    settings in a folder of their own, the start-up launches each in an empty one that they
    leave empty, and nothing is written in HOME."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GATESCOPE_")) and k != "HOME"}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    assert "skipped" not in r.stdout and "WARNING" not in r.stdout, r.stdout[-3000:]
    data = json.loads(out.read_text())
    assert list(data) == list(METRICS)
    for name, value in data.items():
        assert isinstance(value, float) and math.isfinite(value), name
        if name != "rss_growth_mb_10k_steps":         # memory may shrink; times may not
            assert value >= 0, name
    for name in METRICS:
        assert name in r.stdout
    for ratio, (num, den, _) in RATIOS.items():
        assert math.isclose(data[ratio], data[num] / data[den], rel_tol=1e-12), ratio
