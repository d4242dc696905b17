"""Dropout, Dropout1d and Dropout2d: identity when off, the mask's statistics, backward reuses the mask."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import check_functional_gradients, compare_with_torch

dtypes = st.sampled_from([np.float64, np.float32])


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), p=st.sampled_from([0.0, 0.3, 0.9]),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_dropout_in_eval_mode_matches_torch_identity(shape, p, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.Dropout(p).eval(), torch.nn.Dropout(p).eval(), x, dtype=dtype, seed=seed)


@given(shape=st.lists(st.integers(1, 5), min_size=1, max_size=4), dtype=dtypes, seed=st.integers(0, 2**16))
def test_dropout_with_p_zero_matches_torch_identity_in_training(shape, dtype, seed):
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.Dropout(0.0), torch.nn.Dropout(0.0), x, dtype=dtype, seed=seed)


@given(shape=st.lists(st.integers(1, 6), min_size=1, max_size=3), p=st.sampled_from([0.1, 0.5, 0.8]),
       dtype=dtypes, seed=st.integers(0, 2**16))
def test_dropout_keeps_elements_scaled_by_one_over_keep_and_backward_uses_that_mask(shape, p, dtype, seed):
    rng = np.random.default_rng(seed)
    x = (rng.uniform(0.5, 2.0, shape)).astype(dtype)
    layer = nt.nn.Dropout(p)
    y = layer(x)
    scale = y / x                                          # 0 or 1 / (1 - p) everywhere
    kept = scale != 0
    np.testing.assert_allclose(scale[kept], 1 / (1 - p), rtol=1e-6)
    dy = rng.standard_normal(shape).astype(dtype)
    dx = layer.backward(dy)
    assert y.dtype == dx.dtype == dtype
    np.testing.assert_array_equal(dx == 0, ~kept)
    np.testing.assert_allclose(dx, dy * scale, rtol=1e-6)


@pytest.mark.parametrize("forward", [F.dropout_forward, F.feature_dropout_forward])
def test_dropout_functional_gradients_with_a_fixed_mask(forward, rng):
    def seeded(x):  # the same generator state on every call, so the mask is fixed
        return forward(x, 0.4, True, np.random.default_rng(3))
    check_functional_gradients(seeded, F.dropout_backward, [rng.standard_normal((3, 4, 5))],
                               name=forward.__name__)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_zeroes_about_p_of_the_elements_and_preserves_the_mean(p):
    x = np.ones((200, 500), np.float32)
    y = nt.nn.Dropout(p)(x)
    assert abs((y == 0).mean() - p) < 0.01                 # 100k draws: std of the fraction < 0.002
    assert abs(y.mean() - 1) < 0.05
    assert y.dtype == np.float32


def test_dropout_with_p_one_zeroes_everything_and_passes_no_gradient():
    layer = nt.nn.Dropout(1.0)
    assert (layer(np.ones((3, 4), np.float32)) == 0).all()
    assert (layer.backward(np.ones((3, 4), np.float32)) == 0).all()


def test_dropout_called_twice_backpropagates_each_call_with_its_own_mask_last_first():
    layer = nt.nn.Dropout(0.5)
    x = np.ones((50, 40))
    first, second = layer(x), layer(x)
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), second)
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), first)


def test_dropout_same_seed_gives_same_mask():
    x = np.ones((20, 30), np.float32)
    nt.manual_seed(7)
    a = nt.nn.Dropout(0.4)(x)
    nt.manual_seed(7)
    b = nt.nn.Dropout(0.4)(x)
    c = nt.nn.Dropout(0.4, generator=np.random.default_rng(7))(x)
    d = nt.nn.Dropout(0.4, generator=np.random.default_rng(7))(x)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(c, d)


def test_dropout_in_eval_mode_and_p_zero_return_the_input_and_the_gradient():
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    for layer in (nt.nn.Dropout(0.5).eval(), nt.nn.Dropout(0.0), nt.nn.Dropout1d(0.5).eval(),
                  nt.nn.Dropout2d(0.0)):
        np.testing.assert_array_equal(layer(x), x)
        np.testing.assert_array_equal(layer.backward(2 * x), 2 * x)


def test_inplace_dropout_overwrites_its_input():
    x = np.ones((10, 10), np.float32)
    y = nt.nn.Dropout(0.5, inplace=True)(x)
    assert y is x and (x == 0).any()


@pytest.mark.parametrize("make", [nt.nn.Dropout, nt.nn.Dropout1d, nt.nn.Dropout2d])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_probability_outside_zero_one_is_rejected(make, p):
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        make(p)
    with pytest.raises(ValueError, match="between 0 and 1"):
        F.dropout_forward(np.ones(3), p)


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"Dropout\(p=0.5, inplace=False\) needs a floating input"):
        nt.nn.Dropout()(np.arange(3))


def test_backward_before_forward():
    with pytest.raises(RuntimeError, match=r"Dropout\(p=0.5.*without a matching forward"):
        nt.nn.Dropout().backward(np.ones(3, np.float32))


# ---------------------------------------------------------------- channel dropout

@pytest.mark.parametrize("make, shape, channel_axes", [
    (nt.nn.Dropout1d, (8, 16, 5), 2), (nt.nn.Dropout1d, (16, 5), 1), (nt.nn.Dropout2d, (8, 16, 3, 4), 2),
    (nt.nn.Dropout2d, (8, 16, 5), 2)])
def test_channel_dropout_zeroes_whole_channels_and_backward_uses_the_mask(make, shape, channel_axes):
    layer = make(0.5)
    y = layer(np.ones(shape, np.float32))
    per_channel = y.reshape(*shape[:channel_axes], -1)
    assert (per_channel == per_channel[..., :1]).all()    # one draw shared by the whole channel
    assert set(np.unique(y)) == {0.0, 2.0} and y.dtype == np.float32
    np.testing.assert_array_equal(layer.backward(np.ones(shape, np.float32)), y)


def test_channel_dropout_zeroes_about_p_of_the_channels():
    y = nt.nn.Dropout2d(0.3)(np.ones((100, 100, 2, 2), np.float32))
    assert abs((y[:, :, 0, 0] == 0).mean() - 0.3) < 0.02


@pytest.mark.parametrize("make, torch_make, shape", [
    (nt.nn.Dropout1d, torch.nn.Dropout1d, (2, 3, 4)), (nt.nn.Dropout2d, torch.nn.Dropout2d, (2, 3, 4, 4))])
def test_channel_dropout_in_eval_mode_matches_torch(make, torch_make, shape):
    x = np.random.default_rng(0).standard_normal(shape)
    compare_with_torch(make(0.5).eval(), torch_make(0.5).eval(), x)


def test_channel_dropout_wrong_rank_names_layer_and_shape():
    with pytest.raises(ValueError, match=r"Dropout1d\(p=0.5.*2-D or 3-D input.*got shape \(2, 3, 4, 5\)"):
        nt.nn.Dropout1d()(np.ones((2, 3, 4, 5), np.float32))
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.5.*3-D or 4-D input.*got shape \(2, 3\)"):
        nt.nn.Dropout2d()(np.ones((2, 3), np.float32))
