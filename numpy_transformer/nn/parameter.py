"""`Parameter`: a trainable array and the gradient that backward passes add into."""
import numpy as np

from ..device import Device, to_device


class Parameter:
    """Holds `.data` (the weights) and `.grad` (same shape and dtype, summed by backward).

    zero_grad() only marks the gradient as zero: the next `accumulate` writes into it instead
    of adding, and reading `.grad` before that finds zeros. One pass over each gradient per
    step instead of three (a fill, then a read and a write to add)."""

    def __init__(self, data, requires_grad: bool = True):
        data = data if hasattr(data, "__array_function__") else np.asarray(data)   # any device
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(f"Parameter needs a floating array, got dtype {data.dtype}")
        self.data = data
        self.grad = np.zeros_like(data)
        self.requires_grad = requires_grad
        self.on_grad = None      # called with the parameter after each gradient lands (DDP-style)

    @property
    def grad(self):
        """The gradient array (zeros since zero_grad() if nothing was accumulated yet)."""
        if self._grad_is_zero:
            self._grad[...] = 0
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value):
        self._grad, self._grad_is_zero = value, False

    def accumulate(self, grad) -> None:
        """Add `grad` into the gradient (parameters used several times sum their gradients)."""
        if self._grad_is_zero:
            np.copyto(self._grad, grad)
            self._grad_is_zero = False
        else:
            self._grad += grad

    @property
    def shape(self):
        return self.data.shape

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def size(self):
        return self.data.size

    def zero_grad(self) -> None:
        """Set the gradient to zero (the array stays; it is zeroed or overwritten when next used)."""
        self._grad_is_zero = self._grad is not None

    def to(self, dtype_or_device) -> "Parameter":
        """Convert data and gradient to a dtype, or move them to a device ("cpu", "cuda"), in
        place; returns self."""
        if isinstance(dtype_or_device, (str, Device)) and not _is_dtype_name(dtype_or_device):
            self.data = to_device(self.data, dtype_or_device)
            self.grad = to_device(self.grad, dtype_or_device)
            return self
        self.data = self.data.astype(dtype_or_device, copy=False)
        self.grad = self.grad.astype(dtype_or_device, copy=False)
        return self

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


def _is_dtype_name(name) -> bool:
    """Whether a string names a dtype ("float32") rather than a device ("cuda")."""
    try:
        np.dtype(name)
    except TypeError:
        return False
    return True
