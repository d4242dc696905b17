"""Dropout: inverted, so evaluation needs no rescaling; off in eval mode."""
from ..random import default_generator
from . import functional as F
from ._checks import check_float
from .module import Module

__all__ = ["Dropout"]


class Dropout(Module):
    """Zeroes each element with probability p in training and scales the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.5, inplace: bool = False, generator=None):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")
        self.p, self.generator = p, generator

    def forward(self, x):
        check_float(self, x)
        y, mask = F.dropout_forward(x, self.p, self.training, self.generator or default_generator())
        self._push(mask, y)
        return y

    def backward(self, grad_output):
        return F.dropout_backward(grad_output, self._pop(grad_output))

    def extra_repr(self):
        return f"p={self.p}"
