"""Flatten and Unflatten against torch, and their errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.testing import compare_with_torch


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=5), data=st.data(),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_flatten_matches_torch(shape, data, dtype, seed):
    n = len(shape)
    start = data.draw(st.integers(-n, n - 1))
    end = data.draw(st.integers(start % n, n - 1)) - data.draw(st.sampled_from([0, n]))
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.Flatten(start, end), torch.nn.Flatten(start, end), x, dtype=dtype, seed=seed)


@given(sizes=st.lists(st.integers(1, 3), min_size=1, max_size=3), dim=st.integers(-2, 1),
       infer=st.booleans(), dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_unflatten_matches_torch(sizes, dim, infer, dtype, seed):
    shape = [2, 2]
    shape[dim] = int(np.prod(sizes))
    unflattened = [-1] + sizes[1:] if infer else sizes
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.Unflatten(dim, unflattened), torch.nn.Unflatten(dim, unflattened), x,
                       dtype=dtype, seed=seed)


def test_flatten_then_unflatten_round_trip_and_backward_twice(rng):
    flat, unflat = nt.nn.Flatten(), nt.nn.Unflatten(1, (3, 4, 5))
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    y1, y2 = flat(x), flat(x[:, :, :2])
    assert y1.shape == (2, 60) and y2.shape == (2, 30)
    np.testing.assert_array_equal(unflat(y1), x)
    assert flat.backward(y2).shape == (2, 3, 2, 5)   # last call first
    assert flat.backward(y1).shape == (2, 3, 4, 5)


def test_flatten_errors():
    with pytest.raises(ValueError, match=r"Flatten\(start_dim=1, end_dim=-1\) got input of shape \(4,\)"):
        nt.nn.Flatten()(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"start_dim 2 comes after end_dim 1.*\(2, 3, 4\)"):
        nt.nn.Flatten(2, 1)(np.zeros((2, 3, 4), np.float32))


def test_unflatten_errors():
    with pytest.raises(ValueError, match=r"Unflatten\(dim=1, unflattened_size=\(3, 5\)\): sizes \(3, 5\) "
                                         r"do not multiply to dimension 1 of input shape \(2, 16\)"):
        nt.nn.Unflatten(1, (3, 5))(np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match=r"sizes \(-1, 5\) do not multiply"):
        nt.nn.Unflatten(1, (-1, 5))(np.zeros((2, 16), np.float32))
    with pytest.raises(ValueError, match="dim 2 is out of range"):
        nt.nn.Unflatten(2, (1, 2))(np.zeros((2, 2), np.float32))
