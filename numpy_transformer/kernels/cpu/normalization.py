"""LayerNorm and BatchNorm as the reference computes them, counting passes over memory.

Both cost little arithmetic and much memory traffic. Sums are dot products with a vector of
ones (one read), matrix-vector products or einsum contractions (a sum of products without the
product's temporary), elementwise steps work in place, and the rows (LayerNorm) or channels
(BatchNorm) go in cache-sized blocks shared out among threads.
"""
import math

import numpy as np

from .blas import single_threaded_blas
from .threads import indexed_blocks, parallel_slices

__all__ = ["layer_norm_forward", "layer_norm_backward", "batch_norm_forward", "batch_norm_backward"]


# ---------------------------------------------------------------- LayerNorm
# R rows (every leading position), D features (the product of the normalised dims).
# Each step is a pass over memory, so the rows go in blocks that stay in the CPU cache while
# all the steps run on them (cache blocking, not a loop over data items), and the blocks are
# shared out among threads (`threads`). The blocks do not depend on the thread count, and
# sums over rows add per-block partial sums in block order, so results do not either.

# A block of each array is 1 MiB in float32: a block's few arrays stay in the L3 cache, and
# each NumPy call has enough work to hide its fixed cost. Forward + backward against 2^16:
# 768x128 (GPT) 0.93x, 300x256 (BERT) 0.88x, 8192x512 0.82x.
BLOCK_ELEMENTS = 1 << 18


def _row_dots(a, b):
    """[rows, D], [rows, D] (or [D]) -> [rows]: the dot product of each row with b's.

    One dot per row, so a row's result does not depend on the other rows (a matrix-vector
    product groups rows, and its rounding would depend on where a row falls in the batch)."""
    return np.vecdot(a, b) if hasattr(np, "vecdot") else np.einsum("rd,...d->r", a, b)


def _row_blocks(R, D, fn):
    """fn(k, start, stop) for each block k of rows start:stop, the blocks spread over threads
    (one block runs directly: no threads to set up, ~30 us of a GPT LayerNorm)."""
    indexed_blocks(fn, R, D, max(1, BLOCK_ELEMENTS // max(D, 1)))


def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    shape, norm_shape = x.shape, x.shape[x.ndim - n_dims:]
    D = math.prod(norm_shape)
    x2 = x.reshape(-1, D)                                   # [..., *norm] -> [R, D]
    R = x2.shape[0]
    w = None if weight is None else weight.reshape(D)
    b = None if bias is None else bias.reshape(D)
    xhat, y = np.empty_like(x2), np.empty_like(x2)         # [R, D]
    rstd = np.empty_like(x2, shape=(R,))
    ones = np.ones_like(x2, shape=(D,))

    def block(k, start, stop):
        xb, hb, yb, sb = x2[start:stop], xhat[start:stop], y[start:stop], rstd[start:stop]
        mean = _row_dots(xb, ones)                          # [rows], then / D
        mean *= 1.0 / D
        np.subtract(xb, mean[:, None], out=hb)              # centred
        var = _row_dots(hb, hb)                             # sum of squares, then / D: biased
        var *= 1.0 / D
        var += eps
        np.sqrt(var, out=sb)
        np.divide(1.0, sb, out=sb)                          # rstd = 1 / sqrt(var + eps)
        hb *= sb[:, None]                                   # xhat = (x - mean) * rstd
        if w is not None:
            np.multiply(hb, w, out=yb)
        else:
            yb[...] = hb
        if b is not None:
            yb += b
    _row_blocks(R, D, block)
    return y.reshape(shape), (xhat, rstd, weight, bias is not None, norm_shape)


def layer_norm_backward(dy, cache):
    """dx = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dy * weight, means over each row;
    dweight = sum over rows of dy * xhat, dbias = sum over rows of dy."""
    xhat, rstd, weight, has_bias, norm_shape = cache
    R, D = xhat.shape
    dy2 = dy.reshape(R, D)
    w = None if weight is None else weight.reshape(D)
    dx = np.empty_like(xhat)                                # [R, D]
    rows = max(1, BLOCK_ELEMENTS // max(D, 1))
    n_blocks = -(-R // rows)
    dweight_parts = np.empty_like(xhat, shape=(n_blocks, D)) if w is not None else None
    dbias_parts = np.empty_like(xhat, shape=(n_blocks, D)) if has_bias else None
    row_ones = np.ones_like(xhat, shape=(rows,))            # ones @ a = the sum of a's rows
    feature_ones = np.ones_like(xhat, shape=(D,))

    def block(k, start, stop):
        g, hb, dyb, sb = dx[start:stop], xhat[start:stop], dy2[start:stop], rstd[start:stop]
        ones = row_ones[:stop - start]
        scratch = np.empty_like(g)
        if dbias_parts is not None:
            np.matmul(ones, dyb, out=dbias_parts[k])        # this block's sum of dy
        if w is not None:
            np.multiply(dyb, hb, out=scratch)               # dy * xhat
            np.matmul(ones, scratch, out=dweight_parts[k])  # this block's sum of dy * xhat
            mean_gx = _row_dots(scratch, w)                 # sum of g * xhat = (dy * xhat) . w
            np.multiply(dyb, w, out=g)                      # g = dy * weight
        else:
            g[...] = dyb
            mean_gx = _row_dots(g, hb)
        mean_gx *= 1.0 / D                                  # mean(g xhat)
        mean_g = _row_dots(g, feature_ones)                 # [rows], then / D
        mean_g *= 1.0 / D
        np.multiply(hb, mean_gx[:, None], out=scratch)
        g -= scratch                                        # g - xhat * mean(g xhat)
        g -= mean_g[:, None]                                #   - mean(g)
        g *= sb[:, None]                                    # times rstd
    _row_blocks(R, D, block)
    dweight = None if w is None else dweight_parts.sum(axis=0).reshape(norm_shape)
    dbias = None if not has_bias else dbias_parts.sum(axis=0).reshape(norm_shape)
    return dx.reshape(dy.shape), dweight, dbias


# ---------------------------------------------------------------- BatchNorm
# x viewed as [N, C, L]: N batch, C channels, L = every position after the channel (1 for [N, C]).
# M = N * L values per channel.

def _channel_sums(a3):
    """[N, C, L] -> [C]: sum over N (a matrix-vector product) then over L."""
    N, C, L = a3.shape
    ones = np.ones_like(a3, shape=(N,))
    return (ones @ a3.reshape(N, C * L)).reshape(C, L).sum(axis=1)


def _by_channel(fn, *arrays):
    """fn(*arrays) in pieces over ranges of channels, one per thread when big: every array is
    [N, C, L] or a per-channel [1, C, 1], and channels are independent, so the results are
    those of one call."""
    with single_threaded_blas():      # each piece's small products: one BLAS thread each
        parallel_slices(fn, *arrays, axis=1)


def update_running_statistics(running_mean, running_var, mean, var, momentum, M) -> None:
    """running = (1 - momentum) running + momentum * batch statistic, in place (either may be
    None); the variance unbiased over the M values per channel, as PyTorch."""
    if running_mean is not None:
        running_mean *= 1.0 - momentum
        running_mean += momentum * mean
    if running_var is not None:
        running_var *= 1.0 - momentum
        running_var += (momentum * M / max(M - 1, 1)) * var


def batch_norm_forward(x, weight=None, bias=None, running_mean=None, running_var=None,
                       training=True, momentum=0.1, eps=1e-5):
    """Normalise each channel (axis 1) over the batch and every other axis, then scale and shift.

    Training: batch mean and biased variance; the running statistics (when given) are updated in
    place, running = (1 - momentum) * running + momentum * batch statistic, with the unbiased
    variance, as PyTorch. Evaluation: the running statistics, so y is an affine map of x."""
    N, C, L = x.shape[0], x.shape[1], math.prod(x.shape[2:])
    x3 = x.reshape(N, C, L)                                 # [N, C, *] -> [N, C, L]
    M = N * L
    centered = np.empty_like(x3)
    if training:
        mean, var = np.empty_like(x3, shape=(1, C, 1)), np.empty_like(x3, shape=(1, C, 1))

        def statistics(x3, centered, mean, var):
            mean[0, :, 0] = _channel_sums(x3) * (1.0 / M)
            np.subtract(x3, mean, out=centered)
            var[0, :, 0] = np.einsum("ncl,ncl->c", centered, centered) * (1.0 / M)   # biased
        _by_channel(statistics, x3, centered, mean, var)
        mean, var = mean.reshape(C), var.reshape(C)
        update_running_statistics(running_mean, running_var, mean, var, momentum, M)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm_forward needs running_mean and running_var when not training")
        mean, var = running_mean, running_var
        _by_channel(lambda x3, centered, mean: np.subtract(x3, mean, out=centered),
                    x3, centered, mean.reshape(1, C, 1))
    rstd = 1.0 / np.sqrt(var + eps)                         # [C]
    scale = rstd * weight if weight is not None else rstd   # y = centered * scale + bias
    y = np.empty_like(x3)

    def affine(centered, scale, bias, y):
        np.multiply(centered, scale, out=y)
        if bias is not None:
            y += bias
    _by_channel(affine, centered, scale.reshape(1, C, 1),
                None if bias is None else bias.reshape(1, C, 1), y)
    return y.reshape(x.shape), (centered, rstd, weight, bias is not None, training)


def batch_norm_backward(dy, cache):
    """(dx, dweight, dbias). With xhat = centered * rstd and per-channel sums over N and L:
    dbias = sum(dy), dweight = sum(dy * xhat), and in training (the statistics depend on x)
    dx = weight * rstd * (dy - dbias / M - xhat * dweight / M); in evaluation dx = weight * rstd * dy."""
    centered, rstd, weight, has_bias, training = cache
    N, C, L = centered.shape
    M = N * L
    dy3 = dy.reshape(N, C, L)
    scale = rstd * weight if weight is not None else rstd            # d y / d centred
    dbias, dweight = np.empty_like(dy3, shape=(1, C, 1)), np.empty_like(dy3, shape=(1, C, 1))
    dx = np.empty_like(dy3)

    def gradients(dy3, centered, rstd, scale, dbias, dweight, dx):
        dbias[0, :, 0] = _channel_sums(dy3)                          # sum(dy)
        dweight[0, :, 0] = np.einsum("ncl,ncl->c", dy3, centered) * rstd[0, :, 0]  # sum(dy xhat)
        np.multiply(dy3, scale, out=dx)
        if training:   # the batch mean and variance depend on x: subtract their share
            dx -= centered * (scale * rstd * dweight * (1.0 / M))
            dx -= scale * dbias * (1.0 / M)
    _by_channel(gradients, dy3, centered, rstd.reshape(1, C, 1), scale.reshape(1, C, 1),
                dbias, dweight, dx)
    dbias, dweight = dbias.reshape(C), dweight.reshape(C)
    return (dx.reshape(dy.shape), dweight if weight is not None else None,
            dbias if has_bias else None)
