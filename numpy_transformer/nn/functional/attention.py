"""Scaled dot-product attention: out = softmax(q k^T * scale + mask) v, and its backward.

Names as in torch.nn.functional.scaled_dot_product_attention:
    query [..., L, E], key [..., S, E], value [..., S, Ev] -> out [..., L, Ev]
L query positions, S key positions; the leading dims (batch, heads) broadcast.
"""
import math
from typing import NamedTuple

import numpy as np

from .dropout import dropout_mask

__all__ = ["scaled_dot_product_attention_forward", "scaled_dot_product_attention_backward",
           "AttentionCache", "attention_mask", "masked_softmax", "sum_to_shape"]


class AttentionCache(NamedTuple):
    """What backward needs; `weights` [..., L, S] are the attention probabilities (plot them)."""
    query_scaled: np.ndarray      # query * scale            [..., L, E]
    key: np.ndarray               #                          [..., S, E]
    value: np.ndarray             #                          [..., S, Ev]
    weights: np.ndarray           # softmax, before dropout  [..., L, S]
    dropped_weights: np.ndarray   # weights * dropout_mask (the same array without dropout)
    dropout_mask: object          # None, or keep / (1 - p)  [..., L, S]
    scale: float
    shapes: tuple                 # shapes of query, key, value (to sum broadcast gradients)


def attention_mask(attn_mask, is_causal, scores):
    """The mask to add to scores [..., L, S]: 0 where a query may look, -inf where not.

    attn_mask: bool (True = may look) or floating (added as it is); is_causal: query i sees
    keys 0..i. None when there is no mask."""
    if is_causal:                                       # [L, S], True on and below the diagonal
        attn_mask = np.tri(*scores.shape[-2:], dtype=bool, like=scores)
    if attn_mask is None or attn_mask.dtype != np.bool_:
        return None if attn_mask is None else attn_mask.astype(scores.dtype, copy=False)
    return np.where(attn_mask, 0, -np.inf).astype(scores.dtype)


def masked_softmax(scores):
    """Softmax over the last axis; a row whose scores are all -inf (nothing to look at) gets
    weights 0, as torch's SDPA gives it."""
    row_max = scores.max(axis=-1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0)   # all -inf: exp(-inf - 0) = 0
    e = np.exp(scores - row_max)
    total = e.sum(axis=-1, keepdims=True)
    return e / np.where(total > 0, total, 1)


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, dropout_p=0.0,
                                         is_causal=False, scale=None, generator=None):
    """(out [..., L, Ev], cache). attn_mask broadcasts to [..., L, S]: bool True = takes part,
    float = added to the scores. is_causal: query i attends to keys 0..i. dropout_p: dropout on
    the weights (training only: pass 0 in evaluation). scale: default 1 / sqrt(E)."""
    check_attention_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    q_scaled = query * scale                                          # [..., L, E]
    scores = q_scaled @ key.swapaxes(-1, -2)                          # [..., L, S]
    mask = attention_mask(attn_mask, is_causal, scores)
    weights = masked_softmax(scores if mask is None else scores + mask)
    keep = None                                                       # inverted dropout:
    if dropout_p > 0:                                                 # 0 or 1 / (1 - p)
        keep = dropout_mask(weights, weights.shape, dropout_p, generator)
    dropped = weights if keep is None else weights * keep
    out = dropped @ value                                             # [..., L, Ev]
    cache = AttentionCache(q_scaled, key, value, weights, dropped, keep, scale,
                           (query.shape, key.shape, value.shape))
    return out, cache


def scaled_dot_product_attention_backward(d_out, cache):
    """(d_query, d_key, d_value), each summed back to its input's shape.

        scores = (q * scale) k^T     P = softmax(scores)     Pd = P * dropout_mask     out = Pd v
    """
    q_scaled, key, value, P, Pd, keep, scale, shapes = cache
    # out = Pd v:  d_value = Pd^T d_out,  d_Pd = d_out v^T                    [..., L, S]
    d_value = Pd.swapaxes(-1, -2) @ d_out
    d_P = d_out @ value.swapaxes(-1, -2)
    if keep is not None:
        d_P = d_P * keep                                   # dropped weights get no gradient
    # softmax:  dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)
    d_scores = P * (d_P - (P * d_P).sum(axis=-1, keepdims=True))
    # scores = (q scale) k^T:  d_query = dS k scale,  d_key = dS^T (q scale)
    d_query = (d_scores @ key) * scale
    d_key = d_scores.swapaxes(-1, -2) @ q_scaled
    return tuple(sum_to_shape(g, s) for g, s in zip((d_query, d_key, d_value), shapes))


def sum_to_shape(grad, shape):
    """Sum a gradient over the leading dims that broadcasting added or stretched."""
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def check_attention_inputs(query, key, value, attn_mask, dropout_p, is_causal):
    """Raise at shapes, dtypes and options that attention cannot take, naming them."""
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention needs query [..., L, E], key [..., S, E], "
                         f"value [..., S, Ev]; got shapes {query.shape}, {key.shape}, "
                         f"{value.shape}")
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"scaled_dot_product_attention needs a floating {name}, got dtype "
                            f"{x.dtype} with shape {x.shape}")
    if key.dtype != query.dtype or value.dtype != query.dtype:
        raise TypeError(f"scaled_dot_product_attention needs one dtype, got query {query.dtype}, "
                        f"key {key.dtype}, value {value.dtype}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {query.shape} and key {key.shape} "
                         f"need the same last dimension, key and value {value.shape} the same "
                         "length S")
    if attn_mask is not None:
        if attn_mask.dtype != np.bool_ and not np.issubdtype(attn_mask.dtype, np.floating):
            raise TypeError(f"attn_mask must be bool or floating, got dtype {attn_mask.dtype}")
        if is_causal:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal=True, "
                             "not both")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")
