"""Next-token sampling: top-k and top-p masks, temperature, seeded draws, errors."""
import numpy as np
import pytest
from hypothesis import given, strategies as st

from numpy_transformer.models.sampling import (filter_logits, make_generator, sample, top_k_mask,
                                               top_p_mask)


def test_top_k_keeps_the_k_largest_of_each_row():
    logits = np.array([[0.1, 3.0, -1.0, 2.0, 0.5], [5.0, 4.0, 3.0, 2.0, 1.0]])
    np.testing.assert_array_equal(top_k_mask(logits, 2), [[0, 1, 0, 1, 0], [1, 1, 0, 0, 0]])
    assert top_k_mask(logits, 9).all()


def test_top_k_keeps_ties_with_the_kth():
    np.testing.assert_array_equal(top_k_mask(np.array([1.0, 2.0, 2.0, 0.0]), 1), [0, 1, 1, 0])


def test_top_p_keeps_the_smallest_nucleus_reaching_p():
    probs = np.array([0.1, 0.5, 0.15, 0.25])       # sorted: 0.5, 0.25, 0.15, 0.1
    logits = np.log(probs)
    np.testing.assert_array_equal(top_p_mask(logits, 0.5), [0, 1, 0, 0])
    np.testing.assert_array_equal(top_p_mask(logits, 0.6), [0, 1, 0, 1])
    np.testing.assert_array_equal(top_p_mask(logits, 0.85), [0, 1, 1, 1])
    np.testing.assert_array_equal(top_p_mask(logits, 0.95), [1, 1, 1, 1])
    np.testing.assert_array_equal(top_p_mask(logits, 0.01), [0, 1, 0, 0])   # the top one always


@given(V=st.integers(1, 12), p=st.floats(0.01, 1.0), seed=st.integers(0, 2**16))
def test_top_p_nucleus_is_minimal_and_reaches_p(V, p, seed):
    logits = np.random.default_rng(seed).standard_normal((3, V)) * 2
    keep = top_p_mask(logits, p)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    for row, kept in zip(probs, keep):
        assert row[kept].sum() >= p - 1e-12
        assert row[kept].min() >= row[~kept].max(initial=0)          # the most probable ones
        assert row[kept].sum() - row[kept].min() < p + 1e-12          # none of them is spare


def test_filtered_tokens_are_never_drawn():
    logits = np.log(np.array([[0.4, 0.3, 0.2, 0.1]] * 2000))
    drawn = sample(logits, top_k=2, generator=make_generator(0))
    assert set(np.unique(drawn)) == {0, 1}
    drawn = sample(logits, top_p=0.65, generator=make_generator(0))
    assert set(np.unique(drawn)) == {0, 1}


def test_draws_follow_the_softmax_of_logits_over_temperature():
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    logits = np.tile(np.log(probs) * 2, (20000, 1))               # temperature 2 undoes the * 2
    counts = np.bincount(sample(logits, temperature=2, generator=make_generator(1)), minlength=4)
    np.testing.assert_allclose(counts / 20000, probs, atol=0.015)


def test_temperature_zero_is_greedy():
    logits = np.array([[0.0, 2.0, 1.0], [3.0, 0.0, -1.0]], np.float32)
    np.testing.assert_array_equal(sample(logits, temperature=0), [1, 0])
    assert sample(logits[0], temperature=0) == 1


def test_the_same_seed_gives_the_same_draws():
    logits = np.random.default_rng(0).standard_normal((50, 30))
    a, b = sample(logits, generator=make_generator(7)), sample(logits, generator=make_generator(7))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sample(logits, generator=make_generator(8)))


def test_filter_logits_divides_and_masks_without_touching_its_input():
    logits = np.array([[1.0, 2.0, 3.0]], np.float32)
    out = filter_logits(logits, temperature=0.5, top_k=2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [[-np.inf, 4.0, 6.0]])
    np.testing.assert_array_equal(logits, [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("options, message", [
    (dict(temperature=-1), "temperature must be >= 0"),
    (dict(top_k=0), "top_k must be a positive integer"),
    (dict(top_k=1.5), "top_k must be a positive integer"),
    (dict(top_p=0), r"top_p must be in \(0, 1\]"),
    (dict(top_p=1.5), r"top_p must be in \(0, 1\]"),
])
def test_bad_options_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        sample(np.zeros((1, 3)), **options)


def test_logits_must_be_one_or_two_dimensional():
    with pytest.raises(ValueError, match=r"logits \[B, V\] or \[V\], got shape \(1, 1, 3\)"):
        sample(np.zeros((1, 1, 3)))
