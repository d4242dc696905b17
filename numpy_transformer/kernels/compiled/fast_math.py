"""`exp` for compiled loops that vectorises: Numba's own calls libm one element at a time.

float32: Cephes' expf. x = n ln 2 + r with n = round(x / ln 2) and |r| <= ln(2)/2 (ln 2 in two
parts, so that r is exact), exp(r) by a degree-7 polynomial, 2^n built in the exponent bits.
Relative error about one ulp; results below the smallest normal float32 (x < -87.33) are 0
(computing subnormals took a causal softmax from 0.1 to 0.7 ms); NaN, inf and -inf come out
as np.exp's. 0.77 ns an element against NumPy's 2.2 (2026-12-07, a 65,536-element
`timeit` on the development machine). float64 uses libm's exp."""
import math

import numpy as np
from numba import njit, types
from numba.extending import overload

__all__ = ["exp"]


def exp(x):
    """exp(x) of one float32 or float64, for use inside compiled kernels."""
    return math.exp(x)


@njit
def _exp_float32(x):                    # LLVM inlines it (Numba's IR inlining warns)
    t = min(max(x, np.float32(-87.33)), np.float32(88.8))          # NaN stays NaN
    n = np.floor(t * np.float32(1.44269504) + np.float32(0.5))      # round(t / ln 2)
    r = t - n * np.float32(0.693359375) + n * np.float32(2.12194440e-4)   # t - n ln 2
    p = np.float32(1.9875691500e-4)
    p = p * r + np.float32(1.3981999507e-3)
    p = p * r + np.float32(8.3334519073e-3)
    p = p * r + np.float32(4.1665795894e-2)
    p = p * r + np.float32(1.6666665459e-1)
    p = p * r + np.float32(5.0000001201e-1)
    p = p * r * r + r + np.float32(1.0)                              # exp(r)
    k = np.int32(n)                                                  # 2^k in two halves, each
    half = k >> np.int32(1)                                          # a normal float32 (2^128
    a = np.int32((half + np.int32(127)) << np.int32(23))             # is not one)
    b = np.int32((k - half + np.int32(127)) << np.int32(23))
    y = p * a.view(np.float32) * b.view(np.float32)
    # below the smallest normal float32: 0, never a subnormal (each costs ~100 cycles to make)
    return np.float32(0.0) if x < np.float32(-87.33) else (
        np.float32(np.inf) if x > np.float32(88.8) else y)   # (to 88.8 the product overflows)


@overload(exp)
def _exp(x):
    if x == types.float32:
        return lambda x: _exp_float32(x)
    return lambda x: math.exp(x)
