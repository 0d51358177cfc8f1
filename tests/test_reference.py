"""The cell equations are written once: the reference step (cells.step_cache), its derivatives
(cells.step_vjp, cells.jacobian_from_cache) and the reference pass over a sequence
(core.reference) are checked against central differences; every fast path — core.simulate's
forward and factored Jacobian products, the training lab's batched forward and backward — is
checked against them to 1e-12, over random cells, inputs and states, saturated and extreme ones
included."""
import sys

import numpy as np
import pytest
from gatescope.core.cells import (
    CONVENTIONS,
    GATE_BLOCKS,
    KINDS,
    NONLINEARITIES,
    input_jacobian,
    input_jacobian_from_cache,
    jacobian_from_cache,
    make_cell,
    recurrent_input,
    split_state,
    step,
    step_cache,
    step_vjp,
)
from gatescope.core.reference import reference_backward, reference_forward, step_at
from gatescope.core.simulate import forward as fast_forward
from gatescope.core.training import train as training
from hypothesis import assume, given, settings
from hypothesis import strategies as st

SIM = sys.modules["gatescope.core.simulate"]
TOL = 1e-12
#: float64's smallest normal number: below it (subnormals) there is no relative precision left
TINY = np.finfo(np.float64).tiny


def assert_close(a, b, scale, what=""):
    """|a − b| ≤ TOL · scale + TINY (scale a number, or an array: entry by entry), and the same
    entries finite. `scale` is the size of what was computed: rounding errors are relative to the
    terms summed, not to a sum that cancels."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape, (what, a.shape, b.shape)
    assert np.array_equal(np.isfinite(a), np.isfinite(b)), what
    fin = np.isfinite(b)
    err = np.where(fin, np.abs(np.where(fin, a, 0.0) - np.where(fin, b, 0.0)), 0.0)
    bad = err > TOL * np.broadcast_to(scale, err.shape) + TINY
    assert not bad.any(), (f"{what}: error {err[bad].max():.3g} where {TOL:g} · scale is "
                           f"{TOL * np.broadcast_to(scale, err.shape)[bad].min():.3g}")


def dense(cell, stp):
    """(J, D_x, D_h) of one step (leading axes kept): ∂s_t/∂s_{t−1} (…, m, m) and ∂s_t/∂u_x,
    ∂s_t/∂u_h (…, m, G·n), row ρ by cells.step_vjp on e_ρ."""
    rows = {k: v[..., None, :] for k, v in stp.items()}
    return step_vjp(cell, rows, np.eye(cell.state_size))


def state_of(cell, stp):
    return np.concatenate([stp["h"], stp["c"]], axis=-1) if cell.kind == "lstm" else stp["h"]


def forward_scales(cell, ref, s0):
    """(T,) the size of step t's numbers and of their first-order rounding error (in units of
    the unit roundoff): e_t = |J_t| e_{t−1} + |D_x| ℓ_t + |s_t|, ℓ_t = |xw_t| + |W_hh||h_{t−1}| +
    |b_hh| (the pre-activations' terms); e_0 = |s_0|. Every entry of step t is compared on
    max(its values, ℓ_t + |W_hh| e_{t−1}, e_t)."""
    aw, ab, n = np.abs(cell.weight_hh), np.abs(cell.bias_hh), cell.hidden_size
    e = np.abs(s0)
    out = []
    for t in range(ref["T"]):
        stp = step_at(ref, t)
        J, Dx, _ = dense(cell, stp)
        ell = np.abs(stp["xw"]) + np.abs(stp["h_prev"]) @ aw.T + ab
        uerr = ell + e[..., :n] @ aw.T
        vals = max(float(np.max(np.abs(v))) for v in stp.values())
        e = (np.einsum("...ij,...j->...i", np.abs(J), e) + np.einsum("...ij,...j->...i", np.abs(Dx), ell)
             + np.abs(state_of(cell, stp)))
        out.append(max(vals, float(np.max(uerr)), float(np.max(e))))
    return out


def backward_scales(cell, x, ref, ds_last):
    """The running-error sizes of BPTT, entry by entry: a_T = |δs_T|, a_{t−1} = |J_t|ᵀ a_t (the
    record's scale at each step), and for the gradients Σ_t |D_x|ᵀ a_t ⊗ |x_t| etc. (the sizes of
    the terms each sum adds up)."""
    G, n = GATE_BLOCKS[cell.kind], cell.hidden_size
    a = np.abs(ds_last)
    rec = [None] * ref["T"]
    sums = {k: np.zeros_like(getattr(cell, k)) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    for t in range(ref["T"] - 1, -1, -1):
        rec[t] = a
        stp = step_at(ref, t)
        J, Dx, Dh = dense(cell, stp)
        bx = np.einsum("...i,...ij->...j", a, np.abs(Dx)).reshape(-1, G * n)
        bh = np.einsum("...i,...ij->...j", a, np.abs(Dh)).reshape(-1, G * n)
        hin = np.abs(recurrent_input(cell, stp)).reshape(-1, G, n)
        sums["weight_ih"] += bx.T @ np.abs(x[t]).reshape(-1, x.shape[-1])
        sums["bias_ih"] += bx.sum(axis=0)
        sums["weight_hh"] += np.einsum("bgj,bgk->gjk", bh.reshape(-1, G, n), hin).reshape(G * n, n)
        sums["bias_hh"] += bh.sum(axis=0)
        a = np.einsum("...i,...ij->...j", a, np.abs(J))
    return rec, sums


def random_cell(kind, n, d, rng, scale, nonlinearity, convention):
    g = GATE_BLOCKS[kind]
    return make_cell(kind, scale * rng.standard_normal((g * n, d)),
                     scale * rng.standard_normal((g * n, n)) / np.sqrt(n),
                     scale * rng.standard_normal(g * n), scale * rng.standard_normal(g * n),
                     nonlinearity=nonlinearity, convention=convention)


@st.composite
def setups(draw, batch: int | None = None, max_T: int = 8, kinds=KINDS, saturated=True):
    """A random cell, inputs (T, [B,] d) and initial states: weight scales up to 30 (gates and tanh
    saturated: σ rounds to exactly 0 or 1), inputs from 0 to 10⁶, cell states up to ±50
    (saturated=False: weights ≤ 0.6, inputs ≤ 1, states ≤ 1)."""
    kind = draw(st.sampled_from(kinds))
    nl = draw(st.sampled_from(NONLINEARITIES))
    conv = draw(st.sampled_from(CONVENTIONS))
    n, d, T = draw(st.integers(1, 5)), draw(st.integers(1, 3)), draw(st.integers(1, max_T))
    w_scale = draw(st.sampled_from([0.1, 1.0, 3.0, 30.0] if saturated else [0.1, 0.3, 0.6]))
    x_scale = draw(st.sampled_from([0.0, 1e-3, 1.0, 1e3, 1e6] if saturated else [0.0, 1e-3, 1.0]))
    s_scale = draw(st.sampled_from([0.0, 1.0, 50.0] if saturated else [0.0, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cell = random_cell(kind, n, d, rng, w_scale, nl, conv)
    lead = (T,) if batch is None else (T, batch)
    x = x_scale * rng.standard_normal(lead + (d,))
    h0 = np.tanh(s_scale * rng.standard_normal(lead[1:] + (n,)))
    c0 = s_scale * rng.standard_normal(lead[1:] + (n,)) if kind == "lstm" else None
    return cell, x, h0, c0, rng


def keys_of(cell):
    base = ["h_prev", "h"]
    return base + {"rnn": ["a", "slope"], "lstm": ["c_prev", "c", "i", "f", "g", "o", "tc", "pre"],
                   "gru": ["r", "z", "n", "a_r", "a_z", "a_n"] +
                          (["hn"] if cell.convention == "pytorch" else [])}[cell.kind]


# -- the fast forward and its Jacobian products ----------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(setups())
def test_fast_forward_equals_the_reference_step_by_step(setup):
    cell, x, h0, c0, _ = setup
    with np.errstate(over="ignore", invalid="ignore"):
        fast = fast_forward(cell, x, h0, c0)
        ref = reference_forward(cell, x, h0, c0)
    if not np.all(np.isfinite(ref["h"])):
        return                                   # an identity RNN that left float64 range
    scales = forward_scales(cell, ref, np.concatenate([h0, c0]) if c0 is not None else h0)
    xw = x @ cell.weight_ih.T + cell.bias_ih
    for t in range(x.shape[0]):
        # the reference step from the fast path's own state at t−1: the same equations, one step
        one = step_cache(cell, xw[t], fast["h_prev"][t], fast["c_prev"][t] if cell.kind == "lstm" else None)
        for k in keys_of(cell):
            assert_close(fast[k][t], one[k], scales[t], f"{cell.kind} {k}, one step at t={t + 1}")
            assert_close(fast[k][t], ref[k][t], scales[t], f"{cell.kind} {k}, the run at t={t + 1}")


def jacobian_bound(cell, stp):
    """|J| with every term made positive: J = own + D_h U (U = ∂u_h/∂s, the explicit W_hh, for the
    notes' GRU candidate W_hn diag(r)) → |own| + |D_h| |U| (…, m, m), the size of J's terms."""
    J, _, Dh = dense(cell, stp)
    n, m = cell.hidden_size, cell.state_size
    U = np.zeros(stp["h"].shape[:-1] + (cell.weight_hh.shape[0], m))
    U[..., :, :n] = cell.weight_hh
    if cell.kind == "gru" and cell.convention == "seed":
        U[..., 2 * n:, :n] = cell.weight_hh[2 * n:] * stp["r"][..., None, :]
    return np.abs(J - Dh @ U) + np.abs(Dh) @ np.abs(U)


@settings(max_examples=150, deadline=None)
@given(setups(max_T=6))
def test_factored_jacobian_products_equal_the_dense_jacobian(setup):
    cell, x, h0, c0, rng = setup
    cache = fast_forward(cell, x, h0, c0)
    prod = SIM._Product(cell, cache)
    T, m = x.shape[0], cell.state_size
    factors = prod.chunk(0, T)
    P = rng.standard_normal((m, m))
    out = np.empty((m, m))
    for j in range(T):
        prod.apply(factors, j, P, out)
        stp = step_at(cache, j)
        scale = float(np.max(jacobian_bound(cell, stp) @ np.abs(P)))
        assert_close(out, jacobian_from_cache(cell, stp) @ P, scale, f"{cell.kind} step {j + 1}")


@settings(max_examples=150, deadline=None)
@given(setups(max_T=3))
def test_dense_jacobian_and_vjp_are_transposes(setup):
    cell, x, h0, c0, rng = setup
    ref = reference_forward(cell, x, h0, c0)
    for t in range(x.shape[0]):
        stp = step_at(ref, t)
        J, bound = jacobian_from_cache(cell, stp), jacobian_bound(cell, stp)
        ds = rng.standard_normal(cell.state_size)
        assert_close(step_vjp(cell, stp, ds)[0], ds @ J, float(np.max(np.abs(ds) @ bound)), f"Jᵀδ at t={t + 1}")
        # over a leading (time) axis: every row its own step
        stacked = {k: v[: t + 1] for k, v in ref.items() if isinstance(v, np.ndarray) and k not in ("h0", "c0")}
        singles = np.stack([jacobian_from_cache(cell, step_at(ref, k)) for k in range(t + 1)])
        assert_close(jacobian_from_cache(cell, stacked), singles, float(np.max(bound)), "stacked steps")


# -- the reference's derivatives against central differences ----------------------------------------

@settings(max_examples=120, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(NONLINEARITIES), st.sampled_from(CONVENTIONS),
       st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_step_vjp_matches_central_differences(kind, nl, conv, n, d, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, 1.0, nl, conv)
    G, m = GATE_BLOCKS[kind], cell.state_size
    x, s, w = rng.standard_normal(d), rng.standard_normal(m), rng.standard_normal(m)
    xw = cell.weight_ih @ x + cell.bias_ih
    h, c = split_state(cell, s)
    if kind == "rnn" and nl == "relu" and np.min(np.abs(xw + cell.weight_hh @ h + cell.bias_hh)) < 1e-3:
        return                                  # ReLU's kink: no derivative there

    def loss(xw_, s_, b_hh):
        cell_ = make_cell(kind, cell.weight_ih, cell.weight_hh, cell.bias_ih, b_hh,
                          nonlinearity=nl, convention=conv)
        h_, c_ = split_state(cell_, s_)
        out = step_cache(cell_, xw_, h_, c_)
        return float(w @ (np.concatenate([out["h"], out["c"]]) if kind == "lstm" else out["h"]))

    def fd(f, v, eps=1e-6):
        g = np.empty_like(v)
        for j in range(v.size):
            e = np.zeros_like(v)
            e[j] = eps
            g[j] = (f(v + e) - f(v - e)) / (2 * eps)
        return g

    ds, du_x, du_h = step_vjp(cell, step_cache(cell, xw, h, c), w)
    assert du_x.shape == du_h.shape == (G * n,)
    tol = dict(rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(ds, fd(lambda v: loss(xw, v, cell.bias_hh), s), **tol)
    np.testing.assert_allclose(du_x, fd(lambda v: loss(v, s, cell.bias_hh), xw), **tol)
    np.testing.assert_allclose(du_h, fd(lambda v: loss(xw, s, v), cell.bias_hh.copy()), **tol)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(NONLINEARITIES), st.sampled_from(CONVENTIONS),
       st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_input_jacobian_matches_central_differences_and_the_vjp(kind, nl, conv, n, d, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, 1.0, nl, conv)
    x, s = rng.standard_normal(d), rng.standard_normal(cell.state_size)
    h, c = split_state(cell, s)
    if kind == "rnn" and nl == "relu" and np.min(np.abs(cell.weight_ih @ x + cell.bias_ih
                                                        + cell.weight_hh @ h + cell.bias_hh)) < 1e-3:
        return                                  # ReLU's kink
    B = input_jacobian(cell, x, s)
    fd = np.empty_like(B)
    for j in range(d):
        e = np.zeros(d)
        e[j] = 1e-6
        fd[:, j] = (step(cell, x + e, s) - step(cell, x - e, s)) / 2e-6
    np.testing.assert_allclose(B, fd, rtol=1e-6, atol=1e-7)
    # δsᵀ ∂s/∂x = δu_xᵀ W_ih, on a batch of steps at once
    xs = rng.standard_normal((3, d))
    ref = reference_forward(cell, xs[:, None, :], np.tile(h, (1, 1)), None if c is None else np.tile(c, (1, 1)))
    stacked = {k: v[:, 0] for k, v in ref.items() if isinstance(v, np.ndarray) and k not in ("h0", "c0")}
    ds = rng.standard_normal((3, cell.state_size))
    _, du_x, _ = step_vjp(cell, stacked, ds)
    _, Dx, _ = dense(cell, stacked)
    scale = np.einsum("ti,tij,jk->tk", np.abs(ds), np.abs(Dx), np.abs(cell.weight_ih))
    assert_close(np.einsum("ti,tij->tj", ds, input_jacobian_from_cache(cell, stacked)), du_x @ cell.weight_ih,
                 scale, "δsᵀ ∂s/∂x")


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(KINDS), st.sampled_from(["tanh", "sigmoid", "identity"]), st.sampled_from(CONVENTIONS),
       st.integers(1, 3), st.integers(1, 2), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_reference_bptt_matches_central_differences_for_every_parameter(kind, nl, conv, n, d, T, seed):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, d, rng, 1.0, nl, conv)
    x = rng.standard_normal((T, 2, d))                       # a batch of 2
    w = rng.standard_normal((2, cell.state_size))

    def loss(arrays):
        c = make_cell(kind, *arrays, nonlinearity=nl, convention=conv)
        r = reference_forward(c, x)
        s = np.concatenate([r["h"][-1], r["c"][-1]], axis=-1) if kind == "lstm" else r["h"][-1]
        return float(np.sum(w * s))

    grads, _, _ = reference_backward(cell, x, reference_forward(cell, x), w)
    arrays = [cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh]
    for k, name in enumerate(("weight_ih", "weight_hh", "bias_ih", "bias_hh")):
        g = np.empty(arrays[k].shape)
        for idx in np.ndindex(*arrays[k].shape):
            vals = []
            for sign in (1, -1):
                a = [v.copy() for v in arrays]
                a[k][idx] += sign * 1e-6
                vals.append(loss(a))
            g[idx] = (vals[0] - vals[1]) / 2e-6
        np.testing.assert_allclose(grads[name], g, rtol=1e-6, atol=1e-7, err_msg=name)


# -- the training lab's batched forward and backward ----------------------------------------------

def as_model(cell, rng):
    """The training lab's Model for a core Cell (the same four arrays, plus a readout)."""
    params = {k: np.array(v) for k, v in cell.to_state_dict().items()}
    params["weight_out"] = rng.standard_normal((2, cell.hidden_size))
    params["bias_out"] = rng.standard_normal(2)
    return training.Model(cell.kind, params, cell.nonlinearity, cell.convention)


def check_training_against_reference(cell, x, h0, c0, rng):
    """training.forward / backward (batch of B sequences) against the reference, to 1e-12 of the
    size of every number computed (see forward_scales, backward_scales)."""
    model = as_model(cell, rng)
    n = cell.hidden_size
    with np.errstate(over="ignore", invalid="ignore"):
        cache = training.forward(model, x, h0, c0)
        ref = reference_forward(cell, x, h0, c0)
    if not np.all(np.isfinite(ref["h"])):
        return                                   # an identity RNN that left float64 range
    scales = forward_scales(cell, ref, np.concatenate([h0, c0], axis=-1) if c0 is not None else h0)
    names = {"rnn": ["slope"], "lstm": ["c", "i", "f", "g", "o", "tc"], "gru": ["r", "z", "n"]}[cell.kind]
    for t in range(x.shape[0]):
        assert_close(cache["h"][t + 1], ref["h"][t], scales[t], f"h at t={t + 1}")
        for k in names:
            got = cache[k][t + 1] if k == "c" else cache[k][t]
            assert_close(got, ref[k][t], scales[t], f"{k} at t={t + 1}")
    dh_last = rng.standard_normal((x.shape[1], n))
    grads, rec = training.backward(model, cache, dh_last, record=True)
    ds_last = np.concatenate([dh_last, np.zeros_like(dh_last)], axis=1) if cell.kind == "lstm" else dh_last
    rgrads, rds, _ = reference_backward(cell, x, ref, ds_last)
    rec_scale, grad_scale = backward_scales(cell, x, ref, ds_last)
    for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        # an entry summed from terms far smaller than the parameter's largest carries the rounding
        # of its T-step sum: its floor is 1 % of that largest scale (errors still ≤ 1e-14 of it)
        floor = 1e-2 * np.max(grad_scale[k]) if np.size(grad_scale[k]) else 0.0
        assert_close(grads[k], rgrads[k], np.maximum(grad_scale[k], floor), k)
    for t in range(x.shape[0]):
        assert_close(rec["h"][t], rds[t, ..., :n], rec_scale[t][..., :n], f"∂ℓ/∂h_{t + 1}")
        if cell.kind == "lstm":
            assert_close(rec["c"][t], rds[t, ..., n:], rec_scale[t][..., n:], f"∂ℓ/∂c_{t + 1}")


def largest(cell, x, h0, c0, keys):
    ref = reference_forward(cell, x, h0, c0)
    return max((float(np.max(np.abs(ref[k]))) for k in keys if k in ref), default=0.0)


@settings(max_examples=150, deadline=None)
@given(setups(batch=3, kinds=("rnn",)))
def test_training_rnn_equals_the_reference_saturated_or_not(setup):
    check_training_against_reference(*setup)


@settings(max_examples=150, deadline=None)
@given(setups(batch=3, kinds=("lstm", "gru"), saturated=False))
def test_training_lstm_and_gru_equal_the_reference_away_from_saturation(setup):
    # the training lab forms σ' as σ(1 − σ) and tanh' as 1 − tanh² from the gate values, whose
    # relative error grows like ε·e^|a| (ε·e^(2|C|) for tanh(C)): accurate to 1e-12 of each term,
    # products of several included, while |a| ≤ 6 and |C| ≤ 3. See the next test.
    assume(largest(*setup[:4], ("pre", "a_r", "a_z", "a_n")) <= 6.0 and largest(*setup[:4], ("c",)) <= 3.0)
    check_training_against_reference(*setup)


@pytest.mark.parametrize("kind, convention", [("lstm", "pytorch"), ("gru", "pytorch"), ("gru", "seed")])
def test_training_keeps_saturated_derivatives_like_the_reference(kind, convention):
    rng = np.random.default_rng(7)
    cell = random_cell(kind, 3, 2, rng, 1.0, "tanh", convention)
    x = 40.0 * rng.standard_normal((4, 3, 2))               # |a| ≈ 20–100: saturated, not underflowed
    check_training_against_reference(cell, x, np.zeros((3, 3)), np.zeros((3, 3)) if kind == "lstm" else None,
                                     rng)
