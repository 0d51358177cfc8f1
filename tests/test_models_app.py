"""Real models in the app: a real Session (and its Document) on whole PyTorch / Keras models and the
shipped trained models; the layer selector, the prediction readout, the lab's weights, the
notebook entry point — every number against the engine called independently (or PyTorch's own
outputs, tests/data/models), and every refusal leaving the state exactly as it was."""
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.config import Config
from gatescope.core.models import ModelError, load_model
from gatescope.core.models.trained import load_trained, predict, predict_last
from gatescope.core.simulate import simulate
from gatescope.core.stack import run_stack
from gatescope.gui.document import DocumentError
from gatescope.gui.model_bar import ModelBar, prediction_text
from gatescope.gui.settings_store import SettingsStore
from PySide6.QtWidgets import QComboBox

DATA = Path(__file__).resolve().parent / "data" / "models"


def expected(case):
    """PyTorch's / Keras' own outputs for a fixture (tests/make_model_fixtures.py)."""
    with np.load(DATA / f"{case}.expected.npz") as f:
        return {k: f[k] for k in f.files}


class FakeModule:
    """Duck-typed like a torch module: state_dict() of tensor-likes (detach().cpu().numpy())."""

    class Tensor:
        def __init__(self, a):
            self.a = a

        def detach(self):
            return self

        def cpu(self):
            return self

        def numpy(self):
            return self.a

    def __init__(self, sd):
        self.sd = sd

    def state_dict(self):
        return {k: self.Tensor(v) for k, v in self.sd.items()}


@pytest.fixture
def make_session(sessions):
    return sessions


def state(s):
    """Everything a refusal must leave alone."""
    return s.config, s.weights_name, s.weights_path, s.model, s.analysis, s.layer, s.reverse, s.step


def open_with_inputs(s, file, case):
    s.document.open_weights(str(DATA / file))
    s.set_inputs(expected(case)["x"])
    assert s.wait_until_idle()
    return expected(case)


# ----------------------------------------------------------------------------------------------
# Whole models and the layer / direction drawn

def test_bidirectional_layers_draw_pytorchs_own_states(make_session, qtbot):
    s = make_session()
    ex = open_with_inputs(s, "lstm_l2_bi.npz", "lstm_l2_bi")
    n = 4
    assert s.weights_name == "lstm_l2_bi.npz" and s.model.stack.num_layers == 2
    assert (s.config.cell, s.config.hidden, s.config.input_size) == ("lstm", n, 3)
    a = s.analysis
    assert (a.layer, a.reverse, a.layer_label) == (0, False, "layer 1 of 2")
    assert a.stack_log10_jac_norm is None                       # bidirectional: no stacked state
    bar = ModelBar(s)
    qtbot.addWidget(bar)
    box = bar.findChild(QComboBox, "model_layer")
    assert [box.itemData(k) for k in range(box.count())] == [(0, False), (0, True), (1, False), (1, True)]
    with qtbot.waitSignal(s.layer_changed) as sig:
        box.setCurrentIndex(3)                                   # layer 2, reverse
    assert sig.args == [1, True]
    assert s.wait_until_idle()
    a = s.analysis
    assert (a.layer, a.reverse) == (1, True) and "reverse" in a.layer_label
    # PyTorch's output of the last layer: forward half, then the reverse half in input order
    np.testing.assert_allclose(a.trace.h[1:][::-1], ex["output"][:, n:], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.trace.c[-1], ex["c_n"][3], rtol=0, atol=1e-10)
    s.set_layer(1, False)
    assert s.wait_until_idle()
    np.testing.assert_allclose(s.analysis.trace.h[1:], ex["output"][:, :n], rtol=0, atol=1e-10)
    assert box.currentData() == (1, False)
    # each layer's own gradient flow and W_hh blocks, against core.simulate on that layer's input
    d = s.model.stack.direction(1)
    own = simulate(d.cell, s.analysis.trace.inputs)
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm, own.log10_jac_norm)
    np.testing.assert_allclose(s.analysis.singular_values["f"],
                               np.linalg.svd(d.weight_hh[n:2 * n], compute_uv=False), rtol=1e-12)


def test_signals_only_when_something_changes(make_session, qtbot):
    s = make_session()
    open_with_inputs(s, "gru_l3.npz", "gru_l3")
    seen = []
    for sig in (s.layer_changed, s.model_changed, s.config_changed, s.analysis_changed):
        sig.connect(lambda *a, sig=sig: seen.append(sig))
    assert s.set_layer(0) is False and not s.update(hidden=4) and seen == []
    assert s.set_layer(2) is True
    assert s.wait_until_idle()
    assert seen == [s.layer_changed, s.analysis_changed]


def test_the_whole_stack_curve_and_a_layer_switch_reuse_the_run(make_session, qtbot, monkeypatch):
    s = make_session()
    ex = open_with_inputs(s, "gru_l3.npz", "gru_l3")
    ref = run_stack(load_model(DATA / "gru_l3.npz").stack, ex["x"])
    np.testing.assert_array_equal(s.analysis.stack_log10_jac_norm, ref.log10_jac_norm)
    np.testing.assert_allclose(s.analysis.trace.h, ref.traces[0][0].h, rtol=0, atol=0)
    import gatescope.core.models.readout as readout_module
    monkeypatch.setattr(readout_module, "run_stack", lambda *a, **k: pytest.fail("ran again"))
    s.set_layer(2)
    assert s.wait_until_idle()
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm, ref.traces[2][0].log10_jac_norm)
    np.testing.assert_allclose(s.analysis.trace.h[1:], ex["output"], rtol=0, atol=1e-10)


def test_a_projected_lstm_layer_is_drawn_as_its_unprojected_lstm(make_session):
    """proj_size: the views draw h̄ = o ⊙ tanh(c) (n units, recurrent weights W_hh W_hr); PyTorch's
    h = W_hr h̄ and its c follow from it."""
    s = make_session()
    ex = open_with_inputs(s, "lstm_proj_l2.safetensors", "lstm_proj_l2")
    s.set_layer(1)
    assert s.wait_until_idle()
    a, d = s.analysis, s.model.stack.direction(1)
    assert a.cell.hidden_size == 5 and a.trace.h.shape[1] == 5 and "projection to 2" in a.layer_label
    np.testing.assert_allclose(a.trace.h[1:] @ d.weight_hr.T, ex["output"], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.trace.c[-1], ex["c_n"][1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(a.cell.weight_hh, d.weight_hh @ d.weight_hr, rtol=0, atol=0)


def test_a_pytorch_rnn_file_runs_tanh_until_told_otherwise(make_session):
    s = make_session(Config(activation="identity", length=20))
    ex = open_with_inputs(s, "rnn_relu_l2.safetensors", "rnn_relu_l2")
    assert s.config.activation == "tanh" and s.analysis.cell.nonlinearity == "tanh"
    assert not np.allclose(run_stack(s.model.stack, ex["x"]).output, ex["output"])
    s.update(activation="relu")                       # the user tells it: every layer's φ
    assert s.wait_until_idle()
    assert all(d.nonlinearity == "relu" for _, _, d in s.model.stack.directions())
    s.set_layer(1)
    assert s.wait_until_idle()
    np.testing.assert_allclose(s.analysis.trace.h[1:], ex["output"], rtol=0, atol=1e-10)


def test_a_keras_model_with_its_readout(make_session):
    s = make_session()
    s.document.open_weights(str(DATA / "lstm2_dense_softmax.keras"))
    ex = expected("lstm2_dense_softmax")
    s.set_inputs(ex["x"])
    assert s.wait_until_idle()
    s.set_layer(1)
    assert s.wait_until_idle()
    a = s.analysis
    assert a.readout is s.model.readout and a.model_line.startswith(s.model.name)
    probs = s.model.run(ex["x"][0]).probabilities                  # a batch of one
    assert [p[2] for p in a.predictions] == pytest.approx(probs.max(axis=1).tolist(), abs=0)
    assert s.prediction(a.steps) == (None, s.model.classes[int(np.argmax(probs[-1]))]
                                     if s.model.classes else str(int(np.argmax(probs[-1]))),
                                     pytest.approx(probs[-1].max(), abs=0))


# ----------------------------------------------------------------------------------------------
# Trained presets: real sentences, the predicted word at every step

def test_trained_preset_predicts_at_every_step(make_session, qtbot):
    s = make_session()
    bar = ModelBar(s)
    qtbot.addWidget(bar)
    s.load_preset("trained-lstm-france")
    assert s.wait_until_idle()
    m = load_trained("trained-lstm-france")
    assert s.weights_name == "trained-lstm-france" and s.config.model == "trained-lstm-france"
    steps = predict(m, s.config.text)                                 # independent call
    assert s.analysis.predictions == steps and s.step == len(steps)
    tok, word, p = predict_last(m)
    assert s.prediction() == (tok, word, pytest.approx(p, abs=1e-12)) and word == "French"
    assert bar.prediction_text() == f"after ‘fluent’: French (p = {p:.4f})"
    s.set_step(5)
    assert bar.prediction_text() == prediction_text(steps[4], 5) and steps[4][0] == "france"
    s.set_step(0)
    assert "no word" in bar.prediction_text()
    # another sentence through the same trained model: its own embedding
    s.update(text="I grew up in Spain . and then I speak fluent")
    assert s.wait_until_idle()
    assert s.step == 0                                               # the step is kept
    assert s.prediction(s.steps) == pytest.approx(predict(m, "I grew up in Spain . and then I speak fluent")[-1])
    # the trained model's trace is the engine's on its encoding of the words
    x, _ = m.encode(s.config.text)
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm,
                                  simulate(m.stack.direction(0).cell, x).log10_jac_norm)
    assert s.analysis.readout is m.readout or np.array_equal(s.analysis.readout.weight, m.readout.weight)


def test_back_to_a_plain_preset_drops_the_trained_model(make_session, qtbot):
    s = make_session()
    s.load_preset("trained-rnn-clouds")
    assert s.wait_until_idle()
    s.load_preset("clouds-sky")
    assert s.wait_until_idle()
    assert s.model is None and s.weights_name is None and s.analysis.predictions is None
    s.update(model="trained-rnn-clouds")
    assert s.wait_until_idle()
    assert s.config.text == "the clouds are in the sky"               # the setup's own sentence
    assert s.prediction() == predict(load_trained("trained-rnn-clouds"), s.config.text)[-1]
    s.set_weights(None)
    assert s.wait_until_idle()
    assert s.model is None and s.config.model == ""


def test_a_session_file_reopens_the_trained_model(make_session, tmp_path):
    s = make_session()
    s.load_preset("trained-gru-france")
    assert s.wait_until_idle()
    s.set_step(7)
    s.document.save_session(tmp_path / "s.json")
    s2 = make_session()
    s2.document.open_session(tmp_path / "s.json")
    assert s2.wait_until_idle()
    assert s2.weights_name == "trained-gru-france" and s2.step == 7
    assert s2.analysis.predictions == s.analysis.predictions


# ----------------------------------------------------------------------------------------------
# Refusals: nothing changes

def bad_files(tmp_path):
    """(file, what the message names): every format's malformed files."""
    with np.load(DATA / "lstm_l2_bi.npz") as f:
        sd = {k: f[k] for k in f.files}
    files = {}

    def npz(name, **arrays):
        np.savez(tmp_path / name, **arrays)
        files[name] = tmp_path / name

    npz("attn.npz", **sd, **{"attn.in_proj_weight": np.zeros((12, 4))})
    npz("conv.npz", **sd, **{"conv.weight": np.zeros((4, 3, 3))})
    npz("nan.npz", **{**sd, "weight_hh_l1": np.full((16, 4), np.nan)})
    npz("shape.npz", **{**sd, "weight_ih_l1": np.zeros((16, 5))})
    npz("missing.npz", **{k: v for k, v in sd.items() if k != "weight_hh_l1"})
    (tmp_path / "junk.keras").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (tmp_path / "header.safetensors").write_bytes((2 ** 40).to_bytes(8, "little") + b"{}")
    (tmp_path / "json.safetensors").write_bytes((4).to_bytes(8, "little") + b"nope")
    with open(tmp_path / "big.npz", "wb") as fh:                 # sparse: 257 MiB on paper
        fh.truncate(257 * 1024 * 1024)
    for name in ("junk.keras", "header.safetensors", "json.safetensors", "big.npz"):
        files[name] = tmp_path / name
    return files, {"attn.npz": "attention", "conv.npz": "convolution", "nan.npz": "NaN",
                   "shape.npz": "layer 1 reads the 8", "missing.npz": "missing 'weight_hh_l1'",
                   "junk.keras": "not a readable .keras", "header.safetensors": "header length",
                   "json.safetensors": "not JSON", "big.npz": "256 MiB"}


def test_every_bad_file_changes_nothing(make_session, tmp_path):
    s = make_session()
    open_with_inputs(s, "gru_l3.npz", "gru_l3")
    s.set_layer(1)
    assert s.wait_until_idle()
    before = state(s)
    files, msgs = bad_files(tmp_path)
    for name, path in files.items():
        with pytest.raises(DocumentError, match=msgs[name]) as exc:
            s.document.open_weights(str(path))
        assert "\n" not in str(exc.value)
        assert s.wait_until_idle()
        assert state(s) == before, name
    for bad in (lambda: s.update(model="trained-nothing"), lambda: s.set_layer(5),
                lambda: s.set_layer(0, True), lambda: s.set_inputs(np.zeros((4, 2))),
                lambda: s.set_inputs(np.full((4, 3), np.nan)), lambda: s.set_model(object())):
        with pytest.raises(ValueError):                   # ModelError, ConfigError: ValueErrors
            bad()
        assert state(s) == before
    assert s.document.recent_files() == [str(DATA / "gru_l3.npz")]


def test_in_the_app_each_bad_file_is_one_dialog(qtbot, tmp_path, monkeypatch):
    from gatescope.gui import dialogs
    from gatescope.gui.app import create_window
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    session, window = create_window(Config(length=20), store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    assert session.wait_until_idle()
    window.open_weights(str(DATA / "lstm_proj_l2.safetensors"))
    assert session.wait_until_idle()
    before = state(session)
    files, msgs = bad_files(tmp_path)
    for name, path in files.items():
        n = len(seen)
        window.open_weights(str(path))
        assert len(seen) == n + 1 and msgs[name] in seen[-1], name
    assert session.wait_until_idle() and state(session) == before
    session.shutdown()


def test_a_run_that_fails_puts_the_shown_model_back(make_session, tmp_path, qtbot):
    """A two-layer RNN whose state leaves float64 range once its φ is the identity: the run
    fails, the error is reported once, and the setup and model on screen are back."""
    s = make_session()
    np.savez(tmp_path / "huge.npz", weight_ih_l0=np.eye(3) * 1e200, weight_hh_l0=np.eye(3) * 1e200,
             weight_ih_l1=np.eye(3), weight_hh_l1=np.eye(3))
    s.document.open_weights(str(tmp_path / "huge.npz"))
    assert s.wait_until_idle() and s.config.activation == "tanh"     # tanh: bounded, it runs
    before = state(s)
    errors = []
    s.error.connect(lambda m, d: errors.append(m))
    s.update(activation="identity")
    assert s.wait_until_idle()
    assert len(errors) == 1 and "float64 range" in errors[0]
    assert state(s) == before


# ----------------------------------------------------------------------------------------------
# From the Training lab, and from a notebook

def test_the_labs_weights_open_in_explore(make_session, tmp_path):
    from gatescope.core.training.inits import init_model
    from gatescope.core.training.train import save_trained
    m = init_model("gru", 6, 5, 4, seed=3)
    path = save_trained(m, tmp_path / "lab.npz")
    s = make_session()
    s.document.open_weights(path)
    assert s.wait_until_idle()
    np.testing.assert_array_equal(s.analysis.cell.weight_hh, m.cell().weight_hh)
    assert s.config.input_size == 6 and s.config.cell == "gru"
    s.set_model(m.cell(), "trained in the lab")                  # a bare cell, named
    assert s.wait_until_idle()
    assert s.weights_name == "trained in the lab" and s.weights_path is None
    x, _ = s.config.build_inputs()
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm, simulate(m.cell(), x).log10_jac_norm)


def test_notebook_show_on_a_live_module_and_a_sentence(qtbot, tmp_path, monkeypatch):
    from gatescope.gui import notebook
    from PySide6.QtWidgets import QApplication
    store = SettingsStore(str(tmp_path / "s.ini"))
    with np.load(DATA / "lstm_l2_bi.npz") as f:
        sd = {k: f[k] for k in f.files}
    ex = expected("lstm_l2_bi")
    window = notebook.show(FakeModule(sd), ex["x"], block=False, store=store)
    qtbot.addWidget(window)
    s = window.session
    assert s.wait_until_idle() and window.isVisible() and window in notebook.OPEN_WINDOWS
    assert s.weights_name == "FakeModule"
    cell = load_model(sd).stack.direction(0).cell
    np.testing.assert_array_equal(s.analysis.trace.h, simulate(cell, ex["x"]).h)
    s.shutdown()
    ran = []
    monkeypatch.setattr(QApplication, "exec", lambda self=None: ran.append(True) or 0)
    window = notebook.show("trained-rnn-clouds", "the fish are in the", block=True, store=store)
    qtbot.addWidget(window)
    assert ran == [True]
    s = window.session
    s.wait_until_idle()
    assert s.prediction() == pytest.approx(predict_last(load_trained("trained-rnn-clouds"),
                                                        "the fish are in the"))
    with pytest.raises(ModelError, match="cannot show a object"):
        notebook.show(object(), block=False, store=store)
    with pytest.raises(ModelError, match="no such file"):
        notebook.show(str(tmp_path / "none.npz"), block=False, store=store)


def test_cancel_puts_the_shown_model_back(make_session):
    """A model too big for the GUI thread runs on the Worker; Cancel drops it, whenever it ends."""
    s = make_session()
    open_with_inputs(s, "gru_l3.npz", "gru_l3")
    before = state(s)
    rng = np.random.default_rng(1)
    n = 48
    sd = {"weight_ih_l0": rng.standard_normal((3 * n, 3)), "weight_hh_l0": rng.standard_normal((3 * n, n)) / 9,
          "weight_ih_l1": rng.standard_normal((3 * n, n)), "weight_hh_l1": rng.standard_normal((3 * n, n)) / 9}
    s.set_model(sd, "big")
    assert s.busy and s.cost() > 4e6 and s.weights_name == "big"
    s.cancel()
    assert s.wait_until_idle()
    assert state(s) == before


def test_notebook_show_does_not_block_under_a_qt_event_loop(qtbot, tmp_path, monkeypatch):
    import sys
    import types

    from gatescope.gui import notebook
    from PySide6.QtWidgets import QApplication
    monkeypatch.setattr(QApplication, "exec", lambda self=None: pytest.fail("blocked"))
    shell = types.SimpleNamespace(active_eventloop="qt6")
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    window = notebook.show(str(DATA / "gru_l3.npz"), block=None, store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    assert window.isVisible() and window.session.weights_name == "gru_l3.npz"
    window.session.shutdown()
    shell.active_eventloop = None                       # IPython without %gui qt: exec() runs
    ran = []
    monkeypatch.setattr(QApplication, "exec", lambda self=None: ran.append(1) or 0)
    window = notebook.show(None, "the clouds are in the sky", store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    assert ran == [1] and window.session.config.text == "the clouds are in the sky"


def test_the_gradient_view_draws_the_whole_stack_beside_the_layer(qtbot, tmp_path):
    """A two-layer model: the drawn layer's curve and ‖∂S_t/∂S₀‖ of the whole stacked state."""
    import numpy as np
    from gatescope.core.config import Config
    from gatescope.core.models import load_model
    from gatescope.gui.app import create_window
    from gatescope.gui.settings_store import SettingsStore
    rng = np.random.default_rng(3)
    n, d = 5, 3
    sd = {}
    for layer, din in ((0, d), (1, n)):
        sd[f"weight_ih_l{layer}"] = rng.standard_normal((4 * n, din)) * 0.5
        sd[f"weight_hh_l{layer}"] = rng.standard_normal((4 * n, n)) * 0.5
        sd[f"bias_ih_l{layer}"] = np.zeros(4 * n)
        sd[f"bias_hh_l{layer}"] = np.zeros(4 * n)
    path = tmp_path / "two.npz"
    np.savez(path, **sd)
    session, window = create_window(Config(length=30), store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    assert session.wait_until_idle()
    session.document.open_weights(str(path))
    assert session.wait_until_idle()
    a = session.analysis
    assert a.stack_log10_jac_norm is not None and load_model(str(path)).stack.num_layers == 2
    x, y = window.gradient.stack.getData()
    np.testing.assert_allclose(y, np.where(np.isfinite(a.stack_log10_jac_norm), a.stack_log10_jac_norm, np.nan))
    assert any("whole stack" in label.text for _, label in window.gradient.legend.items)
    session.shutdown()
