"""Normalisation math: LayerNorm over the trailing dims, BatchNorm over all dims but the channel.

Both cost little arithmetic and much memory traffic, so the code counts passes over the data:
sums are matrix-vector products with a vector of ones (BLAS: one read, two threads) or einsum
contractions (sum of products without the product's temporary), and elementwise steps work in
place where they can.
"""
import math

import numpy as np

__all__ = ["layer_norm_forward", "layer_norm_backward", "batch_norm_forward", "batch_norm_backward"]


# ---------------------------------------------------------------- LayerNorm
# R rows (every leading position), D features (the product of the normalised dims).

def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    shape, norm_shape = x.shape, x.shape[x.ndim - n_dims:]
    D = math.prod(norm_shape)
    x2 = x.reshape(-1, D)                                   # [..., *norm] -> [R, D]
    ones = np.ones_like(x2, shape=(D,))
    mean = (x2 @ ones) * (1.0 / D)                          # [R]
    xhat = x2 - mean[:, None]                               # centred, scaled in place below
    var = np.einsum("rd,rd->r", xhat, xhat) * (1.0 / D)     # [R], biased, as PyTorch
    rstd = 1.0 / np.sqrt(var + eps)
    xhat *= rstd[:, None]                                   # xhat = (x - mean) * rstd
    if weight is not None:
        y = xhat * weight.reshape(D)
    else:
        y = xhat.copy()
    if bias is not None:
        y += bias.reshape(D)
    return y.reshape(shape), (xhat, rstd, weight, bias is not None, norm_shape)


def layer_norm_backward(dy, cache):
    """dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight, means over each row;
    dweight = sum over rows of dy * xhat, dbias = sum over rows of dy."""
    xhat, rstd, weight, has_bias, norm_shape = cache
    R, D = xhat.shape
    dy2 = dy.reshape(R, D)
    dweight = np.einsum("rd,rd->d", dy2, xhat).reshape(norm_shape) if weight is not None else None
    dbias = (np.ones_like(xhat, shape=(R,)) @ dy2).reshape(norm_shape) if has_bias else None
    g = dy2 * weight.reshape(D) if weight is not None else dy2.copy()     # [R, D], becomes dx
    mean_g = (g @ np.ones_like(xhat, shape=(D,))) * (1.0 / D)              # [R]
    mean_gx = np.einsum("rd,rd->r", g, xhat) * (1.0 / D)                   # [R]
    g -= xhat * mean_gx[:, None]
    g -= mean_g[:, None]
    g *= rstd[:, None]
    return g.reshape(dy.shape), dweight, dbias


# ---------------------------------------------------------------- BatchNorm
# x viewed as [N, C, L]: N batch, C channels, L = every position after the channel (1 for [N, C]).
# M = N * L values per channel.

def _channel_sums(a3):
    """[N, C, L] -> [C]: sum over N (a matrix-vector product) then over L."""
    N, C, L = a3.shape
    ones = np.ones_like(a3, shape=(N,))
    return (ones @ a3.reshape(N, C * L)).reshape(C, L).sum(axis=1)


def batch_norm_forward(x, weight=None, bias=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) over the batch and every other axis, then scale and shift.

    Training: batch mean and biased variance; the running statistics (when given) are updated in
    place, running = (1 - momentum) * running + momentum * batch statistic, with the unbiased
    variance, as PyTorch. Evaluation: the running statistics, so y is an affine map of x."""
    N, C, L = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    x3 = x.reshape(N, C, L)                                 # [N, C, *] -> [N, C, L]
    M = N * L
    if training:
        mean = _channel_sums(x3) * (1.0 / M)                # [C]
        centered = x3 - mean[:, None]
        var = np.einsum("ncl,ncl->c", centered, centered) * (1.0 / M)   # biased: used to normalise
        if running_mean is not None:
            running_mean *= 1.0 - momentum
            running_mean += momentum * mean
        if running_var is not None:
            running_var *= 1.0 - momentum
            running_var += (momentum * M / max(M - 1, 1)) * var   # unbiased, as PyTorch
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm_forward needs running_mean and running_var when not training")
        mean, var = running_mean, running_var
        centered = x3 - mean[:, None]
    rstd = 1.0 / np.sqrt(var + eps)                         # [C]
    scale = rstd * weight if weight is not None else rstd   # y = centered * scale + bias
    y = centered * scale[:, None]
    if bias is not None:
        y += bias[:, None]
    return y.reshape(x.shape), (centered, rstd, weight, bias is not None, training)


def batch_norm_backward(dy, cache):
    """(dx, dweight, dbias). With xhat = centered * rstd and per-channel sums over N and L:
    dbias = sum(dy), dweight = sum(dy * xhat), and in training (the statistics depend on x)
    dx = weight * rstd * (dy - dbias / M - xhat * dweight / M); in evaluation dx = weight * rstd * dy."""
    centered, rstd, weight, has_bias, training = cache
    N, C, L = centered.shape
    M = N * L
    dy3 = dy.reshape(N, C, L)
    dbias = _channel_sums(dy3)                                       # [C]: sum(dy)
    dweight = np.einsum("ncl,ncl->c", dy3, centered) * rstd          # [C]: sum(dy * xhat)
    scale = rstd * weight if weight is not None else rstd            # d y / d centred
    dx = dy3 * scale[:, None]
    if training:   # the batch mean and variance depend on x: subtract their share
        dx -= centered * (scale * rstd * dweight * (1.0 / M))[:, None]
        dx -= (scale * dbias * (1.0 / M))[:, None]
    return (dx.reshape(dy.shape), dweight if weight is not None else None,
            dbias if has_bias else None)
