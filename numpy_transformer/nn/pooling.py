"""MaxPool2d and AvgPool2d, with PyTorch's arguments and defaults (stride = kernel_size)."""
from ..kernels import ops
from ._checks import check_float, check_ndim, check_sizes
from .functional.pooling import pool_output_size
from .functional.windows import pair as _pair
from .module import Module

__all__ = ["MaxPool2d", "AvgPool2d"]


class _Pool2d(Module):
    """Pools [N, C, H, W] or unbatched [C, H, W]; subclasses name the functional pair."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False):
        super().__init__()
        for name, value in (("kernel_size", kernel_size), ("stride", stride)):
            for size in (value if isinstance(value, (tuple, list)) else (value,)):
                if size is not None:
                    check_sizes(type(self).__name__, **{name: size})
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.ceil_mode = padding, ceil_mode

    def _options(self) -> dict:
        raise NotImplementedError

    def _check_sizes(self, x, dilation=1):
        """The kernel must fit the padded input, and the output must not be empty."""
        kernel, padding, dilation = _pair(self.kernel_size), _pair(self.padding), _pair(dilation)
        stride = _pair(self.stride)
        for n, k, s, p, d in zip(x.shape[-2:], kernel, stride, padding, dilation):
            if p > k // 2:
                raise ValueError(f"{self._describe()}: padding {padding} must be at most half of the "
                                 f"kernel size {kernel}")
            if n + 2 * p < d * (k - 1) + 1 or pool_output_size(n, k, s, p, d, self.ceil_mode) <= 0:
                raise ValueError(f"{self._describe()}: input of shape {tuple(x.shape)} padded by "
                                 f"{padding} is smaller than the kernel {kernel} (dilation "
                                 f"{dilation}); the output would be empty")

    def forward(self, x):
        check_float(self, x)
        check_ndim(self, x, (3, 4), what="([N, C, H, W] or [C, H, W])")
        self._check_sizes(x, getattr(self, "dilation", 1))
        unbatched = x.ndim == 3
        forward = getattr(ops, self._kernel + "_forward")
        y, cache = forward(x[None] if unbatched else x, **self._options())
        if unbatched:
            y = tuple(a[0] for a in y) if isinstance(y, tuple) else y[0]
        self._push((cache, unbatched), y[0] if isinstance(y, tuple) else y)
        return y

    def backward(self, grad_output):
        cache, unbatched = self._pop(grad_output)
        backward = getattr(ops, self._kernel + "_backward")
        dx = backward(grad_output[None] if unbatched else grad_output, cache)
        return dx[0] if unbatched else dx


class MaxPool2d(_Pool2d):
    """The maximum of each window; the gradient goes to the first maximal element of a window.

    With return_indices=True, forward returns (output, indices) (flat positions in H * W, as in
    PyTorch) and backward takes the gradient of the output."""
    _kernel = "max_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.dilation, self.return_indices = dilation, return_indices

    def _options(self):
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation, ceil_mode=self.ceil_mode,
                    return_indices=self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class AvgPool2d(_Pool2d):
    """The mean of each window (zero padding counted unless count_include_pad=False, or the sum
    over divisor_override)."""
    _kernel = "avg_pool2d"

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def _options(self):
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    ceil_mode=self.ceil_mode, count_include_pad=self.count_include_pad,
                    divisor_override=self.divisor_override)

    def extra_repr(self):
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
