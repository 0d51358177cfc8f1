"""The shipped trained models (assets/models): they load through the ordinary file path, run on
real sentences with Explore's own embedding, their recorded accuracies hold on fresh data through
an independent forward pass (core.simulate), and the training command is reproducible."""
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from gatescope.core import Config
from gatescope.core.cli.model import run_trained, summary_lines
from gatescope.core.models import ModelError
from gatescope.core.models.trained import (
    list_trained,
    load_trained,
    predict,
    predict_last,
    preset_info,
    prompt_text,
)
from gatescope.core.resources import asset
from gatescope.core.simulate import forward
from gatescope.core.training import train_presets as tp
from gatescope.core.training.reviews import corpus_text, generate, read_corpus

NAMES = sorted(tp.SPECS)


def test_every_model_is_shipped_small_and_loads():
    assert list_trained() == NAMES
    for name in NAMES:
        data = asset("models", f"{name}.npz").read_bytes()
        assert len(data) < 1024 * 1024
        m = load_trained(name)
        task, kind, hidden, _ = tp.SPECS[name]
        assert m.stack.kind == kind and m.stack.direction(0).hidden_size == hidden
        assert m.encoding == {"type": "embed_text", "dim": tp.EMBED_DIM, "seed": tp.EMBED_SEED}
        assert m.meta["task"] == task and len(m.classes) == m.readout.size
    with pytest.raises(ModelError, match="unknown trained model"):
        load_trained("no-such-model")


def probabilities(model, x):
    """Independent of core.stack: core.simulate's forward and the readout by hand."""
    h = forward(model.stack.direction(0).cell, x)["h"]
    z = h @ model.readout.weight.T + model.readout.bias
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("name", NAMES)
def test_model_run_matches_an_independent_forward(name):
    m = load_trained(name)
    run = m.run(m.meta["text"])
    np.testing.assert_allclose(run.probabilities, probabilities(m, m.encode(m.meta["text"])[0]),
                               rtol=0, atol=1e-12)
    steps = predict(m, m.meta["text"])
    assert [s[0] for s in steps] == run.tokens
    assert all(0 < p <= 1 and w in m.classes for _, w, p in steps)


def fresh_accuracy(m, task, gap, count=150):
    x, y = task.batch(np.random.default_rng(12345), count, gap)
    hits = [np.argmax(probabilities(m, x[:, b])[-1]) == y[b] for b in range(count)]
    return float(np.mean(hits))


@pytest.mark.parametrize("name", [n for n in NAMES if tp.SPECS[n][0] != "cereal"])
def test_recorded_accuracy_holds_on_fresh_sentences(name):
    m = load_trained(name)
    task = tp.France() if m.meta["task"] == "france" else tp.Clouds()
    checks = [(task.target_gap, "test_accuracy")]
    if m.meta["task"] == "france":
        checks.append((60, "test_accuracy_gap60"))               # longer than trained on
    for gap, key in checks:
        acc = fresh_accuracy(m, task, gap)
        # 150 fresh sequences: within 4 binomial standard errors of the recorded 2000-sequence value
        p = m.meta[key]
        assert abs(acc - p) <= 4 * np.sqrt(max(p * (1 - p), 0.01) / 150), (gap, acc, p)


def test_france_models_predict_french_on_the_explore_sentence():
    for name in ("trained-lstm-france", "trained-gru-france", "trained-rnn-france"):
        m = load_trained(name)
        tok, word, p = predict_last(m)                       # "… I speak fluent"
        assert tok == "fluent" and (word, p) == (m.meta["prompt_prediction"],
                                                 pytest.approx(m.meta["prompt_probability"]))
        assert predict_last(m, m.meta["text"]) == (tok, word, p)   # "… fluent French": drops "French"
        if m.meta["test_accuracy"] >= tp.ACCEPT:
            assert word == "French" and p > 0.5
            # another country in the same sentence → its language
            assert predict_last(m, m.meta["text"].replace("France", "Spain"))[1] == "Spanish"


def test_clouds_and_cereal_predictions():
    m = load_trained("trained-rnn-clouds")
    assert predict_last(m, "the clouds are in the sky")[1] == "sky"
    assert predict_last(m, "the fish are in the")[1] == "sea"
    c = load_trained("trained-lstm-cereal")
    rows = read_corpus(asset("models", tp.CORPUS_FILE).read_text(encoding="utf-8"))[-100:]
    hits = [predict(c, text)[-1][1] == ("positive" if y else "negative") for y, text in rows]
    p = c.meta["test_accuracy"]
    assert abs(np.mean(hits) - p) <= 4 * np.sqrt(max(p * (1 - p), 0.01) / 100)


def test_explore_setup_feeds_the_model_the_same_vectors():
    for name in NAMES:
        info = preset_info(name)
        cfg = Config.from_dict(info["config"])
        m = load_trained(name)
        x, tokens = cfg.build_inputs()
        x2, tokens2 = m.encode(cfg.text)
        np.testing.assert_array_equal(x, x2)
        assert tokens == tokens2 and "accuracy" in info["description"]


def test_corpus_is_the_generator_output():
    text = asset("models", tp.CORPUS_FILE).read_text(encoding="utf-8")
    assert text == corpus_text(generate(2500, seed=0))
    rows = read_corpus(text)
    assert {y for y, _ in rows} == {0, 1} and tp.CEREAL not in {t for _, t in rows}
    with pytest.raises(ValueError, match="corpus line 1"):
        read_corpus("2\tbad label\n")


def test_training_is_reproducible_and_the_file_reads_back(tmp_path):
    rows = generate(600, seed=0)
    a, sa = tp.train_one("trained-rnn-clouds", rows, iters=20)
    b, sb = tp.train_one("trained-rnn-clouds", rows, iters=20)
    assert tp.npz_bytes(a) == tp.npz_bytes(b) and sa == sb
    (tmp_path / "m.npz").write_bytes(tp.npz_bytes(a))
    with zipfile.ZipFile(io.BytesIO(tp.npz_bytes(a))) as zf:
        assert all(i.date_time == (1980, 1, 1, 0, 0, 0) for i in zf.infolist())
    from gatescope.core.models import load_model
    m = load_model(tmp_path / "m.npz")
    np.testing.assert_array_equal(m.stack.direction(0).weight_hh, a["weight_hh_l0"])
    assert m.classes == tp.PLACES


def test_simulate_preset_summary():
    s = run_trained("trained-lstm-france")
    assert s["last_token"] == "fluent" and s["predicted"] == "French" and s["probability"] > 0.5
    assert any("predicted after 'fluent': French" in line for line in summary_lines(s))


def test_run_model_on_text_uses_the_models_encoding(tmp_path):
    from gatescope.core.cli.model import run_model
    path = tmp_path / "m.npz"
    path.write_bytes(asset("models", "trained-gru-france.npz").read_bytes())
    s = run_model(path, text="I grew up in Italy . and then I speak fluent", out_path=tmp_path / "t.npz")
    m = load_trained("trained-gru-france")
    assert (s["predicted"], s["probability"]) == predict(m, "I grew up in Italy . and then I speak fluent")[-1][1:]
    with np.load(tmp_path / "t.npz") as f:
        assert f["probabilities"].shape == (11, 4)
    with pytest.raises(ModelError, match="written as .npz"):
        run_model(path, text="I speak fluent", out_path=tmp_path / "t.csv")
    with pytest.raises(ModelError, match="cannot write there"):
        run_model(path, text="I speak fluent", out_path=tmp_path / "no" / "t.npz")
    with pytest.raises(ModelError, match="no text encoding"):
        run_model(Path(__file__).parent / "data" / "models" / "gru_l3.npz", text="hi")


@pytest.mark.parametrize("text, msg", [("", "no words"), ("x " * 5001, "5001 tokens; at most 5000"),
                                       ("\udcff bad", "surrogates")])
def test_bad_sentences_give_one_line(text, msg):
    with pytest.raises(ModelError, match=msg):
        predict(load_trained("trained-rnn-clouds"), text)


# ----------------------------------------------------------------------------------------------
# The trained presets (assets/presets/trained-*.json): Explore's way in to the shipped models

def trained_presets():
    from gatescope.core.presets import list_presets
    return {p.name: p for p in list_presets() if p.config.model}


def test_every_shipped_model_has_a_preset_that_runs_it_as_loaded():
    presets = trained_presets()
    assert sorted(presets) == NAMES and all(p.name == p.config.model for p in presets.values())
    for name, p in presets.items():
        m, c = load_trained(name), p.config
        top = m.stack.direction(0)
        # the preset's setup is exactly the model's, so loading it changes nothing in the setup
        assert (c.cell, c.hidden, c.input_size, c.source) == (top.kind, top.hidden_size,
                                                            m.stack.input_size, "text")
        assert c.seed == m.encoding["seed"] and c.text == prompt_text(m, m.meta["text"]).strip()
        info = preset_info(name)
        assert p.title == info["title"] and p.description.startswith(info["description"])


def test_trained_preset_descriptions_hold():
    presets = trained_presets()
    for name in ("trained-lstm-france", "trained-gru-france", "trained-rnn-france"):
        m = load_trained(name)
        steps = predict(m, presets[name].config.text)
        assert steps[-1][:2] == ("fluent", "French") and "ends at 'fluent'" in presets[name].description
    clouds = load_trained("trained-rnn-clouds")
    assert predict(clouds, presets["trained-rnn-clouds"].config.text)[-1][:2] == ("the", "sky")
    assert predict(clouds, "the fish are in the")[-1][1] == "sea"
    # the cereal model: 'Amazing!' → positive, 'Awful!' → negative; definitely → never changes the
    # gates at that word, the short sentence reads negative, the whole review stays positive
    c = load_trained("trained-lstm-cereal")
    review = presets["trained-lstm-cereal"].config.text
    assert predict(c, "Amazing!")[-1][1] == "positive" and predict(c, "Awful!")[-1][1] == "negative"
    assert predict(c, review)[-1][1] == "positive"
    short = "I only ate half of it but will definitely be buying again!"
    assert predict(c, short)[-1][1] == "positive"
    assert predict(c, short.replace("definitely", "never"))[-1][1] == "negative"
    swapped = review.replace("definitely", "never")
    assert predict(c, swapped)[-1][1] == "positive"
    a, b = c.run(review), c.run(swapped)
    k = a.tokens.index("definitely")
    assert b.tokens[k] == "never"
    ga, gb = a.trace.traces[0][0].gates, b.trace.traces[0][0].gates
    assert all(np.array_equal(ga[g][:k], gb[g][:k]) for g in "ifo")          # the same before it
    assert max(np.abs(ga[g][k] - gb[g][k]).mean() for g in "ifo") > 0.05      # visibly at it
    d = presets["trained-lstm-cereal"].description
    assert "generates" in d and "'definitely' for 'never'" in d and "positive cues still win" in d
    assert f"{100 * c.meta['test_accuracy']:.1f} %" in d
