"""Adam's update as the reference's, with every step written into one scratch array per thread
(the reference makes a new temporary for each): the same operations in the same order, so
the same bits."""
import threading

import numpy as np

__all__ = ["adam_update"]

_local = threading.local()


def _scratch(like):
    """A flat array of like's dtype and at least its size, reused across calls (per thread)."""
    cache = _local.__dict__.setdefault("scratch", {})
    flat = cache.get(like.dtype)
    if flat is None or flat.size < like.size:
        flat = cache[like.dtype] = np.empty(like.size, like.dtype)
    return flat[:like.size].reshape(like.shape)


def adam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, step, decay=1.0,
                max_exp_avg_sq=None):
    """As the reference's (nn/functional/optim.py)."""
    work = _scratch(param)
    if decay != 1.0:
        param *= decay
    np.subtract(grad, exp_avg, out=work)        # m += (g - m) (1 - beta1)
    work *= 1 - beta1
    exp_avg += work
    exp_avg_sq *= beta2                         # v = beta2 v + g^2 (1 - beta2)
    np.multiply(grad, grad, out=work)
    work *= 1 - beta2
    exp_avg_sq += work
    v = exp_avg_sq if max_exp_avg_sq is None else np.maximum(max_exp_avg_sq, exp_avg_sq,
                                                             out=max_exp_avg_sq)
    denom = np.sqrt(v, out=work)                # sqrt(v) / sqrt(1 - beta2^t) + eps
    denom /= (1 - beta2 ** step) ** 0.5
    denom += eps
    update = np.divide(exp_avg, denom, out=work)
    update *= -lr / (1 - beta1 ** step)
    param += update
