"""The floating dtype new parameters get: float32 unless changed."""
import numpy as np

_default = np.dtype(np.float32)


def get_default_dtype() -> np.dtype:
    """The dtype of newly created parameters and buffers."""
    return _default


def set_default_dtype(dtype) -> None:
    """Make new parameters `dtype` (float32 or float64)."""
    global _default
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"default dtype must be float32 or float64, got {dtype}")
    _default = dtype
