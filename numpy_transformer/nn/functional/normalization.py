"""Normalisation math: LayerNorm over the trailing dims, BatchNorm over every dim but the channel.

Both normalise x to xhat = (x - mean) / sqrt(var + eps) (biased variance), then scale and shift:
y = xhat * weight + bias. They differ in what the mean is taken over.
"""
import numpy as np

__all__ = ["layer_norm_forward", "layer_norm_backward", "batch_norm_forward", "batch_norm_backward"]


def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims, then y = xhat * weight + bias."""
    axes = tuple(range(x.ndim - n_dims, x.ndim))            # the normalised dims, D values
    mean = x.mean(axis=axes, keepdims=True)                 # [..., 1, ..., 1]
    var = ((x - mean) ** 2).mean(axis=axes, keepdims=True)  # biased, as PyTorch
    rstd = 1 / np.sqrt(var + eps)                           # 1 / standard deviation
    xhat = (x - mean) * rstd                                # [..., *norm]
    y = xhat if weight is None else xhat * weight
    y = y if bias is None else y + bias
    return y, (xhat, rstd, weight, bias is not None, axes)


def layer_norm_backward(dy, cache):
    """(dx, dweight, dbias); means over the D normalised values of each row:

        g = dy * weight
        dx = rstd * (g - mean(g) - xhat * mean(g * xhat))
    """
    xhat, rstd, weight, has_bias, axes = cache
    rows = tuple(range(dy.ndim - len(axes)))                # every leading dim
    dbias = dy.sum(axis=rows) if has_bias else None         # y = ... + bias
    dweight = None if weight is None else (dy * xhat).sum(axis=rows)   # y = xhat * weight + ...
    g = dy if weight is None else dy * weight               # d loss / d xhat
    mean_g = g.mean(axis=axes, keepdims=True)               # through the mean
    mean_gx = (g * xhat).mean(axis=axes, keepdims=True)     # through the variance
    dx = rstd * (g - mean_g - xhat * mean_gx)
    return dx, dweight, dbias


def batch_norm_forward(x, weight=None, bias=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) over the batch and every other axis, then scale and shift.

    Training: the batch's mean and biased variance; the running statistics (when given) are
    updated in place, running = (1 - momentum) * running + momentum * batch statistic, with the
    unbiased variance, as PyTorch. Evaluation: the running statistics."""
    axes = (0,) + tuple(range(2, x.ndim))                   # all but the channel axis
    shape = (1, -1) + (1,) * (x.ndim - 2)                   # a [C] vector as [1, C, 1, ...]
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)     # [C] each, var biased
        if running_mean is not None:
            m = x.size // x.shape[1]                        # values per channel
            running_mean[...] = (1 - momentum) * running_mean + momentum * mean
            running_var[...] = (1 - momentum) * running_var + (momentum * m / max(m - 1, 1)) * var
    elif running_mean is None or running_var is None:
        raise ValueError("batch_norm_forward needs running_mean and running_var when not training")
    else:
        mean, var = running_mean, running_var
    rstd = 1 / np.sqrt(var + eps)                           # [C]
    xhat = (x - mean.reshape(shape)) * rstd.reshape(shape)  # [N, C, ...]
    y = xhat if weight is None else xhat * weight.reshape(shape)
    y = y if bias is None else y + bias.reshape(shape)
    return y, (xhat, rstd, weight, bias is not None, training)


def batch_norm_backward(dy, cache):
    """(dx, dweight, dbias); sums and means over the M = N * (positions) values of each channel.

        g = dy * weight
        training:   dx = rstd * (g - mean(g) - xhat * mean(g * xhat))   (the batch statistics
                                                                          depend on x)
        evaluation: dx = rstd * g
    """
    xhat, rstd, weight, has_bias, training = cache
    axes = (0,) + tuple(range(2, dy.ndim))
    shape = (1, -1) + (1,) * (dy.ndim - 2)
    dbias = dy.sum(axis=axes) if has_bias else None                       # [C]
    dweight = None if weight is None else (dy * xhat).sum(axis=axes)      # [C]
    g = dy if weight is None else dy * weight.reshape(shape)
    if training:
        g = g - g.mean(axis=axes, keepdims=True) - xhat * (g * xhat).mean(axis=axes, keepdims=True)
    return g * rstd.reshape(shape), dweight, dbias
