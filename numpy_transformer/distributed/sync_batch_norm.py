"""SyncBatchNorm: batch normalisation with the statistics of the global batch, so that N ranks
normalise (and backpropagate) exactly as one process does with the whole batch.

Forward: the per-channel sum and count, then the sum of squared deviations, are all-reduced
(two passes, as the reference's mean and variance). Backward: the reference's two means,
mean(g) and mean(g * xhat), are taken over the global batch. Each rank's gradients are scaled by
its `share` of the loss only when DataParallel averages them, so a rank's g enters those means
times its share, and dx comes back divided by it."""
from collections import namedtuple

import numpy as np

from ..nn.normalization import _BatchNorm

__all__ = ["SyncBatchNorm", "convert_sync_batch_norm",
           "sync_batch_norm_forward", "sync_batch_norm_backward"]

SyncCache = namedtuple("SyncCache", "xhat rstd weight has_bias count")


def sync_batch_norm_forward(x, weight, bias, running_mean, running_var, world, momentum=0.1,
                            eps=1e-5):
    """batch_norm_forward in training mode over every rank's x [N_r, C, ...] together."""
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    channels = x.shape[1]
    sums = world.all_reduce_sum(np.append(x.sum(axis=axes, dtype=np.float64), x.size // channels))
    count = sums[-1]                                        # M: values per channel, all ranks
    mean = (sums[:-1] / count).astype(x.dtype)              # [C]
    centered = x - mean.reshape(shape)
    squares = world.all_reduce_sum((centered * centered).sum(axis=axes, dtype=np.float64))
    var = (squares / count).astype(x.dtype)                 # [C] biased, as PyTorch
    if running_mean is not None:
        running_mean[...] = (1 - momentum) * running_mean + momentum * mean
        running_var[...] = (1 - momentum) * running_var + (momentum * count / max(count - 1, 1)) * var
    rstd = 1 / np.sqrt(var + eps)
    xhat = centered * rstd.reshape(shape)                   # [N_r, C, ...]
    y = xhat if weight is None else xhat * weight.reshape(shape)
    y = y if bias is None else y + bias.reshape(shape)
    return y, SyncCache(xhat, rstd, weight, bias is not None, count)


def sync_batch_norm_backward(dy, cache, world, share=1.0):
    """(dx, dweight, dbias) of this rank's part, the global means weighted by the ranks' shares:

        g = dy * weight
        dx = rstd * (g - (mean(share * g) + xhat * mean(share * g * xhat)) / share)
    """
    axes = (0,) + tuple(range(2, dy.ndim))
    shape = (1, -1) + (1,) * (dy.ndim - 2)
    dbias = dy.sum(axis=axes) if cache.has_bias else None                    # this rank's part
    dweight = None if cache.weight is None else (dy * cache.xhat).sum(axis=axes)
    g = dy if cache.weight is None else dy * cache.weight.reshape(shape)
    local = np.concatenate([g.sum(axis=axes, dtype=np.float64),
                            (g * cache.xhat).sum(axis=axes, dtype=np.float64)])
    means = world.all_reduce_sum(local * share) / (cache.count * share)        # [2C]
    mean_g, mean_gx = np.split(means.astype(dy.dtype), 2)
    dx = g - mean_g.reshape(shape) - cache.xhat * mean_gx.reshape(shape)
    return dx * cache.rstd.reshape(shape), dweight, dbias


class SyncBatchNorm(_BatchNorm):
    """A BatchNorm layer (any input [N, C, ...]) whose training statistics are those of every
    rank's batch together; in evaluation it uses its running statistics, as BatchNorm."""

    world = None        # the ranks whose batches are normalised together
    share = 1.0         # this rank's share of the loss (set by DataParallel every step)

    def _check_input_dim(self, x) -> None:
        if x.ndim < 2:
            raise ValueError(f"{self._describe()} expects input [N, C, ...], got shape {x.shape}")

    def _batch_statistics_forward(self, x, weight, bias, running, momentum):
        if self.world is None or self.world.size == 1:
            return super()._batch_statistics_forward(x, weight, bias, running, momentum)
        return sync_batch_norm_forward(x, weight, bias, *running, self.world, momentum, self.eps)

    def _normalization_backward(self, grad_output, cache):
        if not isinstance(cache, SyncCache):
            return super()._normalization_backward(grad_output, cache)
        return sync_batch_norm_backward(grad_output, cache, self.world, self.share)


def convert_sync_batch_norm(module, world) -> list:
    """Make every BatchNorm layer of `module` a SyncBatchNorm over `world`, in place (the same
    parameters, buffers and place in the model); returns them."""
    layers = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    for layer in layers:
        layer.__class__ = SyncBatchNorm
        layer.world = world
    return layers
