"""Activations: the reference's formulas with fewer passes over memory, big arrays split over
threads (`threads`), branch-free selects (`select`) and GELU's steps block by block in cache."""
import math

import numpy as np

from .erf import blockwise, normal_cdf_block
from .select import where_select, where_zero
from .threads import parallel_slices, parallel_ufunc

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
    "gelu_forward", "gelu_backward",
]


def relu_forward(x):
    """y = max(x, 0) (in pieces over threads when big)."""
    y = parallel_ufunc(np.maximum, x, 0)
    return y, y


def relu_backward(dy, cache):
    """dx = dy where x > 0 (the cache is y, which is > 0 exactly there)."""
    y = cache
    dx = np.empty_like(dy)
    parallel_slices(lambda y_, dy_, dx_: where_zero(y_ > 0, dy_, out=dx_), y, dy, dx)
    return dx                                       # np.where(y > 0, dy, 0), without branches


def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, slope * x otherwise: x times 1 or slope."""
    positive = x > 0
    y = x * where_select(positive, 1.0, negative_slope, x.dtype)
    return y, (positive, negative_slope)


def leaky_relu_backward(dy, cache):
    """dx = dy for x > 0, slope * dy otherwise."""
    positive, negative_slope = cache
    return dy * where_select(positive, 1.0, negative_slope, dy.dtype)


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|:
    1 / (1 + e) for x >= 0 and e / (1 + e) otherwise, with e = exp(-|x|)."""
    e = np.exp(-np.abs(x))                          # in (0, 1], never overflows
    y = where_select(x >= 0, 1.0, e, e.dtype)       # np.where(x >= 0, 1, e), without branches
    e += 1
    y /= e
    return y.astype(x.dtype, copy=False), y


def _rowwise(fn, axis, *arrays):
    """fn(*arrays) for a computation along `axis`, in pieces over another axis (one per thread
    when big): each piece holds whole rows along `axis`, so results are those of one call."""
    x = arrays[0]
    others = [a for a in range(x.ndim) if a != axis % max(x.ndim, 1)]
    if not others:
        fn(*arrays)
        return
    parallel_slices(fn, *arrays, axis=max(others, key=lambda a: x.shape[a]))


def softmax_forward(x, axis=-1):
    """y = exp(x - max) / sum(exp(x - max)) along `axis`."""
    y = np.empty_like(x)

    def softmax(x, y):
        np.subtract(x, x.max(axis=axis, keepdims=True), out=y)
        np.exp(y, out=y)
        y /= y.sum(axis=axis, keepdims=True)
    _rowwise(softmax, axis, x, y)
    return y, (y, axis)


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)): the Jacobian diag(y) - y y^T applied to dy."""
    y, axis = cache
    dx = np.empty_like(dy)

    def backward(dy, y, dx):
        np.multiply(dy, y, out=dx)
        np.subtract(dy, dx.sum(axis=axis, keepdims=True), out=dx)
        dx *= y
    _rowwise(backward, axis, dy, y, dx)
    return dx


def log_softmax_forward(x, axis=-1):
    """y = x - max - log(sum(exp(x - max)))."""
    y = np.empty_like(x)

    def log_softmax(x, y):
        np.subtract(x, x.max(axis=axis, keepdims=True), out=y)          # shifted
        y -= np.log(np.exp(y).sum(axis=axis, keepdims=True))
    _rowwise(log_softmax, axis, x, y)
    return y, (y, axis)


def log_softmax_backward(dy, cache):
    """dx = dy - softmax(x) * sum(dy)."""
    y, axis = cache
    dx = np.empty_like(dy)

    def backward(dy, y, dx):
        np.exp(y, out=dx)
        dx *= dy.sum(axis=axis, keepdims=True)
        np.subtract(dy, dx, out=dx)
    _rowwise(backward, axis, dy, y, dx)
    return dx


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def gelu_forward(x, approximate="none"):
    """y = x Phi(x) (exact, with erf), or x h with h = (1 + tanh(inner)) / 2 and
    inner = sqrt(2/pi) (x + 0.044715 x^3) (approximate='tanh'). Each is a chain of small
    elementwise steps, so it runs block by block in cache (see `blockwise`)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
    if approximate == "tanh":
        y, h = blockwise(_gelu_tanh_forward_block, x, outputs=2)
        return y, (x, h, approximate)
    y, cdf = blockwise(_gelu_forward_block, x, outputs=2, scratch=3)
    return y, (x, cdf, approximate)


def gelu_backward(dy, cache):
    """Exact: dx = dy (Phi(x) + x phi(x)). Tanh: dx = dy (h + x dh/dx) = dy h (1 + 2 x (1 - h)
    d(inner)/dx), as dh/dx = (1 - tanh^2) / 2 d(inner)/dx = 2 h (1 - h) d(inner)/dx.
    dx is written over the cached Phi(x) (or h), which it replaces: one backward per forward."""
    x, s, approximate = cache
    if approximate == "tanh":
        return blockwise(_gelu_tanh_backward_block, dy, x, s, out=s, scratch=2)
    return blockwise(_gelu_backward_block, dy, x, s, out=s, scratch=1)


def _gelu_forward_block(x, y, cdf, *scratch):
    """cdf = Phi(x) = (1 + erf(x / sqrt(2))) / 2, y = x Phi(x)."""
    normal_cdf_block(x, cdf, *scratch)
    np.multiply(x, cdf, out=y)


def _gelu_backward_block(dy, x, cdf, dx, t):
    """dx = dy (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi); dx may be cdf."""
    np.multiply(x, x, out=t)
    t *= -0.5
    np.exp(t, out=t)
    t *= x
    t *= _INV_SQRT_2PI      # x phi(x)
    np.add(cdf, t, out=dx)
    dx *= dy


def _gelu_tanh_forward_block(x, y, h):
    """h = (1 + tanh(inner)) / 2 = 1 / (1 + exp(-2 inner)), y = x h. NumPy's exp costs half its
    tanh; for x below about -10, exp overflows to inf and h is 0, as it should be."""
    np.multiply(x, x, out=h)
    h *= -2 * 0.044715 * _SQRT_2_OVER_PI
    h -= 2 * _SQRT_2_OVER_PI
    h *= x                  # -2 inner = -2 sqrt(2/pi) (x + 0.044715 x^3)
    with np.errstate(over="ignore", under="ignore"):
        np.exp(h, out=h)
    h += 1
    np.divide(1, h, out=h)
    np.multiply(x, h, out=y)


def _gelu_tanh_backward_block(dy, x, h, dx, t, one_minus_h):
    """dx = dy h (1 + 2 x (1 - h) d(inner)/dx); dx may be h."""
    np.multiply(x, x, out=t)
    t *= 6 * 0.044715 * _SQRT_2_OVER_PI
    t += 2 * _SQRT_2_OVER_PI    # 2 d(inner)/dx = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
    t *= x
    np.subtract(1, h, out=one_minus_h)
    t *= one_minus_h
    t += 1
    np.multiply(t, h, out=dx)
    dx *= dy
