"""A loaded model's layer and direction as view state (saved in the session file's view, drawn
again on opening, clamped with a one-line note when the file has fewer layers or directions now);
a Gatescope model file that cannot read the setup's sentence brings its own; Compare with a loaded
stacked model says which column is the model's layer. Every drawn number is checked against the
engine called independently on the same model and inputs."""
import json
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.config import Config, ViewState
from gatescope.core.models import load_weights_or_model, predict
from gatescope.core.session_file import read_session_doc
from gatescope.core.simulate import simulate
from gatescope.core.stack import run_stack
from gatescope.core.training import export
from gatescope.core.training.train import TrainConfig, Trainer
from gatescope.gui.document import DocumentError
from gatescope.gui.settings_store import SettingsStore
from gatescope.gui.views.compare import CompareView
from test_models_app import state  # noqa: E402 - what a refusal must leave alone

DATA = Path(__file__).resolve().parent / "data" / "models"
BIDI = DATA / "lstm_l2_bi.npz"             # PyTorch nn.LSTM(3, 4, num_layers=2, bidirectional=True)
KINDS = ("rnn", "lstm", "gru")


def engine_trace(path, config, layer, reverse):
    """The direction's trace from core.stack on the setup's inputs, without the app (an RNN with
    the setup's φ, as a session file's setup says)."""
    model = load_weights_or_model(path, nonlinearity=config.activation)
    x, _ = config.build_inputs(model.stack.input_size)
    return run_stack(model.stack, x).traces[layer][1 if reverse else 0]


# ----------------------------------------------------------------------------------------------
# The layer and direction drawn, in the session file

def test_a_session_file_draws_the_same_layer_and_direction_again(sessions, tmp_path, qtbot):
    s = sessions()
    s.document.open_weights(str(BIDI))
    assert s.wait_until_idle()
    s.set_layer(1, True)                                    # layer 2, reverse
    assert s.wait_until_idle()
    path = tmp_path / "bidi.json"
    s.document.save_session(path)
    view = json.loads(path.read_text(encoding="utf-8"))["view"]
    assert (view["layer"], view["reverse"]) == (1, True)
    assert read_session_doc(path).view == ViewState(step=30, layer=1, reverse=True)

    fresh = sessions()                                  # no window at all
    with qtbot.waitSignal(fresh.layer_changed) as sig:
        fresh.document.open_session(path)
    assert sig.args == [1, True]
    assert fresh.wait_until_idle()
    assert (fresh.layer, fresh.reverse) == (1, True) and fresh.note is None
    assert (fresh.analysis.layer, fresh.analysis.reverse) == (1, True)
    assert fresh.view.layer == 1 and fresh.view.reverse is True

    direct = sessions()                                 # the same layer, chosen directly
    direct.document.open_weights(str(BIDI))
    direct.set_layer(1, True)
    assert direct.wait_until_idle()
    np.testing.assert_array_equal(fresh.analysis.trace.log10_jac_norm, direct.analysis.trace.log10_jac_norm)
    own = engine_trace(BIDI, fresh.config, 1, True)
    np.testing.assert_array_equal(fresh.analysis.trace.log10_jac_norm, own.log10_jac_norm)
    np.testing.assert_allclose(fresh.analysis.trace.h, own.h, rtol=0, atol=0)
    # the first layer's curve is another one: the test can tell them apart
    assert not np.allclose(engine_trace(BIDI, fresh.config, 0, False).log10_jac_norm, own.log10_jac_norm)


def test_a_session_file_without_the_layer_keys_opens_on_the_first_layer(sessions, tmp_path):
    path = tmp_path / "old.json"
    path.write_text(json.dumps({"version": 2, "app": "gatescope", "setup": {"length": 30},
                                "view": {"step": 5, "tab": "explore"}, "weights": str(BIDI)}))
    s = sessions()
    s.document.open_session(path)
    assert s.wait_until_idle()
    assert (s.layer, s.reverse, s.step, s.note) == (0, False, 5, None)
    assert s.model.stack.num_layers == 2
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm,
                                  engine_trace(BIDI, s.config, 0, False).log10_jac_norm)


@pytest.mark.parametrize("file, layer, reverse, got, note", [
    ("gru_l3.npz", 1, True, (1, False), "gru_l3.npz has no layer 2 (reverse): drawing layer 2 of 3"),
    ("rnn_tanh_l1.npz", 1, True, (0, False), "rnn_tanh_l1.npz has no layer 2 (reverse): drawing layer 1 of 1"),
    ("lstm_l2_bi.npz", 7, True, (1, True), "lstm_l2_bi.npz has no layer 8 (reverse): drawing layer 2 (reverse) of 2"),
])
def test_a_layer_the_file_no_longer_has_is_clamped_with_one_line(sessions, tmp_path, file, layer,
                                                                  reverse, got, note):
    """The weight file behind a saved session has changed: fewer layers, no reverse direction."""
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 2, "setup": {"length": 30}, "weights": str(DATA / file),
                                "view": {"layer": layer, "reverse": reverse}}))
    s = sessions()
    s.document.open_session(path)
    assert s.wait_until_idle()
    assert (s.layer, s.reverse) == got and s.view.layer == got[0]
    assert s.note == note and "\n" not in note
    assert s.analysis.model_line.endswith(" · " + note)                  # the status line says so
    np.testing.assert_array_equal(s.analysis.trace.log10_jac_norm,
                                  engine_trace(DATA / file, s.config, *got).log10_jac_norm)
    if s.model.stack.num_layers > 1:
        s.set_layer(0)                                      # the note was about the file as opened
        assert s.wait_until_idle()
        assert s.note is None and " · " not in s.analysis.model_line


@pytest.mark.parametrize("value, message", [(8, "out of range"), (-1, "out of range"),
                                            ("2", "whole number"), (True, "whole number"),
                                            (1.5, "whole number")])
def test_a_bad_layer_in_a_session_file_changes_nothing(sessions, tmp_path, value, message):
    s = sessions()
    s.document.open_weights(str(BIDI))
    s.set_layer(1, False)
    assert s.wait_until_idle()
    before = state(s)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"version": 2, "setup": {}, "view": {"layer": value}}))
    with pytest.raises(DocumentError, match=f"'layer'.*{message}|{message}.*'layer'") as exc:
        s.document.open_session(path)
    assert "\n" not in str(exc.value) and "bad.json" in str(exc.value)
    assert s.wait_until_idle() and state(s) == before
    path.write_text(json.dumps({"version": 2, "setup": {}, "view": {"reverse": 1}}))
    with pytest.raises(DocumentError, match="'reverse' must be true or false"):
        s.document.open_session(path)
    assert state(s) == before


def test_the_window_status_line_shows_the_clamp(qtbot, tmp_path):
    from gatescope.gui.app import create_window
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"version": 2, "setup": {"length": 20}, "weights": str(DATA / "gru_l3.npz"),
                                "view": {"layer": 2, "reverse": True}}))
    session, window = create_window(Config(length=20), store=SettingsStore(str(tmp_path / "w.ini")))
    qtbot.addWidget(window)
    assert session.wait_until_idle()
    assert window.open_session(str(path)) is True
    assert session.wait_until_idle()
    shown = window.status_label.text()
    assert "gru_l3.npz has no layer 3 (reverse): drawing layer 3 of 3" in shown
    assert (session.layer, session.reverse) == (2, False)
    session.shutdown()


# ----------------------------------------------------------------------------------------------
# A Gatescope model file whose vocabulary refuses the setup's sentence

@pytest.fixture(scope="module")
def lab_model():
    trainer = Trainer(TrainConfig(task="clouds", cell="rnn", hidden=6, batch=8, iters=2, eval_every=2,
                                  val_size=16, test_size=16, curriculum=False, stop_accuracy=None, seed=2))
    while not trainer.done:
        trainer.step()
    return trainer.model, trainer.task


FOREIGN = "I grew up in France and then I speak fluent"        # 'I', 'grew', … are not clouds words


def test_open_weights_adopts_the_files_own_sentence(sessions, tmp_path, lab_model):
    path = export.save_model(lab_model[0], tmp_path / "lab.npz", lab_model[1])
    own = export.example_text(lab_model[1])
    s = sessions(Config(source="text", text=FOREIGN, hidden=8))
    changes = []
    s.config_changed.connect(changes.append)
    s.document.open_weights(path)
    assert s.wait_until_idle()
    assert len(changes) == 1                                   # model and sentence in one change
    assert s.weights_name == "lab.npz" and s.model.encoding["type"] == "one_hot"
    assert s.config.source == "text" and s.config.text == own and s.config.cell == "rnn"
    assert s.note.startswith("reads the file's own sentence: 'i' is not in this model's vocabulary")
    assert s.analysis.model_line.endswith(" · " + s.note)
    expected = predict(load_weights_or_model(path), own)       # the file read independently
    assert s.analysis.predictions == pytest.approx(expected) and len(expected) == s.analysis.steps
    assert s.prediction(s.steps) == pytest.approx(expected[-1])
    assert s.document.recent_files() == [path]
    s.update(text=own + " " + own.split()[0])                  # the next change: no note any more
    assert s.wait_until_idle()
    assert s.note is None and " · " not in s.analysis.model_line


def test_the_window_status_line_says_the_sentence_is_the_files(qtbot, tmp_path, lab_model):
    from gatescope.gui.app import create_window
    path = export.save_model(lab_model[0], tmp_path / "lab.npz", lab_model[1])
    session, window = create_window(Config(source="text", text=FOREIGN),
                                    store=SettingsStore(str(tmp_path / "w.ini")))
    qtbot.addWidget(window)
    assert session.wait_until_idle()
    assert window.open_weights(path) is True
    assert session.wait_until_idle()
    assert "reads the file's own sentence: 'i' is not in this model's vocabulary" in window.status_label.text()
    assert session.config.text == export.example_text(lab_model[1])
    session.shutdown()


@pytest.mark.parametrize("text, prompt", [("", ""), ("zebra crossing", "")])
def test_without_a_sentence_of_its_own_the_refusal_stays(sessions, tmp_path, lab_model, text, prompt):
    arrays = export.model_arrays(*lab_model)
    meta = json.loads(bytes(arrays["gatescope_meta"]).decode())
    meta.update(text=text, prompt=prompt)
    arrays["gatescope_meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    path = tmp_path / "mute.npz"
    path.write_bytes(export.npz_bytes(arrays))
    s = sessions(Config(source="text", text=FOREIGN))
    before = state(s)
    with pytest.raises(DocumentError, match="mute.npz: 'i' is not in this model's vocabulary") as exc:
        s.document.open_weights(str(path))
    assert "\n" not in str(exc.value)
    assert s.wait_until_idle() and state(s) == before and s.document.recent_files() == []


def test_a_shipped_model_reads_any_sentence_so_the_setups_stays(sessions):
    """The shipped trained models embed words (embed_text): no sentence is refused, none replaced."""
    from gatescope.core.resources import asset
    s = sessions(Config(source="text", text=FOREIGN))
    path = asset("models", "trained-rnn-clouds.npz")
    s.document.open_weights(path)
    assert s.wait_until_idle()
    assert s.config.text == FOREIGN and s.note is None
    assert s.analysis.predictions == pytest.approx(predict(load_weights_or_model(path), FOREIGN))


# ----------------------------------------------------------------------------------------------
# Compare with a loaded model says which column it is

def test_compare_names_the_loaded_layer_and_what_the_other_columns_are(sessions, qtbot):
    s = sessions()
    view = CompareView(s)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    view.show()
    s.document.open_weights(str(BIDI))
    s.set_layer(1, True)
    s.set_compare_mode(True)
    assert s.wait_until_idle()
    assert view.notice_text() == (
        "LSTM: layer 2 of 2 (reverse) of the loaded model lstm_l2_bi.npz, as drawn in Explore, "
        "reading layer 1's outputs, from the last step back (its step t reads input T − t + 1). "
        "RNN and GRU: cells built from the setup (σ₁ = 1.01, spike spectrum, n = 4) on the setup's "
        "input, not layers of the model.")
    assert view.columns["lstm"].tag == "layer 2 of 2 (reverse)" and "layer 2 of 2 (reverse)" in \
        view.columns["lstm"].title.text
    assert view.columns["rnn"].tag == view.columns["gru"].tag == ""
    assert "layer 2 of 2 (reverse)" in view.connectivity.titles["lstm"].text
    assert "layer" not in view.connectivity.titles["gru"].text
    # what is drawn is what the notice says: the model's layer 2 reverse, the setup's RNN and GRU
    _, y = view.curves["lstm"].getData()
    np.testing.assert_array_equal(y, engine_trace(BIDI, s.config, 1, True).log10_jac_norm)
    for kind in ("rnn", "gru"):
        cfg = s.config.replace(cell=kind)
        _, y = view.curves[kind].getData()
        np.testing.assert_allclose(y, simulate(cfg.build_cell(), cfg.build_inputs()[0]).log10_jac_norm,
                                   rtol=0, atol=1e-12)
    # a one-layer model reads the setup's very input
    s.document.open_weights(str(DATA / "rnn_tanh_l1.npz"))
    assert s.wait_until_idle()
    assert view.notice_text().startswith("RNN: the loaded model rnn_tanh_l1.npz, as drawn in Explore, "
                                         "reading the same input. LSTM and GRU: cells built from the setup")
    assert view.columns["rnn"].tag == "rnn_tanh_l1.npz" and view.columns["lstm"].tag == ""
    # no model: no notice, no tags
    s.set_weights(None)
    assert s.wait_until_idle()
    assert view.notice_text() == "" and not view.notice.isVisibleTo(view)
    assert all(view.columns[k].tag == "" for k in KINDS)
    assert all("layer" not in view.connectivity.titles[k].text for k in KINDS)
