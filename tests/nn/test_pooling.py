"""MaxPool2d and AvgPool2d against torch, by finite differences, and their errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import check_functional_gradients, compare_with_torch

dtypes = st.sampled_from([np.float64, np.float32])


@st.composite
def pool_options(draw, dilation: bool):
    """kernel, stride (None = kernel), padding <= half the kernel, and an input shape."""
    kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    d = draw(st.tuples(st.integers(1, 2), st.integers(1, 2))) if dilation else (1, 1)
    span = [di * (k - 1) + 1 for k, di in zip(kernel, d)]
    options = dict(kernel_size=kernel,
                   stride=draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3)))),
                   padding=tuple(draw(st.integers(0, k // 2)) for k in kernel),
                   ceil_mode=draw(st.booleans()))
    if dilation:
        options["dilation"] = d
    hw = [max(1, s - 2 * p + draw(st.integers(0, 4))) for s, p in zip(span, options["padding"])]
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return options, (*batch, draw(st.integers(1, 3)), *hw)


def _input(shape, seed, ties):
    """Random values, or a few repeated values so that windows have several maxima."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, 3, shape).astype(np.float64) if ties else rng.standard_normal(shape)


@pytest.mark.fast_too
@given(options=pool_options(dilation=True), return_indices=st.booleans(), ties=st.booleans(),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_max_pool2d_matches_torch(options, return_indices, ties, dtype, seed):
    options, shape = options
    options["return_indices"] = return_indices
    compare_with_torch(nt.nn.MaxPool2d(**options), torch.nn.MaxPool2d(**options),
                       _input(shape, seed, ties), dtype=dtype, seed=seed)


@pytest.mark.fast_too
@given(options=pool_options(dilation=False), count_include_pad=st.booleans(),
       divisor_override=st.sampled_from([None, None, 1, 3]), dtype=dtypes, seed=st.integers(0, 2**16))
def test_avg_pool2d_matches_torch(options, count_include_pad, divisor_override, dtype, seed):
    options, shape = options
    options.update(count_include_pad=count_include_pad, divisor_override=divisor_override)
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.AvgPool2d(**options), torch.nn.AvgPool2d(**options), x, dtype=dtype, seed=seed)


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("size", [6, 7])
def test_avg_pool2d_ceil_mode_divides_overhanging_windows_as_torch(size, count_include_pad, rng):
    # 6: the last window reaches past the padding (counted out of the divisor); 7: it does not
    options = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=count_include_pad)
    compare_with_torch(nt.nn.AvgPool2d(**options), torch.nn.AvgPool2d(**options),
                       rng.standard_normal((1, 2, size, size + 1)))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),                          # overlapping windows
    dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), ceil_mode=True),
], ids=["plain", "overlapping", "dilated-ceil"])
def test_max_pool2d_functional_gradients(kwargs, rng):
    x = rng.permutation(2 * 3 * 7 * 8).reshape(2, 3, 7, 8) * 0.01    # distinct: no ties
    check_functional_gradients(F.max_pool2d_forward, F.max_pool2d_backward, [x], kwargs=kwargs,
                               name="max_pool2d")


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=(3, 2), stride=1, padding=(1, 1), divisor_override=5),
], ids=["plain", "padded-ceil", "override"])
def test_avg_pool2d_functional_gradients(kwargs, rng):
    check_functional_gradients(F.avg_pool2d_forward, F.avg_pool2d_backward,
                               [rng.standard_normal((2, 3, 7, 8))], kwargs=kwargs, name="avg_pool2d")


def test_tied_maxima_send_the_gradient_to_the_first_and_overlaps_add_up():
    pool = nt.nn.MaxPool2d(2, stride=1)
    x = np.ones((1, 1, 3, 3), np.float32)          # every window is all ties: first = top left
    pool(x)
    dx = pool.backward(np.ones((1, 1, 2, 2), np.float32))
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 0], [1, 1, 0], [0, 0, 0]])
    x[0, 0, 1, 1] = 2                              # the centre is every window's maximum
    pool(x)
    dx = pool.backward(np.ones((1, 1, 2, 2), np.float32))
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 4, 0], [0, 0, 0]])


def test_max_pool2d_propagates_nan():
    x = np.zeros((1, 1, 2, 4), np.float32)
    x[0, 0, 1, 1] = np.nan
    np.testing.assert_array_equal(np.isnan(nt.nn.MaxPool2d(2)(x)), [[[[True, False]]]])


def test_called_twice_backpropagates_both_calls_last_first(rng):
    pool, twin = nt.nn.MaxPool2d(3, stride=1, padding=1), torch.nn.MaxPool2d(3, stride=1, padding=1)
    avg, avg_twin = nt.nn.AvgPool2d(2, stride=1), torch.nn.AvgPool2d(2, stride=1)
    x = rng.standard_normal((2, 3, 6, 6))
    y = avg(pool(avg(pool(x))))
    dy = rng.standard_normal(y.shape)
    dx = pool.backward(avg.backward(pool.backward(avg.backward(dy))))
    tx = torch.from_numpy(x).requires_grad_()
    avg_twin(twin(avg_twin(twin(tx)))).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-14)


def test_float32_stays_float32():
    x = np.ones((2, 3, 6, 6), np.float32)
    for pool in (nt.nn.MaxPool2d(3, 2, 1, ceil_mode=True), nt.nn.AvgPool2d(3, 2, 1, ceil_mode=True)):
        y = pool(x)
        assert y.dtype == pool.backward(np.ones_like(y)).dtype == np.float32


# ---- errors name the module and the shapes ----
def test_padding_over_half_the_kernel():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=2.*padding \(2, 2\) must be at most half"):
        nt.nn.MaxPool2d(2, padding=2)(np.zeros((1, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"AvgPool2d\(kernel_size=3.*at most half"):
        nt.nn.AvgPool2d(3, padding=2)(np.zeros((1, 1, 8, 8), np.float32))


def test_kernel_larger_than_input():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=5.*input of shape \(1, 1, 3, 8\).*"
                                         r"smaller than the kernel \(5, 5\)"):
        nt.nn.MaxPool2d(5)(np.zeros((1, 1, 3, 8), np.float32))


def test_wrong_rank_and_integer_input():
    with pytest.raises(ValueError, match=r"AvgPool2d\(.*expects 3-D or 4-D input.*got shape \(8, 8\)"):
        nt.nn.AvgPool2d(2)(np.zeros((8, 8), np.float32))
    with pytest.raises(TypeError, match=r"MaxPool2d\(.*floating input, got dtype int64"):
        nt.nn.MaxPool2d(2)(np.zeros((1, 1, 8, 8), np.int64))


def test_zero_divisor_override():
    with pytest.raises(ValueError, match="divisor_override must not be zero"):
        nt.nn.AvgPool2d(2, divisor_override=0)(np.zeros((1, 1, 8, 8), np.float32))
