"""Normalisation math: LayerNorm over the trailing dims (BatchNorm joins later)."""
import numpy as np

__all__ = ["layer_norm_forward", "layer_norm_backward"]


def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    axes = tuple(range(x.ndim - n_dims, x.ndim))
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    var = np.mean(centered * centered, axis=axes, keepdims=True)  # biased, as PyTorch
    rstd = 1.0 / np.sqrt(var + eps)
    xhat = centered * rstd
    y = xhat * weight if weight is not None else xhat.copy()
    if bias is not None:
        y += bias
    return y, (xhat, rstd, weight, bias is not None, axes)


def layer_norm_backward(dy, cache):
    """dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * weight; the mean term matters."""
    xhat, rstd, weight, has_bias, axes = cache
    lead = tuple(range(dy.ndim - len(axes)))            # the dims the statistics are shared over
    dweight = (dy * xhat).sum(axis=lead) if weight is not None else None
    dbias = dy.sum(axis=lead) if has_bias else None
    g = dy * weight if weight is not None else dy
    dx = g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True)
    dx *= rstd
    return dx, dweight, dbias
