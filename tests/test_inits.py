"""Initialisations from the literature, each against what it promises: chrono (Tallec & Ollivier
2018) spreads the gates' forgetting times over [2, T_max] with the value in one of PyTorch's two
biases; IRNN (Le, Jaitly & Hinton 2015) is a ReLU RNN with W_hh = I exactly, through whose active
units the gradient passes unchanged; orthogonal W_hh blocks have WᵀW = I."""
import numpy as np
import pytest
from gatescope.core.cells import sigmoid, split_state, step
from gatescope.core.simulate import simulate
from gatescope.core.training.contributions import hidden_grad_norms
from gatescope.core.training.fields import TrainError, validate_config
from gatescope.core.training.inits import init_model
from gatescope.core.training.tasks import make_batch, make_task
from gatescope.core.training.train import TrainConfig, Trainer, forward

N, T_MAX = 256, 300


def _ks_uniform(sample, lo, hi) -> float:
    """Kolmogorov–Smirnov distance between the sample's empirical CDF and U[lo, hi]."""
    u = np.sort((np.asarray(sample) - lo) / (hi - lo))
    k = np.arange(1, len(u) + 1)
    return float(max(np.max(k / len(u) - u), np.max(u - (k - 1) / len(u))))


def test_chrono_lstm_forgetting_times_span_one_to_t_max():
    m = init_model("lstm", 5, N, 3, seed=2, init="chrono", t_max=T_MAX)
    p, n = m.params, N
    b_f, b_i = p["bias_ih"][n:2 * n], p["bias_ih"][:n]
    # PyTorch adds bias_ih and bias_hh: the value sits in one of them, the other is 0
    assert np.all(p["bias_hh"][:2 * n] == 0.0)
    np.testing.assert_array_equal(b_i, -b_f)
    tau = 1.0 / (1.0 - sigmoid(b_f))                       # characteristic forgetting time
    assert np.all(tau >= 2.0 - 1e-12) and np.all(tau <= T_MAX + 1e-9)
    # τ − 1 = e^{b_f} = u ~ U[1, T_max − 1]: the times spread over the whole range
    assert _ks_uniform(tau - 1.0, 1.0, T_MAX - 1.0) < 1.63 / np.sqrt(n)      # KS at α = 0.01
    assert tau.min() < 2.0 + 0.05 * T_MAX and tau.max() > 0.95 * T_MAX
    # the other gates keep PyTorch's default: the same draws as the default init
    d = init_model("lstm", 5, N, 3, seed=2)
    for name in ("weight_ih", "weight_hh", "weight_out", "bias_out"):
        np.testing.assert_array_equal(p[name], d.params[name])
    np.testing.assert_array_equal(p["bias_ih"][2 * n:], d.params["bias_ih"][2 * n:])


def test_chrono_lstm_forget_gate_in_the_forward_pass_is_sigma_of_the_bias():
    """With no input weight and no recurrence on the f rows, the forward pass's f_t is σ(b_f)."""
    m = init_model("lstm", 3, 16, 2, seed=0, init="chrono", t_max=50)
    p = {k: v.copy() for k, v in m.params.items()}
    p["weight_ih"][16:32] = 0.0
    p["weight_hh"][16:32] = 0.0
    from gatescope.core.training.train import Model
    cache = forward(Model("lstm", p), np.random.default_rng(0).standard_normal((4, 2, 3)))
    np.testing.assert_allclose(cache["f"], np.broadcast_to(sigmoid(p["bias_ih"][16:32]), cache["f"].shape),
                               rtol=1e-15)


@pytest.mark.parametrize("convention", ["pytorch", "seed"])
def test_chrono_gru_keeping_gate_spans_the_same_times(convention):
    n = 128
    m = init_model("gru", 4, n, 2, seed=1, init="chrono", convention=convention, t_max=T_MAX)
    b_z = m.params["bias_ih"][n:2 * n]
    assert np.all(m.params["bias_hh"][n:2 * n] == 0.0)
    # PyTorch's form keeps with z (h' = (1−z)n + zh), the notes' form with 1 − z
    keep = sigmoid(b_z) if convention == "pytorch" else 1.0 - sigmoid(b_z)
    tau = 1.0 / (1.0 - keep)
    assert np.all(tau >= 2.0 - 1e-9) and np.all(tau <= T_MAX + 1e-6)
    assert _ks_uniform(tau - 1.0, 1.0, T_MAX - 1.0) < 1.63 / np.sqrt(n)


def test_chrono_is_refused_for_the_plain_rnn():
    with pytest.raises(TrainError, match="gate biases"):
        init_model("rnn", 3, 4, 2, init="chrono")
    with pytest.raises(TrainError, match="gate biases"):
        validate_config(TrainConfig(cell="rnn", init="chrono"))


def test_irnn_is_a_relu_rnn_with_identity_recurrence():
    m = init_model("rnn", 2, 8, 1, seed=3, init="irnn", nonlinearity="relu")
    assert m.nonlinearity == "relu"
    assert np.array_equal(m.params["weight_hh"], np.eye(8))
    assert np.all(m.params["bias_ih"] == 0.0) and np.all(m.params["bias_hh"] == 0.0)
    for bad in ({"kind": "lstm", "nonlinearity": "relu"}, {"kind": "rnn", "nonlinearity": "tanh"}):
        with pytest.raises(TrainError, match="IRNN"):
            init_model(bad["kind"], 2, 8, 1, init="irnn", nonlinearity=bad["nonlinearity"])


def test_irnn_on_the_adding_problem_passes_the_gradient_through_active_units_unchanged():
    """h_t = relu(h_{t−1} + W_ih x_t): ∂h_t/∂h_{t−1} = diag(1[h_t > 0]), so
    ∂ℓ/∂h_k = (∏_{t>k} diag(1[h_t > 0])) ∂ℓ/∂h_T exactly (the states from core.simulate)."""
    cfg = TrainConfig(task="adding", gap=30, cell="rnn", init="irnn", nonlinearity="relu", hidden=6,
                      test_size=8, iters=0)
    trainer = Trainer(cfg)
    model, task = trainer.model, trainer.task
    assert np.array_equal(model.params["weight_hh"], np.eye(6)) and model.nonlinearity == "relu"
    x, y = make_batch(task, 3, np.random.default_rng(5))
    g = hidden_grad_norms(model, x, y, regression=True)
    out_w = model.params["weight_out"][0]
    for b in range(3):
        h = simulate(model.cell(), x[:, b]).h                  # (T+1, n)
        err = model.params["weight_out"] @ h[-1] + model.params["bias_out"] - y[b]
        dh_T = 2.0 * err[0] * out_w
        active = h[1:] > 0                                     # (T, n): units active after step t
        for k in range(1, task.length + 1):
            mask = np.all(active[k:], axis=0) if k < task.length else np.ones(6, bool)
            assert g.h[b, k - 1] == pytest.approx(np.linalg.norm(dh_T * mask), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_orthogonal_recurrent_blocks(kind):
    n = 12
    m = init_model(kind, 3, n, 2, seed=4, init="orthogonal")
    w = m.params["weight_hh"]
    blocks = [w[g * n:(g + 1) * n] for g in range(w.shape[0] // n)]
    for q in blocks:
        np.testing.assert_allclose(q.T @ q, np.eye(n), rtol=0, atol=1e-12)
        np.testing.assert_allclose(q @ q.T, np.eye(n), rtol=0, atol=1e-12)
    if len(blocks) > 1:
        assert not np.allclose(blocks[0], blocks[1])               # independent blocks
    # an identity RNN with an orthogonal W keeps every state's norm: h_t = W h_{t−1}
    if kind == "rnn":
        cell = init_model("rnn", 3, n, 2, seed=4, init="orthogonal", nonlinearity="identity").cell()
        s = np.random.default_rng(0).standard_normal(n)
        cell0 = type(cell)("rnn", np.zeros((n, 3)), cell.weight_hh, np.zeros(n), np.zeros(n), "identity")
        s1 = split_state(cell0, step(cell0, np.zeros(3), s))[0]
        assert np.linalg.norm(s1) == pytest.approx(np.linalg.norm(s), rel=1e-12)


def test_default_init_is_pytorch_uniform_and_unchanged_by_the_other_options():
    n, d = 10, 4
    m = init_model("lstm", d, n, 3, seed=7, forget_bias=2.5)
    rng = np.random.default_rng((7, 0))                       # the documented stream, drawn in order
    k = 1 / np.sqrt(n)
    expect = [rng.uniform(-k, k, (4 * n, d)), rng.uniform(-k, k, (4 * n, n)), rng.uniform(-k, k, 4 * n),
              rng.uniform(-k, k, 4 * n), rng.uniform(-k, k, (3, n)), rng.uniform(-k, k, 3)]
    expect[2][n:2 * n], expect[3][n:2 * n] = 2.5, 0.0
    for name, e in zip(("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_out", "bias_out"), expect):
        np.testing.assert_array_equal(m.params[name], e)


def test_each_init_is_an_option_of_a_run():
    for init, extra in (("chrono", {"cell": "gru"}), ("orthogonal", {"cell": "lstm"}),
                        ("irnn", {"cell": "rnn", "nonlinearity": "relu", "task": "adding"})):
        r = Trainer(TrainConfig(init=init, hidden=4, test_size=8, iters=1, gap=6, **extra))
        assert r.model.kind == extra["cell"]
    task = make_task("france", 10)
    chrono = Trainer(TrainConfig(init="chrono", cell="lstm", gap=10, hidden=64, test_size=8, iters=0))
    tau = 1 / (1 - sigmoid(chrono.model.params["bias_ih"][64:128]))
    assert tau.max() <= task.length + 1e-9                      # T_max is the run's sequence length
