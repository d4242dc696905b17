"""LayerNorm in one pass per row forward and two backward (Numba), against six to nine NumPy
passes. The rows are spread over threads; the weight and bias gradients sum per block of
ROWS rows, then the blocks in order, so results do not depend on the thread count. Sums run
in float64 registers; arrays keep the input's dtype."""
import math

import numpy as np
from numba import njit, prange

from ..cpu.threads import num_threads

__all__ = ["layer_norm_forward", "layer_norm_backward"]

ROWS = 32           # rows per block of the parameter-gradient sums


@njit(parallel=True, cache=True)
def _forward(x, w, b, eps, y, mean, rstd):                # x, y [R, D]; mean, rstd [R]
    R, D = x.shape
    for r in prange(R):
        s = 0.0
        for d in range(D):
            s += x[r, d]
        m = s / D
        v = 0.0
        for d in range(D):
            t = x[r, d] - m
            v += t * t
        rs = 1.0 / math.sqrt(v / D + eps)
        for d in range(D):
            y[r, d] = (x[r, d] - m) * rs * w[d] + b[d]
        mean[r], rstd[r] = m, rs


@njit(parallel=True, cache=True)
def _backward(dy, x, mean, rstd, w, dx, dw, db):         # dw, db [blocks, D] float64
    R, D = x.shape
    for k in prange(dw.shape[0]):
        for r in range(k * ROWS, min(R, (k + 1) * ROWS)):
            m, rs = mean[r], rstd[r]
            sg, sgx = 0.0, 0.0                            # sum(g), sum(g * xhat)
            for d in range(D):
                xhat = (x[r, d] - m) * rs
                g = dy[r, d] * w[d]
                sg += g
                sgx += g * xhat
                dw[k, d] += dy[r, d] * xhat
                db[k, d] += dy[r, d]
            mean_g, mean_gx = sg / D, sgx / D
            for d in range(D):
                xhat = (x[r, d] - m) * rs
                dx[r, d] = rs * (dy[r, d] * w[d] - mean_g - xhat * mean_gx)


def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    norm_shape = x.shape[x.ndim - n_dims:]
    D = math.prod(norm_shape)
    x2 = np.ascontiguousarray(x).reshape(-1, D)            # [R, D]
    w = np.ones(D, x.dtype) if weight is None else weight.reshape(D)
    b = np.zeros(D, x.dtype) if bias is None else bias.reshape(D)
    y = np.empty_like(x2)
    mean, rstd = np.empty(len(x2), x.dtype), np.empty(len(x2), x.dtype)
    _threads()
    _forward(x2, w, b, eps, y, mean, rstd)
    return y.reshape(x.shape), (x2, mean, rstd, w, weight is not None, bias is not None,
                                x.shape, norm_shape)


def layer_norm_backward(dy, cache):
    """(dx, dweight, dbias), as the reference's."""
    x2, mean, rstd, w, has_weight, has_bias, shape, norm_shape = cache
    dy2 = np.ascontiguousarray(dy).reshape(x2.shape)
    blocks = -(-len(x2) // ROWS)
    dw, db = np.zeros((blocks, x2.shape[1])), np.zeros((blocks, x2.shape[1]))
    dx = np.empty_like(x2)
    _threads()
    _backward(dy2, x2, mean, rstd, w, dx, dw, db)
    dweight = dw.sum(axis=0).astype(x2.dtype).reshape(norm_shape) if has_weight else None
    dbias = db.sum(axis=0).astype(x2.dtype).reshape(norm_shape) if has_bias else None
    return dx.reshape(shape), dweight, dbias


def _threads() -> None:
    """Numba's threads: as many as the other fast kernels use."""
    import numba
    numba.set_num_threads(min(num_threads(), numba.config.NUMBA_NUM_THREADS))
