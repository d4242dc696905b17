# %% [markdown]
# # Week 3 exercise: Dropout, Embedding, positional encoding, SGD, momentum, Adam
#
# Fill in every function marked `TODO` (read `lesson.md` first). Same contract as before:
# `out, cache = thing_forward(...)`, `grads = thing_backward(dout, cache)`.
#
# Check your work from the repository's root: `numpy-transformer check week-3`.

# %%
import numpy as np

from numpy_transformer.nn import Module
from numpy_transformer.random import default_generator


# %% [markdown]
# ## Dropout (inverted: scale in training, nothing in evaluation)

# %%
def dropout_forward(x, p=0.5, training=True, generator=None):
    """x: any shape; p: the probability of dropping an element; generator: a
    np.random.Generator (None: numpy_transformer.random.default_generator()).

    Training: y = x * mask / (1 - p), mask[i] = 0 with probability p, else 1 (draw it with
    generator.random(x.shape)); p = 1 gives zeros. Evaluation (training=False): y = x.
    -> (y, cache)."""
    # TODO
    raise NotImplementedError("dropout_forward")


def dropout_backward(dy, cache):
    """dx = dy * (the same scaled mask as the forward); dx = dy in evaluation."""
    # TODO
    raise NotImplementedError("dropout_backward")


class Dropout(Module):
    """The module: training or evaluation is `self.training` (set by .train() and .eval())."""

    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        # TODO: dropout_forward(x, self.p, self.training); keep the cache with self._push
        raise NotImplementedError("Dropout.forward")

    def backward(self, dy):
        # TODO
        raise NotImplementedError("Dropout.backward")


# %% [markdown]
# ## Embedding: a table of vectors looked up by integer id

# %%
def embedding_forward(ids, weight):
    """ids: integer array of any shape, weight [V, D] -> (y [*ids.shape, D] = weight[ids], cache)."""
    # TODO
    raise NotImplementedError("embedding_forward")


def embedding_backward(dy, cache):
    """dy [*ids.shape, D] -> (None, dweight [V, D]): ids get no gradient; dweight[v] is the SUM
    of dy over every position where ids == v (an id may appear several times)."""
    # TODO
    raise NotImplementedError("embedding_backward")


# %% [markdown]
# ## The sinusoidal positional encoding ("Attention is all you need")

# %%
def positional_encoding(max_len, d_model):
    """-> table [max_len, d_model]:
    PE[pos, 2i] = sin(pos / 10000^(2i / d_model)), PE[pos, 2i + 1] = cos(pos / 10000^(2i / d_model)).
    For an odd d_model the last column is a sine."""
    # TODO
    raise NotImplementedError("positional_encoding")


# %% [markdown]
# ## Optimizers
#
# `params` are `Parameter`s: `p.data` (the weights) and `p.grad` (their gradient). `step()`
# updates every `p.data` IN PLACE (`p.data -= ...`). Same formulas as torch.optim.

# %%
class Optimizer:
    def __init__(self, params):
        self.params = list(params)

    def zero_grad(self):
        for p in self.params:
            p.grad[...] = 0


class SGD(Optimizer):
    """p -= lr * v with v = momentum * v + grad (v starts at 0); plain SGD when momentum = 0."""

    def __init__(self, params, lr=0.01, momentum=0.0):
        super().__init__(params)
        self.lr, self.momentum = lr, momentum
        self.velocities = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        # TODO
        raise NotImplementedError("SGD.step")


class Adam(Optimizer):
    """t += 1;  m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g^2;
    m_hat = m / (1 - beta1^t);  v_hat = v / (1 - beta2^t);  p -= lr * m_hat / (sqrt(v_hat) + eps)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params)
        self.lr, self.betas, self.eps = lr, betas, eps
        self.t = 0
        self.m = [np.zeros_like(p.data) for p in self.params]
        self.v = [np.zeros_like(p.data) for p in self.params]

    def step(self):
        # TODO
        raise NotImplementedError("Adam.step")
