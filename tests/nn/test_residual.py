"""Residual(module): y = x + module(x); the gradient takes both paths."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.testing import check_module_gradients, compare_with_torch


class TorchResidual(torch.nn.Module):
    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        return x + self.module(x)


@given(batch=st.lists(st.integers(1, 4), min_size=1, max_size=2), size=st.integers(1, 6),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_residual_linear_matches_torch(batch, size, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((*batch, size))
    compare_with_torch(nt.nn.Residual(nt.nn.Linear(size, size)),
                       TorchResidual(torch.nn.Linear(size, size)), x, dtype=dtype, seed=seed)


def test_residual_blocks_inside_sequential_match_torch(rng):
    ours = nt.nn.Sequential(nt.nn.Linear(3, 5),
                            nt.nn.Residual(nt.nn.Sequential(nt.nn.Tanh(), nt.nn.Linear(5, 5))),
                            nt.nn.Residual(nt.nn.ReLU()), nt.nn.Linear(5, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 5),
                                 TorchResidual(torch.nn.Sequential(torch.nn.Tanh(), torch.nn.Linear(5, 5))),
                                 TorchResidual(torch.nn.ReLU()), torch.nn.Linear(5, 2))
    compare_with_torch(ours, theirs, rng.standard_normal((4, 3)))


def test_residual_finite_differences(rng):
    check_module_gradients(nt.nn.Residual(nt.nn.Linear(4, 4)), rng.standard_normal((3, 4)))


def test_skip_path_adds_the_incoming_gradient():
    """The bug this class fixes: returning only module.backward(dy) drops the skip path."""
    block = nt.nn.Residual(nt.nn.Identity())
    x = np.arange(3.0)
    np.testing.assert_array_equal(block(x), 2 * x)
    np.testing.assert_array_equal(block.backward(np.ones(3)), [2, 2, 2])


def test_residual_does_not_overwrite_what_the_module_cached(rng):
    block = nt.nn.Residual(nt.nn.ReLU())          # ReLU's cache is its output array
    x = rng.standard_normal((4, 3)) - 0.5
    y = block(x)
    np.testing.assert_array_equal(block.backward(np.ones_like(y)), 1 + (x > 0))


def test_residual_errors():
    block = nt.nn.Residual(nt.nn.Linear(4, 3))
    with pytest.raises(ValueError, match=r"Residual\(Linear\) needs an output shaped like its input "
                                         r"\(2, 4\), got \(2, 3\)"):
        block(np.zeros((2, 4), np.float32))
    with pytest.raises(RuntimeError, match="Residual.*without a matching forward"):
        nt.nn.Residual(nt.nn.ReLU()).backward(np.zeros(3))
