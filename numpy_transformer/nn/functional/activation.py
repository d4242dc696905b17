"""Activation functions: each a forward that returns (y, cache) and a backward that returns dx."""
import math

import numpy as np

from ._special import normal_cdf, normal_pdf

__all__ = [
    "relu_forward", "relu_backward", "leaky_relu_forward", "leaky_relu_backward",
    "sigmoid_forward", "sigmoid_backward", "tanh_forward", "tanh_backward",
    "softmax_forward", "softmax_backward", "log_softmax_forward", "log_softmax_backward",
    "gelu_forward", "gelu_backward",
]


def relu_forward(x):
    """y = max(x, 0)."""
    y = np.maximum(x, 0)
    return y, y


def relu_backward(dy, cache):
    """dx = dy where x > 0 (the cache is y, which is > 0 exactly there)."""
    y = cache
    return np.where(y > 0, dy, 0).astype(dy.dtype, copy=False)


def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, slope * x otherwise."""
    y = np.where(x > 0, x, x * negative_slope)
    return y, (x > 0, negative_slope)


def leaky_relu_backward(dy, cache):
    positive, negative_slope = cache
    return np.where(positive, dy, dy * negative_slope)


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), computed without overflow for large |x|."""
    e = np.exp(-np.abs(x))                          # in (0, 1], never overflows
    y = np.where(x >= 0, 1, e) / (1 + e)
    return y.astype(x.dtype, copy=False), y


def sigmoid_backward(dy, cache):
    """dx = dy * y * (1 - y)."""
    y = cache
    return dy * y * (1 - y)


def tanh_forward(x):
    y = np.tanh(x)
    return y, y


def tanh_backward(dy, cache):
    """dx = dy * (1 - y^2)."""
    y = cache
    return dy * (1 - y * y)


def softmax_forward(x, axis=-1):
    """y = exp(x - max) / sum(exp(x - max)) along `axis`."""
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    y = e / e.sum(axis=axis, keepdims=True)
    return y, (y, axis)


def softmax_backward(dy, cache):
    """dx = y * (dy - sum(dy * y)): the Jacobian diag(y) - y y^T applied to dy."""
    y, axis = cache
    return y * (dy - (dy * y).sum(axis=axis, keepdims=True))


def log_softmax_forward(x, axis=-1):
    """y = x - max - log(sum(exp(x - max)))."""
    shifted = x - x.max(axis=axis, keepdims=True)
    y = shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))
    return y, (y, axis)


def log_softmax_backward(dy, cache):
    """dx = dy - softmax(x) * sum(dy)."""
    y, axis = cache
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_forward(x, approximate="none"):
    """y = x * Phi(x) (exact, with erf) or its tanh approximation (approximate='tanh')."""
    if approximate == "tanh":
        h = x * x               # h = (1 + tanh(inner)) / 2, built in place in one buffer:
        h *= 0.044715 * _SQRT_2_OVER_PI
        h += _SQRT_2_OVER_PI
        h *= x                  # inner = sqrt(2/pi) (x + 0.044715 x^3)
        np.tanh(h, out=h)
        h += 1
        h *= 0.5
        return x * h, (x, h, approximate)
    if approximate != "none":
        raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
    cdf = normal_cdf(x)  # Phi(x) = (1 + erf(x / sqrt(2))) / 2
    return x * cdf, (x, cdf, approximate)


def gelu_backward(dy, cache):
    """Exact: Phi(x) + x phi(x). Tanh: h + x dh/dx = h (1 + 2 x (1 - h) d(inner)/dx), as
    dh/dx = (1 - tanh^2) / 2 d(inner)/dx = 2 h (1 - h) d(inner)/dx."""
    x, s, approximate = cache
    if approximate == "tanh":
        h = s
        dx = x * x
        dx *= 6 * 0.044715 * _SQRT_2_OVER_PI
        dx += 2 * _SQRT_2_OVER_PI   # 2 d(inner)/dx = 2 sqrt(2/pi) (1 + 3 * 0.044715 x^2)
        dx *= x
        dx *= 1 - h
        dx += 1
        dx *= h
        dx *= dy
        return dx
    dx = normal_pdf(x)  # phi(x) = exp(-x^2 / 2) / sqrt(2 pi), then in place:
    dx *= x             # x phi(x)
    dx += s             # Phi(x) + x phi(x)
    dx *= dy
    return dx
