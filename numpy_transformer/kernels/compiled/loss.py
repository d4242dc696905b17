"""Softmax cross-entropy of [N, C] logits against class indices in one pass forward and one
backward (Numba), where the NumPy kernel makes about two dozen calls: the GPT's 768x65 logits.
Other inputs (class probabilities, class weights, [N, C, ...] logits, an unbatched [C]) take
the NumPy kernel. Rows go in blocks on the fast kernels' threads; exp is `fast_math.exp`."""
import math

import numpy as np
from numba import njit

from ...nn.functional.loss import each_loss_grad, reduce_losses
from ..cpu import loss as numpy_kernel
from ..cpu.threads import parallel_blocks
from .fast_math import exp

__all__ = ["cross_entropy_forward", "cross_entropy_backward"]

BLOCK_ELEMENTS = 1 << 16        # a block's logits: 256 KiB of float32, in L2 while it is used

compiled = njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc", "contract"})
_ZERO, _ONE = np.float32(0), np.float32(1)     # float32 constants keep float32 rows float32


@compiled
def _forward(x, target, ignore_index, one_hot_rate, uniform_rate, e, z, losses, keep):
    """e [rows, C] <- exp(x - max), z <- sum e; losses and keep [rows]. Returns the first row
    whose target is out of range, or -1."""
    rows, C = x.shape                      # (sums in the logits' dtype and a max written as a
    for r in range(rows):                  # select, so that the loops vectorise: 78 against
        m = x[r, 0]                        # 124 us for the GPT's 768x65)
        for c in range(1, C):
            v = x[r, c]
            m = v if v > m else m
        s, shifted_sum = _ZERO, _ZERO                      # sum exp(x - m), sum (x - m)
        for c in range(C):
            shifted = x[r, c] - m
            exp_shifted = exp(shifted)
            e[r, c] = exp_shifted
            s += exp_shifted
            shifted_sum += shifted
        t = target[r]
        kept = t != ignore_index
        if kept and not 0 <= t < C:
            return r
        k = _ONE if kept else _ZERO                        # -sum_c q_c log p_c, q_c the smoothed
        picked = x[r, t] - m if kept else _ZERO            # one-hot, log p_c = (x_c - m) - log s
        z[r], keep[r] = s, k
        losses[r] = k * math.log(s) - k * (one_hot_rate * picked + uniform_rate * shifted_sum)
    return -1


@compiled
def _backward(e, z, target, keep, g, one_hot_rate, uniform_rate):
    """e <- g (keep softmax - q) in place, q = one_hot_rate one-hot + uniform_rate; g [rows]."""
    rows, C = e.shape
    for r in range(rows):
        gk = g[r] * keep[r]
        scale, uniform = gk / z[r], uniform_rate * gk
        for c in range(C):
            e[r, c] = e[r, c] * scale - uniform
        if keep[r]:
            e[r, target[r]] -= one_hot_rate * gk


def _handled(input, target, weight):
    """Whether the compiled kernel takes this call (else the NumPy kernel does)."""
    return (input.ndim == 2 and weight is None and input.dtype in (np.float32, np.float64)
            and np.issubdtype(target.dtype, np.integer) and target.shape == input.shape[:1])


def _rates(smoothing: float, C: int, dtype):
    """(1 - smoothing, smoothing / C) in the logits' dtype: the target distribution's one-hot
    and uniform parts."""
    return dtype.type(1 - smoothing), dtype.type(smoothing / C)


def _blocks(fn, rows: int, C: int) -> None:
    """fn(start, stop) over blocks of rows, on the fast kernels' threads when more than one."""
    if rows * C <= BLOCK_ELEMENTS:
        fn(0, rows)
    else:
        parallel_blocks(fn, rows, C, BLOCK_ELEMENTS)


def cross_entropy_forward(input, target, weight=None, ignore_index=-100, reduction="mean",
                          label_smoothing=0.0):
    """As the reference's (nn/functional/loss.py)."""
    if not _handled(input, target, weight):
        return numpy_kernel.cross_entropy_forward(input, target, weight, ignore_index, reduction,
                                                  label_smoothing)
    x = np.ascontiguousarray(input)
    rows, C = x.shape
    e = np.empty_like(x)
    z, losses, keep = (np.empty(rows, x.dtype) for _ in range(3))
    rates = _rates(label_smoothing, C, x.dtype)
    bad = []

    def block(start, stop):
        r = _forward(x[start:stop], target[start:stop], ignore_index, *rates, e[start:stop], z[start:stop], losses[start:stop], keep[start:stop])
        if r >= 0:
            bad.append(start + r)
    _blocks(block, rows, C)
    if bad:
        r = min(bad)
        raise IndexError(f"cross_entropy: target {target[r]} of row {r} is out of range for "
                         f"{C} classes")
    loss, scale = reduce_losses(losses, reduction, keep.sum())
    return loss, ("compiled", e, z, target, keep, rates, reduction, scale)


def cross_entropy_backward(grad, cache):
    """As the reference's; the gradient is written over the cached exponentials."""
    if not isinstance(cache[0], str):
        return numpy_kernel.cross_entropy_backward(grad, cache)
    _, e, z, target, keep, rates, reduction, scale = cache
    g = each_loss_grad(grad, scale, reduction)
    g = np.broadcast_to(np.asarray(g, e.dtype).reshape(-1), z.shape)
    _blocks(lambda start, stop: _backward(e[start:stop], z[start:stop], target[start:stop],
                                          keep[start:stop], g[start:stop], *rates),
            *e.shape)
    return e
