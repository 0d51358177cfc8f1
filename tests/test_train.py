"""Training lab: BPTT against central finite differences, the batched forward against core.simulate,
closed forms for the gradient norms, clipping and optimisers, the tasks, a short training run and
the `main.py train` command line."""
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.cells import sigmoid
from gatescope.core.cli.train import ProgressBar
from gatescope.core.simulate import simulate
from gatescope.core.training.tasks import TaskError, make_batch, make_task
from gatescope.core.training.train import (
    AdamState,
    Model,
    Progress,
    TrainConfig,
    TrainError,
    adam_step,
    backward,
    clip_by_norm,
    forward,
    global_norm,
    hidden_grad_norms,
    init_model,
    loss_and_grads,
    sgd_step,
    train,
)

ROOT = Path(__file__).resolve().parent.parent
CASES = [("rnn", "tanh", "pytorch"), ("rnn", "relu", "pytorch"), ("lstm", "tanh", "pytorch"),
         ("gru", "tanh", "pytorch"), ("gru", "tanh", "seed")]


def _loss_ref(model, x, y, regression, h0=None, c0=None):
    """Mean loss by an independent route: core.simulate sequence by sequence, then the readout."""
    cell = model.cell()
    total = 0.0
    for b in range(x.shape[1]):
        hb = None if h0 is None else h0[b]
        cb = None if c0 is None else c0[b]
        hT = simulate(cell, x[:, b], hb, cb).h[-1]
        out = model.params["weight_out"] @ hT + model.params["bias_out"]
        if regression:
            total += (out[0] - y[b]) ** 2
        else:
            total += np.log(np.sum(np.exp(out))) - out[y[b]]
    return total / x.shape[1]


def _model(kind, nl, conv, task, n=3, seed=1, scale=2.0):
    m = init_model(kind, task.input_size, n, task.output_size, seed=seed, nonlinearity=nl, convention=conv)
    # larger weights than the default init, so every gate and nonlinearity is off its linear regime
    return Model(kind, {k: v * scale for k, v in m.params.items()}, nl, conv)


@pytest.mark.parametrize("kind,nl,conv", CASES)
@pytest.mark.parametrize("task_name", ["france", "adding"])
def test_bptt_matches_central_differences_for_every_parameter(kind, nl, conv, task_name):
    task = make_task(task_name, 4, n_classes=3, n_distractors=2)
    model = _model(kind, nl, conv, task)
    x, y = make_batch(task, 2, np.random.default_rng(7))
    if kind == "rnn" and nl == "relu":          # keep ReLU pre-activations away from the kink
        x = x + 0.1 * np.random.default_rng(3).standard_normal(x.shape)
    loss, grads, _ = loss_and_grads(model, x, y, task.is_regression)
    assert loss == pytest.approx(_loss_ref(model, x, y, task.is_regression), rel=1e-12)
    eps = 1e-6
    for name, p in model.params.items():
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            vals = []
            for sgn in (1.0, -1.0):
                q = dict(model.params)
                q[name] = p.copy()
                q[name][idx] += sgn * eps
                vals.append(_loss_ref(Model(kind, q, nl, conv), x, y, task.is_regression))
            num[idx] = (vals[0] - vals[1]) / (2 * eps)
        assert grads[name].shape == p.shape
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(num).max()),
                                   err_msg=f"{kind}/{nl}/{conv}: {name}")
        assert np.abs(num).max() > 1e-6, f"{name}: the check would be vacuous"


@pytest.mark.parametrize("kind,nl,conv", CASES)
def test_state_gradients_match_central_differences(kind, nl, conv):
    """∂ℓ/∂h_k (and ∂ℓ/∂c_k) recorded by BPTT = finite differences of restarting the run at step k."""
    task = make_task("france", 3, n_classes=3, n_distractors=2)
    model = _model(kind, nl, conv, task)
    x, y = make_batch(task, 1, np.random.default_rng(11))
    if nl == "relu":
        x = x + 0.1 * np.random.default_rng(5).standard_normal(x.shape)
    cache = forward(model, x)
    out = cache["h"][-1] @ model.params["weight_out"].T + model.params["bias_out"]
    p = np.exp(out - out.max())
    p /= p.sum()
    dout = p.copy()
    dout[0, y[0]] -= 1.0
    _, rec = backward(model, cache, dout @ model.params["weight_out"], record=True)
    T, n, eps = task.length, model.hidden_size, 1e-6
    norms = hidden_grad_norms(model, x, y)
    for k in range(1, T + 1):
        for part in (("h", "c") if kind == "lstm" else ("h",)):
            num = np.zeros(n)
            for j in range(n):
                vals = []
                for sgn in (1.0, -1.0):
                    h0, c0 = cache["h"][k].copy(), cache["c"][k].copy() if kind == "lstm" else None
                    (h0 if part == "h" else c0)[0, j] += sgn * eps
                    vals.append(_loss_ref(model, x[k:], y, False, h0, c0) if k < T else
                                _readout_loss(model, h0, y))
                num[j] = (vals[0] - vals[1]) / (2 * eps)
            np.testing.assert_allclose(rec[part][k - 1, 0], num, rtol=1e-6, atol=1e-10)
            got = (norms.h if part == "h" else norms.c)[0, k - 1]
            assert got == pytest.approx(np.linalg.norm(num), rel=1e-6, abs=1e-10)


def _readout_loss(model, h, y):
    out = h[0] @ model.params["weight_out"].T + model.params["bias_out"]
    return np.log(np.sum(np.exp(out))) - out[y[0]]


@pytest.mark.parametrize("kind,nl,conv", CASES + [("rnn", "sigmoid", "pytorch")])
def test_batched_forward_agrees_with_core_simulate(kind, nl, conv):
    task = make_task("france", 6, n_classes=4, n_distractors=3)
    model = _model(kind, nl, conv, task, n=5, scale=1.5)
    x, _ = make_batch(task, 4, np.random.default_rng(2))
    x = x + 0.3 * np.random.default_rng(9).standard_normal(x.shape)
    cache = forward(model, x)
    cell = model.cell()
    for b in range(x.shape[1]):
        tr = simulate(cell, x[:, b])
        np.testing.assert_allclose(cache["h"][:, b], tr.h, rtol=0, atol=1e-14)
        if kind == "lstm":
            np.testing.assert_allclose(cache["c"][:, b], tr.c, rtol=0, atol=1e-14)
        for g, arr in tr.gates.items():
            np.testing.assert_allclose(cache[g][:, b], arr, rtol=0, atol=1e-14)


def test_identity_rnn_gradient_shrinks_exactly_like_sigma_power():
    """The notes' §2: h_t = W h_{t−1} + U x_t with W = σ I ⇒ ∂ℓ/∂h_k = (Wᵀ)^{T−k} ∂ℓ/∂h_T."""
    task = make_task("france", 20, n_classes=3, n_distractors=2)
    m = init_model("rnn", task.input_size, 4, task.output_size, seed=0, nonlinearity="identity")
    for sigma in (0.9, 1.1):
        p = dict(m.params)
        p["weight_hh"] = sigma * np.eye(4)
        g = hidden_grad_norms(Model("rnn", p, "identity"), *make_batch(task, 3, np.random.default_rng(0)))
        T = task.length
        np.testing.assert_allclose(g.log10_ratio, (T - np.arange(1, T + 1)) * np.log10(sigma), atol=1e-12)


def test_lstm_cell_gradient_decays_exactly_like_the_forget_gate_product():
    """With W_hh = 0 and f = σ(b_f) constant, ∂ℓ/∂c_k = f · ∂ℓ/∂c_{k+1} for k < T−1 (the belt)."""
    task = make_task("france", 10, n_classes=3, n_distractors=2)
    m = init_model("lstm", task.input_size, 4, task.output_size, seed=0, forget_bias=2.5)
    p = dict(m.params)
    p["weight_hh"] = np.zeros_like(p["weight_hh"])
    p["weight_ih"] = p["weight_ih"].copy()
    p["weight_ih"][4:8] = 0.0                  # forget gate sees no input: f = σ(2.5) at every step
    p["bias_hh"] = np.zeros_like(p["bias_hh"])
    g = hidden_grad_norms(Model("lstm", p), *make_batch(task, 2, np.random.default_rng(1)))
    T = task.length
    ratios = g.c[:, :T - 2] / g.c[:, 1:T - 1]
    np.testing.assert_allclose(ratios, sigmoid(2.5), rtol=1e-12)
    assert np.all(g.h[:, :-1] == 0.0)          # with W_hh = 0, h_k (k < T) reaches nothing


def test_clipping_follows_the_notes_algorithm():
    rng = np.random.default_rng(0)
    grads = {"a": rng.standard_normal((3, 4)), "b": rng.standard_normal(5)}
    norm = np.sqrt(sum(np.sum(g ** 2) for g in grads.values()))
    assert global_norm(grads) == pytest.approx(norm, rel=1e-14)
    clipped, before, did = clip_by_norm(grads, norm / 4)
    assert did and before == pytest.approx(norm)
    assert global_norm(clipped) == pytest.approx(norm / 4, rel=1e-12)
    for k in grads:                            # same direction, scaled by threshold / ‖g‖
        np.testing.assert_allclose(clipped[k], grads[k] / 4, rtol=1e-12)
    for threshold in (None, 0.0, 2 * norm):
        same, _, did = clip_by_norm(grads, threshold)
        assert not did and all(same[k] is grads[k] for k in grads)


def test_sgd_and_adam_closed_forms():
    p = {"w": np.array([1.0, -2.0, 3.0])}
    g = {"w": np.array([0.5, -4.0, 1e-3])}
    np.testing.assert_allclose(sgd_step(p, g, 0.1)["w"], [0.95, -1.6, 2.9999])
    new, st = adam_step(p, g, AdamState(), lr=0.01)
    # first step: m̂ = g, v̂ = g², so the step is lr · g / (|g| + ε)
    np.testing.assert_allclose(new["w"], p["w"] - 0.01 * g["w"] / (np.abs(g["w"]) + 1e-8), rtol=1e-14)
    assert st.step == 1 and p["w"][0] == 1.0   # nothing changed in place
    new2, _ = adam_step(new, g, st, lr=0.01)   # constant gradient: every step is lr · g/(|g| + ε')
    np.testing.assert_allclose(new2["w"] - new["w"], new["w"] - p["w"], rtol=1e-6)


def test_france_batches_put_the_country_first_and_the_query_last():
    task = make_task("france", 7, n_classes=5, n_distractors=4)
    x, y = make_batch(task, 200, np.random.default_rng(0))
    assert x.shape == (9, 200, 10) and task.chance == pytest.approx(0.2)
    np.testing.assert_array_equal(x.sum(axis=2), 1.0)
    tok = np.argmax(x, axis=2)
    np.testing.assert_array_equal(tok[0], y)
    assert np.all(tok[-1] == 9) and np.all((tok[1:-1] >= 5) & (tok[1:-1] < 9))
    assert set(np.unique(y)) == set(range(5))
    x2, y2 = make_batch(task, 200, np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert task.vocabulary()[0] == "France" and task.class_names()[0] == "French"
    clouds = make_task("clouds", lead=6)
    xc, yc = make_batch(clouds, 50, np.random.default_rng(1))
    assert clouds.length == 11 and np.all(np.argmax(xc, axis=2)[6] == yc)
    assert clouds.class_names()[0] == "sky"


def test_adding_problem_marks_one_number_in_each_half():
    task = make_task("adding", 30)
    x, y = make_batch(task, 100, np.random.default_rng(0))
    assert x.shape == (30, 100, 2) and task.chance == pytest.approx(0.0784)
    marks = x[:, :, 1]
    assert np.all(marks.sum(axis=0) == 2)
    assert np.all(marks[:15].sum(axis=0) == 1) and np.all(marks[15:].sum(axis=0) == 1)
    np.testing.assert_allclose(y, (x[:, :, 0] * marks).sum(axis=0))
    with pytest.raises(TaskError):
        make_task("adding", 1)
    with pytest.raises(TaskError):
        make_task("frnace")


def test_short_training_run_learns_clouds_and_is_deterministic():
    cfg = TrainConfig(task="clouds", cell="rnn", hidden=8, iters=80, batch=32, test_size=200,
                      eval_every=20, stop_accuracy=None, seed=3)
    seen = []
    a = train(cfg, lambda p: seen.append(p) or True)
    assert len(seen) == 80 and isinstance(seen[0], Progress)
    assert seen[19].val_accuracy is not None and seen[18].val_accuracy is None
    assert seen[19].grad_h.shape == (a.task.length,)
    first = np.mean([h["loss"] for h in a.history[:5]])
    assert first > 0.8 * a.task.chance_loss              # starts near chance (log 4)
    assert a.test_loss < 0.3 * first and a.test_accuracy > 0.9
    b = train(cfg)
    assert [h["loss"] for h in a.history] == [h["loss"] for h in b.history]
    assert a.test_loss == b.test_loss
    c = train(cfg.replace(seed=4))
    assert c.history[0]["loss"] != a.history[0]["loss"]


def test_callback_stops_and_curriculum_grows_the_gap():
    cfg = TrainConfig(task="france", gap=12, cell="gru", hidden=8, iters=400, batch=32, test_size=100,
                      eval_every=10, val_size=64, curriculum_start=2, curriculum_threshold=0.6,
                      stop_accuracy=None, seed=0)
    gaps = []

    def cb(p):
        gaps.append(p.gap)
        return len(gaps) < 150

    r = train(cfg, cb)
    assert r.stopped and r.iterations_done == 150 and len(r.history) == 150
    assert gaps[0] == 2 and gaps == sorted(gaps) and max(gaps) > 2


def test_bad_settings_raise_train_error():
    for bad in ({"cell": "cnn"}, {"hidden": 0}, {"lr": -1.0}, {"clip": -2.0}, {"optimizer": "rmsprop"},
                {"task": "adding", "gap": 1}, {"n_classes": 1}):
        with pytest.raises(TrainError):
            train(TrainConfig(iters=1, **bad))


def test_progress_bar_is_plain_text_when_not_a_terminal():
    buf = io.StringIO()
    bar = ProgressBar(buf)
    m = init_model("rnn", 3, 2, 2)
    for it in range(1, 101):
        bar(Progress(it, 100, 5, 0.5, 0.5, 1.0, False, 0.1, m))
    text = buf.getvalue()
    assert "\r" not in text and "\x1b" not in text
    lines = text.splitlines()
    assert 10 <= len(lines) <= 22 and lines[-1].startswith("[" + "#" * 30 + "] 100/100")


def _cli(*args, cwd):
    code = "import sys; from gatescope.core.cli.train import main; sys.exit(main(sys.argv[1:]))"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)


def test_cli_trains_and_writes_json(tmp_path):
    out = tmp_path / "out.json"
    r = _cli("--task", "clouds", "--cell", "gru", "--gap", "2", "--seed", "1", "--iters", "30",
             "--hidden", "6", "--test-size", "100", "--json", str(out), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    for key in ("test_accuracy", "test_loss", "chance", "seconds"):
        assert isinstance(data[key], float)
    assert data["chance"] == 0.25 and 0 <= data["test_accuracy"] <= 1 and data["iterations"] <= 30
    assert f"{data['test_accuracy']:.4f}" in r.stdout and "\r" not in r.stderr and "[" in r.stderr


@pytest.mark.parametrize("args", [["--cell", "cnn"], ["--hidden", "0"], ["--gap", "-3"], ["--lr", "nan"],
                                  ["--iters", "x"], ["--json", "/no/such/dir/o.json"]])
def test_cli_bad_input_is_one_line_and_exit_2(args):
    r = _cli(*args, "--iters", "1", "--test-size", "10", cwd=ROOT) if args[0] != "--iters" else _cli(*args, cwd=ROOT)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("main.py train: error: "), r.stderr
    assert "Traceback" not in r.stderr


def test_sweep_returns_plain_rows_and_can_be_cancelled():
    from gatescope.core.training.sweep import markdown_table, summarize, sweep
    base = TrainConfig(hidden=4, iters=6, batch=8, test_size=40, val_size=16, eval_every=3)
    rows = sweep(base, cells=("rnn", "lstm"), gaps=(2, 3), seeds=(0, 1))
    assert [(r["gap"], r["cell"], r["seed"]) for r in rows] == [
        (g, c, s) for g in (2, 3) for c in ("rnn", "lstm") for s in (0, 1)]
    assert json.loads(json.dumps(rows)) == rows
    table = summarize(rows)
    assert len(table) == 4 and table[0]["runs"] == 2 and table[0]["chance"] == 0.25
    lstm2 = [r for r in rows if r["cell"] == "lstm" and r["gap"] == 2]
    assert table[2]["acc_mean"] == pytest.approx(np.mean([r["test_accuracy"] for r in lstm2]))
    assert len(markdown_table(table).splitlines()) == 6
    calls = []
    part = sweep(base, cells=("gru",), gaps=(2,), seeds=(0, 1, 2),
                 callback=lambda done, total, row, prog: calls.append(row) or len(calls) < 10)
    assert len(part) < 3 and all(r["cell"] == "gru" for r in part)


# -- one table: TRAIN_FIELDS drives the validator and the command lines --------------------------

from gatescope.core.training.fields import (  # noqa: E402
    MAX_BPTT_BYTES,
    TRAIN_FIELDS,
    bptt_bytes,
    option_name,
    validate_config,
)

#: Settings a value of some field needs to be valid at all (IRNN is a ReLU RNN).
COMPANIONS = {("init", "irnn"): {"cell": "rnn", "nonlinearity": "relu"}, ("init", "chrono"): {"cell": "lstm"}}


def _eps(f, bound):
    return 1 if f.type is int else max(abs(bound) * 1e-9, 1e-12)


def _field_cases():
    """(field, good values, bad values) for every TRAIN_FIELDS row."""
    for f in TRAIN_FIELDS:
        if f.choices is not None:
            yield f, list(f.choices), ["bogus"]
        elif f.type is bool:
            yield f, [True, False], []
        else:
            yield f, [f.lo, f.hi], [f.lo - _eps(f, f.lo), f.hi + _eps(f, f.hi)]


def _parse(parser, args, capsys):
    """parse_args → (namespace or None, the one stderr line, exit code)."""
    try:
        return parser.parse_args(args), "", 0
    except SystemExit as exc:
        return None, capsys.readouterr().err.strip(), exc.code


def _config(f, value):
    extra = COMPANIONS.get((f.name, value), {})
    return TrainConfig(**{f.name: value, **extra})


@pytest.mark.parametrize("f,good,bad", list(_field_cases()), ids=[f.name for f in TRAIN_FIELDS])
def test_validator_and_command_lines_agree_with_the_field_table(f, good, bad, capsys):
    from gatescope.core.cli.sweep import build_sweep_parser
    from gatescope.core.cli.train import build_train_parser, config_from_args
    parsers = [build_train_parser()]
    if f.name not in ("cell", "gap", "seed"):          # the sweep lists those itself
        parsers.append(build_sweep_parser())
    for value in good:
        validate_config(_config(f, value))
        if f.type is bool:
            continue
        for parser in parsers:
            extra = [a for k, v in COMPANIONS.get((f.name, value), {}).items()
                     for a in (option_name(next(g for g in TRAIN_FIELDS if g.name == k)), v)]
            args, err, code = _parse(parser, [option_name(f), repr(value) if f.type is float else str(value),
                                              *extra], capsys)
            assert code == 0, err
            assert getattr(args, f.name) == value
            if parser is parsers[0]:
                validate_config(config_from_args(args))
    for value in bad:
        with pytest.raises(TrainError):
            validate_config(_config(f, value))
        for parser in parsers:
            _, err, code = _parse(parser, [option_name(f), repr(value) if f.type is float else str(value)], capsys)
            assert code == 2 and len(err.splitlines()) == 1 and option_name(f) in err, err
    if f.lo is not None:                                  # the help states the table's range
        help_text = " ".join(build_train_parser().format_help().split())
        lo, hi = (str(int(v)) if f.type is int else f"{v:g}" for v in (f.lo, f.hi))
        assert f"{lo}–{hi}" in help_text


def test_training_config_defaults_are_the_table_s():
    d = TrainConfig()
    assert {f.name: getattr(d, f.name) for f in TRAIN_FIELDS} == {f.name: f.default for f in TRAIN_FIELDS}
    validate_config(d)


def test_a_batch_too_large_for_bptt_is_refused_before_anything_is_allocated():
    cfg = TrainConfig(gap=5000, batch=4096, hidden=256)
    need = bptt_bytes("lstm", 5002, 4096, 256, 13)
    assert need > MAX_BPTT_BYTES
    with pytest.raises(TrainError, match=r"GiB for back-propagation through time"):
        validate_config(cfg)
    validate_config(TrainConfig(gap=5000, test_size=100000))     # in range: streamed, not refused


def test_evaluation_streams_the_test_set_in_bounded_memory(monkeypatch):
    """A test set far larger than what evaluation may hold at once: generated, evaluated and
    dropped chunk by chunk (peak traced memory a few chunks), with the same result as evaluating
    the whole set in one array."""
    import tracemalloc

    from gatescope.core.training import bptt, tasks
    monkeypatch.setattr(tasks, "DATA_CHUNK", 16)
    monkeypatch.setattr(tasks, "KEEP_BYTES", 0)
    task = make_task("france", 30, n_distractors=256)          # wide one-hot inputs: the data dominate
    model = init_model("gru", task.input_size, 2, task.output_size, seed=0)
    monkeypatch.setattr(bptt, "EVAL_BYTES", bptt.bptt_bytes("gru", task.length, 16, 2, task.input_size))
    data = tasks.DataSet(task, 200, (0, 2))
    chunk_bytes = task.length * 16 * task.input_size * 8
    assert data.nbytes > 12 * chunk_bytes
    tracemalloc.start()
    streamed = bptt.evaluate(model, data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 6 * chunk_bytes, (peak, chunk_bytes)
    x = np.concatenate([xb for xb, _ in data], axis=1)
    y = np.concatenate([yb for _, yb in data])
    whole = bptt.evaluate(model, x, y, chunk=10**6)
    assert streamed[0] == pytest.approx(whole[0], rel=1e-12) and streamed[1] == whole[1]
    again = list(data)                                      # regenerated identically
    np.testing.assert_array_equal(np.concatenate([xb for xb, _ in again], axis=1), x)


def test_outputs_are_checked_before_training(tmp_path, monkeypatch):
    from gatescope.core.cli import train as cli
    monkeypatch.setattr(cli, "train", lambda *a, **k: pytest.fail("trained before checking the outputs"))
    for opt in ("--json", "--save-weights"):
        args = cli.build_train_parser().parse_args([opt, str(tmp_path / "missing" / "f.npz"), "--iters", "5"])
        with pytest.raises(TrainError, match="folder does not exist"):
            cli.run_train(args, io.StringIO(), io.StringIO())


def test_trained_weights_open_with_simulate_weights(tmp_path):
    import json

    from gatescope.core.models import load_weights_or_model, single_cell
    from gatescope.core.training.train import save_trained
    cfg = TrainConfig(task="clouds", cell="lstm", hidden=5, iters=5, batch=8, test_size=16)
    res = train(cfg)
    path = tmp_path / "lstm.npz"
    assert save_trained(res.model, path, res.task) == str(path)
    with np.load(path, allow_pickle=False) as f:          # one file: the cell, its readout, its words
        assert sorted(f.files) == ["bias_hh_l0", "bias_ih_l0", "bias_out", "gatescope_meta", "weight_hh_l0",
                                   "weight_ih_l0", "weight_out"]
        np.testing.assert_array_equal(f["weight_out"], res.model.params["weight_out"])
        meta = json.loads(bytes(f["gatescope_meta"]).decode())
    assert meta["classes"] == list(res.task.class_names()) and meta["kind"] == "lstm"
    assert meta["encoding"] == {"type": "one_hot", "vocabulary": list(res.task.vocabulary())}
    assert not (tmp_path / "lstm.readout.npz").exists()
    cell = single_cell(load_weights_or_model(path))
    for name, a in res.model.cell().to_state_dict().items():
        np.testing.assert_array_equal(cell.to_state_dict()[name], a)
    x = np.asarray(make_batch(res.task, 1, np.random.default_rng(0))[0][:, 0])
    np.save(tmp_path / "x.npy", x)
    r = subprocess.run([sys.executable, str(ROOT / "main.py"), "simulate", "--weights", str(path), "--inputs",
                        str(tmp_path / "x.npy"), "--out", str(tmp_path / "t.npz")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    with np.load(tmp_path / "t.npz", allow_pickle=False) as t:
        h_key = "h" if "h" in t.files else "h_l0"
        np.testing.assert_allclose(t[h_key][-1], simulate(res.model.cell(), x).h[-1], rtol=1e-12)


def test_cli_init_option_and_irnn_implies_relu(tmp_path):
    from gatescope.core.cli.train import build_train_parser, config_from_args
    cfg = config_from_args(build_train_parser().parse_args(["--init", "irnn", "--cell", "rnn", "--task", "adding"]))
    assert cfg.nonlinearity == "relu" and cfg.init == "irnn"
    validate_config(cfg)
    out = tmp_path / "irnn.json"
    r = _cli("--task", "adding", "--cell", "rnn", "--init", "irnn", "--gap", "10", "--iters", "3", "--hidden", "4",
             "--test-size", "20", "--json", str(out), cwd=ROOT)
    assert r.returncode == 0, r.stderr
    data = json.loads(out.read_text())
    assert data["init"] == "irnn" and data["config"]["nonlinearity"] == "relu"
    r = _cli("--init", "irnn", "--cell", "lstm", "--iters", "1", cwd=ROOT)
    assert r.returncode == 2 and "IRNN" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_step_record_describes_the_iteration_it_ran():
    """Trainer.step(detail=True) is the same iteration as step(): the same loss and update, with
    the forward pass, backward pass and update recorded."""
    from gatescope.core.training.train import Trainer
    cfg = TrainConfig(task="clouds", cell="gru", hidden=6, batch=8, test_size=16, iters=3, seed=2)
    plain, slow = Trainer(cfg), Trainer(cfg)
    for _ in range(2):
        p, _ = plain.step()
        q, rec = slow.step(detail=True)
        assert p.loss == q.loss == rec.loss and p.grad_norm == rec.grad_norm
    for k, v in plain.model.params.items():
        np.testing.assert_array_equal(v, slow.model.params[k])
    T = slow.task.length
    assert rec.h0.shape == (T + 1, 6) and rec.grad_h.shape == (T,) and rec.contrib.shape == (T,)
    for k in rec.delta:
        assert rec.delta[k] == pytest.approx(np.linalg.norm(rec.model_after.params[k] - rec.model_before.params[k]))
    x = np.asarray(rec.x0)[:, None]
    assert simulate(rec.model_before.cell(), rec.x0).h[-1] == pytest.approx(rec.h0[-1], rel=1e-12)
    assert x.shape[0] == T
