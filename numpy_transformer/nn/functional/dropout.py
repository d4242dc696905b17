"""Inverted dropout: zero each element with probability p, scale the rest by 1 / (1 - p)."""
import numpy as np

__all__ = ["dropout_forward", "dropout_backward"]


def dropout_forward(x, p=0.5, training=True, generator=None):
    """Returns (y, scaled mask); identity (cache None) when not training or p == 0."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
    if not training or p == 0:
        return x, None
    if p == 1:
        mask = np.zeros_like(x)
    else:
        keep = generator.random(x.shape, dtype=x.dtype) >= p
        mask = keep * np.asarray(1.0 / (1.0 - p), dtype=x.dtype)   # 0 or 1/(1-p), in x's dtype
    return x * mask, mask


def dropout_backward(dy, cache):
    """dx = dy * mask: the dropped elements get no gradient, the kept ones the same scale."""
    mask = cache
    return dy if mask is None else dy * mask
