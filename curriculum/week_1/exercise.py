# %% [markdown]
# # Week 1 exercise: activations, losses and Linear
#
# Fill in every function marked `TODO` (read `lesson.md` first). The contract of the library:
#
# - `out, cache = thing_forward(inputs...)`: the output, and whatever the backward will need.
# - `grads = thing_backward(dout, cache)`: `dout` is dL/d(out), the gradient of the loss with
#   respect to the output, same shape as `out`; return dL/d(input) for each input.
#
# Shapes: N samples, C classes, `in`/`out` features. Work on whole arrays (no Python loops over
# samples). Keep the input's dtype: a float32 input gives float32 outputs.
#
# Check your work from the repository's root: `numpy-transformer check week-1`
# (or `numpy-transformer check week-1 path/to/this/file.py`).

# %%
import numpy as np

from numpy_transformer.nn import Module, Parameter, init


# %% [markdown]
# ## Activations (elementwise, any shape)

# %%
def relu_forward(x):
    """y = max(x, 0). x: any shape -> (y same shape, cache)."""
    # TODO: compute y and choose the cache (what does relu_backward need?)
    raise NotImplementedError("relu_forward")


def relu_backward(dy, cache):
    """dy: same shape as y -> dx: dy where x > 0, 0 elsewhere (also at x == 0)."""
    # TODO
    raise NotImplementedError("relu_backward")


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)). x: any shape -> (y, cache)."""
    # TODO
    raise NotImplementedError("sigmoid_forward")


def sigmoid_backward(dy, cache):
    """dx = dy * dy/dx; write dy/dx with the output y."""
    # TODO
    raise NotImplementedError("sigmoid_backward")


def tanh_forward(x):
    """y = tanh(x). x: any shape -> (y, cache)."""
    # TODO
    raise NotImplementedError("tanh_forward")


def tanh_backward(dy, cache):
    """dx = dy * (1 - y^2)."""
    # TODO
    raise NotImplementedError("tanh_backward")


# %% [markdown]
# ## Softmax (along one axis)

# %%
def softmax_forward(x, axis=-1):
    """y = exp(x) / sum(exp(x)) along `axis`, computed without overflow.

    x: any shape -> (y same shape, each slice along `axis` sums to 1; cache)."""
    # TODO: subtract the max along `axis` first (keepdims=True), so exp never overflows
    raise NotImplementedError("softmax_forward")


def softmax_backward(dy, cache):
    """dx = J^T dy for the Jacobian J = diag(y) - y y^T of each slice along `axis`.

    Do not build J: dx = y * (dy - sum(dy * y, axis, keepdims=True))."""
    # TODO
    raise NotImplementedError("softmax_backward")


# %% [markdown]
# ## Losses (they return a scalar: a 0-d array)

# %%
def cross_entropy_forward(logits, target):
    """Softmax cross-entropy, averaged over the batch (PyTorch's F.cross_entropy).

    logits [N, C] floats, target [N] integer class indices in 0..C-1
    -> (loss, cache) with loss = mean_i -log softmax(logits)[i, target[i]], a 0-d array."""
    # TODO: a stable log-softmax: (x - max) - log(sum(exp(x - max)))
    raise NotImplementedError("cross_entropy_forward")


def cross_entropy_backward(dloss, cache):
    """dloss: a 0-d array (d L / d loss) -> dlogits [N, C] = dloss * (softmax - onehot) / N."""
    # TODO
    raise NotImplementedError("cross_entropy_backward")


def binary_cross_entropy_forward(p, target):
    """Binary cross-entropy of probabilities, averaged over every element (F.binary_cross_entropy).

    p: probabilities in [0, 1], any shape; target: same shape, floats in [0, 1]
    -> (loss, cache) with loss = mean of -(t log p + (1 - t) log(1 - p)), a 0-d array.
    Clamp each log at -100 as PyTorch does, so that p = 0 with t = 0 gives 0, not NaN."""
    # TODO
    raise NotImplementedError("binary_cross_entropy_forward")


def binary_cross_entropy_backward(dloss, cache):
    """-> dp, same shape as p: dloss * (p - t) / (p (1 - p)) / (number of elements).

    Guard the division as PyTorch does: divide by np.maximum(p * (1 - p), 1e-12)."""
    # TODO
    raise NotImplementedError("binary_cross_entropy_backward")


# %% [markdown]
# ## Linear: y = x W^T + b

# %%
def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] or None -> (y [..., out], cache).

    x may have several leading axes ([N, in] or [B, T, in])."""
    # TODO
    raise NotImplementedError("linear_forward")


def linear_backward(dy, cache):
    """dy [..., out] -> (dx [..., in], dweight [out, in], dbias [out], or None without bias).

    dweight and dbias sum over every leading axis: reshape dy to [N, out] and x to [N, in]."""
    # TODO
    raise NotImplementedError("linear_backward")


# %% [markdown]
# ## The Linear module
#
# A module keeps the cache for you: `self._push(cache, y)` in forward, `cache = self._pop(dy)`
# in backward. Parameter gradients are ADDED into `param.grad` with `self._accumulate(param,
# grad)` (a layer used twice gets both gradients). `__init__` is written for you.

# %%
class Linear(Module):
    """y = x W^T + b over the last axis; weight [out, in] and bias [out], PyTorch's names."""

    def __init__(self, in_features, out_features, bias=True):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.empty((out_features, in_features)))
        self.bias = Parameter(init.empty(out_features)) if bias else None
        init.default_uniform_(self.weight, self.bias, fan_in=in_features)   # U(-1/sqrt(in), ...)

    def forward(self, x):
        """x [..., in] -> y [..., out]."""
        # TODO: linear_forward with self.weight.data and the bias' data; self._push(cache, y)
        raise NotImplementedError("Linear.forward")

    def backward(self, dy):
        """dy [..., out] -> dx [..., in]; adds into self.weight.grad and self.bias.grad."""
        # TODO: cache = self._pop(dy); linear_backward; self._accumulate(...) for each parameter
        raise NotImplementedError("Linear.backward")
