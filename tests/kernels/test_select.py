"""The branch-free np.where replacements give np.where's result bit for bit."""
import numpy as np
import pytest

from numpy_transformer.nn import functional as F
from numpy_transformer.kernels.cpu.select import where_select, where_zero

SPECIAL = [np.inf, -np.inf, np.nan, 0.0, -0.0, 1e-45, -3.5, 7.0]


def _values(dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((7, 9)).astype(dtype)
    x.flat[:len(SPECIAL)] = SPECIAL
    return x


def _same_bits(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape
    ints = np.dtype(f"i{a.itemsize}")
    np.testing.assert_array_equal(a.view(ints), b.view(ints))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_where_zero_and_where_select_equal_np_where_bit_for_bit(dtype):
    x, y = _values(dtype), _values(dtype, seed=1)
    mask = np.random.default_rng(2).random(x.shape) > 0.5
    _same_bits(where_zero(mask, x), np.where(mask, x, dtype(0)))
    _same_bits(where_select(mask, x, y, dtype), np.where(mask, x, y))
    _same_bits(where_select(mask, 1.0, y, dtype), np.where(mask, dtype(1), y))
    _same_bits(where_select(mask, 1.0, 0.01, dtype), np.where(mask, dtype(1), dtype(0.01)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_leaky_relu_and_sigmoid_keep_their_np_where_formulas(dtype):
    x, dy = _values(dtype), _values(dtype, seed=3)
    y, cache = F.relu_forward(x)
    _same_bits(F.relu_backward(dy, cache), np.where(y > 0, dy, 0).astype(dtype))
    y, cache = F.leaky_relu_forward(x, 0.2)
    _same_bits(y, np.where(x > 0, x, x * 0.2))
    _same_bits(F.leaky_relu_backward(dy, cache), np.where(x > 0, dy, dy * 0.2))
    e = np.exp(-np.abs(x))
    _same_bits(F.sigmoid_forward(x)[0], (np.where(x >= 0, 1, e) / (1 + e)).astype(dtype))
