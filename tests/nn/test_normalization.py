"""LayerNorm, BatchNorm1d and BatchNorm2d against torch, by finite differences, and their errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])


# ---------------------------------------------------------------- LayerNorm

@pytest.mark.fast_too
@given(lead=st.lists(st.integers(1, 4), min_size=0, max_size=2),
       norm=st.lists(st.integers(1, 5), min_size=1, max_size=3), as_int=st.booleans(),
       elementwise_affine=st.booleans(), bias=st.booleans(), eps=st.sampled_from([1e-5, 1e-2]),
       offset=st.sampled_from([0.0, 5.0]), dtype=dtypes, seed=st.integers(0, 2**16))
def test_layer_norm_matches_torch(lead, norm, as_int, elementwise_affine, bias, eps, offset, dtype, seed):
    shape = norm[-1] if as_int else tuple(norm)
    x = offset + 3 * np.random.default_rng(seed).standard_normal((*lead, *norm))
    kwargs = dict(eps=eps, elementwise_affine=elementwise_affine, bias=bias)
    compare_with_torch(nt.nn.LayerNorm(shape, **kwargs), torch.nn.LayerNorm(shape, **kwargs),
                       x, dtype=dtype, seed=seed)


@pytest.mark.parametrize("n_dims, affine, bias", [(1, True, True), (2, True, False), (1, False, False)])
def test_layer_norm_functional_gradients(n_dims, affine, bias, rng):
    x = rng.standard_normal((3, 4, 5))
    shape = x.shape[3 - n_dims:]
    inputs = [x, rng.standard_normal(shape) if affine else None, rng.standard_normal(shape) if bias else None]
    check_functional_gradients(F.layer_norm_forward, F.layer_norm_backward, inputs,
                               kwargs={"n_dims": n_dims}, name="layer_norm")


def test_layer_norm_module_gradients(rng):
    layer = nt.nn.LayerNorm((3, 4))
    layer.double()
    layer.weight.data += rng.standard_normal((3, 4))
    layer.bias.data += rng.standard_normal((3, 4))
    check_module_gradients(layer, rng.standard_normal((2, 3, 4)))


def test_layer_norm_starts_as_plain_normalisation_in_float32():
    layer = nt.nn.LayerNorm(8)
    assert layer.weight.dtype == np.float32 and (layer.weight.data == 1).all() and (layer.bias.data == 0).all()
    y = layer(np.random.default_rng(0).standard_normal((4, 8)).astype(np.float32) * 7 + 3)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(-1), 0, atol=1e-6)
    np.testing.assert_allclose(y.var(-1), 1, rtol=1e-3)


def test_layer_norm_options_give_torch_state_dict_keys():
    assert list(nt.nn.LayerNorm(4).state_dict()) == ["weight", "bias"]
    assert list(nt.nn.LayerNorm(4, bias=False).state_dict()) == ["weight"]
    assert list(nt.nn.LayerNorm(4, elementwise_affine=False).state_dict()) == []
    assert nt.nn.LayerNorm(4).normalized_shape == (4,) == torch.nn.LayerNorm(4).normalized_shape
    for kwargs in ({}, {"bias": False}, {"elementwise_affine": False, "eps": 0.1}):
        assert repr(nt.nn.LayerNorm(4, **kwargs)) == repr(torch.nn.LayerNorm(4, **kwargs))


def test_layer_norm_wrong_trailing_shape_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(4, 5\).*shape \[\*, 4, 5\], got shape \(2, 5, 4\)"):
        nt.nn.LayerNorm((4, 5))(np.zeros((2, 5, 4), np.float32))
    with pytest.raises(ValueError, match=r"got shape \(5,\)"):
        nt.nn.LayerNorm((4, 5))(np.zeros(5, np.float32))


def test_layer_norm_rejects_integer_and_other_dtype_input():
    with pytest.raises(TypeError, match=r"LayerNorm.*floating input"):
        nt.nn.LayerNorm(3)(np.zeros((2, 3), np.int64))
    with pytest.raises(TypeError, match="float32 parameters but got input of dtype float64"):
        nt.nn.LayerNorm(3)(np.zeros((2, 3)))


# ---------------------------------------------------------------- BatchNorm

KINDS = {  # name: (ours, torch, input shape given N and C)
    "1d [N, C]": (nt.nn.BatchNorm1d, torch.nn.BatchNorm1d, lambda n, c: (n, c)),
    "1d [N, C, L]": (nt.nn.BatchNorm1d, torch.nn.BatchNorm1d, lambda n, c: (n, c, 3)),
    "2d": (nt.nn.BatchNorm2d, torch.nn.BatchNorm2d, lambda n, c: (n, c, 3, 2)),
}
momenta = st.sampled_from([0.1, 0.7, None])


def _pair(kind, channels, **kwargs):
    ours, theirs, shape = KINDS[kind]
    return ours(channels, **kwargs), theirs(channels, **kwargs), shape


def _random_running_stats(layer, rng):
    if layer.track_running_stats:
        layer.running_mean[...] = rng.standard_normal(layer.num_features)
        layer.running_var[...] = rng.uniform(0.5, 2.0, layer.num_features)
        layer.num_batches_tracked[...] = 3


def _assert_same_buffers(ours, theirs, dtype):
    """running_mean, running_var (in `dtype`) and num_batches_tracked (int64) equal torch's."""
    tol = 1e-6 if dtype == np.float64 else 1e-5
    t_buffers = dict(theirs.named_buffers())
    assert set(dict(ours.named_buffers())) == set(t_buffers)
    for name, buf in ours.named_buffers():
        np.testing.assert_allclose(buf, t_buffers[name].numpy(), rtol=tol, atol=tol, err_msg=name)
        assert buf.dtype == (np.int64 if name == "num_batches_tracked" else dtype)


@pytest.mark.fast_too
@given(kind=st.sampled_from(list(KINDS)), n=st.integers(2, 4), channels=st.integers(1, 4),
       training=st.booleans(), momentum=momenta, affine=st.booleans(), bias=st.booleans(),
       track=st.booleans(), eps=st.sampled_from([1e-5, 1e-1]), dtype=dtypes, seed=st.integers(0, 2**16))
def test_batch_norm_matches_torch(kind, n, channels, training, momentum, affine, bias, track, eps,
                                  dtype, seed):
    kwargs = dict(eps=eps, momentum=momentum, affine=affine, bias=bias, track_running_stats=track)
    ours, theirs, shape = _pair(kind, channels, **kwargs)
    rng = np.random.default_rng(seed)
    _random_running_stats(ours, rng)
    ours.train(training), theirs.train(training)
    x = 2 + 3 * rng.standard_normal(shape(n, channels))
    compare_with_torch(ours, theirs, x, dtype=dtype, seed=seed)
    _assert_same_buffers(ours, theirs, dtype)


@pytest.mark.fast_too
@given(kind=st.sampled_from(list(KINDS)), momentum=momenta, affine=st.booleans(), dtype=dtypes,
       seed=st.integers(0, 2**16))
def test_batch_norm_running_statistics_follow_torch_over_several_steps(kind, momentum, affine, dtype, seed):
    ours, theirs, shape = _pair(kind, 3, momentum=momentum, affine=affine)
    ours.to(dtype), theirs.to({np.float64: torch.float64, np.float32: torch.float32}[dtype])
    rng = np.random.default_rng(seed)
    for step in range(4):
        x = (rng.standard_normal(shape(4, 3)) * (step + 1) + step).astype(dtype)
        ours(x)
        theirs(torch.from_numpy(x))
    _assert_same_buffers(ours, theirs, dtype)
    assert int(ours.num_batches_tracked) == 4 and ours.num_batches_tracked.shape == ()
    ours.eval(), theirs.eval()                    # evaluation then uses those statistics
    x = rng.standard_normal(shape(2, 3)).astype(dtype)
    np.testing.assert_allclose(ours(x), theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-4, atol=1e-5)


def test_batch_norm_momentum_none_is_the_cumulative_average_of_batch_statistics(rng):
    layer = nt.nn.BatchNorm1d(2, momentum=None).double()
    batches = [rng.standard_normal((5, 2)) * (k + 1) + k for k in range(3)]
    for x in batches:
        layer(x)
    np.testing.assert_allclose(layer.running_mean, np.mean([x.mean(0) for x in batches], axis=0))
    np.testing.assert_allclose(layer.running_var, np.mean([x.var(0, ddof=1) for x in batches], axis=0))


def test_batch_norm_running_var_uses_the_unbiased_batch_variance(rng):
    layer = nt.nn.BatchNorm1d(2, momentum=1.0).double()
    x = rng.standard_normal((4, 2))
    layer(x)
    np.testing.assert_allclose(layer.running_var, x.var(0, ddof=1))
    np.testing.assert_allclose(layer.running_mean, x.mean(0))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_functional_gradients(training, affine, rng):
    x = rng.standard_normal((3, 2, 4))
    weight, bias = (rng.standard_normal(2), rng.standard_normal(2)) if affine else (None, None)
    kwargs = {"training": training, "running_mean": rng.standard_normal(2),
              "running_var": rng.uniform(0.5, 2, 2)}
    if training:  # the running statistics must not change what is differentiated
        kwargs.update(running_mean=None, running_var=None)
    check_functional_gradients(F.batch_norm_forward, F.batch_norm_backward, [x, weight, bias],
                               kwargs=kwargs, name="batch_norm")


@pytest.mark.parametrize("kind", list(KINDS))
def test_batch_norm_module_gradients(kind, rng):
    layer, _, shape = _pair(kind, 3)
    layer.double()
    layer.weight.data += rng.standard_normal(3)
    check_module_gradients(layer, rng.standard_normal(shape(4, 3)))


def test_batch_norm_eval_backward_is_the_affine_map(rng):
    layer = nt.nn.BatchNorm2d(3).double()
    _random_running_stats(layer, rng)
    layer.weight.data[...] = rng.standard_normal(3)
    layer.eval()
    x = rng.standard_normal((2, 3, 4, 4))
    dy = rng.standard_normal(x.shape)
    layer(x)
    scale = layer.weight.data / np.sqrt(layer.running_var + layer.eps)
    np.testing.assert_allclose(layer.backward(dy), dy * scale[:, None, None], rtol=1e-12)


def test_batch_norm_without_running_stats_has_no_buffers_and_uses_batch_stats_in_eval(rng):
    layer = nt.nn.BatchNorm1d(3, track_running_stats=False).eval()
    assert list(layer.state_dict()) == ["weight", "bias"] and layer.running_mean is None
    y = layer(rng.standard_normal((6, 3)).astype(np.float32) * 5 + 2)
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)


def test_batch_norm_state_dict_keys_and_repr_match_torch():
    for kwargs in ({}, {"affine": False}, {"bias": False}, {"momentum": None}):
        ours, theirs = nt.nn.BatchNorm2d(3, **kwargs), torch.nn.BatchNorm2d(3, **kwargs)
        assert list(ours.state_dict()) == list(theirs.state_dict())
        assert repr(ours) == repr(theirs)


def test_batch_norm_one_value_per_channel_in_training_is_an_error():
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*more than 1 value per channel when training, "
                                         r"got input of shape \(1, 3\)"):
        nt.nn.BatchNorm1d(3)(np.zeros((1, 3), np.float32))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        nt.nn.BatchNorm2d(3)(np.zeros((1, 3, 1, 1), np.float32))
    assert nt.nn.BatchNorm1d(3).eval()(np.zeros((1, 3), np.float32)).shape == (1, 3)


def test_batch_norm_wrong_channels_or_rank_names_layer_and_shapes():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*3 channels \(dimension 1\), got shape \(2, 4, 5, 5\)"):
        nt.nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*4-D input \[N, C, H, W\], got shape \(2, 3, 5\)"):
        nt.nn.BatchNorm2d(3)(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3.*2-D or 3-D input.*got shape \(2, 3, 5, 5\)"):
        nt.nn.BatchNorm1d(3)(np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(TypeError, match=r"BatchNorm1d.*floating input"):
        nt.nn.BatchNorm1d(3)(np.zeros((2, 3), np.int32))


def test_batch_norm_backward_before_forward_and_wrong_grad_shape():
    layer = nt.nn.BatchNorm1d(3)
    with pytest.raises(RuntimeError, match=r"BatchNorm1d\(3.*without a matching forward"):
        layer.backward(np.zeros((2, 3), np.float32))
    layer(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"grad_output of shape \(2, 4\).*output had shape \(2, 3\)"):
        layer.backward(np.zeros((2, 4), np.float32))


def test_layer_norm_rows_do_not_depend_on_the_rest_of_the_batch():
    rng = np.random.default_rng(0)
    x, dy = rng.standard_normal((2, 51, 24))
    weight, bias = rng.standard_normal((2, 24))
    y, cache = F.layer_norm_forward(x, weight, bias)
    dx = F.layer_norm_backward(dy, cache)[0]
    for rows in (slice(0, 17), slice(1, 2), slice(5, 12)):
        y_part, cache = F.layer_norm_forward(x[rows], weight, bias)
        np.testing.assert_array_equal(y_part, y[rows])
        np.testing.assert_array_equal(F.layer_norm_backward(dy[rows], cache)[0], dx[rows])
