"""Week 2: Conv2d, MaxPool2d, Flatten: the functional pairs and the modules, against PyTorch."""
import numpy as np

from ..grading import Case, Mistake, ModuleCheck, PairCheck
from ._inputs import distinct, normal


def _torch():
    import torch
    return torch


# ---- convolution ----
def _conv_cases():
    return [Case("3x3 kernel, no padding", (normal((2, 3, 6, 6), 40), normal((4, 3, 3, 3), 41),
                                            normal((4,), 42))),
            Case("stride 2, padding 1", (normal((1, 2, 7, 7), 43), normal((3, 2, 3, 3), 44),
                                         normal((3,), 45)), {"stride": 2, "padding": 1}),
            Case("a 2x3 kernel (not square)", (normal((2, 1, 5, 6), 46), normal((2, 1, 2, 3), 47),
                                               normal((2,), 48))),
            Case("1x1 kernel, no bias", (normal((1, 3, 4, 4), 49), normal((2, 3, 1, 1), 50), None)),
            Case("kernel as large as the image", (normal((2, 2, 3, 3), 51), normal((1, 2, 3, 3), 52),
                                                  normal((1,), 53))),
            Case("float32, padding 1", (normal((2, 2, 5, 5), 54), normal((3, 2, 3, 3), 55),
                                        normal((3,), 56)), {"padding": 1}, dtype=np.float32)]


def _conv_flipped(x, weight, bias, dout, stride=1, padding=0):
    """A true convolution (kernel flipped), the textbook definition PyTorch does not use."""
    import torch
    y = torch.nn.functional.conv2d(torch.from_numpy(x), torch.from_numpy(weight[:, :, ::-1, ::-1].copy()),
                                   None if bias is None else torch.from_numpy(bias), stride, padding)
    return y.numpy()


CONV2D = PairCheck(
    "conv2d", "conv2d_forward", "conv2d_backward", ("x", "weight", "bias"),
    ("dx", "dweight", "dbias"),
    lambda x, w, b, stride=1, padding=0: _torch().nn.functional.conv2d(x, w, b, stride, padding),
    _conv_cases,
    hints={"output": "y[n, o, i, j] = bias[o] + sum over c, a, b of x_padded[n, c, i*stride + a, "
                     "j*stride + b] * weight[o, c, a, b]; the output is OH x OW with "
                     "OH = (H + 2*padding - KH) // stride + 1 (the same for W)",
           "dx": "each x_padded[n, c, i*stride + a, j*stride + b] gets dy[n, o, i, j] * weight[o, c, a, b]; "
                 "windows overlap, so ADD (+=) into dx_padded, then cut the padding off",
           "dweight": "dweight[o, c, a, b] = sum over n, i, j of dy[n, o, i, j] * "
                      "x_padded[n, c, i*stride + a, j*stride + b]",
           "dbias": "dbias[o] = dy summed over n, i and j: dy.sum(axis=(0, 2, 3))"},
    mistakes=[Mistake("output", _conv_flipped,
                      "you flipped the kernel: PyTorch's conv2d is a cross-correlation, "
                      "y = sum x[i + a, j + b] * w[a, b], with no flip")])


# ---- max pooling ----
def _pool_cases():
    ties = np.array([[[[1.0, 1.0, 0.0, 2.0], [0.5, 1.0, 2.0, 2.0],
                       [3.0, 0.0, -1.0, -1.0], [3.0, 3.0, -1.0, -1.0]]]])
    return [Case("2x2 windows, stride 2", (distinct((2, 3, 4, 4), 57),), {"kernel_size": 2}),
            Case("3x3 windows, stride 1 (they overlap)", (distinct((1, 2, 5, 5), 58),),
                 {"kernel_size": 3, "stride": 1}),
            Case("a 5x5 image, 2x2 windows (the last row and column are left out)",
                 (distinct((1, 1, 5, 5), 59),), {"kernel_size": 2}),
            Case("windows whose maximum appears twice (ties)", (ties,), {"kernel_size": 2}, fd=False),
            Case("float32", (distinct((2, 2, 4, 6), 60),), {"kernel_size": 2}, dtype=np.float32)]


def _pool_all_ties(x, dout, kernel_size, stride=None):
    """The gradient sent to every element equal to its window's maximum."""
    stride = stride or kernel_size
    N, C, H, W = x.shape
    OH, OW = (H - kernel_size) // stride + 1, (W - kernel_size) // stride + 1
    dx = np.zeros_like(x)
    for i in range(OH):
        for j in range(OW):
            window = x[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size]
            peak = window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + kernel_size, j * stride:j * stride + kernel_size] += \
                (window == peak) * dout[:, :, i:i + 1, j:j + 1]
    return dx


MAX_POOL2D = PairCheck(
    "max_pool2d", "max_pool2d_forward", "max_pool2d_backward", ("x",), ("dx",),
    lambda x, kernel_size, stride=None: _torch().nn.functional.max_pool2d(x, kernel_size, stride),
    _pool_cases,
    hints={"output": "y[n, c, i, j] = max of the window x[n, c, i*stride : i*stride + k, "
                     "j*stride : j*stride + k]; stride defaults to kernel_size; "
                     "OH = (H - k) // stride + 1",
           "dx": "each window's gradient goes to the ONE element that was its maximum (the first "
                 "one, as PyTorch, when several are equal); overlapping windows add (+=)"},
    mistakes=[Mistake("dx", _pool_all_ties,
                      "when a window's maximum appears twice, send its gradient to ONE of them (the "
                      "first, in row-major order, as PyTorch does), not to every element equal to "
                      "the maximum: that counts the gradient twice. Keep the argmax of each window")])


# ---- flatten ----
FLATTEN = PairCheck(
    "flatten", "flatten_forward", "flatten_backward", ("x",), ("dx",),
    lambda x: x.flatten(1),
    lambda: [Case("images [N, C, H, W]", (normal((2, 3, 4, 4), 61),)),
             Case("already flat [N, D]", (normal((5, 7), 62),)),
             Case("one image [1, C, H, W]", (normal((1, 2, 3, 3), 63),))],
    hints={"output": "keep the batch axis: [N, C, H, W] -> [N, C*H*W], x.reshape(len(x), -1)",
           "dx": "reshape dy back to the input's shape (keep the shape in the cache)"})


# ---- modules ----
def _conv_module_cases():
    return [Case("a batch [2, 3, 6, 6]", (normal((2, 3, 6, 6), 64),)),
            Case("float32 [1, 3, 5, 5]", (normal((1, 3, 5, 5), 65),), dtype=np.float32)]


CONV2D_MODULE = ModuleCheck(
    "Conv2d", "Conv2d",
    build=lambda cls, case: cls(3, 4, 3, stride=2, padding=1),
    twin=lambda case: _torch().nn.Conv2d(3, 4, 3, stride=2, padding=1),
    cases=_conv_module_cases,
    hints={"output": "forward: conv2d_forward(x, self.weight.data, bias, self.stride, self.padding), "
                     "then self._push(cache, y)",
           "params": "backward: add dweight and dbias into the parameters' .grad (self._accumulate)",
           "input": "backward: cache = self._pop(dy); return the dx of conv2d_backward"},
    uses=("conv2d_forward", "conv2d_backward"))

MAX_POOL2D_MODULE = ModuleCheck(
    "MaxPool2d", "MaxPool2d",
    build=lambda cls, case: cls(2),
    twin=lambda case: _torch().nn.MaxPool2d(2),
    cases=lambda: [Case("a batch [2, 3, 4, 6]", (distinct((2, 3, 4, 6), 66),))],
    hints={"default": "forward: max_pool2d_forward(x, self.kernel_size, self.stride) and "
                      "self._push(cache, y); backward: max_pool2d_backward(dy, self._pop(dy))"},
    uses=("max_pool2d_forward", "max_pool2d_backward"))

FLATTEN_MODULE = ModuleCheck(
    "Flatten", "Flatten",
    build=lambda cls, case: cls(),
    twin=lambda case: _torch().nn.Flatten(),
    cases=lambda: [Case("a batch [2, 3, 2, 2]", (normal((2, 3, 2, 2), 67),))],
    hints={"default": "forward: flatten_forward and self._push(cache, y); backward: "
                      "flatten_backward(dy, self._pop(dy))"},
    uses=("flatten_forward", "flatten_backward"))

CHECKS = [CONV2D, MAX_POOL2D, FLATTEN, CONV2D_MODULE, MAX_POOL2D_MODULE, FLATTEN_MODULE]
