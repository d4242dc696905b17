"""BatchNorm in two passes over memory forward and two backward (Numba), where the NumPy kernel
makes about six each; x is viewed as [N, C, L] (L the positions after the channel axis). The
statistics sum in float64; channels go in ranges on the fast kernels' threads (each channel's
sums are its own, so results do not depend on the split). The cache is the NumPy kernel's, so
either backward takes either forward's."""
import math

import numpy as np
from numba import njit

from ..cpu import normalization as numpy_kernel
from ..cpu.threads import parallel_blocks

__all__ = ["batch_norm_forward", "batch_norm_backward"]

BLOCK_ELEMENTS = 1 << 16        # channels per block: at least this many values
MIN_POSITIONS = 16              # below, the NumPy kernel: a channel's values are too scattered
                                # ([64, 6272] BatchNorm1d: 5.2 ms compiled against 1.4)

compiled = njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"})


@compiled
def _statistics(x, first, last, mean, var):         # x [N, C, L] -> mean, biased var [C]
    N, C, L = x.shape                               # of the channels first:last
    for c in range(first, last):
        s = 0.0
        for n in range(N):
            for j in range(L):
                s += x[n, c, j]
        m = s / (N * L)
        q = 0.0
        for n in range(N):
            for j in range(L):
                d = x[n, c, j] - m
                q += d * d
        mean[c], var[c] = m, q / (N * L)


@compiled
def _normalise(x, first, last, mean, scale, shift, centered, y):
    N, C, L = x.shape                               # centered = x - mean, y = centered scale + shift
    for c in range(first, last):
        m, s, b = mean[c], scale[c], shift[c]
        for n in range(N):
            for j in range(L):
                d = x[n, c, j] - m
                centered[n, c, j] = d
                y[n, c, j] = d * s + b


@compiled
def _sums(dy, centered, first, last, dbias, dcentered):    # per channel: sum dy, sum dy centered
    N, C, L = dy.shape
    for c in range(first, last):
        s, t = 0.0, 0.0
        for n in range(N):
            for j in range(L):
                s += dy[n, c, j]
                t += dy[n, c, j] * centered[n, c, j]
        dbias[c], dcentered[c] = s, t


@compiled
def _input_grad(dy, centered, first, last, scale, mean_dy, centered_rate, dx):
    """dx = scale (dy - mean(dy)) - centered * centered_rate, per channel."""
    N, C, L = dy.shape
    for c in range(first, last):
        s, m, r = scale[c], mean_dy[c], centered_rate[c]
        for n in range(N):
            for j in range(L):
                dx[n, c, j] = s * (dy[n, c, j] - m) - centered[n, c, j] * r


def _by_channel(fn, C: int, per_channel: int) -> None:
    """fn(first, last) over ranges of channels, on the fast kernels' threads when big (the
    kernels take whole C-order arrays and the range: their inner loops then have unit stride)."""
    parallel_blocks(fn, C, per_channel, max(per_channel, BLOCK_ELEMENTS))


def batch_norm_forward(x, weight=None, bias=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5):
    """As the reference's (nn/functional/normalization.py)."""
    if x.dtype not in (np.float32, np.float64) or math.prod(x.shape[2:]) < MIN_POSITIONS:
        return numpy_kernel.batch_norm_forward(x, weight, bias, running_mean, running_var,
                                               training, momentum, eps)
    N, C, L = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    x3, M = np.ascontiguousarray(x).reshape(N, C, L), N * L
    if training:
        mean, var = np.empty(C, x.dtype), np.empty(C, x.dtype)
        _by_channel(lambda a, b: _statistics(x3, a, b, mean, var), C, M)
        numpy_kernel.update_running_statistics(running_mean, running_var, mean, var, momentum, M)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm_forward needs running_mean and running_var when not training")
        mean, var = running_mean, running_var
    rstd = 1.0 / np.sqrt(var + eps)                                 # [C]
    scale = rstd * weight if weight is not None else rstd
    shift = bias if bias is not None else np.zeros_like(scale)
    centered, y = np.empty_like(x3), np.empty_like(x3)
    _by_channel(lambda a, b: _normalise(x3, a, b, mean, scale, shift, centered, y), C, M)
    return y.reshape(x.shape), (centered, rstd, weight, bias is not None, training)


def batch_norm_backward(dy, cache):
    """As the reference's."""
    centered, rstd, weight, has_bias, training = cache
    if centered.dtype not in (np.float32, np.float64) or centered.shape[2] < MIN_POSITIONS:
        return numpy_kernel.batch_norm_backward(dy, cache)
    N, C, L = centered.shape
    M = N * L
    dy3 = np.ascontiguousarray(dy, centered.dtype).reshape(N, C, L)
    scale = rstd * weight if weight is not None else rstd           # d y / d centred
    dbias, dcentered = np.empty(C, centered.dtype), np.empty(C, centered.dtype)
    _by_channel(lambda a, b: _sums(dy3, centered, a, b, dbias, dcentered), C, M)
    dweight = dcentered * rstd                                      # sum(dy xhat)
    if training:   # the batch mean and variance depend on x: subtract their share
        mean_dy, centered_rate = dbias * (1.0 / M), scale * rstd * dweight * (1.0 / M)
    else:
        mean_dy, centered_rate = np.zeros_like(dbias), np.zeros_like(dbias)
    dx = np.empty_like(dy3)
    _by_channel(lambda a, b: _input_grad(dy3, centered, a, b, scale, mean_dy, centered_rate, dx),
                C, M)
    return (dx.reshape(dy.shape), dweight if weight is not None else None,
            dbias if has_bias else None)
