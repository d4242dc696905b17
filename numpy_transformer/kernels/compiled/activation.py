"""GELU, exact and tanh, in one pass forward and one backward (Numba) for float32, where the
NumPy kernel makes 8 to 26 passes block by block; float64 takes the NumPy kernel. LeakyReLU in
one pass each way (the NumPy kernel makes three with its branch-free select), bit for bit the
reference's. The exact
GELU's Phi(x) is the reference's rational for erf (nn/functional/special.py) with its constants
folded in, as in kernels/cpu/erf.py; exp is `fast_math.exp`. Flat blocks go on the fast
kernels' threads."""
import math

import numpy as np
from numba import njit

from ..cpu import activation as numpy_kernel
from ..cpu.erf import _HALF_ERF_OF_X_OVER_SQRT_2
from ..cpu.threads import parallel_blocks
from .fast_math import exp

__all__ = ["gelu_forward", "gelu_backward", "leaky_relu_forward", "leaky_relu_backward"]

BLOCK_ELEMENTS = 1 << 16        # 256 KiB of float32 per array

compiled = njit(nogil=True, cache=True, error_model="numpy")

_F = np.float32
_PHI = _HALF_ERF_OF_X_OVER_SQRT_2[np.dtype(np.float32)]       # erf(x / sqrt 2) / 2, a rational
_PHI_CLAMP, _PHI_BOUND = _F(_PHI.clamp), _F(_PHI.bound)
_P, _Q = tuple(_F(c) for c in _PHI.p), tuple(_F(c) for c in _PHI.q)
assert len(_P) == len(_Q) == 6, "the float32 rational's degree changed: update _horner6"
_INV_SQRT_2PI = _F(1 / math.sqrt(2 * math.pi))
_TWO_ROOT_2_OVER_PI = _F(2 * math.sqrt(2 / math.pi))           # 2 d(inner)/dx at x = 0
_CUBIC = _F(0.044715)


@njit(inline="always")
def _horner6(u, c):
    return ((((c[0] * u + c[1]) * u + c[2]) * u + c[3]) * u + c[4]) * u + c[5]


@njit(inline="always")
def normal_cdf(x):                                   # Phi(x) of one float32: the rational
    z = min(max(x, -_PHI_CLAMP), _PHI_CLAMP)
    u = z * z
    return min(max(z * _horner6(u, _P) / _horner6(u, _Q), -_PHI_BOUND), _PHI_BOUND) + _F(0.5)


@compiled
def _exact_forward(x, y, cdf):                       # flat float32 arrays
    for i in range(x.size):
        cdf[i] = normal_cdf(x[i])                    # Phi(x)
        y[i] = x[i] * cdf[i]


@compiled
def _exact_backward(dy, x, cdf):                     # cdf <- dy (Phi(x) + x phi(x)), in place
    for i in range(x.size):                          # (one array, not two that alias: the
        pdf = exp(x[i] * x[i] * _F(-0.5)) * _INV_SQRT_2PI   # loop vectorises only then)
        cdf[i] = (cdf[i] + x[i] * pdf) * dy[i]


@compiled
def _tanh_forward(x, y, h):                          # h = 1 / (1 + exp(-2 inner)), y = x h
    for i in range(x.size):
        minus_2_inner = (x[i] * x[i] * _CUBIC + _F(1.0)) * x[i] * -_TWO_ROOT_2_OVER_PI
        h[i] = _F(1.0) / (_F(1.0) + exp(minus_2_inner))
        y[i] = x[i] * h[i]


@compiled
def _tanh_backward(dy, x, h):                        # h <- dy h (1 + 2 x (1 - h) d(inner)/dx)
    for i in range(x.size):
        two_d_inner = (x[i] * x[i] * (_F(3.0) * _CUBIC) + _F(1.0)) * _TWO_ROOT_2_OVER_PI
        h[i] = (two_d_inner * x[i] * (_F(1.0) - h[i]) + _F(1.0)) * h[i] * dy[i]


@compiled
def _leaky_forward(x, slope, y, positive):           # y = x where x > 0, else slope x
    for i in range(x.size):
        positive[i] = x[i] > 0
        y[i] = x[i] if positive[i] else x[i] * slope


@compiled
def _leaky_backward(dy, positive, slope, dx):        # dx = dy where x > 0, else slope dy
    for i in range(dy.size):
        dx[i] = dy[i] if positive[i] else dy[i] * slope


def _blocks(kernel, *arrays) -> None:
    """kernel(*blocks) over flat blocks of the arrays (scalars passed whole), on the fast
    kernels' threads."""
    flat = [a.reshape(-1) if isinstance(a, np.ndarray) else a for a in arrays]
    size = flat[0].size
    if size <= BLOCK_ELEMENTS:
        kernel(*flat)
        return
    parallel_blocks(lambda start, stop: kernel(*(a[start:stop] if isinstance(a, np.ndarray) else a
                                                 for a in flat)), size, 1, BLOCK_ELEMENTS)


def gelu_forward(x, approximate="none"):
    """As the reference's (nn/functional/activation.py)."""
    if x.dtype != np.float32 or approximate not in ("none", "tanh"):
        return numpy_kernel.gelu_forward(x, approximate)
    x = np.ascontiguousarray(x)
    y, saved = np.empty_like(x), np.empty_like(x)
    _blocks(_tanh_forward if approximate == "tanh" else _exact_forward, x, y, saved)
    return y, (x, saved, approximate)


def gelu_backward(dy, cache):
    """As the reference's; dx is written over the cached Phi(x) (or h)."""
    x, saved, approximate = cache
    if x.dtype != np.float32 or not saved.flags.c_contiguous:
        return numpy_kernel.gelu_backward(dy, cache)
    _blocks(_tanh_backward if approximate == "tanh" else _exact_backward,
            np.ascontiguousarray(dy, np.float32), x, saved)
    return saved


def leaky_relu_forward(x, negative_slope=0.01):
    """As the reference's; the same cache (the mask of x > 0 and the slope)."""
    if x.dtype not in (np.float32, np.float64):
        return numpy_kernel.leaky_relu_forward(x, negative_slope)
    x = np.ascontiguousarray(x)
    y, positive = np.empty_like(x), np.empty(x.shape, np.bool_)
    _blocks(_leaky_forward, x, x.dtype.type(negative_slope), y, positive)
    return y, (positive, negative_slope)


def leaky_relu_backward(dy, cache):
    """As the reference's."""
    positive, negative_slope = cache
    if dy.dtype not in (np.float32, np.float64) or positive.shape != dy.shape:
        return numpy_kernel.leaky_relu_backward(dy, cache)
    dy = np.ascontiguousarray(dy)
    dx = np.empty_like(dy)
    _blocks(_leaky_backward, dy, positive, dy.dtype.type(negative_slope), dx)
    return dx
