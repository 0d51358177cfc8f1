"""From the Training lab to Explore and to a file: the lab's model as a Gatescope model (readout,
the task's one-hot encoding, class names, its sentence), in the shipped trained models' one-file
layout. Every prediction is checked against the lab's own forward pass (core.training.bptt), on
the lab's own one-hot batches."""
import json

import numpy as np
import pytest
from gatescope.core.models import ModelError, load_weights_or_model, model_from_state_dict, predict, single_cell
from gatescope.core.resources import asset
from gatescope.core.training import export
from gatescope.core.training.bptt import forward
from gatescope.core.training.tasks import describe, make_batch, make_task
from gatescope.core.training.train import TrainConfig, Trainer, save_trained
from test_weights_cli import simulate_main as simulate  # the launcher's simulate, in process

TINY = dict(hidden=6, batch=8, iters=4, eval_every=2, val_size=16, test_size=16, curriculum=False,
            stop_accuracy=None, seed=2)


def tiny(task="france", cell="lstm", iters=4, **kw):
    """A lab run of a few iterations: (bptt Model, Task)."""
    trainer = Trainer(TrainConfig(task=task, cell=cell, **{**TINY, "iters": iters, **kw}))
    while not trainer.done:
        trainer.step()
    return trainer.model, trainer.task


def lab_probabilities(model, x):
    """softmax(W_out h_t + b_out) at every step of one sequence x (T, d): the lab's forward pass."""
    h = forward(model, x[:, None, :])["h"][1:, 0]
    z = h @ model.params["weight_out"].T + model.params["bias_out"]
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def sentence(task, seed=0):
    """A lab batch's first sequence (T, d), its sentence without the answer, and the answer."""
    x, y = make_batch(task, 1, np.random.default_rng(seed))
    text, answer = describe(task, x, y).split(" → ")
    return x[:, 0], text, answer


@pytest.mark.parametrize("task, cell, kw", [("france", "lstm", {"gap": 7}),
                                            ("clouds", "gru", {"convention": "seed", "lead": 2}),
                                            ("clouds", "rnn", {"nonlinearity": "relu", "n_classes": 3})])
def test_explores_model_reads_the_labs_vectors_and_predicts_what_the_lab_does(task, cell, kw):
    lab, t = tiny(task, cell, **kw)
    m = export.trained_model(lab, t)
    assert m.readout is not None and m.classes == t.class_names() and m.encoding["type"] == "one_hot"
    for seed in range(3):
        x, text, _ = sentence(t, seed)
        enc, tokens = m.encode(text)
        np.testing.assert_array_equal(enc, x)                 # the very one-hot vectors of the batch
        assert tokens[-1] == t.vocabulary()[-1]                # "are in the" is one token, as in the lab
        np.testing.assert_allclose(m.run(text).probabilities, lab_probabilities(lab, x), rtol=0, atol=1e-10)
    # the stored sentence is the task's: first key, distractors, query; its answer the first class
    x = np.eye(t.input_size)[[t.n_classes + k % t.n_distractors for k in range(t.lead)] + [0]
                             + [t.n_classes + k % t.n_distractors for k in range(t.lead, t.lead + t.gap)]
                             + [t.input_size - 1]]
    np.testing.assert_array_equal(m.encode(m.meta["text"])[0], x)
    p = lab_probabilities(lab, x)[-1]
    assert predict(m, m.meta["text"])[-1][1:] == (t.class_names()[int(np.argmax(p))], pytest.approx(p.max(), abs=1e-12))


def test_the_file_is_one_npz_in_the_shipped_layout_and_reads_back_the_same_model(tmp_path):
    lab, t = tiny("france", "gru", gap=5)
    path = tmp_path / "lab.npz"
    assert save_trained(lab, path, t, {"iterations": 4}) == str(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lab.npz"]        # no readout side file
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(bytes(f["gatescope_meta"]).decode())
        for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            np.testing.assert_array_equal(f[k + "_l0"], lab.params[k])
        np.testing.assert_array_equal(f["bias_out"], lab.params["bias_out"])
    with np.load(asset("models", "trained-gru-france.npz"), allow_pickle=False) as f:
        shipped = json.loads(bytes(f["gatescope_meta"]).decode())
    keys = list(shipped)[:list(shipped).index("trained_by") + 1]
    assert list(meta)[:len(keys)] == keys                       # the shipped models' keys, in order
    assert meta["format"] == "gatescope-model" and meta["iterations"] == 4 and meta["task"] == "france"
    m = load_weights_or_model(path)
    assert m.source == "gatescope" and m.name == "lab.npz" and m.classes == t.class_names()
    mem = export.trained_model(lab, t)
    for seed in range(2):
        _, text, _ = sentence(t, seed)
        assert predict(m, text) == predict(mem, text)
    np.testing.assert_array_equal(single_cell(m).weight_hh, lab.params["weight_hh"])
    assert export.npz_bytes(export.model_arrays(lab, t, {"iterations": 4})) == path.read_bytes()


def test_simulate_weights_prints_the_prediction_the_lab_model_makes(tmp_path):
    lab, t = tiny("france", "lstm", gap=6)
    path = tmp_path / "lab.npz"
    save_trained(lab, path, t)
    names = t.class_names()

    def expected(x):
        p = lab_probabilities(lab, x)[-1]
        return f"predicted after 'I speak fluent': {names[int(np.argmax(p))]} (p = {p.max():.4f})"

    rc, out, err = simulate("--weights", path)                  # its own sentence, as a preset
    assert rc == 0, err
    x = export.trained_model(lab, t).encode(export.example_text(t))[0]
    assert out.splitlines()[-1] == expected(x) and f"T = {len(x)}" in out
    x, text, answer = sentence(t, 5)
    rc, out, err = simulate("--weights", path, "--text", f"{text} {answer}")   # the answer is not read
    assert rc == 0, err
    assert out.splitlines()[-1] == expected(x)
    rc, out, err = simulate("--weights", path, "--text", "I grew up in France")
    assert rc == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "'i' is not in this model's vocabulary" in err


def test_simulate_weights_on_a_shipped_model_reads_its_prompt_like_the_preset():
    rc, out, err = simulate("--weights", asset("models", "trained-lstm-france.npz"))
    rc2, out2, _ = simulate("--preset", "trained-lstm-france")
    assert rc == rc2 == 0, err
    from gatescope.core.models.trained import load_trained, predict_last
    token, word, prob = predict_last(load_trained("trained-lstm-france"))
    assert (token, word) == ("fluent", "French")
    assert out.splitlines()[-1] == out2.splitlines()[-1] == f"predicted after '{token}': {word} (p = {prob:.4f})"


def test_adding_task_has_a_linear_sum_readout_and_no_words():
    lab, t = tiny("adding", "rnn", gap=12)
    m = export.trained_model(lab, t)
    assert m.encoding is None and m.classes == ("sum",) and m.meta["text"] == ""
    x = make_batch(t, 1, np.random.default_rng(1))[0][:, 0]
    h = forward(lab, x[:, None, :])["h"][-1, 0]
    y = lab.params["weight_out"] @ h + lab.params["bias_out"]
    np.testing.assert_allclose(m.run(x).outputs[-1], y, rtol=0, atol=1e-12)


def test_unusable_weights_and_vocabularies_are_refused_in_one_line(tmp_path):
    from gatescope.core.training.bptt import Model
    lab, t = tiny("clouds", "rnn", iters=1)
    bad = Model(lab.kind, {**lab.params, "weight_hh": np.full_like(lab.params["weight_hh"], np.nan)})
    with pytest.raises(ModelError, match="cannot be used: 'weight_hh_l0' contains NaN"):
        export.save_model(bad, tmp_path / "bad.npz", t)
    assert not (tmp_path / "bad.npz").exists()
    with pytest.raises(ModelError, match="13 inputs and 4 outputs; the task 'france' has 12 and 3"):
        export.trained_model(lab, make_task("france", n_classes=3))
    arrays = export.model_arrays(lab, t)
    meta = json.loads(bytes(arrays.pop("gatescope_meta")).decode())
    for vocab, msg in [(meta["vocabulary"][:-1], "vocabulary of 12 entries for 13 inputs"),
                       (meta["vocabulary"][:-1] + ["THE"], "entry 'THE' is empty or repeated"),
                       ("sky sea", "a list of 1 to 4096 entries"), ([], "a list of 1 to 4096 entries"),
                       (meta["vocabulary"][:-1] + [3], "every vocabulary entry is text")]:
        with pytest.raises(ModelError, match=msg):
            model_from_state_dict(arrays, meta={**meta, "encoding": {"type": "one_hot", "vocabulary": vocab}})


# ----------------------------------------------------------------------------------------------
# The app: Open in Explore

def test_open_in_explore_shows_the_labs_predicted_word(qtbot, monkeypatch, tmp_path):
    from gatescope.core.config import Config
    from gatescope.gui import dialogs
    from gatescope.gui.app import create_window
    from gatescope.gui.settings_store import SettingsStore
    from PySide6.QtCore import Qt
    seen = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, msg, details="": seen.append(msg))
    session, window = create_window(Config(source="text"), store=SettingsStore(str(tmp_path / "s.ini")))
    qtbot.addWidget(window)
    window.show()
    lab = window.lab
    try:
        lab.update(task="clouds", cell="gru", gap=4, **TINY)
        lab.start()
        qtbot.waitUntil(lambda: lab.state == "finished", timeout=20000)
        session.set_tab("lab")
        view = window.train_view
        assert view.explore_button.isEnabled()
        qtbot.mouseClick(view.explore_button, Qt.LeftButton)
        assert session.wait_until_idle()
        assert not seen and session.view.tab == "explore"
        m = session.model
        assert m.readout is not None and m.classes == lab._task.class_names()
        assert session.weights_name == "trained in the lab" and session.config.input_size == 13
        t = lab._task
        x = np.eye(t.input_size)[[0] + [t.n_classes + k % t.n_distractors for k in range(t.gap)] + [t.input_size - 1]]
        p = lab_probabilities(lab._model, x)
        assert session.steps == len(x) and session.step == len(x)             # the last word read
        word = t.class_names()[int(np.argmax(p[-1]))]
        assert window.model_bar.prediction_text() == f"after ‘are in the’: {word} (p = {p[-1].max():.4f})"
        got = [session.prediction(k) for k in range(1, len(x) + 1)]
        assert [g[1] for g in got] == [t.class_names()[k] for k in np.argmax(p, axis=1)]
        np.testing.assert_allclose([g[2] for g in got], p.max(axis=1), rtol=0, atol=1e-10)
    finally:
        lab.shutdown()
        session.shutdown()
