# %% [markdown]
# # Week 2 exercise: Conv2d, MaxPool2d, Flatten
#
# Fill in every function marked `TODO` (read `lesson.md` first). Same contract as week 1:
# `out, cache = thing_forward(...)`, `grads = thing_backward(dout, cache)`.
#
# Shapes: N images, C input channels, O output channels, H x W input, KH x KW kernel,
# OH x OW output. A loop over the kernel offsets (KH * KW steps) or over output positions is
# fine here; vectorise over the batch and the channels.
#
# Check your work from the repository's root: `numpy-transformer check week-2`.

# %%
import numpy as np

from numpy_transformer.nn import Module, Parameter, init


# %% [markdown]
# ## Convolution (PyTorch's conv2d: a cross-correlation, the kernel is not flipped)

# %%
def conv2d_forward(x, weight, bias=None, stride=1, padding=0):
    """x [N, C, H, W], weight [O, C, KH, KW], bias [O] or None; stride, padding: ints
    -> (y [N, O, OH, OW], cache) with OH = (H + 2 * padding - KH) // stride + 1 (same for W).

    y[n, o, i, j] = bias[o] + sum over c, a, b of
                    x_padded[n, c, i * stride + a, j * stride + b] * weight[o, c, a, b]"""
    # TODO: pad x with zeros (np.pad), then for each kernel offset (a, b) take the strided
    # slice of x_padded that the offset meets and add its contribution (np.einsum or
    # np.tensordot over c)
    raise NotImplementedError("conv2d_forward")


def conv2d_backward(dy, cache):
    """dy [N, O, OH, OW] -> (dx [N, C, H, W], dweight [O, C, KH, KW], dbias [O] or None).

    Windows overlap when stride < kernel: ADD (+=) into dx_padded, then cut the padding off."""
    # TODO
    raise NotImplementedError("conv2d_backward")


# %% [markdown]
# ## Max pooling

# %%
def max_pool2d_forward(x, kernel_size, stride=None):
    """x [N, C, H, W], kernel_size k (int), stride (int, default k)
    -> (y [N, C, OH, OW], cache): the maximum of each k x k window,
    OH = (H - k) // stride + 1 (rows that no window covers are left out)."""
    # TODO
    raise NotImplementedError("max_pool2d_forward")


def max_pool2d_backward(dy, cache):
    """dy [N, C, OH, OW] -> dx [N, C, H, W]: each window's gradient goes to the ONE element that
    was its maximum (the first in row-major order when several are equal, as PyTorch);
    overlapping windows add up."""
    # TODO
    raise NotImplementedError("max_pool2d_backward")


# %% [markdown]
# ## Flatten: [N, C, H, W] -> [N, C*H*W]

# %%
def flatten_forward(x):
    """x [N, ...] -> (y [N, D], cache) with D the product of the other axes."""
    # TODO
    raise NotImplementedError("flatten_forward")


def flatten_backward(dy, cache):
    """dy [N, D] -> dx with the input's shape."""
    # TODO
    raise NotImplementedError("flatten_backward")


# %% [markdown]
# ## The modules (`__init__` is written for you; see week 1's Linear for the pattern)

# %%
class Conv2d(Module):
    """weight [out_channels, in_channels, k, k], bias [out_channels]: PyTorch's names."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
        super().__init__()
        self.stride, self.padding = stride, padding
        k = kernel_size
        self.weight = Parameter(init.empty((out_channels, in_channels, k, k)))
        self.bias = Parameter(init.empty(out_channels)) if bias else None
        init.default_uniform_(self.weight, self.bias, fan_in=in_channels * k * k)

    def forward(self, x):
        """x [N, C, H, W] -> y [N, O, OH, OW]."""
        # TODO
        raise NotImplementedError("Conv2d.forward")

    def backward(self, dy):
        """dy [N, O, OH, OW] -> dx; adds into self.weight.grad and self.bias.grad."""
        # TODO
        raise NotImplementedError("Conv2d.backward")


class MaxPool2d(Module):
    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size, self.stride = kernel_size, stride

    def forward(self, x):
        # TODO
        raise NotImplementedError("MaxPool2d.forward")

    def backward(self, dy):
        # TODO
        raise NotImplementedError("MaxPool2d.backward")


class Flatten(Module):
    def forward(self, x):
        # TODO
        raise NotImplementedError("Flatten.forward")

    def backward(self, dy):
        # TODO
        raise NotImplementedError("Flatten.backward")
