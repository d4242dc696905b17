"""Inverted dropout: zero each element (or whole channel) with probability p, and scale the rest
by 1 / (1 - p)."""
import numpy as np

from ...random import default_generator

__all__ = ["dropout_forward", "dropout_backward", "feature_dropout_forward", "dropout_mask"]


def check_p(p) -> None:
    """Raise unless 0 <= p <= 1."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def dropout_mask(x, shape, p, generator=None):
    """[shape] in x's dtype: 0 with probability p, else 1 / (1 - p) (so the mean is kept)."""
    if p == 1:
        return np.zeros_like(x, shape=shape)
    draws = (generator or default_generator()).random(shape, dtype=x.dtype)   # U[0, 1)
    keep = np.asarray(draws, like=x) >= p
    return keep * np.asarray(1 / (1 - p), dtype=x.dtype, like=x)


def dropout_forward(x, p=0.5, training=True, generator=None, inplace=False):
    """Returns (y, scaled mask); the identity (cache None) when not training or p == 0."""
    check_p(p)
    if not training or p == 0:
        return x, None
    mask = dropout_mask(x, x.shape, p, generator)
    if inplace:
        x *= mask
        return x, mask
    return x * mask, mask


def feature_dropout_forward(x, p=0.5, training=True, generator=None, inplace=False, batched=True):
    """Channel dropout (Dropout1d/2d): one draw per (sample, channel), shared by all positions.

    x is [N, C, *] (batched) or [C, *]; the mask is [N, C, 1, ...] (or [C, 1, ...]) and broadcasts.
    The backward is `dropout_backward`."""
    check_p(p)
    if not training or p == 0:
        return x, None
    lead = 2 if batched else 1
    mask = dropout_mask(x, x.shape[:lead] + (1,) * (x.ndim - lead), p, generator)
    if inplace:
        x *= mask
        return x, mask
    return x * mask, mask


def dropout_backward(dy, cache):
    """dx = dy * mask: the dropped elements get no gradient, the kept ones the same scale."""
    mask = cache
    return dy if mask is None else dy * mask
