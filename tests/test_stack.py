"""core.stack: layers × directions, input Jacobians, and ‖∂S_t/∂S_0‖ of the stacked state,
checked against central finite differences, explicit products with an SVD, core.simulate and a
closed form far beyond float range."""
import numpy as np
import pytest
from gatescope.core import make_cell, simulate
from gatescope.core.stack import (
    StackError,
    direction_forward,
    input_jacobian,
    make_direction,
    make_stack,
    run_stack,
    stack_step,
    state_jacobian_p,
)


def rand_direction(rng, kind, d, n, p=None, scale=0.8, **kw):
    G = {"rnn": 1, "lstm": 4, "gru": 3}[kind]
    cols = p or n
    return make_direction(kind, scale * rng.standard_normal((G * n, d)),
                          scale * rng.standard_normal((G * n, cols)), 0.3 * rng.standard_normal(G * n),
                          0.3 * rng.standard_normal(G * n),
                          None if p is None else scale * rng.standard_normal((p, n)), **kw)


def rand_stack(rng, specs, d=3, bidirectional=False):
    """specs: list of (kind, n, p or None, options) per layer."""
    layers, inp = [], d
    for kind, n, p, kw in specs:
        dirs = [rand_direction(rng, kind, inp, n, p, **kw) for _ in range(2 if bidirectional else 1)]
        layers.append(dirs)
        inp = (2 if bidirectional else 1) * (p or n)
    return make_stack(layers)


SPECS = {
    "rnn-tanh-3": [("rnn", 3, None, {}), ("rnn", 4, None, {}), ("rnn", 3, None, {})],
    "lstm-2": [("lstm", 3, None, {}), ("lstm", 2, None, {})],
    "lstm-proj-2": [("lstm", 4, 2, {}), ("lstm", 3, 2, {})],
    "gru-pytorch-2": [("gru", 3, None, {}), ("gru", 3, None, {})],
    "gru-seed-2": [("gru", 3, None, {"convention": "seed"}), ("gru", 2, None, {"convention": "seed"})],
    "mixed": [("gru", 3, None, {}), ("lstm", 3, 2, {}), ("rnn", 2, None, {"nonlinearity": "tanh"})],
}


def fd_jacobian(f, v, eps=1e-6):
    cols = []
    for k in range(v.size):
        e = np.zeros_like(v)
        e[k] = eps
        cols.append((f(v + e) - f(v - e)) / (2 * eps))
    return np.stack(cols, axis=1)


def initial_state(stack, rng):
    return 0.3 * rng.standard_normal(stack.state_size)


def split_initial(stack, S):
    h0, c0, k = [], [], 0
    for _, _, d in stack.directions():
        s = S[k:k + d.state_size]
        h0.append(s[:d.output_size])
        c0.append(s[d.output_size:] if d.kind == "lstm" else None)
        k += d.state_size
    return h0, c0


@pytest.mark.parametrize("name", sorted(SPECS))
def test_stacked_norm_matches_finite_difference_product(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    stack = rand_stack(rng, SPECS[name])
    T = 6
    x = rng.standard_normal((T, stack.input_size))
    S0 = initial_state(stack, rng)
    h0, c0 = split_initial(stack, S0)
    trace = run_stack(stack, x, h0, c0)
    # independent: finite-difference Jacobians of the stacked step, multiplied out, SVD
    S, P = S0.copy(), np.eye(stack.state_size)
    for t in range(T):
        M = fd_jacobian(lambda s, t=t: stack_step(stack, x[t], s), S)
        P = M @ P
        S = stack_step(stack, x[t], S)
        want = np.log10(np.linalg.svd(P, compute_uv=False)[0])
        assert trace.log10_jac_norm[t + 1] == pytest.approx(want, abs=1e-6)
        # each layer on its own = the diagonal block of the stacked product
        k = 0
        for layer, traces in zip(stack.layers, trace.traces):
            m = layer[0].state_size
            block = np.log10(np.linalg.svd(P[k:k + m, k:k + m], compute_uv=False)[0])
            assert traces[0].log10_jac_norm[t + 1] == pytest.approx(block, abs=1e-6)
            k += m
    # the stacked state at T is the layers' final states (h_n, and c_n for the LSTM layers)
    cs = iter(trace.c_n or ())
    final = [np.concatenate([h, next(cs)]) if d.kind == "lstm" else h
             for h, (_, _, d) in zip(trace.h_n, stack.directions())]
    np.testing.assert_allclose(np.concatenate(final), S, atol=1e-12)


@pytest.mark.parametrize("kind, p, kw", [("rnn", None, {"nonlinearity": "tanh"}),
                                          ("rnn", None, {"nonlinearity": "sigmoid"}),
                                          ("lstm", None, {}), ("lstm", 2, {}), ("gru", None, {}),
                                          ("gru", None, {"convention": "seed"})])
def test_input_jacobian_matches_finite_differences(kind, p, kw):
    rng = np.random.default_rng(3)
    d = rand_direction(rng, kind, 3, 4, p, **kw)
    x = rng.standard_normal(3)
    h = 0.4 * rng.standard_normal(d.output_size)
    c = 0.4 * rng.standard_normal(d.hidden_size) if kind == "lstm" else None

    def step(v):
        cache = direction_forward(d, v[None], h, c)
        return cache["h"][0] if c is None else np.concatenate([cache["h"][0], cache["c"][0]])

    cache = direction_forward(d, x[None], h, c)
    B = input_jacobian(d, {k: v for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2})[0]
    np.testing.assert_allclose(B, fd_jacobian(step, x), atol=1e-8)


def test_projected_lstm_state_jacobian_matches_finite_differences():
    rng = np.random.default_rng(4)
    d = rand_direction(rng, "lstm", 2, 5, 3, scale=1.2)
    x = rng.standard_normal(2)
    s = 0.5 * rng.standard_normal(d.state_size)

    def step(v):
        cache = direction_forward(d, x[None], v[:3], v[3:])
        return np.concatenate([cache["h"][0], cache["c"][0]])

    cache = direction_forward(d, x[None], s[:3], s[3:])
    J = state_jacobian_p(d, {k: v for k, v in cache.items() if isinstance(v, np.ndarray) and v.ndim == 2})[0]
    np.testing.assert_allclose(J, fd_jacobian(step, s), atol=1e-8)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_one_layer_stack_is_core_simulate(kind):
    rng = np.random.default_rng(5)
    cell = make_cell(kind, rng.standard_normal(({"rnn": 1, "lstm": 4, "gru": 3}[kind] * 4, 3)),
                     rng.standard_normal(({"rnn": 1, "lstm": 4, "gru": 3}[kind] * 4, 4)))
    stack = make_stack([[make_direction(kind, cell.weight_ih, cell.weight_hh)]])
    x = rng.standard_normal((30, 3))
    tr, ref = run_stack(stack, x), simulate(cell, x)
    np.testing.assert_array_equal(tr.traces[0][0].h, ref.h)
    np.testing.assert_array_equal(tr.output, ref.h[1:])
    np.testing.assert_allclose(tr.log10_jac_norm, ref.log10_jac_norm, atol=1e-9)


def test_bidirectional_reverse_pass_is_the_cell_on_reversed_inputs():
    rng = np.random.default_rng(6)
    stack = rand_stack(rng, [("gru", 3, None, {}), ("lstm", 2, None, {})], bidirectional=True)
    x = rng.standard_normal((9, 3))
    tr = run_stack(stack, x)
    assert tr.log10_jac_norm is None and tr.output.shape == (9, 4)
    rev = stack.direction(0, reverse=True).cell
    ref = simulate(rev, x[::-1])
    np.testing.assert_array_equal(tr.traces[0][1].h, ref.h)
    fwd = simulate(stack.direction(0).cell, x)
    np.testing.assert_array_equal(tr.outputs[0], np.hstack([fwd.h[1:], ref.h[1:][::-1]]))
    # layer 1 reads layer 0's concatenated output
    ref1 = simulate(stack.direction(1).cell, tr.outputs[0])
    np.testing.assert_array_equal(tr.traces[1][0].h, ref1.h)
    assert len(tr.h_n) == 4 and tr.h_n_array is None          # layers of 3 and 2 units
    assert len(tr.c_n) == 2 and tr.c_n_array.shape == (2, 2)   # the LSTM layer's two directions
    np.testing.assert_array_equal(tr.h_n[1], ref.h[-1])


def test_mixed_directions_a_bidirectional_layer_then_a_forward_one():
    rng = np.random.default_rng(9)
    l0 = [rand_direction(rng, "lstm", 3, 2), rand_direction(rng, "lstm", 3, 2)]
    l1 = [rand_direction(rng, "gru", 4, 3)]
    stack = make_stack([l0, l1])
    x = rng.standard_normal((6, 3))
    tr = run_stack(stack, x)
    assert stack.bidirectional and tr.log10_jac_norm is None and len(tr.h_n) == 3
    rev = simulate(l0[1].cell, x[::-1])
    feats = np.hstack([simulate(l0[0].cell, x).h[1:], rev.h[1:][::-1]])
    np.testing.assert_array_equal(tr.traces[1][0].h, simulate(l1[0].cell, feats).h)
    assert "directions 2/1" in stack.describe()


def test_stacked_norm_exact_beyond_float_range():
    """Identity RNN layers W = a·Q with the second layer's input weights zero: ∂S_t/∂S_0 =
    diag((aQ₁)ᵗ, (bQ₂)ᵗ), so ‖·‖ = max(a, b)ᵗ exactly: 2¹⁵⁰⁰ ≈ 10⁴⁵¹."""
    rng = np.random.default_rng(7)
    Q1, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    Q2, _ = np.linalg.qr(rng.standard_normal((2, 2)))
    l0 = make_direction("rnn", 1e-3 * rng.standard_normal((3, 2)), 2.0 * Q1, nonlinearity="identity")
    l1 = make_direction("rnn", np.zeros((2, 3)), 1.5 * Q2, nonlinearity="identity")
    stack = make_stack([[l0], [l1]])
    T = 1500
    tr = run_stack(stack, np.zeros((T, 2)))
    np.testing.assert_allclose(tr.log10_jac_norm, np.arange(T + 1) * np.log10(2.0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(tr.traces[1][0].log10_jac_norm, np.arange(T + 1) * np.log10(1.5), atol=1e-9)


def test_coupled_stack_grows_like_the_closed_form():
    """Two scalar identity layers, h¹' = a h¹, h²' = w h¹' + b h²: ∂S_t/∂S_0 = [[aᵗ, 0],
    [w Σ_{k} a^k b^(t−k)·a/a…, bᵗ]] — the explicit 2×2 product, and its norm from an SVD."""
    a, b, w = 1.3, 0.7, 0.9
    stack = make_stack([[make_direction("rnn", [[1.0]], [[a]], nonlinearity="identity")],
                        [make_direction("rnn", [[w]], [[b]], nonlinearity="identity")]])
    T = 40
    tr = run_stack(stack, np.zeros((T, 1)))
    M = np.array([[a, 0.0], [w * a, b]])        # h²' = w (a h¹) + b h²
    P = np.eye(2)
    for t in range(1, T + 1):
        P = M @ P
        assert tr.log10_jac_norm[t] == pytest.approx(np.log10(np.linalg.svd(P, compute_uv=False)[0]),
                                                     abs=1e-10)


def test_all_relu_units_off_gives_minus_infinity():
    l0 = make_direction("rnn", [[1.0]], [[1.0]], [-5.0], [0.0], nonlinearity="relu")
    l1 = make_direction("rnn", [[1.0]], [[1.0]], [-5.0], [0.0], nonlinearity="relu")
    tr = run_stack(make_stack([[l0], [l1]]), np.zeros((4, 1)))
    assert tr.log10_jac_norm[0] == 0.0 and np.all(np.isneginf(tr.log10_jac_norm[1:]))


@pytest.mark.parametrize("layers, msg", [
    (lambda r: [[rand_direction(r, "rnn", 3, 4)], [rand_direction(r, "rnn", 3, 4)]], "layer 1 reads 3"),
    (lambda r: [[rand_direction(r, "rnn", 3, 4)], [rand_direction(r, "rnn", 4, 4)] * 3], "3 directions"),
    (lambda r: [[rand_direction(r, "rnn", 3, 4)] * 2, [rand_direction(r, "rnn", 4, 4)]], "layer 1 reads 4"),
    (lambda r: [], "at least one layer"),
])
def test_make_stack_refuses_mismatched_layers(layers, msg):
    with pytest.raises(StackError, match=msg):
        make_stack(layers(np.random.default_rng(0)))


def test_bad_directions_and_inputs_are_refused():
    rng = np.random.default_rng(1)
    with pytest.raises(StackError, match="weight_hh has shape"):
        make_direction("lstm", np.zeros((16, 2)), np.zeros((16, 3)), weight_hr=np.zeros((2, 4)))
    with pytest.raises(StackError, match="needs an LSTM"):
        make_direction("gru", np.zeros((12, 2)), np.zeros((12, 2)), weight_hr=np.zeros((2, 4)))
    with pytest.raises(StackError, match="NaN or infinite"):
        make_direction("lstm", np.zeros((16, 2)), np.full((16, 2), np.nan), weight_hr=np.zeros((2, 4)))
    stack = rand_stack(rng, [("rnn", 3, None, {})])
    with pytest.raises(StackError, match=r"inputs must have shape \(T, 3\)"):
        run_stack(stack, np.zeros((4, 2)))
    with pytest.raises(StackError, match="NaN"):
        run_stack(stack, np.full((4, 3), np.nan))
    big = make_stack([[make_direction("rnn", [[1.0]], [[1e200]], nonlinearity="identity")]] * 1)
    with pytest.raises(StackError, match="leaves float64 range at step"):
        run_stack(big, np.ones((5, 1)))


@pytest.mark.parametrize("act", ["linear", "softmax", "sigmoid", "tanh", "relu"])
def test_readout_jacobian_matches_finite_differences(act):
    from gatescope.core.models.readout import make_readout
    rng = np.random.default_rng(8)
    ro = make_readout(rng.standard_normal((3, 4)), rng.standard_normal(3), act)
    f = rng.standard_normal((2, 4))
    J = ro.jacobian(f)
    for t in range(2):
        np.testing.assert_allclose(J[t], fd_jacobian(lambda v: ro(v[None])[0], f[t]), atol=1e-8)


def test_progress_reaches_one_and_cancel_stops():
    from gatescope.core.simulate import Cancelled
    rng = np.random.default_rng(10)
    stack = rand_stack(rng, SPECS["lstm-2"])
    x = rng.standard_normal((300, 3))
    seen = []
    run_stack(stack, x, progress=lambda f: seen.append(f))
    assert seen and 0.0 <= min(seen) and max(seen) <= 1.0 and seen == sorted(seen)
    with pytest.raises(Cancelled):
        run_stack(stack, x, progress=lambda f: f < 0.6)
