"""Conv2d and ConvTranspose2d against torch, by finite differences, and their errors."""
import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st

import numpy_transformer as nt
from numpy_transformer.nn import functional as F
from numpy_transformer.nn.functional.windows import pair as _pair, resolve_padding
from numpy_transformer.testing import (check_functional_gradients, check_module_gradients,
                                       compare_with_torch)

dtypes = st.sampled_from([np.float64, np.float32])
pairs = st.tuples(st.integers(1, 3), st.integers(1, 3))
@st.composite
def conv_options(draw):
    """Options of a Conv2d and an input shape it accepts (batched or not)."""
    groups = draw(st.sampled_from([1, 1, 2, 3]))
    kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    padding = draw(st.one_of(st.integers(0, 2), pairs.map(lambda p: (p[0] - 1, p[1] - 1)),
                             st.sampled_from(["same", "valid"])))
    stride = 1 if padding == "same" else draw(st.one_of(st.integers(1, 3), pairs))
    dilation = draw(st.one_of(st.just(1), pairs))
    options = dict(in_channels=groups * draw(st.integers(1, 3)),
                   out_channels=groups * draw(st.integers(1, 3)), kernel_size=kernel,
                   stride=stride, padding=padding, dilation=dilation, groups=groups,
                   bias=draw(st.booleans()))
    d = _pair(dilation)
    pads = resolve_padding(padding, kernel, d)
    hw = [max(1, d[a] * (kernel[a] - 1) + 1 - sum(pads[a]) + draw(st.integers(0, 4))) for a in (0, 1)]
    batch = draw(st.sampled_from([(), (1,), (2,), (3,)]))
    return options, (*batch, options["in_channels"], *hw)


@pytest.mark.fast_too
@pytest.mark.filterwarnings("ignore:Using padding='same'")  # torch's note about its own speed
@given(options=conv_options(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_conv2d_matches_torch(options, dtype, seed):
    options, shape = options
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.Conv2d(**options), torch.nn.Conv2d(**options), x, dtype=dtype, seed=seed)


@st.composite
def conv_transpose_options(draw):
    """Options of a ConvTranspose2d (output_padding < max(stride, dilation)) and an input shape."""
    groups = draw(st.sampled_from([1, 1, 2]))
    kernel = draw(st.tuples(st.integers(1, 4), st.integers(1, 4)))
    stride, dilation = draw(pairs), draw(st.one_of(st.just((1, 1)), pairs))
    output_padding = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(2))
    hw = [draw(st.integers(1, 4)) for _ in range(2)]
    for a in (0, 1):   # keep the output non-empty
        while (hw[a] - 1) * stride[a] + dilation[a] * (kernel[a] - 1) + output_padding[a] + 1 <= 2 * padding[a]:
            hw[a] += 1
    options = dict(in_channels=groups * draw(st.integers(1, 3)),
                   out_channels=groups * draw(st.integers(1, 3)), kernel_size=kernel,
                   stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                   bias=draw(st.booleans()), dilation=dilation)
    batch = draw(st.sampled_from([(), (1,), (2,)]))
    return options, (*batch, options["in_channels"], *hw)


@pytest.mark.fast_too
@given(options=conv_transpose_options(), dtype=dtypes, seed=st.integers(0, 2**16))
def test_conv_transpose2d_matches_torch(options, dtype, seed):
    options, shape = options
    x = np.random.default_rng(seed).standard_normal(shape)
    compare_with_torch(nt.nn.ConvTranspose2d(**options), torch.nn.ConvTranspose2d(**options), x,
                       dtype=dtype, seed=seed)


def test_conv_transpose2d_output_size_picks_the_output_padding(rng):
    ours = nt.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    theirs = torch.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1)
    x = rng.standard_normal((1, 2, 4, 5))
    kwargs = {"output_size": (1, 3, 8, 10)}
    out, _ = compare_with_torch(ours, theirs, x, kwargs=kwargs)
    assert out.shape == (1, 3, 8, 10)


@pytest.mark.parametrize("kwargs", [
    dict(stride=1, padding=1),
    dict(stride=(2, 1), padding=((1, 0), (0, 2)), dilation=(1, 2), groups=2),
    dict(padding="same", dilation=2),                        # even kernel: asymmetric padding
], ids=["plain", "strided-grouped-asymmetric", "same-even"])
def test_conv2d_functional_gradients(kwargs, rng):
    x, w, b = rng.standard_normal((3, 4, 6, 7)), rng.standard_normal((6, 4 // kwargs.get("groups", 1), 2, 3)), rng.standard_normal(6)
    check_functional_gradients(F.conv2d_forward, F.conv2d_backward, [x, w, b], kwargs=kwargs,
                               name="conv2d")


@pytest.mark.parametrize("kwargs", [
    dict(stride=1, padding=0),
    dict(stride=(2, 3), padding=(1, 0), output_padding=(1, 2), groups=2, dilation=(1, 2)),
], ids=["plain", "strided-grouped"])
def test_conv_transpose2d_functional_gradients(kwargs, rng):
    x, w, b = rng.standard_normal((2, 4, 3, 4)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(3 * kwargs.get("groups", 1))
    check_functional_gradients(F.conv_transpose2d_forward, F.conv_transpose2d_backward,
                               [x, w, b], kwargs=kwargs, name="conv_transpose2d")


def test_module_gradients(rng):
    check_module_gradients(nt.nn.Conv2d(2, 3, 3, stride=2, padding=1), rng.standard_normal((2, 2, 5, 5)))
    check_module_gradients(nt.nn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                           rng.standard_normal((2, 2, 3, 3)))


@pytest.mark.parametrize("make", [lambda nn: nn.Conv2d(3, 3, 3, padding=1),
                                  lambda nn: nn.ConvTranspose2d(3, 3, 3, padding=1)],
                         ids=["Conv2d", "ConvTranspose2d"])
def test_called_twice_backpropagates_both_calls_last_first(make, rng):
    layer, twin = make(nt.nn).double(), make(torch.nn).double()
    twin.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((2, 3, 5, 5))
    y = layer(layer(x))
    dy = rng.standard_normal(y.shape)
    dx = layer.backward(layer.backward(dy))
    tx = torch.from_numpy(x).requires_grad_()
    twin(twin(tx)).backward(torch.from_numpy(dy))
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, twin.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(layer.bias.grad, twin.bias.grad.numpy(), rtol=1e-10)


def test_default_init_is_bounded_by_one_over_sqrt_fan_in():
    conv = nt.nn.Conv2d(16, 32, 3)                        # fan_in = 16 * 3 * 3 = 144
    assert conv.weight.shape == (32, 16, 3, 3) and conv.weight.dtype == np.float32
    assert np.abs(conv.weight.data).max() <= 1 / 12 and np.abs(conv.bias.data).max() <= 1 / 12
    assert conv.weight.data.std() > 0.03
    up = nt.nn.ConvTranspose2d(32, 16, 4, groups=2)       # weight [in, out/groups, KH, KW]
    assert up.weight.shape == (32, 8, 4, 4)
    assert np.abs(up.weight.data).max() <= 1 / np.sqrt(8 * 16)


def test_float32_stays_float32():
    x = np.ones((2, 3, 6, 6), np.float32)
    conv, up = nt.nn.Conv2d(3, 4, 3), nt.nn.ConvTranspose2d(4, 3, 3)
    y = up(conv(x))
    dx = conv.backward(up.backward(np.ones_like(y)))
    assert y.dtype == dx.dtype == conv.weight.grad.dtype == up.weight.grad.dtype == np.float32


# ---- errors name the module and the shapes ----
def test_wrong_channel_count():
    with pytest.raises(ValueError, match=r"Conv2d\(3, 8, .*expects input with 3 channels.*\(2, 4, 9, 9\)"):
        nt.nn.Conv2d(3, 8, 3)(np.zeros((2, 4, 9, 9), np.float32))
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(8, 3, .*8 channels.*\(2, 3, 4, 4\)"):
        nt.nn.ConvTranspose2d(8, 3, 3)(np.zeros((2, 3, 4, 4), np.float32))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"Conv2d\(.*expects 3-D or 4-D input.*got shape \(3, 9\)"):
        nt.nn.Conv2d(3, 8, 3)(np.zeros((3, 9), np.float32))


def test_integer_input_is_rejected():
    with pytest.raises(TypeError, match=r"Conv2d\(.*floating input, got dtype int64"):
        nt.nn.Conv2d(3, 8, 3)(np.zeros((1, 3, 9, 9), np.int64))


def test_float64_input_into_float32_layer_is_rejected_not_upcast():
    with pytest.raises(TypeError, match="float32 parameters but got input of dtype float64"):
        nt.nn.Conv2d(3, 8, 3)(np.zeros((1, 3, 9, 9)))


def test_kernel_larger_than_padded_input():
    with pytest.raises(ValueError, match=r"Conv2d\(.*input of shape \(1, 3, 4, 9\) padded to \(6, 11\) "
                                         r"is smaller than the \(dilated\) kernel \(9, 9\)"):
        nt.nn.Conv2d(3, 8, 5, padding=1, dilation=2)(np.zeros((1, 3, 4, 9), np.float32))


def test_transposed_output_size_must_be_positive():
    with pytest.raises(ValueError, match=r"ConvTranspose2d\(.*\(1, 2, 1, 1\) gives output size \(-1, -1\)"):
        nt.nn.ConvTranspose2d(2, 2, 1, padding=1)(np.zeros((1, 2, 1, 1), np.float32))


def test_bad_options():
    with pytest.raises(ValueError, match="'same' is not supported for strided"):
        nt.nn.Conv2d(3, 8, 3, stride=2, padding="same")
    with pytest.raises(NotImplementedError, match="padding_mode='reflect'"):
        nt.nn.Conv2d(3, 8, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="divisible by groups"):
        nt.nn.Conv2d(3, 8, 3, groups=2)
    with pytest.raises(ValueError, match="output_padding \\(2, 2\\) must be smaller"):
        nt.nn.ConvTranspose2d(3, 8, 3, stride=2, output_padding=2)
    with pytest.raises(ValueError, match="padding must be an int, a pair, 'same' or 'valid'"):
        nt.nn.Conv2d(3, 8, 3, padding="full")


def test_backward_errors():
    conv = nt.nn.Conv2d(3, 8, 3)
    with pytest.raises(RuntimeError, match="without a matching forward"):
        conv.backward(np.zeros((1, 8, 3, 3), np.float32))
    conv(np.zeros((1, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"grad_output of shape \(1, 8, 5, 5\).*output had shape \(1, 8, 3, 3\)"):
        conv.backward(np.zeros((1, 8, 5, 5), np.float32))
