"""Linear (y = x W^T + b) and Identity."""
from ..kernels import ops
from . import init
from ._checks import check_dim, check_float, check_sizes
from .module import Module
from .parameter import Parameter

__all__ = ["Linear", "Identity"]


class Linear(Module):
    """y = x W^T + b over the last dimension; weight [out, in] as in PyTorch.

    With `needs_input_grad = False` (the input is data), backward returns None."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, dtype=None):
        super().__init__()
        check_sizes("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(init.empty((out_features, in_features), dtype))
        self.register_parameter("bias", Parameter(init.empty(out_features, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias."""
        init.default_uniform_(self.weight, self.bias, fan_in=self.in_features)

    def forward(self, x):
        check_float(self, x, dtype=self.weight.dtype)
        if x.ndim == 0:
            raise ValueError(f"{self._describe()} got a 0-d input; it needs [..., {self.in_features}]")
        check_dim(self, x, -1, self.in_features, what="last dimension")
        bias = self.bias.data if self.bias is not None else None
        y, cache = ops.linear_forward(x, self.weight.data, bias)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        dx, dweight, dbias = ops.linear_backward(grad_output, self._pop(grad_output),
                                                 input_grad=self.needs_input_grad)
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"

class Identity(Module):
    """Returns its input; backward returns the gradient."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x

    def backward(self, grad_output):
        return grad_output
