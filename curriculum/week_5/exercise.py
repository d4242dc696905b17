# %% [markdown]
# # Week 5 exercise: LayerNorm, BatchNorm, residual connections
#
# Fill in every function marked `TODO` (read `lesson.md` first). Same contract as before:
# `out, cache = thing_forward(...)`, `grads = thing_backward(dout, cache)`.
#
# Check your work from the repository's root: `numpy-transformer check week-5`.

# %%
import numpy as np

from numpy_transformer.nn import Module, Parameter, init


# %% [markdown]
# ## LayerNorm: normalise each row over its last axis

# %%
def layer_norm_forward(x, weight, bias, eps=1e-5):
    """x [..., D], weight [D], bias [D] -> (y [..., D], cache):
    y = (x - mean) / sqrt(var + eps) * weight + bias, mean and (biased) var over the last axis.
    Compute var from the centred values, mean((x - mean)^2), not as mean(x^2) - mean^2."""
    # TODO
    raise NotImplementedError("layer_norm_forward")


def layer_norm_backward(dy, cache):
    """dy [..., D] -> (dx [..., D], dweight [D], dbias [D]).

    With xhat = (x - mean) * rstd, rstd = 1 / sqrt(var + eps) and g = dy * weight:
    dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), means over the last axis."""
    # TODO
    raise NotImplementedError("layer_norm_backward")


# %% [markdown]
# ## BatchNorm: normalise each feature over the batch

# %%
def batch_norm_forward(x, weight, bias, running_mean, running_var, training=True, momentum=0.1,
                       eps=1e-5):
    """x [N, C], weight [C], bias [C], running_mean [C], running_var [C] -> (y [N, C], cache).

    Training: normalise with the batch mean and biased variance (over axis 0), and update the
    running statistics IN PLACE:
        running_mean = (1 - momentum) * running_mean + momentum * batch mean
        running_var  = (1 - momentum) * running_var  + momentum * UNBIASED batch variance
    Evaluation (training=False): normalise with running_mean and running_var instead."""
    # TODO
    raise NotImplementedError("batch_norm_forward")


def batch_norm_backward(dy, cache):
    """dy [N, C] -> (dx [N, C], dweight [C], dbias [C]).

    Training: like LayerNorm's, with the means over the batch axis 0.
    Evaluation: the statistics are constants, dx = dy * weight * rstd."""
    # TODO
    raise NotImplementedError("batch_norm_backward")


# %% [markdown]
# ## The modules (`__init__` is written for you)

# %%
class LayerNorm(Module):
    def __init__(self, normalized_shape, eps=1e-5):
        super().__init__()
        self.eps = eps
        self.weight = Parameter(init.empty(normalized_shape))
        self.bias = Parameter(init.empty(normalized_shape))
        init.ones_(self.weight)
        init.zeros_(self.bias)

    def forward(self, x):
        # TODO
        raise NotImplementedError("LayerNorm.forward")

    def backward(self, dy):
        # TODO
        raise NotImplementedError("LayerNorm.backward")


class BatchNorm1d(Module):
    """Running statistics are buffers (saved with the weights, not trained)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = Parameter(init.empty(num_features))
        self.bias = Parameter(init.empty(num_features))
        init.ones_(self.weight)
        init.zeros_(self.bias)
        self.register_buffer("running_mean", np.zeros(num_features, dtype=self.weight.dtype))
        self.register_buffer("running_var", np.ones(num_features, dtype=self.weight.dtype))
        self.register_buffer("num_batches_tracked", np.zeros((), dtype=np.int64))

    def forward(self, x):
        """x [N, C]; use self.training to choose batch or running statistics."""
        # TODO
        raise NotImplementedError("BatchNorm1d.forward")

    def backward(self, dy):
        # TODO
        raise NotImplementedError("BatchNorm1d.backward")


class Residual(Module):
    """y = x + module(x), for a module whose output has the input's shape."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        # TODO
        raise NotImplementedError("Residual.forward")

    def backward(self, dy):
        """-> dx. Two paths lead from x to y."""
        # TODO
        raise NotImplementedError("Residual.backward")
