"""Every preset's description says what the engine then shows: each number or claim written in a
description is checked against a fresh computation of that preset (core only, no Qt)."""
import math

import numpy as np
import pytest
from gatescope.core.analysis import analyse
from gatescope.core.presets import list_presets
from gatescope.core.theory import format_pow10

PRESETS = {p.name: p for p in list_presets()}


def run(name, **changes):
    cfg = PRESETS[name].config
    return analyse(cfg.replace(**changes) if changes else cfg)


def desc(name):
    return PRESETS[name].description


def one_digit(log10: float) -> str:
    """10^x to one significant figure, as the descriptions write it: 0.2, 3.5×10⁻⁵ → "3×10⁻⁵"."""
    m, e = 10 ** (log10 - math.floor(log10)), math.floor(log10)
    m = round(m)
    if m == 10:
        m, e = 1, e + 1
    sup = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f"{m * 10.0 ** e:g}" if -3 <= e <= 3 else f"{m}×10{str(e).translate(sup)}"


@pytest.mark.parametrize("name, shown", [("notes-table", "37.8"), ("vanishing", "0.0006"),
                                         ("exploding", "1377")])
def test_the_notes_table_presets(name, shown):
    a = run(name)
    assert format_pow10(a.trace.log10_jac_norm[-1]).startswith(shown) and shown in desc(name)
    np.testing.assert_allclose(a.trace.log10_jac_norm, a.sigma_curves[0], atol=1e-9)   # exactly σ₁ᵗ


def test_edge_of_stability_keeps_the_norm_and_relu_beats_sigmoid():
    """A random orthogonal W (rotations, σ = 1): the identity RNN keeps ‖Wᵗ‖ = 1 exactly; the
    ReLU RNN is not the identity (units off cut the gradient) but loses far less than sigmoid,
    whose φ' ≤ ¼ costs ≥ 4× a step (numbers of the descriptions: tests/test_readme_numbers.py)."""
    edge = run("edge-of-stability")
    np.testing.assert_allclose(edge.trace.log10_jac_norm, 0.0, atol=1e-9)
    assert np.abs(edge.cell.weight_hh - np.eye(edge.cell.hidden_size)).max() > 0.5   # not I
    relu = run("relu-remedy")
    sig = run("relu-remedy", activation="sigmoid")
    assert sig.trace.log10_jac_norm[-1] <= relu.steps * math.log10(0.25) + 1e-9
    assert relu.trace.log10_jac_norm[-1] > sig.trace.log10_jac_norm[-1] + 50


def test_sigmoid_vanishing_is_below_pascanus_bound_and_10_to_the_minus_42():
    a = run("sigmoid-vanishing")
    assert "0.375" in desc("sigmoid-vanishing") and a.steps == 100
    assert a.trace.log10_jac_norm[-1] <= 100 * math.log10(0.375) + 1e-9 < -42


def test_lstm_carousel_numbers():
    a = run("lstm-carousel")
    cell = 10 ** a.trace.log10_cell_norm
    assert round(cell.min()) >= 1 and cell.max() <= 17
    assert format_pow10(a.trace.log10_carousel[-1]) == "0.14" and "0.14" in desc("lstm-carousel")
    assert round(a.sigma_curves[0][-1]) == -17 and "10⁻¹⁷" in desc("lstm-carousel")


def test_the_gru_forms_keep_with_opposite_signs_of_b_z():
    torch_form, notes_form = run("gru-update-gate"), run("gru-notes-form")
    for a in (torch_form, notes_form):
        assert a.trace.log10_jac_norm[-1] > -1 > a.sigma_curves[0][-1]        # survives the gap
    assert notes_form.config.convention == "seed" and notes_form.config.update_bias == -4
    flipped = run("gru-notes-form", update_bias=4.0)                          # "set b_z = +4 …"
    assert flipped.trace.log10_jac_norm[-1] < -10                             # "… and it vanishes"


def test_non_normal_vanishes_while_sigma1_t_explodes():
    a = run("non-normal")
    assert a.sigma1 > 1 > a.spectral_radius and not a.is_normal()
    assert a.sigma_curves[0][-1] > 7 and a.trace.log10_jac_norm[-1] < -90


def test_clipping_rescue_sets_the_norm_back_to_the_threshold():
    a = run("clipping-rescue")
    assert np.max(a.clipped) == pytest.approx(1.0) and a.trace.log10_jac_norm[-1] > 1


def test_rnn_vs_gated_numbers():
    d = desc("rnn-vs-gated")
    rnn = run("rnn-vs-gated")
    assert f"RNN's gradient is {one_digit(rnn.trace.log10_jac_norm[-1])}," in d
    s1t = rnn.sigma_curves[0][-1]
    assert round(10 ** (s1t + 5), 1) == 3.5 and "3.5×10⁻⁵" in d
    for kind in ("lstm", "gru"):
        end = run("rnn-vs-gated", cell=kind).trace.log10_jac_norm[-1]
        assert f"{kind.upper()}'s at {one_digit(end)}" in d


def test_the_text_presets():
    assert run("clouds-sky").trace.log10_jac_norm[-1] > -1                    # still arrives
    assert run("france-french").trace.log10_jac_norm[-1] < -4                 # many powers of ten
    cereal = run("cereal-review")
    assert cereal.tokens[:2] == ["amazing", "!"] and cereal.tokens[-1] == "!"
    # each word sets its own gates: the per-word mean forget gate moves by more than 0.1
    f = cereal.trace.gates["f"].mean(axis=1)
    assert f.max() - f.min() > 0.1
