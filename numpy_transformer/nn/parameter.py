"""`Parameter`: a trainable array and the gradient that backward passes add into."""
import numpy as np


class Parameter:
    """Holds `.data` (the weights) and `.grad` (same shape and dtype, summed by backward)."""

    def __init__(self, data, requires_grad: bool = True):
        data = np.asarray(data)
        if not np.issubdtype(data.dtype, np.floating):
            raise TypeError(f"Parameter needs a floating array, got dtype {data.dtype}")
        self.data = data
        self.grad = np.zeros_like(data)
        self.requires_grad = requires_grad

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
        """Set the gradient to zero in place."""
        self.grad[...] = 0

    def to(self, dtype) -> "Parameter":
        """Convert data and gradient to `dtype` in place; returns self."""
        self.data = self.data.astype(dtype, copy=False)
        self.grad = self.grad.astype(dtype, copy=False)
        return self

    def __repr__(self):
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
