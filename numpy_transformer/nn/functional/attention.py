"""Scaled dot-product attention: out = softmax(q k^T * scale + mask) v, and its backward.

Names as in torch.nn.functional.scaled_dot_product_attention:
    query [..., L, E], key [..., S, E], value [..., S, Ev] -> out [..., L, Ev]
L query positions, S key positions; the leading dims (batch, heads) broadcast.
"""
import math
from typing import NamedTuple

import numpy as np

from ...random import default_generator
from .dropout import dropout_forward

__all__ = ["scaled_dot_product_attention_forward", "scaled_dot_product_attention_backward",
           "softmax_last_axis_", "AttentionCache"]


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


def softmax_last_axis_(scores):
    """Softmax over the last axis, in place and stable; a row that is all -inf becomes zeros.

    A fully masked row has nothing to attend to: its weights are 0 (torch's SDPA does the same)."""
    row_max = scores.max(axis=-1, keepdims=True)
    np.copyto(row_max, 0, where=~np.isfinite(row_max))   # all -inf: exp(-inf - 0) = 0, no NaN
    np.subtract(scores, row_max, out=scores)              # every entry <= 0: exp cannot overflow
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    np.divide(1, total, out=total, where=total > 0)       # total 0 stays 0: the row stays 0
    scores *= total
    return scores


def _mask_scores_(scores, attn_mask, is_causal):
    """Apply torch's SDPA masks in place: bool True = takes part, float = added."""
    if is_causal:                                          # query i sees keys 0..i (top-left)
        L, S = scores.shape[-2:]
        np.copyto(scores, -np.inf, where=~np.tri(L, S, dtype=bool))
    if attn_mask is None:
        return
    if attn_mask.dtype == np.bool_:
        np.copyto(scores, -np.inf, where=~attn_mask)
    else:
        scores += attn_mask.astype(scores.dtype, copy=False)


def _check(query, key, value, attn_mask, dropout_p, is_causal):
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention needs query [..., L, E], key [..., S, E], "
                         f"value [..., S, Ev]; got shapes {query.shape}, {key.shape}, {value.shape}")
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
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal=True, not both")
    if not 0 <= dropout_p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {dropout_p}")


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, dropout_p=0.0,
                                         is_causal=False, scale=None, generator=None, out=None):
    """(out [..., L, Ev], cache); `out=` writes into a given array (e.g. a view of a buffer).

    attn_mask broadcasts to [..., L, S]: bool True = takes part, float = added to the scores.
    is_causal: query i attends to keys 0..i. dropout_p: dropout on the weights (training only:
    pass 0 in evaluation). scale: default 1 / sqrt(E)."""
    _check(query, key, value, attn_mask, dropout_p, is_causal)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    query_scaled = query * scale                                     # [..., L, E], contiguous
    scores = np.matmul(query_scaled, key.swapaxes(-1, -2))           # [..., L, S]
    _mask_scores_(scores, attn_mask, is_causal)
    weights = softmax_last_axis_(scores)
    dropped, mask = weights, None
    if dropout_p > 0:
        dropped, mask = dropout_forward(weights, dropout_p, True, generator or default_generator())
    out = np.matmul(dropped, value, out=out)                         # [..., L, Ev]
    cache = AttentionCache(query_scaled, key, value, weights, dropped, mask, scale,
                           (query.shape, key.shape, value.shape))
    return out, cache


def _sum_to_shape(grad, shape):
    """Sum a gradient over the leading dims that broadcasting added or stretched."""
    if grad.shape == tuple(shape):
        return grad
    extra = grad.ndim - len(shape)
    grad = grad.sum(axis=tuple(range(extra))) if extra else grad
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axis=stretched, keepdims=True) if stretched else grad


def scaled_dot_product_attention_backward(d_out, cache, out=None):
    """(d_query, d_key, d_value); `out=(dq, dk, dv)` writes into given arrays.

        scores = (q * scale) k^T     P = softmax(scores)     Pd = P * dropout_mask     out = Pd v
    """
    q_scaled, key, value, weights, dropped, mask, scale, shapes = cache
    dq, dk, dv = out if out is not None else (None, None, None)
    # out = Pd v:  d_value = Pd^T d_out,  d_Pd = d_out v^T                     [..., L, S]
    dv = np.matmul(dropped.swapaxes(-1, -2), d_out, out=dv)
    d_scores = np.matmul(d_out, value.swapaxes(-1, -2))
    if mask is not None:
        d_scores *= mask                                   # dropped weights get no gradient
    # softmax Jacobian diag(P) - P P^T:  dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)
    row_dot = np.einsum("...ij,...ij->...i", weights, d_scores)[..., None]
    d_scores -= row_dot
    d_scores *= weights
    # scores = (q scale) k^T:  d_query = dS k scale,  d_key = dS^T (q scale)
    dq = np.matmul(d_scores, key, out=dq)
    dq *= scale
    dk = np.matmul(d_scores.swapaxes(-1, -2), q_scaled, out=dk)
    if out is not None:
        return dq, dk, dv
    return tuple(_sum_to_shape(g, s) for g, s in zip((dq, dk, dv), shapes))
