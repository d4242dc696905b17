"""erf (a rational fit, see tools/fit_erf.py) against math.erf, the reference's and the fast
kernel's; the fast kernel's normal cdf and pdf, views, blocks and dtypes."""
import math

import numpy as np
import pytest

from numpy_transformer.kernels.cpu import erf as _special
from numpy_transformer.kernels.cpu.erf import erf, normal_cdf, normal_pdf
from numpy_transformer.nn.functional import special

ERFS = {"reference": special.erf, "fast": erf}
both = pytest.mark.parametrize("erf_of", ERFS.values(), ids=ERFS.keys())

math_erf = np.vectorize(math.erf, otypes=[np.float64])


def dense_grid(dtype):
    """Uniform on [-7, 7], log-spaced down to the smallest normal numbers, and random points."""
    tiny = np.finfo(dtype).tiny
    log = np.geomspace(tiny, 1.0, 20_001)
    rand = np.random.default_rng(0).standard_normal(100_000) * 3
    z = np.concatenate([np.linspace(-7, 7, 700_001), log, -log, rand])
    return z.astype(dtype)


def ulp_error(got, z):
    """|got - erf(z)| in units of the spacing of the result's dtype at erf(z)."""
    exact = math_erf(z.astype(np.float64))
    spacing = np.spacing(np.abs(exact).astype(got.dtype)).astype(np.float64)
    return np.abs(got.astype(np.float64) - exact) / spacing


@both
def test_float64_erf_matches_math_erf_to_1e_15_relative(erf_of):
    z = dense_grid(np.float64)
    got = erf_of(z)
    exact = math_erf(z)
    assert got.dtype == np.float64
    relative = np.abs(got - exact) / np.abs(exact)
    assert relative.max() <= 1.5e-15, f"worst at z = {z[np.argmax(relative)]!r}"
    assert np.median(ulp_error(got, z)) <= 1


@both
def test_float32_erf_is_within_7_ulp_of_the_rounded_exact_value(erf_of):
    z = dense_grid(np.float32)
    got = erf_of(z)
    assert got.dtype == np.float32
    ulps = ulp_error(got, z)
    assert ulps.max() <= 7, f"{ulps.max():.2f} ulp at z = {z[np.argmax(ulps)]!r}"
    assert ulps.mean() <= 1


@both
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_special_values(dtype, erf_of):
    big = np.finfo(dtype).max
    z = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, big, -big, 10.0, -10.0], dtype)
    got = erf_of(z)
    assert np.array_equal(got[[0, 1, 5, 6, 7, 8]], [1, -1, 1, -1, 1, -1])
    assert np.isnan(got[2])
    assert got[3] == 0 and not np.signbit(got[3]) and np.signbit(got[4])


@both
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_is_odd_and_never_exceeds_one(dtype, erf_of):
    z = np.linspace(0, 8, 400_001).astype(dtype)
    got = erf_of(z)
    assert np.array_equal(erf_of(-z), -got)
    assert np.abs(got).max() == 1


@both
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_erf_of_subnormals_is_2_over_sqrt_pi_times_z(dtype, erf_of):
    z = np.array([np.finfo(dtype).smallest_subnormal * 1000], dtype)
    assert erf_of(z)[0] == dtype(z[0] * (2 / math.sqrt(math.pi)))


def test_erf_keeps_shape_and_handles_views_blocks_and_out():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, _special.BLOCK_BYTES // 4 + 5)).astype(np.float32)  # 3+ blocks
    expected = math_erf(x).astype(np.float32)
    assert np.max(np.abs(erf(x) - expected)) <= 5e-7
    view = x[:, ::3]                                                    # not contiguous
    assert np.array_equal(erf(view), erf(np.ascontiguousarray(view)))
    out = np.empty((3, 2 * view.shape[1]), np.float32)[:, ::2]          # a strided out
    assert erf(view, out=out) is out and np.array_equal(out, erf(view))
    y = x.copy()
    assert erf(y, out=y) is y and np.array_equal(y, erf(x))             # in place
    assert erf(np.zeros((0, 4))).shape == (0, 4)
    assert erf(np.float64(0.5)).shape == () and erf(0.5) == pytest.approx(math.erf(0.5), rel=1e-15)


def test_erf_dtypes():
    assert erf(np.arange(3)).dtype == np.float64
    half = erf(np.array([0.5, 3.0], np.float16))
    assert half.dtype == np.float16 and half[0] == np.float16(math.erf(0.5))
    with pytest.raises(TypeError, match="erf supports float16, float32 and float64 arrays, got complex128"):
        erf(np.ones(2, complex))
    with pytest.raises(ValueError, match=r"erf: out has shape \(3,\) and dtype float64, expected \(2,\)"):
        erf(np.ones(2), out=np.ones(3))


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-15), (np.float32, 3e-7)])
def test_normal_cdf_and_pdf(dtype, tol):
    x = np.linspace(-9, 9, 10_001).astype(dtype)
    xd = x.astype(np.float64)
    cdf = np.array([0.5 * math.erfc(-v / math.sqrt(2)) for v in xd])
    pdf = np.exp(-xd * xd / 2) / math.sqrt(2 * math.pi)
    got_cdf, got_pdf = normal_cdf(x), normal_pdf(x)
    assert got_cdf.dtype == dtype and got_pdf.dtype == dtype
    assert np.abs(got_cdf - cdf).max() <= tol           # absolute: 1 + erf cancels for x << 0
    assert np.abs(got_pdf - pdf).max() <= tol * pdf.max()
    assert np.all((got_cdf >= 0) & (got_cdf <= 1))
