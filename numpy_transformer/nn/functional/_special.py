"""erf, which NumPy lacks, and the normal distribution's cdf and pdf, for the exact GELU.

erf is odd and tends to +-1, so we write erf(z) = z * P(z^2) / Q(z^2) on |z| <= c, where c is
past the point at which erf rounds to +-1 in the dtype, and clamp z to [-c, c] first.
P and Q are the minimax fit (relative error) by the Remez algorithm in tools/fit_erf.py;
each dtype has its own set, evaluated in that dtype (no float64 upcast for float32):
  float32: degrees (5, 5), c = 4; error at most 7 ulp (relative 4e-7), on average 0.5 ulp.
  float64: degrees (12, 12), c = 6; relative error at most 1e-15 (about 10 ulp below 1).
Those are ~25 elementwise operations. They run block by block (cache blocking, not a loop over
data items): each block's temporaries stay in the CPU cache, so the whole array is read and
written once instead of 25 times.
"""
import math

import numpy as np

__all__ = ["erf", "normal_cdf", "normal_pdf"]


class _Rational:
    """Coefficients of P and Q (highest degree first; Q monic) and the clamp, in one dtype."""

    def __init__(self, dtype, clamp, p, q):
        self.dtype = np.dtype(dtype)
        self.clamp = self.dtype.type(clamp)
        self.one = self.dtype.type(1)
        self.p = np.array(p, self.dtype)
        self.q = np.array(q, self.dtype)


# Printed by `python tools/fit_erf.py`.
_FLOAT32 = _Rational(
    np.float32, 4.0,
    p=(0.053093776, 7.604634, 103.77758, 1419.0679, 5172.2246, 30154.246),
    q=(1.0, 31.682888, 406.39304, 3082.5657, 13491.579, 26723.506))
_FLOAT64 = _Rational(
    np.float64, 6.0,
    p=(0.017618405547673417, 25.378236750370082, 3886.517030313003, 203798.0512685165,
       7989677.123653715, 201223545.70418575, 4606462336.218475, 67446242106.843735,
       1007056567892.826, 8130577641877.03, 77519145569773.1, 258733344586170.47,
       1318415054844466.5),
    q=(1.0, 382.1257973821404, 30036.41066487332, 1330936.0338929628, 41652815.39103888,
       988802168.2910881, 18328500936.73843, 266915521716.11612, 3021925986322.2646,
       25852828098920.555, 158114094209487.56, 618768096659853.6, 1168414920525440.8))
_RATIONALS = {np.dtype(np.float32): _FLOAT32, np.dtype(np.float64): _FLOAT64}

# Elements per block: a block and its 3 temporaries (4 x 256 KiB in float64) stay in L2 cache.
BLOCK = 1 << 15

_INV_SQRT_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


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


def _erf_into(x, z, u, num, den, r):
    """z <- erf(x) = z P(z^2) / Q(z^2) with z = x clamped to [-c, c]; u, num, den are scratch."""
    np.clip(x, -r.clamp, r.clamp, out=z)
    np.multiply(z, z, out=u)
    _horner(u, r.p, num)
    _horner(u, r.q, den)
    num /= den
    z *= num
    np.clip(z, -r.one, r.one, out=z)  # rounding can land an ulp above 1 near the clamp


def _normal_cdf_block(x, out, u, num, den, r):
    """Phi(x) = (1 + erf(x / sqrt(2))) / 2."""
    np.multiply(x, _INV_SQRT_2, out=out)
    _erf_into(out, out, u, num, den, r)
    out *= 0.5
    out += 0.5


def _normal_pdf_block(x, out, u, num, den, r):
    """phi(x) = exp(-x^2 / 2) / sqrt(2 pi)."""
    np.multiply(x, x, out=out)
    out *= -0.5
    np.exp(out, out=out)
    out *= _INV_SQRT_2PI


def _by_blocks(kernel, x, out, name):
    """out = kernel(x), elementwise, applied to consecutive blocks of the flattened arrays.

    Computed in x's dtype (float32 or float64; integers become float64, float16 is computed
    in float32). `out`: an array of the result's shape and dtype, or None for a new one."""
    if not hasattr(x, "dtype"):
        x = np.asarray(x)
    integral = np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_
    dtype = np.dtype(np.float64) if integral else x.dtype
    work = np.dtype(np.float32) if dtype == np.float16 else dtype
    if work not in _RATIONALS:
        raise TypeError(f"{name} supports float16, float32 and float64 arrays, got {x.dtype}")
    if out is None:
        out = np.empty_like(x, dtype=dtype)
    elif out.shape != x.shape or out.dtype != dtype:
        raise ValueError(f"{name}: out has shape {out.shape} and dtype {out.dtype}, "
                         f"expected {x.shape} and {dtype}")
    direct = work == dtype and out.flags.c_contiguous
    target = out.reshape(-1) if direct else np.empty_like(x, dtype=work).reshape(-1)
    flat_x = x.reshape(-1)
    size = flat_x.size
    # NumPy arrays go block by block; other array types (CuPy) in one go.
    block = max(1, min(BLOCK, size) if isinstance(x, np.ndarray) else size)
    scratch = np.empty_like(target, shape=(3, block))
    for start in range(0, size, block):
        stop = min(start + block, size)
        kernel(flat_x[start:stop], target[start:stop], *scratch[:, :stop - start], _RATIONALS[work])
    if not direct:
        out[...] = target.reshape(x.shape)
    return out


def erf(x, out=None):
    """The error function, elementwise, in x's dtype."""
    return _by_blocks(_erf_into, x, out, "erf")


def normal_cdf(x, out=None):
    """Phi(x), the standard normal distribution function: (1 + erf(x / sqrt(2))) / 2."""
    return _by_blocks(_normal_cdf_block, x, out, "normal_cdf")


def normal_pdf(x, out=None):
    """phi(x), the standard normal density: exp(-x^2 / 2) / sqrt(2 pi)."""
    return _by_blocks(_normal_pdf_block, x, out, "normal_pdf")
