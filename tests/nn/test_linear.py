"""Linear against torch.nn.Linear, by finite differences, and its errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])


@pytest.mark.fast_too
@given(batch=st.lists(st.integers(1, 5), min_size=1, max_size=3), n_in=st.integers(1, 12),
       n_out=st.integers(1, 12), bias=st.booleans(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_linear_matches_torch(batch, n_in, n_out, bias, dtype, seed):
    x = np.random.default_rng(seed).standard_normal((*batch, n_in))
    compare_with_torch(nt.nn.Linear(n_in, n_out, bias=bias), torch.nn.Linear(n_in, n_out, bias=bias),
                       x, dtype=dtype, seed=seed)


def test_linear_functional_gradients(rng):
    x, w, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    check_functional_gradients(F.linear_forward, F.linear_backward, [x, w, b])


def test_linear_module_gradients(rng):
    check_module_gradients(nt.nn.Linear(4, 3), rng.standard_normal((2, 4)))


def test_linear_called_twice_backpropagates_both_calls_last_first(rng):
    layer = nt.nn.Linear(3, 3).double()
    twin = torch.nn.Linear(3, 3).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((4, 3))
    y = layer(layer(x))
    dx = layer.backward(layer.backward(np.ones_like(y)))
    tx = torch.from_numpy(x).requires_grad_()
    twin(twin(tx)).sum().backward()
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, twin.weight.grad.numpy(), rtol=1e-12)


def test_linear_default_init_is_bounded_by_one_over_sqrt_fan_in():
    layer = nt.nn.Linear(64, 32)
    assert layer.weight.dtype == np.float32
    assert np.abs(layer.weight.data).max() <= 1 / 8
    assert np.abs(layer.bias.data).max() <= 1 / 8
    assert layer.weight.data.std() > 0.05


def test_wrong_feature_size_names_the_layer_and_shapes():
    with pytest.raises(ValueError, match=r"Linear\(in_features=256.*last dimension 256, got shape \(4, 128\)"):
        nt.nn.Linear(256, 10)(np.zeros((4, 128), np.float32))


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match="floating input"):
        nt.nn.Linear(3, 2)(np.zeros((4, 3), np.int64))


def test_float64_input_into_float32_layer_is_rejected_not_upcast():
    with pytest.raises(TypeError, match="float32 parameters but got input of dtype float64"):
        nt.nn.Linear(3, 2)(np.zeros((4, 3)))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match="without a matching forward"):
        nt.nn.Linear(3, 2).backward(np.zeros((4, 2), np.float32))


def test_gradient_of_wrong_shape():
    layer = nt.nn.Linear(3, 2)
    layer(np.zeros((4, 3), np.float32))
    with pytest.raises(ValueError, match=r"grad_output of shape \(4, 3\).*output had shape \(4, 2\)"):
        layer.backward(np.zeros((4, 3), np.float32))
