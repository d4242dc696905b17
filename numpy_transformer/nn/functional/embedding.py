"""Embedding math: a row lookup forward; the backward adds each position's gradient into the
row of its id."""
import numpy as np

__all__ = ["embedding_forward", "embedding_backward", "embedding_row_gradients"]


def embedding_forward(ids, weight, padding_idx=None, scale_grad_by_freq=False):
    """ids [...] ints, weight [V, D] -> y [..., D] = weight[ids].

    `padding_idx`: that row gets no gradient. `scale_grad_by_freq`: each id's gradient is divided
    by its count in `ids`."""
    return weight[ids], (ids, weight.shape, padding_idx, scale_grad_by_freq)


def embedding_row_gradients(dy, cache):
    """(ids [M], rows [M, D]): the gradient row of each position, to add into row ids[m] of
    dweight; no padding id, and scaled by 1 / count with scale_grad_by_freq."""
    ids, (V, D), padding_idx, scale_grad_by_freq = cache
    ids, rows = ids.reshape(-1), dy.reshape(-1, D)
    if padding_idx is not None:
        keep = ids != padding_idx
        ids, rows = ids[keep], rows[keep]
    if scale_grad_by_freq:
        counts = np.bincount(ids, minlength=V)                 # [V] occurrences in this batch
        rows = rows / counts[ids][:, None].astype(rows.dtype)
    return ids, rows


def embedding_backward(dy, cache):
    """(None, dweight): the ids get no gradient; dweight[v] = the sum of dy where ids == v."""
    ids, rows = embedding_row_gradients(dy, cache)
    _, weight_shape, _, _ = cache
    dweight = np.zeros_like(dy, shape=weight_shape)            # [V, D]
    np.add.at(dweight, ids, rows)                              # repeated ids add up
    return None, dweight
