"""Seeded inputs for the checks: the same numbers on every run, so a report can be reproduced."""
import numpy as np


def normal(shape, seed=0, scale=1.0):
    """Standard normal values times `scale`, float64."""
    return scale * np.random.default_rng(seed).standard_normal(shape)


def away_from_zero(shape, seed=0, scale=1.0, gap=0.05):
    """Normal values with none in (-gap, gap): safe for finite differences at a kink."""
    x = normal(shape, seed, scale)
    return np.where(np.abs(x) < gap, np.sign(x + 1e-300) * (gap + np.abs(x)), x)


def uniform(shape, low, high, seed=0):
    return np.random.default_rng(seed).uniform(low, high, shape)


def labels(n, classes, seed=0):
    """Integer class indices [n] in 0..classes-1 (int64)."""
    return np.random.default_rng(seed).integers(0, classes, n).astype(np.int64)


def distinct(shape, seed=0):
    """Normal values whose entries are all different (no ties for max pooling)."""
    n = int(np.prod(shape))
    return (np.random.default_rng(seed).permutation(n) / n * 4 - 2).reshape(shape) + \
        0.001 * normal(shape, seed + 1)
