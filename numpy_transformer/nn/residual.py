"""Residual(module): y = x + module(x), the skip connection of ResNets and Transformers."""
from .module import Module

__all__ = ["Residual"]


class Residual(Module):
    """y = x + module(x); backward: dx = dy (the skip path) + module.backward(dy)."""

    def __init__(self, module: Module):
        super().__init__()
        self.module = module

    def forward(self, x):
        y = self.module(x)
        if getattr(y, "shape", None) != x.shape:
            raise ValueError(f"Residual({type(self.module).__name__}) needs an output shaped like "
                             f"its input {tuple(x.shape)}, got {tuple(getattr(y, 'shape', ()))}")
        out = x + y            # a new array: module(x) may be x itself or an array it cached
        self._push(None, out)
        return out

    def backward(self, grad_output):
        self._pop(grad_output)
        return grad_output + self.module.backward(grad_output)   # both paths carry the gradient
