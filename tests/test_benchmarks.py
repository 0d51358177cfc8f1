"""The benchmark harness runs (quick mode) and writes every metric. No timing is asserted."""
import json
import math
import subprocess
import sys
from pathlib import Path

from benchmarks.core_bench import CORE_CASES, time_matmul_limit
from benchmarks.run import METRICS

ROOT = Path(__file__).resolve().parent.parent


def test_metric_names_are_the_issues():
    assert set(METRICS) == {
        "core_lstm_n16_T200", "core_lstm_n64_T1000", "core_gru_n64_T1000", "core_rnn_n64_T1000",
        "matmul_limit_lstm_n64_T1000", "slider_frame_p95_default", "slider_frame_p95_large",
        "event_loop_stall_max_large", "play_step_p95_default", "rss_growth_mb_10k_steps"}
    assert set(CORE_CASES) <= set(METRICS)


def test_matmul_limit_returns_a_duration():
    assert time_matmul_limit(8, 3) >= 0


def test_quick_run_writes_every_metric_and_nothing_in_home(tmp_path):
    """Run with an empty HOME and no config folder given: the benchmark's windows keep their
    settings in a folder of their own, and nothing is written in HOME."""
    import os
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "GATESCOPE_")) and k != "HOME"}
    env.update(HOME=str(home), QT_QPA_PLATFORM="offscreen")
    out = tmp_path / "bench.json"
    r = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--json", str(out)],
                       cwd=ROOT, capture_output=True, text=True, timeout=900, env=env)
    assert r.returncode == 0, r.stderr
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*")) == []
    data = json.loads(out.read_text())
    assert list(data) == list(METRICS)
    for name, value in data.items():
        assert isinstance(value, float) and math.isfinite(value), name
        if name != "rss_growth_mb_10k_steps":         # memory may shrink; times may not
            assert value >= 0, name
    for name in METRICS:
        assert name in r.stdout
