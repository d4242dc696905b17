"""Every activation against its torch twin and by finite differences."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import check_functional_gradients, compare_with_torch

# (ours, torch twin) pairs with the same options
PAIRS = {
    "relu": (lambda: nt.nn.ReLU(), lambda: torch.nn.ReLU()),
    "leaky_relu": (lambda: nt.nn.LeakyReLU(0.2), lambda: torch.nn.LeakyReLU(0.2)),
    "sigmoid": (lambda: nt.nn.Sigmoid(), lambda: torch.nn.Sigmoid()),
    "tanh": (lambda: nt.nn.Tanh(), lambda: torch.nn.Tanh()),
    "softmax": (lambda: nt.nn.Softmax(dim=-1), lambda: torch.nn.Softmax(dim=-1)),
    "softmax_dim1": (lambda: nt.nn.Softmax(dim=1), lambda: torch.nn.Softmax(dim=1)),
    "log_softmax": (lambda: nt.nn.LogSoftmax(dim=-1), lambda: torch.nn.LogSoftmax(dim=-1)),
    "gelu": (lambda: nt.nn.GELU(), lambda: torch.nn.GELU()),
    "gelu_tanh": (lambda: nt.nn.GELU("tanh"), lambda: torch.nn.GELU("tanh")),
}


@pytest.mark.fast_too
@pytest.mark.parametrize("name", PAIRS)
@given(shape=st.lists(st.integers(1, 6), min_size=2, max_size=4), scale=st.sampled_from([0.1, 1.0, 10.0]),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_activation_matches_torch(name, shape, scale, dtype, seed):
    ours, theirs = PAIRS[name]
    x = scale * np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(ours(), theirs(), x, dtype=dtype, seed=seed)


FUNCTIONALS = [
    (F.relu_forward, F.relu_backward, {}),
    (F.leaky_relu_forward, F.leaky_relu_backward, {"negative_slope": 0.1}),
    (F.sigmoid_forward, F.sigmoid_backward, {}),
    (F.tanh_forward, F.tanh_backward, {}),
    (F.softmax_forward, F.softmax_backward, {"axis": 0}),
    (F.log_softmax_forward, F.log_softmax_backward, {"axis": -1}),
    (F.gelu_forward, F.gelu_backward, {}),
    (F.gelu_forward, F.gelu_backward, {"approximate": "tanh"}),
]


@pytest.mark.parametrize("forward, backward, kwargs", FUNCTIONALS, ids=lambda f: getattr(f, "__name__", ""))
def test_activation_functional_gradients(forward, backward, kwargs, rng):
    x = rng.standard_normal((3, 5)) * 2
    x[np.abs(x) < 1e-3] = 0.5  # keep away from the kink of ReLU
    check_functional_gradients(forward, backward, [x], kwargs=kwargs, name=forward.__name__)


def test_sigmoid_and_softmax_do_not_overflow():
    x = np.array([[-1000.0, 0.0, 1000.0]], np.float32)
    with np.errstate(over="raise"):
        assert np.allclose(nt.nn.Sigmoid()(x), [[0, 0.5, 1]])
        assert np.allclose(nt.nn.Softmax()(x), [[0, 0, 1]])
        assert np.isfinite(nt.nn.LogSoftmax()(x)).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_tanh_gelu_far_out_in_the_tails_is_torchs_without_overflow_warnings(dtype):
    x = np.array([-1e4, -100.0, -20.0, -10.0, -3.0, 0.0, 3.0, 20.0, 1e4], dtype)
    gelu = nt.nn.GELU("tanh")
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = gelu(x)
        dx = gelu.backward(np.ones_like(x))
    tx = torch.from_numpy(x).requires_grad_()
    ty = torch.nn.functional.gelu(tx, approximate="tanh")
    ty.backward(torch.ones_like(ty))
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=1e-6)


def test_activations_keep_float32():
    x = np.ones((2, 3), np.float32)
    for ours, _ in PAIRS.values():
        assert ours()(x).dtype == np.float32


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"ReLU\(\) needs a floating input"):
        nt.nn.ReLU()(np.arange(3))


def test_unknown_gelu_approximation():
    with pytest.raises(ValueError, match="'none' or 'tanh'"):
        nt.nn.GELU("fast")
