"""The cereal-review preset's trained LSTM: on the notes' review its gates and its guess move at
the cue words and stay put elsewhere (measured from the engine the views draw, and by an
independent route through core.simulate), its generated corpus marks each cue where its side is
told, and the training is reproducible."""
import numpy as np
import pytest
from gatescope.core.analysis import analyse_model
from gatescope.core.cells import sigmoid
from gatescope.core.inputs import SENTENCES, tokenize
from gatescope.core.models.trained import load_trained, predict
from gatescope.core.presets import get_preset
from gatescope.core.resources import asset
from gatescope.core.simulate import simulate
from gatescope.core.training import train_presets as tp
from gatescope.core.training.review_gates import CUES, gate_movement
from gatescope.core.training.reviews import (
    BREAKFAST,
    ENDINGS,
    OPENERS,
    decisive,
    generate,
    generate_marked,
    positive_target,
)

REVIEW = SENTENCES["cereal"]


def shown():
    """(tokens, gates {i, f} (T, n), p(positive) (T,), model) as Explore computes them for the preset."""
    preset = get_preset("cereal-review")
    model = load_trained(preset.config.model)
    a, _ = analyse_model(preset.config, model)
    p = np.array([prob if word == "positive" else 1.0 - prob for _, word, prob in a.predictions])
    return a.tokens, a.trace.gates, p, model


def test_the_preset_runs_the_shipped_model_on_the_notes_review():
    preset = get_preset("cereal-review")
    assert preset.config.model == "cereal-review" and preset.config.text == REVIEW
    a, b = load_trained("cereal-review"), load_trained("trained-lstm-cereal")
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):        # one model under two names
        assert np.array_equal(getattr(a.stack.direction(0), k), getattr(b.stack.direction(0), k))
    assert np.array_equal(a.readout.weight, b.readout.weight)
    assert a.meta["training"]["loss"] == "every step" and "generates and ships" in preset.description


def test_the_gates_and_the_guess_move_at_the_cue_words():
    tokens, gates, p, model = shown()
    # the gates at rest (zero input, zero state): σ(b_ih + b_hh) of the i and f blocks
    d = model.stack.direction(0)
    n = d.hidden_size
    b = sigmoid(d.bias_ih + d.bias_hh)
    move = {}
    for g, k in (("i", 0), ("f", 1)):
        seq = np.vstack([b[k * n:(k + 1) * n], gates[g]])
        move[g] = np.abs(np.diff(seq, axis=0)).mean(axis=1)
    z = model.readout.bias
    p_rest = np.exp(z[1]) / np.exp(z).sum()
    dp = np.abs(np.diff(np.concatenate([[p_rest], p])))
    total = move["i"] + move["f"] + dp
    cue = np.array([t in CUES for t in tokens])
    assert cue.sum() == 6
    assert np.median(total[cue]) >= 2 * np.median(total[~cue])
    # the guess jumps at 'Amazing' and rises over 'definitely … again'
    t = {w: tokens.index(w) for w in ("amazing", "perfectly", "definitely", "again")}
    assert p[t["amazing"]] - p_rest > 0.1
    assert p[t["perfectly"]] > p[t["perfectly"] - 1] and p[t["definitely"]] > p[t["definitely"] - 1]
    assert p[t["again"]] > p[t["definitely"] - 1] + 0.05
    # the module's measurement is this one
    m = gate_movement(model)
    np.testing.assert_allclose(m.total, total, rtol=1e-12, atol=1e-15)
    assert m.tokens == tokens and m.ratio == pytest.approx(np.median(total[cue]) / np.median(total[~cue]))


def test_the_measured_gates_are_core_simulates():
    """The engine's gates (core.stack) agree with core.simulate's on the model's own cell."""
    tokens, gates, _, model = shown()
    x, toks = model.encode(REVIEW)
    run = simulate(model.stack.direction(0).cell, x)
    assert toks == tokens
    for g in "if":
        np.testing.assert_allclose(gates[g], run.gates[g], rtol=0, atol=1e-13)


def test_the_model_reads_other_reviews_by_their_cues():
    m = load_trained("cereal-review")
    assert predict(m, "Awful! This box of cereal gave me a soggy breakfast.")[-1][1] == "negative"
    # a neutral sentence keeps the guess where it was: no cue, no change of side
    before = predict(m, "Amazing!")[-1]
    after = predict(m, "Amazing! I had it with milk. It came on time.")[-1]
    assert before[1] == after[1] == "positive" and abs(before[2] - after[2]) < 0.1


# ----------------------------------------------------------------------------------------------
# The corpus and its targets

def test_each_cue_is_marked_at_the_word_that_tells_its_side():
    assert decisive("will definitely be buying again!", ENDINGS[0]) == 1          # "definitely"
    assert decisive("will be buying more soon!", ENDINGS[0]) == 2                  # "buying" vs "returning"
    assert decisive("a perfectly balanced", BREAKFAST[0]) == 1                     # "perfectly"
    assert decisive("Amazing!", OPENERS[0]) == 0
    rows = generate_marked(400, seed=3)
    assert [r[:2] for r in rows] == generate(400, seed=3)
    sides = {w: s for s in (0, 1) for table in (OPENERS, ENDINGS) for phrase in table[s]
             for w in tokenize(phrase)[decisive(phrase, table[1 - s]):][:1]}
    for y, text, cues in rows:
        tokens = tokenize(text)
        assert len(cues) in (1, 3, 5)
        assert sum(1 if s else -1 for _, s in cues) * (1 if y else -1) > 0      # the majority's side
        for k, s in cues:
            assert sides.get(tokens[k], s) == s                                  # a marked word's side


def test_the_target_doubles_the_odds_at_each_cue():
    q = positive_target(6, [(1, 1), (3, 1), (4, 0)])
    np.testing.assert_allclose(q, [1 / 2, 2 / 3, 2 / 3, 4 / 5, 2 / 3, 2 / 3], rtol=1e-15)
    np.testing.assert_allclose(positive_target(2, [(0, 0)]), [1 / 3, 1 / 3], rtol=1e-15)


# ----------------------------------------------------------------------------------------------
# Reproduction (the full run: python -m core.training.train_presets --only cereal-review --check)

def test_a_short_cereal_training_is_reproducible_and_both_names_get_the_same_weights(tmp_path):
    rows = generate_marked(2500, seed=0)
    a, sa = tp.train_one("cereal-review", rows, iters=30)
    b, sb = tp.train_one("cereal-review", rows, iters=30)
    assert tp.npz_bytes(a) == tp.npz_bytes(b) and sa == sb and sa["iterations"] == 30
    c, _ = tp.renamed(a, sa, "trained-lstm-cereal")
    assert all(np.array_equal(a[k], c[k]) for k in a if k != "gatescope_meta")
    assert tp.main(["--only", "cereal-review", "--iters", "30", "--out", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "cereal-review.npz").read_bytes() == tp.npz_bytes(a)
    assert tp.main(["--only", "cereal-review", "--iters", "30", "--out", str(tmp_path), "--quiet",
                    "--check"]) == 0
    (tmp_path / "cereal-review.npz").write_bytes(b"changed")
    assert tp.main(["--only", "cereal-review", "--iters", "30", "--out", str(tmp_path), "--quiet",
                    "--check"]) == 1
    assert (tmp_path / "cereal-review.npz").read_bytes() == b"changed"        # --check writes nothing


def test_per_step_targets_need_the_cues():
    task = tp.Reviews(generate(50, seed=0))
    with pytest.raises(ValueError, match="generate_marked"):
        task.target_batch(np.random.default_rng(0), 4)


def test_the_shipped_model_file_is_small():
    assert len(asset("models", "cereal-review.npz").read_bytes()) < 200 * 1024
