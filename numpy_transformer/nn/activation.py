"""Activation modules: ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax, GELU."""
from ..kernels import ops
from ._checks import check_float
from .module import Module

__all__ = ["ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "GELU"]


class _Activation(Module):
    """An elementwise (or per-row) function: `_kernel` names its forward/backward pair."""

    _kernel = None

    def _options(self) -> dict:
        return {}

    def forward(self, x):
        check_float(self, x)
        y, cache = getattr(ops, self._kernel + "_forward")(x, **self._options())
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        cache = self._pop(grad_output)
        return getattr(ops, self._kernel + "_backward")(grad_output, cache)


class ReLU(_Activation):
    """max(x, 0)."""
    _kernel = "relu"

    def __init__(self, inplace: bool = False):
        super().__init__()


class LeakyReLU(_Activation):
    """x if x > 0 else negative_slope * x."""
    _kernel = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False):
        super().__init__()
        self.negative_slope = negative_slope

    def _options(self):
        return {"negative_slope": self.negative_slope}

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(_Activation):
    """1 / (1 + exp(-x))."""
    _kernel = "sigmoid"


class Tanh(_Activation):
    """tanh(x)."""
    _kernel = "tanh"


class Softmax(_Activation):
    """exp(x) / sum(exp(x)) along `dim`."""
    _kernel = "softmax"

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def _options(self):
        return {"axis": self.dim}

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """log(softmax(x)) along `dim`, computed stably."""
    _kernel = "log_softmax"


class GELU(_Activation):
    """x * Phi(x); approximate='tanh' uses the tanh formula of GPT-2."""
    _kernel = "gelu"

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _options(self):
        return {"approximate": self.approximate}

    def extra_repr(self):
        return f"approximate={self.approximate!r}"
