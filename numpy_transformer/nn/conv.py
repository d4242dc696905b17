"""Conv2d and ConvTranspose2d, with PyTorch's arguments, defaults and state-dict keys."""
from ..kernels import ops
from . import init
from ._checks import check_float, check_ndim, check_sizes
from .functional.windows import pair as _pair, resolve_padding
from .module import Module
from .parameter import Parameter

__all__ = ["Conv2d", "ConvTranspose2d"]


class _ConvNd(Module):
    """What Conv2d and ConvTranspose2d share: options, parameters, init and input checks."""

    def __init__(self, in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                 bias, padding_mode, weight_shape, dtype):
        super().__init__()
        name = type(self).__name__
        check_sizes(name, in_channels=in_channels, out_channels=out_channels)
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f"{name}: in_channels ({in_channels}) and out_channels ({out_channels}) "
                             f"must be divisible by groups ({groups})")
        if padding_mode != "zeros":
            raise NotImplementedError(f"{name}: padding_mode={padding_mode!r} is not implemented; "
                                      "only 'zeros' is")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride = _pair(kernel_size, "kernel_size"), _pair(stride, "stride")
        self.dilation, self.padding_mode = _pair(dilation, "dilation"), padding_mode
        self.padding = padding if isinstance(padding, str) else _pair(padding, "padding")
        if min(self.kernel_size) <= 0 or min(self.stride) <= 0 or min(self.dilation) <= 0:
            raise ValueError(f"{name}: kernel_size, stride and dilation must be positive, got "
                             f"{self.kernel_size}, {self.stride}, {self.dilation}")
        self.weight = Parameter(init.empty(weight_shape(*self.kernel_size), dtype))
        self.register_parameter("bias", Parameter(init.empty(out_channels, dtype)) if bias else None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: kaiming_uniform(a=sqrt(5)), so U(+-1/sqrt(fan_in)) for both."""
        init.default_uniform_(self.weight, self.bias)

    def _check_input(self, x):
        """A float [N, C, H, W] or unbatched [C, H, W] input -> (4-D input, was it unbatched)."""
        check_float(self, x, dtype=self.weight.dtype)
        check_ndim(self, x, (3, 4), what="([N, C, H, W] or [C, H, W])")
        if x.shape[-3] != self.in_channels:
            raise ValueError(f"{self._describe()} expects input with {self.in_channels} channels "
                             f"(dimension -3), got shape {tuple(x.shape)}")
        return (x[None], True) if x.ndim == 3 else (x, False)

    def _bias(self):
        return None if self.bias is None else self.bias.data

    def backward(self, grad_output):
        cache, unbatched = self._pop(grad_output)
        dy = grad_output[None] if unbatched else grad_output
        backward = getattr(ops, self._kernel + "_backward")
        dx, dweight, dbias = backward(dy, cache, input_grad=self.needs_input_grad)
        self._accumulate(self.weight, dweight)
        self._accumulate(self.bias, dbias)
        return dx[0] if unbatched and dx is not None else dx

    def extra_repr(self):
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding not in ((0, 0), "valid"):
            text += f", padding={self.padding!r}" if isinstance(self.padding, str) else f", padding={self.padding}"
        if getattr(self, "output_padding", (0, 0)) != (0, 0):
            text += f", output_padding={self.output_padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.groups != 1:
            text += f", groups={self.groups}"
        return text + ("" if self.bias is not None else ", bias=False")


class Conv2d(_ConvNd):
    """2-D cross-correlation over [N, C, H, W]; weight [out, in/groups, KH, KW] as in PyTorch.

    padding: int, (ph, pw), 'valid' (none) or 'same' (output size = input size, stride 1 only;
    for even kernels the extra row/column goes at the bottom/right, as in PyTorch)."""
    _kernel = "conv2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 dtype=None):
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"Conv2d: padding must be an int, a pair, 'same' or 'valid', "
                                 f"got {padding!r}")
            if padding == "same" and _pair(stride, "stride") != (1, 1):
                raise ValueError(f"Conv2d: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode,
                         lambda kh, kw: (out_channels, in_channels // groups, kh, kw), dtype)

    def forward(self, x):
        x4, unbatched = self._check_input(x)
        pads = resolve_padding(self.padding, self.kernel_size, self.dilation)
        padded = [n + sum(p) for n, p in zip(x4.shape[-2:], pads)]
        span = [d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation)]
        if any(n < s for n, s in zip(padded, span)):
            raise ValueError(f"{self._describe()}: input of shape {tuple(x.shape)} padded to "
                             f"{tuple(padded)} is smaller than the (dilated) kernel {tuple(span)}")
        y, cache = ops.conv2d_forward(x4, self.weight.data, self._bias(), self.stride, pads,
                                    self.dilation, self.groups)
        y = y[0] if unbatched else y
        self._push((cache, unbatched), y)
        return y


class ConvTranspose2d(_ConvNd):
    """The transpose (adjoint) of Conv2d: upsamples; weight [in, out/groups, KH, KW] as in PyTorch.

    Output size: (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1."""
    _kernel = "conv_transpose2d"

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 output_padding=0, groups: int = 1, bias: bool = True, dilation=1,
                 padding_mode: str = "zeros", dtype=None):
        if isinstance(padding, str):
            raise ValueError(f"ConvTranspose2d: padding must be an int or a pair, got {padding!r}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups,
                         bias, padding_mode,
                         lambda kh, kw: (in_channels, out_channels // groups, kh, kw), dtype)
        self.output_padding = _pair(output_padding, "output_padding")
        self._check_output_padding(self.output_padding)

    def _check_output_padding(self, output_padding):
        for op, s, d in zip(output_padding, self.stride, self.dilation):
            if not 0 <= op < max(s, d):
                raise ValueError(f"{self._describe()}: output_padding {tuple(output_padding)} must be "
                                 f"smaller than either stride {self.stride} or dilation {self.dilation}")

    def _output_padding(self, x4, output_size):
        """output_padding, or the one that gives the requested `output_size` (PyTorch's rule)."""
        if output_size is None:
            return self.output_padding
        size = tuple(output_size)[-2:]
        smallest = [(n - 1) * s - 2 * p + d * (k - 1) + 1 for n, s, p, d, k in
                    zip(x4.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size)]
        padding = tuple(int(want - low) for want, low in zip(size, smallest))
        if len(size) != 2 or any(not 0 <= op < max(s, d)
                                 for op, s, d in zip(padding, self.stride, self.dilation)):
            raise ValueError(f"{self._describe()}: requested output_size {tuple(output_size)} is not "
                             f"reachable from input of shape {tuple(x4.shape)}")
        return padding

    def forward(self, x, output_size=None):
        x4, unbatched = self._check_input(x)
        output_padding = self._output_padding(x4, output_size)
        out = [(n - 1) * s - 2 * p + d * (k - 1) + op + 1 for n, s, p, d, k, op in
               zip(x4.shape[-2:], self.stride, self.padding, self.dilation, self.kernel_size,
                   output_padding)]
        if min(out) <= 0:
            raise ValueError(f"{self._describe()}: input of shape {tuple(x.shape)} gives output "
                             f"size {tuple(out)}, which is not positive")
        y, cache = ops.conv_transpose2d_forward(x4, self.weight.data, self._bias(), self.stride,
                                              self.padding, output_padding, self.groups,
                                              self.dilation)
        y = y[0] if unbatched else y
        self._push((cache, unbatched), y)
        return y
