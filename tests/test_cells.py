"""Cells: analytic Jacobians against central finite differences, gates in range, an independent
implementation of each kind and GRU convention written in the notes' concatenated form."""
import numpy as np
import pytest
from gatescope.core import make_cell, simulate, state_jacobian, step
from gatescope.core.cells import GATE_BLOCKS, sigmoid
from hypothesis import given, settings
from hypothesis import strategies as st


def random_cell(kind, n, d, rng, scale=1.0, nonlinearity="tanh", convention="pytorch"):
    g = GATE_BLOCKS[kind]
    return make_cell(kind, scale * rng.standard_normal((g * n, d)),
                     scale * rng.standard_normal((g * n, n)) / np.sqrt(n),
                     scale * rng.standard_normal(g * n), scale * rng.standard_normal(g * n),
                     nonlinearity=nonlinearity, convention=convention)


def fd_jacobian(cell, x, s, eps=1e-6):
    m = s.size
    J = np.empty((m, m))
    for j in range(m):
        e = np.zeros(m)
        e[j] = eps
        J[:, j] = (step(cell, x, s + e) - step(cell, x, s - e)) / (2 * eps)
    return J


cell_params = st.tuples(
    st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 6), st.integers(1, 4),
    st.sampled_from(["tanh", "sigmoid", "identity", "relu"]), st.sampled_from(["seed", "pytorch"]),
    st.floats(0.1, 2.0), st.integers(0, 2**31 - 1))


@settings(max_examples=150, deadline=None)
@given(cell_params)
def test_jacobian_matches_central_differences(params):
    kind, n, d, nl, conv, scale, seed = params
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, scale, nl, conv)
    x = rng.standard_normal(d)
    s = rng.standard_normal(cell.state_size)
    if nl == "relu" and kind == "rnn":
        # keep pre-activations away from ReLU's kink, where the derivative jumps
        a = cell.weight_ih @ x + cell.bias_ih + cell.weight_hh @ s + cell.bias_hh
        if np.min(np.abs(a)) < 1e-3:
            return
    J = state_jacobian(cell, x, s)
    assert J.shape == (cell.state_size, cell.state_size)
    np.testing.assert_allclose(J, fd_jacobian(cell, x, s), rtol=1e-6, atol=1e-7)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(["lstm", "gru"]), st.integers(1, 8), st.integers(1, 20),
       st.floats(0.1, 10.0), st.integers(0, 1000))
def test_gates_in_unit_interval_and_shapes(kind, n, T, scale, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 3, rng, scale)
    tr = simulate(cell, scale * rng.standard_normal((T, 3)))
    assert tr.h.shape == (T + 1, n)
    assert (tr.c is None) == (kind != "lstm")
    assert set(tr.gates) == ({"i", "f", "g", "o"} if kind == "lstm" else {"r", "z", "n"})
    for name, a in tr.gates.items():
        assert a.shape == (T, n)
        lo = -1.0 if name in ("g", "n") else 0.0
        assert np.all((a >= lo) & (a <= 1.0)), name
    assert tr.log10_jac_norm.shape == (T + 1,) and tr.log10_jac_norm[0] == 0
    assert np.all(np.isfinite(tr.log10_jac_norm))


def test_rnn_trace_has_preactivation_and_slope():
    rng = np.random.default_rng(3)
    cell = random_cell("rnn", 5, 2, rng)
    x = rng.standard_normal((7, 2))
    tr = simulate(cell, x)
    assert tr.gates == {}
    np.testing.assert_allclose(tr.slope, 1 - np.tanh(tr.preact) ** 2)
    np.testing.assert_allclose(tr.h[1:], np.tanh(tr.preact))


# --- independent implementations in the notes' concatenated form W·[h, x] + b ---------------------

def notes_lstm(W, b, x, h, c):
    """Olah / the notes: f = σ(W_f·[h, x] + b_f), …, C = f*C + i*C̃, h = o*tanh(C)."""
    n = h.size
    hx = np.concatenate([h, x])
    i, f, g, o = (W[k * n:(k + 1) * n] @ hx + b[k * n:(k + 1) * n] for k in range(4))
    c = 1 / (1 + np.exp(-f)) * c + 1 / (1 + np.exp(-i)) * np.tanh(g)
    return 1 / (1 + np.exp(-o)) * np.tanh(c), c


def notes_gru(W, b, x, h, convention, b_hn):
    n = h.size
    hx = np.concatenate([h, x])
    r = 1 / (1 + np.exp(-(W[:n] @ hx + b[:n])))          # the notes print W_z here: a typo for W_r
    z = 1 / (1 + np.exp(-(W[n:2 * n] @ hx + b[n:2 * n])))
    Wn_h, Wn_x = W[2 * n:, :n], W[2 * n:, n:]
    if convention == "seed":
        cand = np.tanh(Wn_h @ (r * h) + Wn_x @ x + b[2 * n:] + b_hn)
        return (1 - z) * h + z * cand
    cand = np.tanh(Wn_x @ x + b[2 * n:] + r * (Wn_h @ h + b_hn))
    return (1 - z) * cand + z * h


@pytest.mark.parametrize("kind", ["lstm", "gru-seed", "gru-pytorch"])
def test_step_matches_independent_concatenated_form(kind):
    rng = np.random.default_rng(11)
    n, d = 4, 3
    base = kind.split("-")[0]
    conv = kind.split("-")[1] if "-" in kind else "pytorch"
    cell = random_cell(base, n, d, rng, 1.0, convention=conv)
    W = np.hstack([cell.weight_hh, cell.weight_ih])
    x, h = rng.standard_normal(d), rng.standard_normal(n)
    if base == "lstm":
        c = rng.standard_normal(n)
        h2, c2 = notes_lstm(W, cell.bias_ih + cell.bias_hh, x, h, c)
        np.testing.assert_allclose(step(cell, x, np.concatenate([h, c])), np.concatenate([h2, c2]),
                                   rtol=1e-12, atol=1e-14)
    else:
        b = cell.bias_ih.copy()
        b[:2 * n] += cell.bias_hh[:2 * n]
        h2 = notes_gru(W, b, x, h, conv, cell.bias_hh[2 * n:])
        np.testing.assert_allclose(step(cell, x, h), h2, rtol=1e-12, atol=1e-14)


def test_gru_conventions_differ():
    rng = np.random.default_rng(5)
    a = random_cell("gru", 4, 2, np.random.default_rng(1), convention="seed")
    b = make_cell("gru", a.weight_ih, a.weight_hh, a.bias_ih, a.bias_hh, convention="pytorch")
    x, h = rng.standard_normal(2), rng.standard_normal(4)
    assert not np.allclose(step(a, x, h), step(b, x, h))


def test_sigmoid_is_stable_at_extremes():
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        v = sigmoid(np.array([-1e308, -800.0, 0.0, 800.0, 1e308]))
    np.testing.assert_array_equal(v, [0.0, 0.0, 0.5, 1.0, 1.0])


@pytest.mark.parametrize("bad, msg", [
    (dict(kind="cnn"), "unknown cell kind"),
    (dict(nonlinearity="gelu"), "unknown nonlinearity"),
    (dict(convention="keras"), "unknown GRU convention"),
    (dict(weight_hh=np.zeros((5, 4))), "needs (4, 4)"),
    (dict(weight_ih=np.zeros((3, 2))), "weight_ih has shape"),
    (dict(bias_ih=np.zeros(3)), "bias_ih has shape"),
    (dict(weight_hh=np.full((4, 4), np.nan)), "NaN"),
])
def test_make_cell_rejects_bad_input(bad, msg):
    args = dict(kind="rnn", weight_ih=np.zeros((4, 2)), weight_hh=np.zeros((4, 4)), bias_ih=None,
                bias_hh=None, nonlinearity="tanh", convention="pytorch")
    args.update(bad)
    kind = args.pop("kind")
    with pytest.raises(ValueError, match=msg.replace("(", r"\(").replace(")", r"\)")):
        make_cell(kind, args.pop("weight_ih"), args.pop("weight_hh"), **args)


@settings(max_examples=60, deadline=None)
@given(cell_params)
def test_the_reference_step_takes_a_batch_row_by_row(params):
    from gatescope.core.cells import join_state, split_state, step_cache
    kind, n, d, nl, conv, scale, seed = params
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, scale, nl, conv)
    xs, ss = rng.standard_normal((4, d)), rng.standard_normal((4, cell.state_size))
    h, c = split_state(cell, ss)
    batch = join_state(cell, step_cache(cell, xs @ cell.weight_ih.T + cell.bias_ih, h, c))
    rows = np.stack([step(cell, x, s) for x, s in zip(xs, ss)])
    np.testing.assert_allclose(batch, rows, rtol=1e-13, atol=1e-15)
