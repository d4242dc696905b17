"""erf, which NumPy lacks, for the exact GELU.

erf is odd and tends to +-1, so erf(z) = z P(z^2) / Q(z^2) on |z| <= c, with z clamped to
[-c, c] first (past c, erf rounds to +-1 in the dtype). P and Q are the minimax fit by the
Remez algorithm printed by tools/fit_erf.py, one set per dtype, evaluated in that dtype:
  float32: degrees (5, 5), c = 4; error at most 7 ulp (relative 4e-7).
  float64: degrees (12, 12), c = 6; relative error at most 1.5e-15.
"""
import numpy as np

__all__ = ["erf"]

# dtype: (c, P, Q), coefficients highest degree first, Q monic.
ERF_RATIONALS = {
    np.dtype(np.float32): (np.float32(4.0), np.array(
        (0.053093776, 7.604634, 103.77758, 1419.0679, 5172.2246, 30154.246), np.float32),
        np.array((1.0, 31.682888, 406.39304, 3082.5657, 13491.579, 26723.506), np.float32)),
    np.dtype(np.float64): (np.float64(6.0), np.array(
        (0.017618405547673417, 25.378236750370082, 3886.517030313003, 203798.0512685165,
         7989677.123653715, 201223545.70418575, 4606462336.218475, 67446242106.843735,
         1007056567892.826, 8130577641877.03, 77519145569773.1, 258733344586170.47,
         1318415054844466.5)),
        np.array((1.0, 382.1257973821404, 30036.41066487332, 1330936.0338929628,
                  41652815.39103888, 988802168.2910881, 18328500936.73843, 266915521716.11612,
                  3021925986322.2646, 25852828098920.555, 158114094209487.56,
                  618768096659853.6, 1168414920525440.8))),
}


def polynomial(coefficients, u):
    """c[0] u^n + c[1] u^(n-1) + ... + c[n], by Horner's rule."""
    result = coefficients[0] * np.ones_like(u)
    for c in coefficients[1:]:
        result = result * u + c
    return result


def erf(x):
    """The error function, elementwise, in x's dtype (float32 or float64)."""
    if np.dtype(x.dtype) not in ERF_RATIONALS:
        raise TypeError(f"erf supports float32 and float64 arrays, got {x.dtype}")
    c, p, q = ERF_RATIONALS[np.dtype(x.dtype)]
    z = np.clip(x, -c, c)
    u = z * z
    return np.clip(z * (polynomial(p, u) / polynomial(q, u)), -1, 1)
