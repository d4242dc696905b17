"""Linear layer math: y = x W^T + b."""
import numpy as np

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] -> y [..., out]."""
    y = x @ weight.T
    if bias is not None:
        y += bias
    return y, (x, weight, bias is not None)


def linear_backward(dy, cache):
    """dy [..., out] -> dx [..., in], dweight [out, in], dbias [out] (None without bias)."""
    x, weight, has_bias = cache
    dx = dy @ weight
    dy2 = dy.reshape(-1, dy.shape[-1])  # [N, out], N = product of the leading dims
    x2 = x.reshape(-1, x.shape[-1])     # [N, in]
    dweight = dy2.T @ x2
    dbias = dy2.sum(axis=0) if has_bias else None
    return dx, dweight, dbias
