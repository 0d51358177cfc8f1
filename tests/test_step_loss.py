"""The loss read at every step (core.training.step_loss): its value by an independent route
(core.simulate sequence by sequence, the readout and the gate cost by hand at every step), its
gradients against central finite differences for every parameter of every cell (class targets,
target distributions, the LSTM's gate cost), and BPTT's dh_steps hook."""
import numpy as np
import pytest
from gatescope.core.simulate import simulate
from gatescope.core.training.bptt import backward, forward, loss_and_grads
from gatescope.core.training.step_loss import step_loss_and_grads, step_loss_value
from gatescope.core.training.train import Model, init_model

CASES = [("rnn", "tanh", "pytorch"), ("lstm", "tanh", "pytorch"), ("gru", "tanh", "pytorch"),
         ("gru", "tanh", "seed")]


def _model(kind, nl, conv, d=3, n=3, C=2, seed=1, scale=2.0):
    m = init_model(kind, d, n, C, seed=seed, nonlinearity=nl, convention=conv)
    return Model(kind, {k: v * scale for k, v in m.params.items()}, nl, conv)


def _loss_ref(model, x, y, w, lam=0.0):
    """Σ w_{t,b} (−Σ_c q_{t,b,c} log softmax(W_out h_t + b_out)[c]) / Σ w, plus
    λ Σ (i + 1 − f + 1 − o) / (T B n) over the LSTM's gates, through core.simulate (its own gates), one
    sequence and one step at a time; y: classes (B,) or distributions (T, B, C)."""
    cell, p = model.cell(), model.params
    T, B = x.shape[:2]
    total = cost = 0.0
    for b in range(B):
        run = simulate(cell, x[:, b])
        for t, h in enumerate(run.h[1:]):
            z = p["weight_out"] @ h + p["bias_out"]
            logp = z - np.log(np.sum(np.exp(z)))
            q = np.eye(len(z))[y[b]] if np.ndim(y) == 1 else y[t, b]
            total -= w[t, b] * float(q @ logp)
            if lam:
                cost += sum(run.gates["i"][t][j] + 2.0 - run.gates["f"][t][j] - run.gates["o"][t][j]
                            for j in range(cell.hidden_size))
    return total / w.sum() + lam * cost / (T * B * cell.hidden_size)


def _data(T=5, B=3, d=3, seed=7, soft=False):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((T, B, d))
    y = rng.integers(0, 2, B)
    if soft:
        q = rng.uniform(0.05, 0.95, (T, B))
        y = np.stack([1.0 - q, q], axis=2)
    w = rng.uniform(0.2, 2.0, (T, B))
    return x, y, w


@pytest.mark.parametrize("kind,nl,conv,soft,lam", [c + (False, 0.0) for c in CASES]
                         + [("lstm", "tanh", "pytorch", True, 0.0), ("lstm", "tanh", "pytorch", True, 0.7),
                            ("gru", "tanh", "pytorch", True, 0.0)])
def test_step_loss_gradients_match_central_differences(kind, nl, conv, soft, lam):
    model = _model(kind, nl, conv)
    x, y, w = _data(soft=soft)
    loss, grads, _ = step_loss_and_grads(model, x, y, w, penalty=lam)
    assert loss == pytest.approx(_loss_ref(model, x, y, w, lam), rel=1e-12)
    assert step_loss_value(model, x, y, w, penalty=lam) == pytest.approx(loss, rel=1e-14)
    if lam:                                   # the gate cost is a real part of the loss checked
        assert loss - step_loss_value(model, x, y, w) > 0.01 * loss
    eps = 1e-6
    for name, p in model.params.items():
        num = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            vals = []
            for sgn in (1.0, -1.0):
                q = dict(model.params)
                q[name] = p.copy()
                q[name][idx] += sgn * eps
                vals.append(_loss_ref(Model(kind, q, nl, conv), x, y, w, lam))
            num[idx] = (vals[0] - vals[1]) / (2 * eps)
        np.testing.assert_allclose(grads[name], num, rtol=1e-6, atol=1e-8 * max(1.0, np.abs(num).max()),
                                   err_msg=f"{kind}/{conv}: {name}")
        assert np.abs(num).max() > 1e-6, f"{name}: the check would be vacuous"


def test_default_weights_are_the_mean_and_only_the_last_step_is_the_labs_loss():
    model = _model("lstm", "tanh", "pytorch")
    x, y, _ = _data()
    ones = np.ones((x.shape[0], x.shape[1]))
    assert step_loss_value(model, x, y) == pytest.approx(_loss_ref(model, x, y, ones), rel=1e-12)
    last = np.zeros_like(ones)
    last[-1] = 1.0
    l1, g1, a1 = step_loss_and_grads(model, x, y, last)
    l0, g0, a0 = loss_and_grads(model, x, y)
    assert (l1, a1) == (pytest.approx(l0, rel=1e-12), a0)
    for k in g0:
        np.testing.assert_allclose(g1[k], g0[k], rtol=1e-10, atol=1e-14)


def test_backward_without_dh_steps_is_unchanged_and_a_last_step_injection_equals_dh_last():
    model = _model("gru", "tanh", "pytorch")
    x, _, _ = _data()
    cache = forward(model, x)
    rng = np.random.default_rng(2)
    dh = rng.standard_normal((x.shape[1], model.hidden_size))
    steps = np.zeros((x.shape[0], x.shape[1], model.hidden_size))
    steps[-1] = dh
    a, ra = backward(model, cache, dh, record=True)
    b, rb = backward(model, cache, np.zeros_like(dh), record=True, dh_steps=steps)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ra["h"], rb["h"], rtol=1e-13, atol=1e-15)


def test_the_gate_cost_is_refused_for_cells_without_lstm_gates():
    x, y, _ = _data()
    with pytest.raises(ValueError, match="LSTM"):
        step_loss_and_grads(_model("gru", "tanh", "pytorch"), x, y, penalty=0.1)
    with pytest.raises(ValueError, match="targets must be"):
        step_loss_and_grads(_model("lstm", "tanh", "pytorch"), x, np.zeros((x.shape[0] + 1, x.shape[1], 2)))
    cache = forward(_model("rnn", "tanh", "pytorch"), x)
    with pytest.raises(ValueError, match="LSTM"):
        backward(_model("rnn", "tanh", "pytorch"), cache, np.zeros((x.shape[1], 3)),
                 dpre_steps=np.zeros((x.shape[0], x.shape[1], 3)))
