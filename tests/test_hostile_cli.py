"""Hostile files and extreme settings through `python main.py simulate`: exit code 2, exactly one
line on stderr naming the problem, no traceback, bounded memory (the process runs under a 1.5 GiB
address-space limit) and no hang (a subprocess timeout guards every run)."""
import json
import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.config import FIELD, Config
from gatescope.core.weights import save_weights

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ROOT / "tests" / "data" / "hostile"
MANIFEST = json.loads((HOSTILE / "MANIFEST.json").read_text(encoding="utf-8"))
ADDRESS_SPACE = 3 * 2 ** 29          # 1.5 GiB


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (ADDRESS_SPACE, ADDRESS_SPACE))


def simulate(*args, cwd=None):
    """`main.py simulate ARGS` (str or bytes arguments) under the memory limit."""
    cmd = [os.fsencode(sys.executable), os.fsencode(ROOT / "main.py"), b"simulate"]
    cmd += [a if isinstance(a, bytes) else os.fsencode(str(a)) for a in args]
    r = subprocess.run(cmd, capture_output=True, timeout=120, preexec_fn=_limit_memory, cwd=cwd)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def assert_refused(rc, err, *fragments):
    assert rc == 2, err
    lines = err.splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert re.match(r"\S+ simulate: error: \S", lines[0]), lines[0]
    assert len(lines[0]) <= 400
    for f in fragments:
        assert f in lines[0], lines[0]
    return lines[0]


DRIVER = """
import contextlib, io, json, sys
from gatescope.launcher import main
out = {}
for option, path in json.loads(sys.argv[1]):
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            rc = main(["simulate", option, path])
        except SystemExit as exc:
            rc = exc.code
        except BaseException as exc:          # a traceback in a real run
            rc = f"{type(exc).__name__}: {exc}"[:300]
    out[path] = [rc, err.getvalue()]
print(json.dumps(out))
"""


def test_every_hostile_file_on_the_command_line():
    """All corpus files through the launcher's `simulate` in one process (under the memory
    limit; a file that raised, hung or ran away would fail the run or name itself)."""
    jobs = [("--weights" if n.endswith(".npz") else "--inputs", str(HOSTILE / n))
            for n in sorted(MANIFEST)]
    r = subprocess.run([sys.executable, "-c", DRIVER, json.dumps(jobs)], capture_output=True,
                       text=True, timeout=300, preexec_fn=_limit_memory, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    results = json.loads(r.stdout)
    bad = []
    for _option, path in jobs:
        rc, err = results[path]
        name = Path(path).name
        try:
            assert_refused(rc, err, MANIFEST[name], name)
        except AssertionError as exc:
            bad.append(f"{name}: {exc}")
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("name", ["lstm4096-bomb.npz", "generic-bomb.npz", "huge-shape.npz",
                                  "void-2gb.npz", "in-huge-shape.npy", "in-header-200kb.npy"])
def test_bombs_in_a_process_of_their_own(name):
    option = "--weights" if name.endswith(".npz") else "--inputs"
    rc, _, err = simulate(option, HOSTILE / name)
    assert_refused(rc, err, MANIFEST[name], name)


@pytest.mark.parametrize("option", ["--weights", "--inputs"])
def test_devices_pipes_and_links_are_refused_without_reading(tmp_path, option):
    (tmp_path / "zero.npz").symlink_to("/dev/zero")
    os.mkfifo(tmp_path / "pipe.npz")
    (tmp_path / "urandom.npy").symlink_to("/dev/urandom")
    for name, what in [("zero.npz", "is a device"), ("pipe.npz", "named pipe"),
                       ("urandom.npy", "is a device"), (".", "is a directory")]:
        rc, _, err = simulate(option, tmp_path / name)
        assert_refused(rc, err, what)


def test_undecodable_and_odd_paths(tmp_path):
    rc, _, err = simulate("--weights", os.fsencode(tmp_path) + b"/w\xff\xfe.npz")
    line = assert_refused(rc, err, "no such file")
    assert "\\udcff\\udcfe" in line                      # escaped, not raw bytes
    save_weights(Config(cell="gru", hidden=4, input_size=2).build_cell(),
                 os.fsdecode(os.fsencode(tmp_path) + b"/g\xff.npz"))
    rc, out, err = simulate("--weights", os.fsencode(tmp_path) + b"/g\xff.npz")
    assert rc == 0 and "GRU  n = 4  d = 2" in out, err
    rc, _, err = simulate("--weights", "x" * 5000 + ".npz", cwd=tmp_path)
    assert_refused(rc, err, "…")


def test_text_that_is_not_utf8():
    rc, _, err = simulate("--text", b"caf\xe9 au lait")
    assert_refused(rc, err, "--text", "not UTF-8", "0xe9")


@pytest.mark.parametrize("field, value", [("hidden", "hi+1"), ("hidden", 1024),
                                          ("length", "hi+1"), ("input_size", "hi+1"),
                                          ("sigma1", "hi*2"), ("sigma1", "inf"), ("sigma1", "nan"),
                                          ("clip", "1e300"), ("forget_bias", "-1e400"),
                                          ("hidden", "lo-1"), ("seed", "lo-1")])
def test_out_of_range_options_use_the_setup_table(field, value):
    f = FIELD[field]
    v = {"hi+1": f.hi + 1, "hi*2": f.hi * 2, "lo-1": f.lo - 1}.get(value, value)
    v = int(v) if f.type is int else v
    rc, _, err = simulate(f"--{field.replace('_', '-')}", v)
    line = assert_refused(rc, err)
    assert f"--{field.replace('_', '-')}" in line or f"'{field}'" in line, line
    if value not in ("inf", "nan", "-1e400"):
        assert f"[{f.lo:g}, {f.hi:g}]" in line


def test_the_limits_themselves_are_accepted(tmp_path):
    n, t = int(FIELD["hidden"].hi), int(FIELD["length"].hi)
    rc, out, err = simulate("--cell", "rnn", "--hidden", n, "--length", 3, "--signal", "zeros",
                            "--out", tmp_path / "t.npz")
    assert rc == 0 and f"n = {n}" in out, err
    with np.load(tmp_path / "t.npz") as z:
        assert z["h"].shape == (4, n)
    np.save(tmp_path / "x.npy", np.zeros((t, 2), np.float32))
    rc, out, err = simulate("--hidden", 2, "--input-size", 2, "--inputs", tmp_path / "x.npy")
    assert rc == 0 and f"T = {t}" in out, err


def test_out_is_checked_before_any_work(tmp_path):
    # the weights are hostile too: the --out refusal comes first, so nothing was read or run
    for out, what in [(tmp_path / "no" / "t.npz", "folder does not exist"),
                      (tmp_path, "use a .npz or .csv"), ("/proc/t.csv", "not writable")]:
        rc, _, err = simulate("--weights", HOSTILE / "lstm4096-bomb.npz", "--out", out)
        assert_refused(rc, err, "--out", what)
    (tmp_path / "dir.csv").mkdir()
    rc, _, err = simulate("--out", tmp_path / "dir.csv")
    assert_refused(rc, err, "--out", "it is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir.csv"]


def test_huge_but_finite_weights_do_not_crash(tmp_path):
    """Entries near 10³⁰⁸ are valid numbers: the command either runs (the state leaves float64
    range, which it says) or refuses in one line — never a traceback."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", weight_ih=np.clip(rng.standard_normal((4, 8)), -1, 1) * 1e308,
             weight_hh=np.clip(rng.standard_normal((4, 4)), -1, 1) * 1e308)
    rc, out, err = simulate("--weights", tmp_path / "big.npz")
    assert "Traceback" not in err and rc in (0, 2), err
    if rc == 0:
        assert "RNN  n = 4" in out
    else:
        assert len(err.splitlines()) == 1


def test_long_values_are_clipped_in_messages():
    rc, _, err = simulate("--preset", "p" * 100_000)
    assert_refused(rc, err, "preset")
    rc, _, err = simulate("--text", "word " * 10_000)
    assert_refused(rc, err, "text")


def test_a_failed_trace_write_is_one_line_and_keeps_the_old_file(tmp_path, monkeypatch, capsys):
    """In-process: the disk fills up while the trace is written (os.replace raises ENOSPC)."""
    import errno

    import gatescope.core.fileio as fileio
    from gatescope.core.cli.simulate import CommandError, run_simulate

    from gatescope.launcher import build_simulate_parser
    path = tmp_path / "t.csv"
    path.write_text("old")
    args = build_simulate_parser().parse_args(["--length", "5", "--out", str(path)])

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(fileio.os, "replace", full)
    with pytest.raises(CommandError, match="cannot write .*t.csv: No space left on device"):
        run_simulate(args)
    monkeypatch.undo()
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.csv"]
