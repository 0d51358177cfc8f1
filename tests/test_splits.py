"""SplitCache: the split of ∂ℓ/∂s_t at any step from checkpoints (or the previous split) equals
directions.split_gradient's from step 0; its curves equal log_singular_curves'; the state
recorded along the way restarts the recursion exactly (to rounding)."""
from __future__ import annotations

import gc
import weakref

import numpy as np
import pytest
from gatescope.core import splits as S
from gatescope.core.analysis import analyse
from gatescope.core.config import Config
from gatescope.core.directions import log10_singular_values, split_gradient
from gatescope.core.splits import SplitCache, splits_for
from hypothesis import given, settings
from hypothesis import strategies as st
from test_directions import random_cell


def assert_same_split(a, b):
    assert a.step == b.step
    np.testing.assert_allclose(a.log10_sigma, b.log10_sigma, rtol=0, atol=1e-10)
    fin = np.isfinite(a.log10_reach) & (a.log10_reach > a.log10_reach.max() - 12)
    np.testing.assert_allclose(a.log10_reach[fin], b.log10_reach[fin], rtol=0, atol=1e-8)
    assert a.log10_total == pytest.approx(b.log10_total, abs=1e-10)


@settings(max_examples=15, deadline=None)
@given(st.sampled_from(["rnn", "lstm", "gru"]), st.integers(1, 6), st.integers(1, 60),
       st.floats(0.3, 2.0), st.integers(0, 2**31 - 1), st.lists(st.integers(0, 60), min_size=1,
                                                                 max_size=8))
def test_splits_in_any_order_equal_split_gradient(kind, n, T, scale, seed, steps):
    rng = np.random.default_rng(seed)
    cell = random_cell(kind, n, 2, rng, scale)
    x = rng.standard_normal((T, 2))
    cache = SplitCache(cell, x)
    cache.every = 4                                    # many checkpoints in a short run
    g = rng.standard_normal(cell.state_size)
    for t in [min(t, T) for t in steps] + [T, T - 1 if T > 1 else T]:
        assert_same_split(cache.split(t, g), split_gradient(cell, x, t, g))


def test_play_advances_one_step_from_the_previous_split():
    rng = np.random.default_rng(3)
    cell = random_cell("lstm", 5, 2, rng, 1.2)
    x = rng.standard_normal((200, 2))
    cache = SplitCache(cell, x)
    cache.every = 50
    g = rng.standard_normal(5)
    assert cache.steps_to(120) == 120                  # nothing known yet
    cache.split(120, g)
    assert cache.steps_to(121) == 1                    # play: one step on
    assert cache.steps_to(130) == 10
    assert cache.steps_to(101) == 101 - 100            # back: from the checkpoint at 100
    assert cache.steps_to(40) == 40
    for t in (121, 122, 101, 40, 200):
        assert_same_split(cache.split(t, g), split_gradient(cell, x, t, g))


def test_curves_equal_the_direct_ones_and_leave_checkpoints():
    rng = np.random.default_rng(5)
    cell = random_cell("gru", 6, 2, rng, 1.5)
    x = rng.standard_normal((90, 2))
    cache = SplitCache(cell, x)
    cache.every = 10
    np.testing.assert_allclose(cache.curves(), log10_singular_values(cell, x), rtol=0, atol=1e-12)
    assert cache.steps_to(87) == 7
    g = np.eye(6)[2]
    assert_same_split(cache.split(87, g), split_gradient(cell, x, 87, g))


def test_checkpoints_stay_within_their_memory_bound():
    cell = random_cell("lstm", 64, 2, np.random.default_rng(0), 1.0)
    cache = SplitCache(cell, np.zeros((1000, 2)))
    stored = (cache.steps // cache.every) * 2 * cell.state_size ** 2
    assert cache.every >= S.MIN_EVERY and stored <= S.MAX_FLOATS


def test_a_bad_step_or_gradient_is_refused():
    cell = random_cell("rnn", 3, 2, np.random.default_rng(1))
    cache = SplitCache(cell, np.zeros((10, 2)))
    with pytest.raises(ValueError, match="0..10"):
        cache.split(11, np.ones(3))
    with pytest.raises(ValueError, match="3 finite numbers"):
        cache.split(4, [1.0, np.nan, 0.0])


def test_one_cache_per_analysis_while_it_lives():
    a = analyse(Config(cell="lstm", hidden=4, length=30))
    assert splits_for(a) is splits_for(a)
    b = analyse(Config(cell="lstm", hidden=4, length=30))
    assert splits_for(b) is not splits_for(a)
    cache = weakref.ref(splits_for(a))
    assert S.existing_splits(a) is cache() and S.existing_splits(b) is splits_for(b)
    del a
    gc.collect()
    assert cache() is None                   # gone with its analysis (other tests' may go too)
