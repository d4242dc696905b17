"""erf and the normal distribution's cdf and pdf for the exact GELU, run block by block.

The reference's rational (nn/functional/special.py: erf(z) = z P(z^2) / Q(z^2) with z clamped),
evaluated in the input's dtype; Phi(x) = 1/2 + erf(x / sqrt(2)) / 2 uses it with the constants
folded in. That is ~25 elementwise steps. `blockwise` runs such chains block by block (cache
blocking, not a loop over data items): each block's temporaries stay in the CPU cache, so the
arrays are read and written once instead of once per step.
"""
import math

import numpy as np

from ...nn.functional.special import ERF_RATIONALS
from .threads import row_chunks, run_chunks

__all__ = ["erf"]


class _Rational:
    """bound * erf(scale * z) = z P(z^2) / Q(z^2) for |z| <= clamp, in one dtype.

    p, q: coefficients, highest degree first, Q monic."""

    def __init__(self, dtype, clamp, p, q, bound=1.0):
        self.dtype = np.dtype(dtype)
        self.clamp, self.bound = self.dtype.type(clamp), self.dtype.type(bound)
        self.p, self.q = np.array(p, self.dtype), np.array(q, self.dtype)

    def scaled(self, scale, bound):
        """The rational of bound * erf(scale * z): P and Q with z -> scale z, Q made monic again."""
        p, q = np.asarray(self.p, np.float64), np.asarray(self.q, np.float64)
        n = len(q) - 1
        p = [c * bound * scale ** (2 * (len(p) - 1 - i) + 1) / scale ** (2 * n) for i, c in enumerate(p)]
        q = [c * scale ** (2 * (n - i)) / scale ** (2 * n) for i, c in enumerate(q)]
        return _Rational(self.dtype, float(self.clamp) / scale, p, q, bound)


# The reference's coefficients (nn/functional/special.py, printed by tools/fit_erf.py).
_RATIONALS = {dtype: _Rational(dtype, c, p, q) for dtype, (c, p, q) in ERF_RATIONALS.items()}

# Phi(x) - 1/2 = erf(x / sqrt(2)) / 2: the same rational with its constants folded in.
_HALF_ERF_OF_X_OVER_SQRT_2 = {dtype: r.scaled(1 / math.sqrt(2.0), 0.5) for dtype, r in _RATIONALS.items()}

# Bytes per block array: a block of each input, the output and the temporaries stay in cache
# (L3 here). GELU forward + backward with 1 MiB blocks against 512 KiB: 768x512 tanh 0.91x,
# exact 0.90x, 300x1024 exact 0.80x; 2 MiB was slower.
BLOCK_BYTES = 1 << 20

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def blockwise(kernel, *inputs, out=None, outputs=1, scratch=0):
    """kernel(*inputs) for an elementwise kernel of many small steps, one block at a time.

    `kernel(*input_blocks, *output_blocks, *scratch_blocks)` writes its results into the output
    blocks; inputs and outputs are arrays of one shape and dtype. Returns the output (a tuple if
    `outputs` > 1); `out`: the array to write a single output into. Cache blocking, not a loop
    over data items: each block's steps run in cache, so memory is read and written once, not
    once per step. Arrays other than NumPy's (CuPy) go in one block. Big arrays are split evenly
    among threads (`threads`), each part into blocks of equal size; the kernel is elementwise,
    so neither the split nor the blocks change the results."""
    x = inputs[0]
    outs = [out] if out is not None else [np.empty_like(x) for _ in range(outputs)]
    flat_outs = [o.reshape(-1) if o.flags.c_contiguous else np.empty_like(o).reshape(-1) for o in outs]
    flat_inputs = [a.reshape(-1) for a in inputs]           # a copy only if not contiguous
    size = x.size
    block = max(1, BLOCK_BYTES // x.itemsize if isinstance(x, np.ndarray) else size)
    block = min(block, max(size, 1))

    def run(first, last):                                   # elements first:last, one thread
        if last <= first:
            return
        step = -(-(last - first) // -(-(last - first) // block))   # equal blocks of <= block
        temporaries = np.empty_like(flat_outs[0], shape=(scratch, step))
        for start in range(first, last, step):
            stop = min(start + step, last)
            kernel(*(a[start:stop] for a in flat_inputs), *(o[start:stop] for o in flat_outs),
                   *temporaries[:, :stop - start])
    run_chunks(run, row_chunks(size, size))                 # equal parts, one per thread
    for o, flat in zip(outs, flat_outs):
        if not o.flags.c_contiguous:
            o[...] = flat.reshape(o.shape)
    return outs[0] if len(outs) == 1 else tuple(outs)


def _horner(u, coefficients, out):
    """out = polynomial(u), coefficients highest degree first, in place in `out`."""
    if coefficients[0] == 1:
        np.add(u, coefficients[1], out=out)
    else:
        np.multiply(u, coefficients[0], out=out)
        out += coefficients[1]
    for c in coefficients[2:]:
        out *= u
        out += c
    return out


def _odd_rational(x, z, u, num, den, r):
    """z <- z P(z^2) / Q(z^2) with z = x clamped to [-c, c]; u, num, den are scratch."""
    np.clip(x, -r.clamp, r.clamp, out=z)
    np.multiply(z, z, out=u)
    _horner(u, r.p, num)
    _horner(u, r.q, den)
    num /= den
    z *= num
    np.clip(z, -r.bound, r.bound, out=z)  # rounding can land an ulp above 1 near the clamp


def _erf_block(x, out, u, num, den):
    """erf(x)."""
    _odd_rational(x, out, u, num, den, _RATIONALS[out.dtype])


def normal_cdf_block(x, out, u, num, den):
    """Phi(x) = 1/2 + erf(x / sqrt(2)) / 2, for `blockwise` (3 scratch arrays)."""
    _odd_rational(x, out, u, num, den, _HALF_ERF_OF_X_OVER_SQRT_2[out.dtype])
    out += 0.5


def _normal_pdf_block(x, out):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    np.multiply(x, x, out=out)
    out *= -0.5
    np.exp(out, out=out)
    out *= _INV_SQRT_2PI


def _elementwise(kernel, x, out, name, scratch):
    """`kernel` over x in x's dtype: float32 or float64 (integers as float64, float16 computed
    in float32). `out`: an array of the result's shape and dtype, or None for a new one."""
    if not hasattr(x, "dtype"):
        x = np.asarray(x)
    integral = np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_
    dtype = np.dtype(np.float64) if integral else x.dtype
    work = np.dtype(np.float32) if dtype == np.float16 else dtype
    if work not in _RATIONALS:
        raise TypeError(f"{name} supports float16, float32 and float64 arrays, got {x.dtype}")
    if out is not None and (out.shape != x.shape or out.dtype != dtype):
        raise ValueError(f"{name}: out has shape {out.shape} and dtype {out.dtype}, "
                         f"expected {x.shape} and {dtype}")
    if work == dtype and x.dtype == dtype:
        return blockwise(kernel, x, out=out, scratch=scratch)
    result = blockwise(kernel, x.astype(work), scratch=scratch)
    if out is None:
        return result.astype(dtype, copy=False)
    out[...] = result
    return out


def erf(x, out=None):
    """The error function, elementwise, in x's dtype."""
    return _elementwise(_erf_block, x, out, "erf", scratch=3)


def normal_cdf(x, out=None):
    """Phi(x), the standard normal distribution function: (1 + erf(x / sqrt(2))) / 2."""
    return _elementwise(normal_cdf_block, x, out, "normal_cdf", scratch=3)


def normal_pdf(x, out=None):
    """phi(x), the standard normal density: exp(-x^2 / 2) / sqrt(2 pi)."""
    return _elementwise(_normal_pdf_block, x, out, "normal_pdf", scratch=0)
