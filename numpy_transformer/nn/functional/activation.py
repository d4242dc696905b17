"""Activation functions: each a forward that returns (y, cache) and a backward that returns dx."""
import math

import numpy as np

from .special import erf

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
    """dx = dy where x > 0, else 0 (the cache is y, which is > 0 exactly there)."""
    y = cache
    return np.where(y > 0, dy, 0)


def leaky_relu_forward(x, negative_slope=0.01):
    """y = x for x > 0, slope * x otherwise."""
    positive = x > 0
    return np.where(positive, x, x * negative_slope), (positive, negative_slope)


def leaky_relu_backward(dy, cache):
    """dx = dy for x > 0, slope * dy otherwise."""
    positive, negative_slope = cache
    return np.where(positive, dy, dy * negative_slope)


def sigmoid_forward(x):
    """y = 1 / (1 + exp(-x)), written with e = exp(-|x|) <= 1 so that exp never overflows:
    y = 1 / (1 + e) for x >= 0 and e / (1 + e) for x < 0."""
    e = np.exp(-np.abs(x))
    y = np.where(x >= 0, 1, e) / (1 + e)
    return y, y


def sigmoid_backward(dy, cache):
    """dx = dy * y * (1 - y)."""
    y = cache
    return dy * y * (1 - y)


def tanh_forward(x):
    """y = tanh(x)."""
    y = np.tanh(x)
    return y, y


def tanh_backward(dy, cache):
    """dx = dy * (1 - y^2)."""
    y = cache
    return dy * (1 - y * y)


def softmax_forward(x, axis=-1):
    """y = exp(x - max) / sum(exp(x - max)) along `axis` (shifting by the max avoids overflow)."""
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
    """dx = dy - softmax(x) * sum(dy), with softmax(x) = exp(y)."""
    y, axis = cache
    return dy - np.exp(y) * dy.sum(axis=axis, keepdims=True)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_forward(x, approximate="none"):
    """y = x Phi(x), Phi the standard normal cdf (1 + erf(x / sqrt(2))) / 2; or, with
    approximate='tanh' (GPT-2's), y = x h with h = (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) / 2."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
    if approximate == "tanh":
        h = 0.5 * (1 + np.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x ** 3)))
        return x * h, (x, h, approximate)
    cdf = 0.5 * (1 + erf(x * (1 / math.sqrt(2))))
    return x * cdf, (x, cdf, approximate)


def gelu_backward(dy, cache):
    """Exact: dx = dy (Phi(x) + x phi(x)), phi(x) = exp(-x^2 / 2) / sqrt(2 pi) the density.
    Tanh: dx = dy (h + x dh/dx), dh/dx = 2 h (1 - h) sqrt(2/pi) (1 + 3 * 0.044715 x^2)."""
    x, cdf_or_h, approximate = cache
    if approximate == "tanh":
        h = cdf_or_h
        dh_dx = 2 * h * (1 - h) * _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return dy * (h + x * dh_dx)
    cdf = cdf_or_h
    pdf = np.exp(-0.5 * x * x) * (1 / math.sqrt(2 * math.pi))
    return dy * (cdf + x * pdf)
