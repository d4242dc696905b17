"""A test double of a GPU array on the CPU: `StrictArray` wraps a NumPy array and behaves as
CuPy's does where it matters for us. NumPy's functions and ufuncs work on it and return it
(through `__array_function__` and `__array_ufunc__`), but it refuses

- an implicit conversion to NumPy (`np.asarray(a)`, `np.array(a)`): a copy to the host;
- a NumPy array (not a scalar) as an operand next to it: a host array in a device computation.

Importing this module adds the device "strict": `module.to("strict")` puts a model on it, and a
training step that copies to the host anywhere fails there, with the line that did it."""
import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

from ..device import Device, register_device

__all__ = ["StrictArray", "HostCopyError", "strict"]


class HostCopyError(TypeError):
    """A device array was converted to NumPy implicitly, or met a host array."""


class StrictArray(NDArrayOperatorsMixin):
    """A NumPy array that stays "on the device"; `.get()` is the one way to the host."""

    __slots__ = ("a",)

    def __init__(self, array: np.ndarray):
        self.a = array

    # ---- the host: explicit only (scalars may be read, as CuPy allows, for logging) ----
    def __array__(self, dtype=None, copy=None):
        raise HostCopyError("implicit conversion of a device array to NumPy; use .get() or "
                            "numpy_transformer.device.to_host")

    def get(self) -> np.ndarray:
        return self.a.copy()

    def __float__(self):
        return float(self.a)

    def __int__(self):
        return int(self.a)

    def __bool__(self):
        return bool(self.a)

    def __index__(self):
        return self.a.__index__()

    def item(self):
        return self.a.item()

    def tolist(self):
        return self.a.tolist()

    # ---- NumPy's protocols: unwrap, compute, wrap ----
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        result = getattr(ufunc, method)(*(_operand(x) for x in inputs), **kwargs)
        return _wrap(result)

    def __array_function__(self, func, types, args, kwargs):
        kwargs = {k: (None if k == "like" else _unwrap(v)) for k, v in kwargs.items()}
        kwargs = {k: v for k, v in kwargs.items() if not (k == "like" and v is None)}
        return _wrap(func(*_unwrap(args), **kwargs))

    # ---- the ndarray surface the library uses ----
    shape = property(lambda self: self.a.shape)
    dtype = property(lambda self: self.a.dtype)
    ndim = property(lambda self: self.a.ndim)
    size = property(lambda self: self.a.size)
    nbytes = property(lambda self: self.a.nbytes)
    itemsize = property(lambda self: self.a.itemsize)
    strides = property(lambda self: self.a.strides)
    T = property(lambda self: StrictArray(self.a.T))
    flags = property(lambda self: self.a.flags)

    def __len__(self):
        return len(self.a)

    def __iter__(self):
        return (_wrap(row) for row in self.a)

    def __getitem__(self, key):
        return _wrap(self.a[_operand(key, index=True)])

    def __setitem__(self, key, value):
        self.a[_operand(key, index=True)] = _operand(value)

    def __getattr__(self, name):
        if name.startswith("__"):        # __array_interface__ and the like: ways to the host
            raise AttributeError(name)
        attribute = getattr(self.a, name)
        if not callable(attribute):
            return _wrap(attribute)
        return lambda *args, **kwargs: _wrap(attribute(*_unwrap(args), **_unwrap(kwargs)))

    def __repr__(self):
        return f"StrictArray({self.a!r})"


def _unwrap(value):
    if isinstance(value, StrictArray):
        return value.a
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    if isinstance(value, dict):
        return {k: _unwrap(v) for k, v in value.items()}
    return value


def _operand(value, index: bool = False):
    """An input of a device computation: device arrays and scalars only (indices may be
    host integer arrays only where CuPy takes them: never here)."""
    if isinstance(value, np.ndarray) and value.ndim > 0:
        raise HostCopyError(f"a host array {value.shape} {value.dtype} in a device "
                            f"{'index' if index else 'computation'}: make it on the device "
                            "(like=x) or move it explicitly")
    if isinstance(value, tuple):
        return tuple(_operand(v, index) for v in value)
    return _unwrap(value)


def _wrap(value):
    if isinstance(value, np.ndarray):
        return StrictArray(value)
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


def _put(array: np.ndarray) -> StrictArray:
    return StrictArray(np.array(array, copy=True))


strict = Device("strict", np, StrictArray, _put, lambda a: a.get())
register_device("strict", lambda: strict)
