"""Fit the rational erf of `numpy_transformer/nn/functional/special.py`; print its coefficients.

erf is odd, so we write erf(z) = z * R(z^2) and fit R(u) = P(u) / Q(u) to
f(u) = erf(sqrt(u)) / sqrt(u), a smooth positive function, on 0 <= u <= c^2, by the
rational Remez algorithm (minimax of the RELATIVE error), with mpmath as the ground truth.
Beyond |z| = c, erf(z) rounds to +-1 in the dtype, so the library clamps z to [-c, c] (and
clips the result to [-1, 1]: rounding near the clamp can land an ulp above 1).

    python tools/fit_erf.py              # both dtypes (about 15 s), for special.ERF_RATIONALS
    python tools/fit_erf.py float32

The Remez loop: on a reference of N = m + n + 2 points u_i, solve
    P(u_i) - f(u_i) Q(u_i) = (-1)^i E f(u_i) Q(u_i)
for P, Q and the levelled error E (a generalised eigenvalue problem in E: we take the
smallest |E| whose Q has no zero on the interval), then move the reference to the extrema of
the error curve, until the largest error equals |E| (equioscillation: the minimax fit).
"""
import math
import sys

import mpmath as mp
import numpy as np

mp.mp.dps = 60

# dtype: clamp c (erfc(c) is below half an ulp of 1), degrees of P and Q in u = z^2
SETTINGS = {
    "float32": dict(clamp=4.0, m=5, n=5),
    "float64": dict(clamp=6.0, m=12, n=12),
}


def target(u):
    """f(u) = erf(sqrt(u)) / sqrt(u), with f(0) = 2 / sqrt(pi)."""
    if u == 0:
        return 2 / mp.sqrt(mp.pi)
    r = mp.sqrt(u)
    return mp.erf(r) / r


def horner(coefficients, u):
    """sum_k coefficients[k] u^k (lowest degree first)."""
    total = mp.mpf(0)
    for c in reversed(coefficients):
        total = total * u + c
    return total


def chebyshev_points(a, b, count):
    """Extrema of the Chebyshev polynomial T_{count-1}, mapped to [a, b] (ends included)."""
    return [(a + b) / 2 - (b - a) / 2 * mp.cos(mp.pi * k / (count - 1)) for k in range(count)]


def levelled_fit(reference, values, m, n):
    """P, Q (Q(0) = 1) and E with P(u_i) - f_i Q(u_i) = (-1)^i E f_i Q(u_i) on the reference.

    The system is (A0 + E A1) x = 0 with x = (p_0..p_m, q_0..q_n); E solves the eigenproblem
    A0^-1 A1 x = -(1/E) x. Returns the solutions sorted by |E|."""
    size = m + n + 2
    a0, a1 = mp.matrix(size, size), mp.matrix(size, size)
    for i, (u, f) in enumerate(zip(reference, values)):
        for k in range(m + 1):
            a0[i, k] = u ** k
        for k in range(n + 1):
            a0[i, m + 1 + k] = -f * u ** k
            a1[i, m + 1 + k] = -(-1) ** i * f * u ** k
    eigenvalues, eigenvectors = mp.eig(mp.inverse(a0) * a1)
    solutions = []
    for j, lam in enumerate(eigenvalues):
        if abs(lam) < mp.mpf(10) ** (-40) or abs(mp.im(lam)) > mp.mpf(10) ** (-20) * abs(lam):
            continue
        x = [mp.re(eigenvectors[i, j]) for i in range(size)]
        q0 = x[m + 1]
        if q0 == 0:
            continue
        p = [xi / q0 for xi in x[:m + 1]]
        q = [xi / q0 for xi in x[m + 1:]]
        solutions.append((abs(-1 / mp.re(lam)), -1 / mp.re(lam), p, q))
    solutions.sort(key=lambda s: s[0])
    return [(E, p, q) for _, E, p, q in solutions]


def least_squares_start(m, n, f, count, iterations=10):
    """A first P/Q by reweighted linear least squares (Sanathanan-Koerner iteration): minimise
    sum ((P - f Q) / (f Q_previous))^2 on Chebyshev nodes; its error curve nearly equioscillates."""
    nodes = chebyshev_points(mp.mpf(0), mp.mpf(1), count)
    values = [f(v) for v in nodes]
    q = [mp.mpf(1)] + [mp.mpf(0)] * n
    for _ in range(iterations):
        rows, rhs = [], []
        for v, fv in zip(nodes, values):
            w = 1 / (fv * horner(q, v))
            rows.append([w * v ** k for k in range(m + 1)] + [-w * fv * v ** k for k in range(1, n + 1)])
            rhs.append(w * fv)  # q_0 = 1 moves to the right-hand side
        a, y = mp.matrix(rows), mp.matrix(rhs)
        x = mp.lu_solve(a.T * a, a.T * y)
        p = [x[k] for k in range(m + 1)]
        q = [mp.mpf(1)] + [x[m + k] for k in range(1, n + 1)]
    return p, q


def relative_error(p, q, u, f):
    return (horner(p, u) / horner(q, u) - f) / f


def refine_extremum(p, q, lo, hi, f, steps=30):
    """Golden-section search for the largest |relative error| in [lo, hi]."""
    g = (mp.sqrt(5) - 1) / 2
    error = lambda u: abs(relative_error(p, q, u, f(u)))
    x1, x2 = hi - g * (hi - lo), lo + g * (hi - lo)
    e1, e2 = error(x1), error(x2)
    for _ in range(steps):
        if e1 > e2:
            hi, x2, e2 = x2, x1, e1
            x1 = hi - g * (hi - lo)
            e1 = error(x1)
        else:
            lo, x1, e1 = x1, x2, e2
            x2 = lo + g * (hi - lo)
            e2 = error(x2)
    return x1 if e1 > e2 else x2


def new_reference(p, q, grid, grid_values, size, f):
    """`size` points of alternating error sign, at the largest local extrema."""
    errors = [relative_error(p, q, u, f) for u, f in zip(grid, grid_values)]
    last = len(grid) - 1
    peaks = [0] + [i for i in range(1, last)
                   if abs(errors[i]) >= abs(errors[i - 1]) and abs(errors[i]) >= abs(errors[i + 1])] + [last]
    chosen = []
    for i in peaks:  # of neighbouring peaks with the same sign keep the larger
        if chosen and mp.sign(errors[i]) == mp.sign(errors[chosen[-1]]):
            if abs(errors[i]) > abs(errors[chosen[-1]]):
                chosen[-1] = i
        else:
            chosen.append(i)
    while len(chosen) > size:  # drop the smaller end
        chosen.pop(0 if abs(errors[chosen[0]]) < abs(errors[chosen[-1]]) else -1)
    points = [grid[i] if i in (0, last) else refine_extremum(p, q, grid[i - 1], grid[i + 1], f)
              for i in chosen]
    return points, max(abs(e) for e in errors)


def remez(m, n, b, grid_size=2000, max_iterations=40, verbose=True):
    """Minimax relative-error fit P/Q of `target` on [0, b]; returns (p, q, max error).

    The fit runs in v = u / b on [0, 1] (a better conditioned basis); p, q are returned in u."""
    size = m + n + 2
    scaled = lambda v: target(v * b)
    grid = chebyshev_points(mp.mpf(0), mp.mpf(1), grid_size)
    grid_values = [scaled(v) for v in grid]
    p, q = least_squares_start(m, n, scaled, 4 * size)
    reference, _ = new_reference(p, q, grid, grid_values, size, scaled)
    for iteration in range(max_iterations):
        values = [scaled(v) for v in reference]
        for E, p, q in levelled_fit(reference, values, m, n):
            if all(horner(q, v) > 0 for v in grid[::10]):  # no pole on the interval
                break
        else:
            raise RuntimeError("no pole-free levelled solution; try other degrees")
        reference, worst = new_reference(p, q, grid, grid_values, size, scaled)
        if verbose:
            print(f"  iteration {iteration}: levelled error {mp.nstr(abs(E), 4)}, "
                  f"largest error {mp.nstr(worst, 4)}", file=sys.stderr)
        if len(reference) < size:
            raise RuntimeError(f"the error curve has {len(reference)} alternations, need {size}")
        if worst <= abs(E) * (1 + mp.mpf("1e-3")):
            return ([c / b ** k for k, c in enumerate(p)], [c / b ** k for k, c in enumerate(q)], worst)
    raise RuntimeError("Remez did not converge")


def evaluate(p, q, clamp, z):
    """erf(z) exactly as nn/functional/special.py computes it, in z's dtype (coefficients highest first)."""
    z = np.clip(z, -clamp, clamp)
    u = z * z
    num = np.full_like(u, p[0])
    for c in p[1:]:
        num = num * u + c
    den = np.full_like(u, q[0])
    for c in q[1:]:
        den = den * u + c
    return np.clip(z * (num / den), -1, 1)


def ulp_errors(p, q, clamp, dtype):
    """Largest error in ulps of the result, against math.erf, on a dense grid in [0, clamp + 1]."""
    z = np.concatenate([np.linspace(0, clamp + 1, 400_001), np.geomspace(1e-30, 1e-2, 20_001)]).astype(dtype)
    got = evaluate(p, q, dtype(clamp), z)
    exact = np.array([math.erf(float(v)) for v in z])
    ulps = np.abs(got.astype(np.float64) - exact) / np.spacing(np.abs(exact).astype(dtype)).astype(np.float64)
    return ulps.max(), float(z[np.argmax(ulps)])


def fit(name):
    """Fit, round the coefficients to the dtype, and make erf(clamp) round to exactly 1."""
    dtype = np.dtype(name).type
    s = SETTINGS[name]
    clamp, m, n = s["clamp"], s["m"], s["n"]
    print(f"{name}: R = P/Q of degrees ({m}, {n}) in u = z^2 on |z| <= {clamp} "
          f"(erfc({clamp}) = {mp.nstr(mp.erfc(clamp), 3)})", file=sys.stderr)
    p, q, worst = remez(m, n, mp.mpf(clamp) ** 2)
    # Q monic (its leading 1 saves a multiply), coefficients highest degree first
    p = [dtype(float(c / q[-1])) for c in reversed(p)]
    q = [dtype(float(c / q[-1])) for c in reversed(q)]
    q[0] = dtype(1)
    # erf(+-inf) must be exactly +-1 (the library clips results above 1), but rounding may
    # leave erf(clamp) an ulp under 1: then nudge P's top coefficient up an ulp at a time.
    nudges = 0
    while evaluate(p, q, dtype(clamp), np.array([clamp], dtype))[0] < 1:
        p[0] = np.nextafter(p[0], dtype(np.inf))
        nudges += 1
    ulps, where = ulp_errors(p, q, clamp, dtype)
    print(f"  minimax relative error {mp.nstr(worst, 3)}; after rounding to {name} "
          f"({nudges} nudges): largest error {ulps:.2f} ulp at z = {where:.6g}", file=sys.stderr)
    return clamp, p, q


def main(names):
    for name in names:
        clamp, p, q = fit(name)
        fmt = (lambda c: repr(float(c))) if name == "float64" else (lambda c: str(np.float32(c)))
        print(f"# {name}: erf(z) = z P(z^2) / Q(z^2) for |z| <= {clamp}; Q is monic")
        print(f"CLAMP = {clamp!r}")
        print("P = (" + ", ".join(fmt(c) for c in p) + ")")
        print("Q = (" + ", ".join(fmt(c) for c in q) + ")")


if __name__ == "__main__":
    main(sys.argv[1:] or list(SETTINGS))
