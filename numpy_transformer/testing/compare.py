"""Array comparison with tolerances per dtype and messages that say what differed and where."""
import numpy as np

# (rtol, atol) per dtype; atol is scaled by the largest magnitude of the reference.
TOLERANCES = {np.dtype(np.float64): (1e-6, 1e-9), np.dtype(np.float32): (1e-4, 1e-5)}


def tolerances(dtype, rtol=None, atol=None):
    """The (rtol, atol) to use for `dtype`, unless given."""
    default_rtol, default_atol = TOLERANCES.get(np.dtype(dtype), TOLERANCES[np.dtype(np.float32)])
    return (default_rtol if rtol is None else rtol), (default_atol if atol is None else atol)


def assert_close(actual, expected, rtol, atol, what: str = "value") -> None:
    """|actual - expected| <= atol * max(1, max|expected|) + rtol * |expected|, elementwise."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        raise AssertionError(f"{what}: shape {actual.shape}, expected {expected.shape}")
    if actual.size == 0:
        return
    scale = max(1.0, float(np.max(np.abs(expected))) if np.isfinite(expected).all() else 1.0)
    error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    allowed = atol * scale + rtol * np.abs(expected.astype(np.float64))
    same_nonfinite = ~np.isfinite(expected) & (actual == expected)
    bad = ~((error <= allowed) | same_nonfinite)
    if bad.any():
        index = np.unravel_index(np.argmax(np.where(bad, error - allowed, -np.inf)), bad.shape)
        raise AssertionError(
            f"{what}: {int(bad.sum())} of {bad.size} elements differ; worst at index "
            f"{tuple(int(i) for i in index)}: got {actual[index]!r}, expected {expected[index]!r} "
            f"(|diff| {error[index]:.3g} > allowed {allowed[index]:.3g}; rtol={rtol}, atol={atol})")
