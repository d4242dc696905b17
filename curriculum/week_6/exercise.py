# %% [markdown]
# # Week 6 exercise: attention
#
# Fill in every function marked `TODO` (read `lesson.md` first). Same contract as before:
# `out, cache = thing_forward(...)`, `grads = thing_backward(dout, cache)`.
#
# Shapes: L queries, S keys (S = L in self-attention), E features per query/key, Ev per
# value; any leading axes (batch, heads) broadcast: q [..., L, E], k [..., S, E], v [..., S, Ev].
#
# Check your work from the repository's root: `numpy-transformer check week-6`.

# %%
import math

import numpy as np

from numpy_transformer.nn import Linear, Module, Parameter, init


# %% [markdown]
# ## The causal mask

# %%
def causal_mask(L):
    """-> [L, L] bool: True where query i may attend to key j, that is j <= i."""
    # TODO
    raise NotImplementedError("causal_mask")


# %% [markdown]
# ## Scaled dot-product attention

# %%
def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, is_causal=False):
    """query [..., L, E], key [..., S, E], value [..., S, Ev] -> (out [..., L, Ev], cache).

    scores = query @ key^T / sqrt(E)                    [..., L, S]
    scores = -inf where attn_mask is False (a bool [L, S], True = may attend), and where
             key j > query i when is_causal
    P = softmax(scores) over the keys (the last axis);  out = P @ value
    Keep P in the cache (it is also the attention map we plot)."""
    # TODO
    raise NotImplementedError("scaled_dot_product_attention_forward")


def scaled_dot_product_attention_backward(dout, cache):
    """dout [..., L, Ev] -> (dquery, dkey, dvalue), shaped like query, key, value.

    dvalue = P^T dout; dP = dout value^T; dscores = P * (dP - sum(dP * P, last axis));
    dquery = dscores key / sqrt(E); dkey = dscores^T query / sqrt(E)."""
    # TODO
    raise NotImplementedError("scaled_dot_product_attention_backward")


# %% [markdown]
# ## Multi-head self-attention, with PyTorch's parameter names (`__init__` is written for you)
#
# x [N, T, E] -> q, k, v = the three row blocks of x @ in_proj_weight.T + in_proj_bias; each
# [N, T, E] is split into H heads of D = E // H features ([N, T, E] -> [N, H, T, D]); attention
# runs per head; the heads are merged back to [N, T, E] and go through `out_proj` (a Linear).

# %%
class MultiheadAttention(Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0, "embed_dim must divide into num_heads heads"
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.in_proj_weight = Parameter(init.empty((3 * embed_dim, embed_dim)))   # rows: q, k, v
        self.in_proj_bias = Parameter(init.empty(3 * embed_dim))
        self.out_proj = Linear(embed_dim, embed_dim)
        init.xavier_uniform_(self.in_proj_weight)
        init.zeros_(self.in_proj_bias)

    def forward(self, x, is_causal=False):
        """x [N, T, E] -> [N, T, E]."""
        # TODO
        raise NotImplementedError("MultiheadAttention.forward")

    def backward(self, dy):
        """dy [N, T, E] -> dx [N, T, E]; adds into in_proj_weight.grad, in_proj_bias.grad (and
        out_proj's, through self.out_proj.backward)."""
        # TODO
        raise NotImplementedError("MultiheadAttention.backward")
