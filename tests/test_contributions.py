"""Where the gradient comes from (RNNbow): each step's contribution C_k to ∂ℓ/∂W sums to BPTT's
total, equals the gradient of a per-step copy of the weight (central differences through
core.cells.step), and follows σ^{T−k} for an identity RNN; the lab's explanation of a falling
‖∂ℓ/∂h₁‖; and the README's per-step decay factors, re-measured on a reduced run."""
import re
from pathlib import Path

import numpy as np
import pytest
from gatescope.core.cells import make_cell, split_state, step
from gatescope.core.training.contributions import (
    CELL_PARAMS,
    contribution_norms,
    contributions,
    explain_reach,
)
from gatescope.core.training.tasks import make_batch, make_task
from gatescope.core.training.train import Model, init_model, loss_and_grads

ROOT = Path(__file__).resolve().parent.parent
CASES = [("rnn", "tanh", "pytorch"), ("rnn", "relu", "pytorch"), ("lstm", "tanh", "pytorch"),
         ("gru", "tanh", "pytorch"), ("gru", "tanh", "seed")]


def _model(kind, nl, conv, task, n=3, seed=1, scale=2.0):
    m = init_model(kind, task.input_size, n, task.output_size, seed=seed, nonlinearity=nl, convention=conv)
    return Model(kind, {k: v * scale for k, v in m.params.items()}, nl, conv)


def _data(kind, nl, task, batch, seed):
    x, y = make_batch(task, batch, np.random.default_rng(seed))
    if nl == "relu":                                # away from ReLU's kink
        x = x + 0.1 * np.random.default_rng(seed + 1).standard_normal(x.shape)
    return x, y


@pytest.mark.parametrize("kind,nl,conv", CASES)
@pytest.mark.parametrize("task_name", ["france", "adding"])
def test_contributions_sum_to_the_bptt_gradient(kind, nl, conv, task_name):
    task = make_task(task_name, 5, n_classes=3, n_distractors=2)
    model = _model(kind, nl, conv, task)
    x, y = _data(kind, nl, task, 4, 7)
    _, grads, _ = loss_and_grads(model, x, y, task.is_regression)
    for name in CELL_PARAMS:
        c = contributions(model, x, y, task.is_regression, name)
        assert c.shape == (task.length, *model.params[name].shape)
        np.testing.assert_allclose(c.sum(axis=0), grads[name], rtol=0,
                                   atol=1e-12 * max(1.0, np.abs(grads[name]).max()))
        norms = contribution_norms(model, x, y, task.is_regression, name)
        np.testing.assert_allclose(norms, np.linalg.norm(c.reshape(len(c), -1), axis=1), rtol=1e-12)


def _untied_loss(model, x, y, regression, name, k, delta):
    """The loss if the weight `name` at step k (1-based) were W + delta and W elsewhere: an
    independent forward pass through core.cells.step, one sequence at a time."""
    p = model.params
    total = 0.0
    for b in range(x.shape[1]):
        s = np.zeros(model.hidden_size * (2 if model.kind == "lstm" else 1))
        for t in range(x.shape[0]):
            arrays = {n: p[n] + (delta if (n == name and t == k - 1) else 0.0) for n in CELL_PARAMS}
            cell = make_cell(model.kind, arrays["weight_ih"], arrays["weight_hh"], arrays["bias_ih"],
                             arrays["bias_hh"], nonlinearity=model.nonlinearity, convention=model.convention)
            s = step(cell, x[t, b], s)
        h = split_state(cell, s)[0]
        out = p["weight_out"] @ h + p["bias_out"]
        total += (out[0] - y[b]) ** 2 if regression else np.log(np.sum(np.exp(out))) - out[y[b]]
    return total / x.shape[1]


@pytest.mark.parametrize("kind,nl,conv", CASES)
def test_each_contribution_is_the_gradient_of_that_step_s_own_copy_of_the_weight(kind, nl, conv):
    task = make_task("france", 2, n_classes=3, n_distractors=2)
    model = _model(kind, nl, conv, task, n=2, seed=2)         # seed 2: no ReLU unit dead throughout
    x, y = _data(kind, nl, task, 2, 3)
    eps = 1e-6
    for name in ("weight_hh", "bias_ih"):
        c = contributions(model, x, y, False, name)
        shape = model.params[name].shape
        for k in range(1, task.length + 1):
            num = np.zeros(shape)
            for idx in np.ndindex(shape):
                d = np.zeros(shape)
                d[idx] = eps
                num[idx] = (_untied_loss(model, x, y, False, name, k, d)
                            - _untied_loss(model, x, y, False, name, k, -d)) / (2 * eps)
            np.testing.assert_allclose(c[k - 1], num, rtol=1e-6, atol=1e-9, err_msg=f"{name}, step {k}")
        assert np.abs(c).max() > 1e-4                       # not vacuous


def test_identity_rnn_contributions_shrink_like_sigma_power():
    """h_t = σ h_{t−1} + U x_t, one sequence: C_k = δa_k h_{k−1}ᵀ with δa_k = σ^{T−k} ∂ℓ/∂h_T, so
    ‖C_k‖ = σ^{T−k} ‖∂ℓ/∂h_T‖ ‖h_{k−1}‖ exactly: the early steps give almost nothing."""
    task = make_task("france", 12, n_classes=3, n_distractors=2)
    m = init_model("rnn", task.input_size, 4, task.output_size, seed=0, nonlinearity="identity")
    sigma = 0.7
    p = dict(m.params, weight_hh=sigma * np.eye(4))
    model = Model("rnn", p, "identity")
    x, y = make_batch(task, 1, np.random.default_rng(2))
    from gatescope.core.training.bptt import forward
    h = forward(model, x)["h"][:, 0]                           # (T+1, n)
    out = p["weight_out"] @ h[-1] + p["bias_out"]
    prob = np.exp(out - out.max())
    prob /= prob.sum()
    prob[y[0]] -= 1.0
    dh_T = p["weight_out"].T @ prob
    T = task.length
    expect = np.array([sigma ** (T - k) * np.linalg.norm(dh_T) * np.linalg.norm(h[k - 1]) for k in range(1, T + 1)])
    np.testing.assert_allclose(contribution_norms(model, x, y), expect, rtol=1e-12, atol=1e-300)


def _summary(**kw):
    s = {"grad_h1_init": 8.2e-5, "grad_h1_final": 1.3e-7, "grad_hT_init": 0.4, "grad_hT_final": 6e-4,
         "log10_ratio_h1_init": -3.7, "log10_ratio_h1_final": -3.6, "test_loss": 0.001, "chance_loss": 1.386}
    s.update(kw)
    return s


def test_explanation_of_a_falling_first_gradient():
    # the case: the trained LSTM's ‖∂ℓ/∂h₁‖ falls because the loss is near zero
    text = explain_reach(_summary())
    assert "Mostly the loss" in text and "10^-3.7 to 10^-3.6 (+0.1)" in text
    assert "(-2.8 decades)" in text and "(-2.8)" in text          # log10(1.3e-7/8.2e-5), log10(6e-4/0.4)
    closed = explain_reach(_summary(log10_ratio_h1_final=-9.0, grad_h1_final=1e-11, grad_hT_final=0.1))
    assert "Mostly the path" in closed and "(-5.3)" in closed
    rose = explain_reach(_summary(grad_h1_final=1e-3))
    assert rose.startswith("‖∂ℓ/∂h₁‖ went from") and "more gradient reaches the first token" in rose


def test_readme_per_step_factors_on_a_reduced_run():
    """The README's 'falls by about ×a a step for the RNN, ×b for the GRU and ×c for the LSTM',
    re-measured with three seeds, two gaps and 64 probe sequences instead of ten seeds, four gaps
    and 256 (benchmarks/training_claims.py)."""
    from benchmarks.training_claims import decay_per_step
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"×(\d\.\d+) a step for the RNN, ×(\d\.\d+) for the GRU and ×(\d\.\d+) for the LSTM", text)
    assert m, "the README states the per-step factors"
    claimed = dict(zip(("rnn", "gru", "lstm"), map(float, m.groups())))
    measured = decay_per_step(gaps=(20, 80), seeds=(0, 1, 2), probe=64)
    for cell, value in claimed.items():
        assert measured[cell][0] == pytest.approx(value, abs=0.03), cell
    assert claimed["rnn"] < claimed["gru"] < claimed["lstm"] < 1.0
