"""Weight files, the headless command line and the no-Qt rule for core."""
import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gatescope.core import Config, WeightsError, cell_from_weights, load_weights, save_weights, simulate

ROOT = Path(__file__).resolve().parent.parent


def run_main(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=120)


def test_core_imports_no_qt():
    code = ("import sys, gatescope.core, gatescope.core.cli.simulate, gatescope.core.presets, "
            "gatescope.core.cli.train, gatescope.core.cli.sweep; "
            "bad = [m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'PyQt5', 'PyQt6', 'shiboken6', 'pyqtgraph', 'qtpy', 'superqt', 'gui')]; "
            "print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_cell_round_trips_through_npz(tmp_path, kind):
    cfg = Config(cell=kind, hidden=5, input_size=3, sigma1=0.9, length=20)
    cell = cfg.build_cell()
    path = tmp_path / "w.npz"
    save_weights(cell, path)
    back = load_weights(path, nonlinearity=cell.nonlinearity)
    assert back.kind == kind
    for name, a in cell.to_state_dict().items():
        np.testing.assert_array_equal(getattr(back, name), a)
    x = cfg.build_inputs()[0]
    np.testing.assert_array_equal(simulate(back, x).log10_jac_norm, simulate(cell, x).log10_jac_norm)


def test_l0_names_and_missing_biases(tmp_path):
    rng = np.random.default_rng(0)
    w = {"weight_ih_l0": rng.standard_normal((12, 2)).astype(np.float32),
         "weight_hh_l0": rng.standard_normal((12, 4)).astype(np.float32)}
    np.savez(tmp_path / "gru.npz", **w)
    cell = load_weights(tmp_path / "gru.npz", convention="seed")
    assert cell.kind == "gru" and cell.convention == "seed" and cell.weight_hh.dtype == np.float64
    np.testing.assert_array_equal(cell.bias_ih, np.zeros(12))
    assert cell_from_weights("gru", w).hidden_size == 4


@pytest.mark.parametrize("arrays, msg", [
    ({"weight_ih": np.zeros((8, 2)), "weight_hh": np.zeros((8, 3))}, "rows must be 1, 3 or 4"),
    ({"weight_ih": np.zeros((8, 2))}, "missing 'weight_hh'"),
    ({"weight_hh": np.zeros((8, 2))}, "missing 'weight_ih'"),
    ({"weight_ih": np.zeros((4, 2)), "weight_hh": np.zeros((8, 2))}, "weight_ih has shape"),
    ({"weight_ih": np.zeros((8, 2)), "weight_hh": np.full((8, 2), np.inf)}, "NaN or infinite"),
    ({"weight_ih": np.zeros((8, 2)), "weight_hh": np.zeros((8, 2)), "bias_ih": np.zeros(3)},
     "bias_ih has shape"),
    ({"weight_ih": np.zeros((8, 2)), "weight_hh": np.zeros((8, 2)), "gamma": np.zeros(2)},
     "unknown weight name 'gamma'"),
    ({"weight_ih": np.zeros((8, 2)), "weight_hh": np.array([["a", "b"]] * 8)}, "real numeric"),
    ({"weight_ih_l1": np.zeros((8, 2)), "weight_hh": np.zeros((8, 2))}, "single-layer"),
])
def test_bad_weight_files_name_the_problem(tmp_path, arrays, msg):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(WeightsError, match=msg):
        load_weights(path)


def test_unreadable_weight_files(tmp_path):
    (tmp_path / "empty.npz").write_bytes(b"")
    (tmp_path / "junk.npz").write_bytes(b"not a zip at all" * 10)
    good = tmp_path / "good.npz"
    np.savez(good, weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)))
    (tmp_path / "trunc.npz").write_bytes(good.read_bytes()[:100])
    np.savez(tmp_path / "obj.npz", weight_ih=np.array([{"a": 1}], dtype=object),
             weight_hh=np.zeros((4, 4)))
    for name, msg in [("empty.npz", "empty"), ("junk.npz", "not a readable"),
                      ("trunc.npz", "not a readable"), ("obj.npz", "never unpickled"),
                      ("missing.npz", "cannot open"), (".", "directory")]:
        with pytest.raises(WeightsError, match=msg):
            load_weights(tmp_path / name)


def test_cli_simulate_writes_npz_and_csv(tmp_path):
    r = run_main("simulate", "--cell", "rnn", "--activation", "identity", "--sigma1", "2",
                 "--shape", "flat", "--signal", "zeros", "--length", "2000", "--out",
                 str(tmp_path / "t.npz"))
    assert r.returncode == 0, r.stderr
    assert "10⁶⁰²" in r.stdout and "602.059991" in r.stdout
    with np.load(tmp_path / "t.npz") as z:
        assert z["log10_jac_norm"].shape == (2001,)
        assert z["log10_jac_norm"][-1] == pytest.approx(602.0599913, abs=1e-6)
    r = run_main("simulate", "--cell", "lstm", "--text", "the clouds are in the sky", "--out",
                 str(tmp_path / "t.csv"))
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    assert [row["token"] for row in rows] == ["", "the", "clouds", "are", "in", "the", "sky"]
    assert float(rows[0]["log10_jac_norm"]) == 0.0
    assert "f0" in rows[0] and "c15" in rows[0]


def test_cli_simulate_with_weights_and_inputs(tmp_path):
    cfg = Config(cell="gru", hidden=4, input_size=2)
    save_weights(cfg.build_cell(), tmp_path / "w.npz")
    np.save(tmp_path / "x.npy", np.ones((30, 2)))
    r = run_main("simulate", "--weights", str(tmp_path / "w.npz"), "--inputs", str(tmp_path / "x.npy"))
    assert r.returncode == 0, r.stderr
    assert "GRU  n = 4  d = 2  T = 30" in r.stdout


@pytest.mark.parametrize("args, msg", [
    (["simulate", "--sigma1", "9"], "out of range"),
    (["simulate", "--cell", "cnn"], "invalid choice"),
    (["simulate", "--weights", "nope.npz"], "cannot open"),
    (["simulate", "--inputs", "nope.npy"], "not a readable"),
    (["simulate", "--out", "trace.txt"], "use a .npz or .csv"),
    (["simulate", "--text", "   "], "empty"),
    (["simulate", "--hidden", "x"], "expected a whole number"),
    (["--preset", "nosuch"], "unknown preset"),
    (["--frobnicate"], "unrecognized"),
])
def test_cli_errors_exit_2_with_one_line(tmp_path, args, msg):
    r = run_main(*args, cwd=tmp_path)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0], r.stderr
    assert "Traceback" not in r.stderr


def test_cli_help_and_list_presets():
    r = run_main("--help")
    assert r.returncode == 0 and "simulate" in r.stdout and "--screenshot" in r.stdout
    r = run_main("simulate", "--help")
    assert r.returncode == 0 and "--weights" in r.stdout
    r = run_main("train", "--help")
    assert r.returncode == 0 and "--curriculum" in r.stdout and "95% validation" in r.stdout, r.stderr
    r = run_main("--list-presets")
    names = [line.split("\t")[0] for line in r.stdout.strip().splitlines()]
    assert r.returncode == 0 and len(names) >= 10
    for must in ("clouds-sky", "france-french", "vanishing", "exploding", "edge-of-stability",
                 "relu-remedy", "lstm-carousel", "gru-update-gate", "non-normal", "clipping-rescue"):
        assert must in names
    assert all("\t" in line and len(line.split("\t")[1]) > 20 for line in r.stdout.strip().splitlines())


def test_app_without_a_display_says_so(tmp_path):
    import os
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    r = subprocess.run([sys.executable, str(ROOT / "main.py")], capture_output=True, text=True, env=env,
                       timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "no display" in r.stderr


# ----------------------------------------------------------------------------------------------
# simulate --weights on whole models, and --preset trained-…: in process through the launcher

DATA = ROOT / "tests" / "data" / "models"


def simulate_main(*args):
    """The launcher's `simulate` in this process → (exit code, stdout, stderr)."""
    import contextlib
    import io

    from gatescope.launcher import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(["simulate", *map(str, args)])
        except SystemExit as exc:
            rc = exc.code
    return rc, out.getvalue(), err.getvalue()


def expected(case):
    with np.load(DATA / f"{case}.expected.npz") as f:
        return {k: f[k] for k in f.files}


def test_rnn_file_runs_with_tanh_unless_activation_is_given(tmp_path):
    """A ReLU nn.RNN saved by PyTorch (the file does not say ReLU): tanh by default, as PyTorch's
    nn.RNN; --activation relu reproduces PyTorch's own output (float64, 1e-10)."""
    ex = expected("rnn_relu_l2")
    np.save(tmp_path / "x.npy", ex["x"])
    rc, out, err = simulate_main("--weights", DATA / "rnn_relu_l2.safetensors", "--inputs",
                                 tmp_path / "x.npy", "--out", tmp_path / "tanh.npz")
    assert rc == 0, err
    assert "RNN, 2 layers" in out and "(tanh)" in out
    rc, out, err = simulate_main("--weights", DATA / "rnn_relu_l2.safetensors", "--inputs",
                                 tmp_path / "x.npy", "--activation", "relu", "--out", tmp_path / "relu.npz")
    assert rc == 0 and "(relu)" in out, err
    with np.load(tmp_path / "relu.npz") as r, np.load(tmp_path / "tanh.npz") as t:
        np.testing.assert_allclose(r["output"], ex["output"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(r["h_n"], ex["h_n"], rtol=0, atol=1e-10)
        assert not np.allclose(t["output"], ex["output"])
        # tanh through an independent one-layer-at-a-time pass of core.simulate
        from gatescope.core.models import load_model
        stack = load_model(DATA / "rnn_relu_l2.safetensors").stack
        v = ex["x"]
        for layer in range(2):
            v = simulate(stack.direction(layer).cell, v).h[1:]
            np.testing.assert_allclose(t[f"h_l{layer}"][1:], v, rtol=0, atol=1e-12)
        np.testing.assert_allclose(t["output"], v, rtol=0, atol=1e-12)


def test_one_layer_rnn_npz_takes_tanh_and_keeps_its_old_keys(tmp_path):
    """A one-layer file: today's lines and trace keys, plus the model keys (output, h_n, h_l0, …);
    tanh unless --activation says otherwise (it used to run the setup's identity)."""
    ex = expected("rnn_tanh_l1")
    np.save(tmp_path / "x.npy", ex["x"])
    rc, out, err = simulate_main("--weights", DATA / "rnn_tanh_l1.npz", "--inputs", tmp_path / "x.npy",
                                 "--out", tmp_path / "t.npz")
    assert rc == 0, err
    assert "RNN  n = 4  d = 3" in out and "(tanh)" in out
    with np.load(tmp_path / "t.npz") as f:
        keys = set(f.files)
        assert {"inputs", "h", "log10_jac_norm", "preact", "slope"} <= keys           # as before
        assert {"output", "h_n", "h_l0", "log10_jac_norm_l0"} <= keys                 # the model's
        np.testing.assert_allclose(f["output"], ex["output"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(f["h_n"], ex["h_n"], rtol=0, atol=1e-10)
        np.testing.assert_array_equal(f["h"], f["h_l0"])
        cell = load_weights(DATA / "rnn_tanh_l1.npz", nonlinearity="tanh")
        np.testing.assert_array_equal(f["log10_jac_norm"], simulate(cell, ex["x"]).log10_jac_norm)
    rc, out, err = simulate_main("--weights", DATA / "rnn_tanh_l1.npz", "--inputs", tmp_path / "x.npy",
                                 "--activation", "identity", "--out", tmp_path / "t.csv")
    assert rc == 0 and "(identity)" in out, err
    rows = list(csv.DictReader(open(tmp_path / "t.csv")))
    ident = simulate(load_weights(DATA / "rnn_tanh_l1.npz", nonlinearity="identity"), ex["x"])
    assert float(rows[-1]["log10_jac_norm"]) == pytest.approx(ident.log10_jac_norm[-1], abs=1e-12)


@pytest.mark.parametrize("case, file", [("lstm_l2_bi", "lstm_l2_bi.npz"),
                                        ("lstm_proj_l2", "lstm_proj_l2.safetensors"),
                                        ("gru_bi_nobias", "gru_bi_nobias.safetensors")])
def test_whole_models_write_the_model_keys(tmp_path, case, file):
    ex = expected(case)
    np.save(tmp_path / "x.npy", ex["x"])
    rc, out, err = simulate_main("--weights", DATA / file, "--inputs", tmp_path / "x.npy",
                                 "--out", tmp_path / "t.npz")
    assert rc == 0, err
    assert "trace written to" in out and "layer 1" in out
    T = ex["x"].shape[0]
    with np.load(tmp_path / "t.npz") as f:
        np.testing.assert_allclose(f["output"], ex["output"], rtol=0, atol=1e-10)
        np.testing.assert_allclose(f["h_n"], ex["h_n"], rtol=0, atol=1e-10)
        if "c_n" in ex:
            np.testing.assert_allclose(f["c_n"], ex["c_n"], rtol=0, atol=1e-10)
        bi = ex["output"].shape[1] != f["h_l0"].shape[1]
        assert ("log10_jac_norm" in f.files) == (not bi)
        assert f["h_l1"].shape[0] == T + 1 and ("h_l1_reverse" in f.files) == bi


def test_trained_preset_prints_french_and_its_probability():
    from gatescope.core.models.trained import load_trained, predict_last
    rc, out, err = simulate_main("--preset", "trained-lstm-france")
    assert rc == 0, err
    tok, word, p = predict_last(load_trained("trained-lstm-france"))
    assert (tok, word) == ("fluent", "French")
    assert f"predicted after 'fluent': French (p = {p:.4f})" in out.splitlines()
    # another sentence through the same preset; its answer word is predicted, not read
    rc, out, err = simulate_main("--preset", "trained-lstm-france", "--text",
                                 "I grew up in Italy . and then I speak fluent Italian")
    tok, word, p = predict_last(load_trained("trained-lstm-france"), "I grew up in Italy . and then I speak fluent")
    assert rc == 0 and f"predicted after 'fluent': {word} (p = {p:.4f})" in out, err


@pytest.mark.parametrize("args, msg", [
    (["--model", "trained-nothing"], "unknown trained model 'trained-nothing'"),
    (["--weights", DATA / "lstm_l2_bi.npz", "--out", "t.csv"], "is written as .npz"),
    (["--weights", DATA / "lstm_l2_bi.npz", "--inputs", DATA / ".." / "session-v1-gru.npz"], "npz"),
    (["--weights", "broken.keras"], "not a readable .keras archive"),
    (["--weights", "broken.safetensors"], "header length"),
    (["--weights", "attn.npz"], "attention layers are not supported"),
    (["--weights", "nan_l1.npz"], "'weight_hh_l1' contains NaN"),
])
def test_model_errors_exit_2_with_one_line(tmp_path, monkeypatch, args, msg):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"PK\x03\x04 not really a zip")
    (tmp_path / "broken.safetensors").write_bytes((10 ** 9).to_bytes(8, "little") + b"{}")
    with np.load(DATA / "lstm_l2_bi.npz") as f:
        sd = {k: f[k] for k in f.files}
    np.savez(tmp_path / "attn.npz", **sd, **{"attn.in_proj_weight": np.zeros((12, 4))})
    sd["weight_hh_l1"] = np.where(np.eye(16, 4) > 0, np.nan, sd["weight_hh_l1"])
    np.savez(tmp_path / "nan_l1.npz", **sd)
    rc, out, err = simulate_main(*args)
    lines = err.strip().splitlines()
    assert rc == 2 and len(lines) == 1 and msg in lines[0], err
    assert "Traceback" not in err and not out
