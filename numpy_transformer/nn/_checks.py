"""Input checks that fail at the mistake, naming the module and the shapes."""
import numpy as np


def check_float(module, x, name: str = "input", dtype=None) -> None:
    """A floating array (of the module's dtype, when given)."""
    if not isinstance(x, np.ndarray) and not hasattr(x, "__array_function__"):
        raise TypeError(f"{module._describe()} expects an array for {name}, got {type(x).__name__}")
    if not np.issubdtype(x.dtype, np.floating):
        raise TypeError(f"{module._describe()} needs a floating {name}, got dtype {x.dtype} "
                        f"with shape {tuple(x.shape)}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{module._describe()} has {np.dtype(dtype)} parameters but got {name} "
                        f"of dtype {x.dtype} with shape {tuple(x.shape)}; convert one of them "
                        f"(module.to({x.dtype}) or x.astype({np.dtype(dtype)}))")


def check_int(module, x, name: str = "input") -> None:
    """An integer array (class indices, token ids)."""
    if not hasattr(x, "dtype") or not np.issubdtype(x.dtype, np.integer):
        dtype = getattr(x, "dtype", type(x).__name__)
        raise TypeError(f"{module._describe()} needs integer {name}, got {dtype}")


def check_ndim(module, x, allowed, name: str = "input", what: str = "") -> None:
    """Rank in `allowed` (an int or a tuple of ints)."""
    allowed = (allowed,) if isinstance(allowed, int) else tuple(allowed)
    if x.ndim not in allowed:
        ranks = " or ".join(f"{n}-D" for n in allowed)
        hint = f" {what}" if what else ""
        raise ValueError(f"{module._describe()} expects {ranks} {name}{hint}, "
                         f"got shape {tuple(x.shape)}")


def check_dim(module, x, axis: int, size: int, name: str = "input", what: str = "") -> None:
    """`x.shape[axis] == size`."""
    if x.ndim == 0 or x.shape[axis] != size:
        where = "last dimension" if axis == -1 else f"dimension {axis}"
        what = what or where
        raise ValueError(f"{module._describe()} expects {name} with {what} {size}, "
                         f"got shape {tuple(x.shape)}")


def check_sizes(owner: str, **sizes) -> None:
    """Each size a whole number >= 1: `Linear(0, 3)` is refused naming the class and argument."""
    for name, value in sizes.items():
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{owner}: {name} must be a positive integer, got {value!r}")
