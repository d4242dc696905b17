"""Normalisation layers: LayerNorm (BatchNorm joins later)."""
import numpy as np

from . import functional as F
from ._checks import check_float
from .module import Module
from .parameter import Parameter
from .init import empty

__all__ = ["LayerNorm"]


class LayerNorm(Module):
    """Normalises over the trailing `normalized_shape` dims, then scales and shifts."""

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, dtype=None):
        super().__init__()
        if isinstance(normalized_shape, int):
            normalized_shape = (normalized_shape,)
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.elementwise_affine = elementwise_affine
        weight = Parameter(empty(self.normalized_shape, dtype) + 1) if elementwise_affine else None
        self.register_parameter("weight", weight)
        self.register_parameter("bias", Parameter(empty(self.normalized_shape, dtype))
                                if elementwise_affine and bias else None)

    def forward(self, x):
        dtype = self.weight.dtype if self.weight is not None else None
        check_float(self, x, dtype=dtype)
        n = len(self.normalized_shape)
        if x.shape[x.ndim - n:] != self.normalized_shape or x.ndim < n:
            raise ValueError(f"{self._describe()} expects input ending in {self.normalized_shape}, "
                             f"got shape {tuple(x.shape)}")
        y, cache = F.layer_norm_forward(
            x, None if self.weight is None else self.weight.data,
            None if self.bias is None else self.bias.data, n, self.eps)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        dx, dweight, dbias = F.layer_norm_backward(grad_output, self._pop(grad_output))
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
