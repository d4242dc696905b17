"""LayerNorm in one pass over memory forward and one backward (Numba), against six to nine
NumPy passes. Rows go in blocks on the fast kernels' own threads (the compiled loops release the
GIL; Numba's thread pool, spinning beside BLAS's and ours, made the GPT step 1.6x slower); the
weight and bias gradients sum per block, then the blocks in order, so results do not depend on
the thread count. The forward's sums run in float64 registers and its output pass in the
input's dtype, the backward's sums in the input's dtype, each reassociated so that it
vectorises; arrays keep the input's dtype."""
import math

import numpy as np
from numba import njit

from ..cpu.threads import parallel_blocks

__all__ = ["layer_norm_forward", "layer_norm_backward"]

BLOCK_ELEMENTS = 1 << 18        # a block's rows: 1 MiB of float32 per array; the GPT's
                                # LayerNorms (768x128) run whole on the calling thread

compiled = njit(nogil=True, cache=True, fastmath={"reassoc", "contract"})
_ZERO = np.float32(0)           # backward's sums in the input's dtype: no conversions in its
                                # loops (768x128: 82 us against 120 with float64 sums)


@compiled
def _forward(x, w, b, eps, y, mean, rstd):                # x, y [rows, D]; mean, rstd [rows]
    rows, D = x.shape
    for r in range(rows):
        s = 0.0
        for d in range(D):
            s += x[r, d]
        m = s / D
        v = 0.0
        for d in range(D):
            t = x[r, d] - m
            v += t * t
        rs = 1.0 / math.sqrt(v / D + eps)
        m_x, rs_x = x.dtype.type(m), x.dtype.type(rs)     # the output pass in x's dtype: twice
        for d in range(D):                                # the lanes (768x128 float32: 32 us
            y[r, d] = (x[r, d] - m_x) * rs_x * w[d] + b[d]    # against 55 in float64)
        mean[r], rstd[r] = m, rs


@compiled
def _backward(dy, x, mean, rstd, w, dx, dw, db):         # dw, db [D]: this block's
    rows, D = x.shape
    for r in range(rows):
        m, rs = mean[r], rstd[r]
        sg, sgx = _ZERO, _ZERO                            # sum(g), sum(g * xhat), g = dy * w
        for d in range(D):
            xhat = (x[r, d] - m) * rs
            g = dy[r, d] * w[d]
            sg += g
            sgx += g * xhat
            dw[d] += dy[r, d] * xhat
            db[d] += dy[r, d]
        mean_g, mean_gx = x.dtype.type(sg / D), x.dtype.type(sgx / D)    # (sg / D alone is
        for d in range(D):                              # float64: this loop with it, 54 us
            xhat = (x[r, d] - m) * rs                   # against 28 for 768x128)
            dx[r, d] = rs * (dy[r, d] * w[d] - mean_g - xhat * mean_gx)


def _rows_per_block(D: int) -> int:
    return max(1, BLOCK_ELEMENTS // max(D, 1))


def _blocks(fn, R: int, D: int) -> None:
    """fn(k, start, stop) for each block k of rows, on the fast kernels' threads (no BLAS
    inside, so BLAS keeps its threads for the products running beside)."""
    rows = _rows_per_block(D)
    if R <= rows:
        fn(0, 0, R)
        return
    parallel_blocks(lambda start, stop: fn(start // rows, start, stop), R, D, rows * D)


def layer_norm_forward(x, weight=None, bias=None, n_dims=1, eps=1e-5):
    """Normalise x over its last `n_dims` dims: y = (x - mean) / sqrt(var + eps) * weight + bias."""
    norm_shape = x.shape[x.ndim - n_dims:]
    D = math.prod(norm_shape)
    x2 = np.ascontiguousarray(x).reshape(-1, D)            # [R, D]
    w = np.ones(D, x.dtype) if weight is None else weight.reshape(D)
    b = np.zeros(D, x.dtype) if bias is None else bias.reshape(D)
    y = np.empty_like(x2)
    mean, rstd = np.empty(len(x2), x.dtype), np.empty(len(x2), x.dtype)

    def block(k, start, stop):
        _forward(x2[start:stop], w, b, eps, y[start:stop], mean[start:stop], rstd[start:stop])
    _blocks(block, len(x2), D)
    return y.reshape(x.shape), (x2, mean, rstd, w, weight is not None, bias is not None,
                                x.shape, norm_shape)


def layer_norm_backward(dy, cache):
    """(dx, dweight, dbias), as the reference's."""
    x2, mean, rstd, w, has_weight, has_bias, shape, norm_shape = cache
    R, D = x2.shape
    dy2 = np.ascontiguousarray(dy).reshape(R, D)
    per_block = _rows_per_block(D)
    dw, db = (np.zeros((-(-R // per_block), D), x2.dtype) for _ in range(2))
    dx = np.empty_like(x2)

    def block(k, start, stop):
        s = slice(start, stop)
        _backward(dy2[s], x2[s], mean[s], rstd[s], w, dx[s], dw[k], db[k])
    _blocks(block, R, D)
    dweight = dw.sum(axis=0).reshape(norm_shape) if has_weight else None
    dbias = db.sum(axis=0).reshape(norm_shape) if has_bias else None
    return dx.reshape(shape), dweight, dbias
