"""Week 6 reference: the causal mask, the library's attention, and self-attention built on its
MultiheadAttention."""
import numpy as np

from numpy_transformer import nn
from numpy_transformer.nn.functional import (scaled_dot_product_attention_backward,
                                             scaled_dot_product_attention_forward)

__all__ = ["causal_mask", "scaled_dot_product_attention_forward",
           "scaled_dot_product_attention_backward", "MultiheadAttention"]


def causal_mask(L):
    """[L, L] bool: True where key j <= query i."""
    return np.tril(np.ones((L, L), dtype=bool))


class MultiheadAttention(nn.MultiheadAttention):
    """Self-attention over x [N, T, E] (batch first): forward(x, is_causal) and backward -> dx."""

    def __init__(self, embed_dim, num_heads):
        super().__init__(embed_dim, num_heads, batch_first=True)

    def forward(self, x, is_causal=False):
        mask = None
        if is_causal:
            mask = ~causal_mask(x.shape[1])           # torch's MHA convention: True = masked
        return super().forward(x, x, x, need_weights=False, attn_mask=mask,
                               is_causal=is_causal)[0]

    def backward(self, grad_output):
        dq, dk, dv = super().backward(grad_output)
        return dq + dk + dv
