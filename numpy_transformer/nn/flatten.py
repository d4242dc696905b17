"""Flatten and Unflatten: reshapes whose backward reshapes the gradient back."""
import math

from .module import Module

__all__ = ["Flatten", "Unflatten"]


class Flatten(Module):
    """Merges dims start_dim..end_dim into one: [N, C, H, W] -> [N, C*H*W] by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        ndim = max(x.ndim, 1)
        start, end = self.start_dim, self.end_dim
        if not (-ndim <= start < ndim and -ndim <= end < ndim):
            raise ValueError(f"{self._describe()} got input of shape {tuple(x.shape)}: dims "
                             f"{start}..{end} are out of range for a {x.ndim}-D input")
        start, end = start % ndim, end % ndim
        if start > end:
            raise ValueError(f"{self._describe()}: start_dim {self.start_dim} comes after end_dim "
                             f"{self.end_dim} for input of shape {tuple(x.shape)}")
        shape = x.shape[:start] + (math.prod(x.shape[start:end + 1]),) + x.shape[end + 1:]
        y = x.reshape(shape)
        self._push(x.shape, y)
        return y

    def backward(self, grad_output):
        return grad_output.reshape(self._pop(grad_output))

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Splits dimension `dim` into `unflattened_size`: [N, 784] -> [N, 1, 28, 28] with (1, 28, 28)."""

    def __init__(self, dim: int, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)
        if sum(1 for n in self.unflattened_size if n == -1) > 1:
            raise ValueError(f"{self._describe()}: at most one size may be -1")

    def forward(self, x):
        if not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"{self._describe()} got input of shape {tuple(x.shape)}: dim "
                             f"{self.dim} is out of range")
        dim = self.dim % x.ndim
        sizes, size = list(self.unflattened_size), x.shape[dim]
        if -1 in sizes:
            known = math.prod(n for n in sizes if n != -1)
            sizes[sizes.index(-1)] = size // known if known and size % known == 0 else -2
        if math.prod(sizes) != size or min(sizes, default=1) < 0:
            raise ValueError(f"{self._describe()}: sizes {self.unflattened_size} do not multiply "
                             f"to dimension {self.dim} of input shape {tuple(x.shape)}")
        y = x.reshape(x.shape[:dim] + tuple(sizes) + x.shape[dim + 1:])
        self._push(x.shape, y)
        return y

    def backward(self, grad_output):
        return grad_output.reshape(self._pop(grad_output))

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
