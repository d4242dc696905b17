"""The convolution's moves in the batch-last layout ([C, H, W, N], kernels/cpu/im2col.py) as
one compiled pass each (Numba), where NumPy makes two to four: im2col straight from
[N, C, H, W] (the transpose and the zero padding of each channel in a buffer in cache, then
its windows), col2im straight back to [N, C, H, W] (the sums in a buffer per channel, then
cropped, transposed and the bias added), and the unpadded moves. The products, the layout choice
and the NHW layout's blocks stay kernels/cpu/conv.py's. Channels go in ranges on the fast
kernels' threads; each channel's values are its own, so results do not depend on the split."""
import numpy as np
from numba import njit

from ..cpu import conv as numpy_kernel
from ..cpu.threads import row_chunks, run_chunks

__all__ = ["conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward"]

compiled = njit(nogil=True, cache=True, error_model="numpy")


@compiled
def _im2col(x, first, last, top, left, stride, dilation, padded, cols):
    """cols [C, KH, KW, OH, OW, N] of x [N, C, H, W] for the channels first:last; padded is the
    padded image size (HP, WP)."""
    N, _, H, W = x.shape
    _, KH, KW, OH, OW, _ = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    image = np.zeros((padded[0], padded[1], N), x.dtype)           # one channel, padded, N last
    for c in range(first, last):
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    image[top + h, left + w, n] = x[n, c, h, w]
        for i in range(KH):
            for j in range(KW):
                for oh in range(OH):
                    r = oh * sh + i * dh
                    for ow in range(OW):
                        q = ow * sw + j * dw
                        for n in range(N):
                            cols[c, i, j, oh, ow, n] = image[r, q, n]


@compiled
def _col2im(cols, first, last, top, left, stride, dilation, padded, bias, has_bias, x):
    """x [N, C, H, W] <- each column of cols [C, KH, KW, OH, OW, N] added to the pixel it was
    copied from (in the order of the NumPy kernel's sums), plus bias [C] if has_bias."""
    N, _, H, W = x.shape
    _, KH, KW, OH, OW, _ = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    image = np.empty((padded[0], padded[1], N), x.dtype)
    for c in range(first, last):
        image[:] = 0
        for i in range(KH):
            for j in range(KW):
                for oh in range(OH):
                    r = oh * sh + i * dh
                    for ow in range(OW):
                        q = ow * sw + j * dw
                        for n in range(N):
                            image[r, q, n] += cols[c, i, j, oh, ow, n]
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    x[n, c, h, w] = image[top + h, left + w, n] + bias[c] if has_bias \
                        else image[top + h, left + w, n]


@compiled
def _batch_last(x, first, last, a):                 # a [C, H, W, N] <- x [N, C, H, W]
    N, _, H, W = x.shape
    for c in range(first, last):
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    a[c, h, w, n] = x[n, c, h, w]


@compiled
def _batch_first(a, first, last, bias, has_bias, x):   # x [N, C, H, W] <- a [C, H, W, N] + bias
    N, _, H, W = x.shape
    for c in range(first, last):
        for n in range(N):
            for h in range(H):
                for w in range(W):
                    x[n, c, h, w] = a[c, h, w, n] + bias[c] if has_bias else a[c, h, w, n]


def _compiled(layout, *arrays) -> bool:
    """Whether the compiled moves take these arrays: the HWN layout in float32 or float64."""
    return layout == "HWN" and all(a.dtype in (np.float32, np.float64) for a in arrays)


def _by_channel(fn, C: int, size: int) -> None:
    """fn(first, last) over one range of channels per thread when the work (size) is big."""
    run_chunks(fn, row_chunks(C, size))


def _bias(bias, like):
    """(bias, has_bias) as the kernels take them: a missing bias as an unused [1] array."""
    if bias is None:
        return np.zeros(1, like.dtype), False
    return bias.astype(like.dtype, copy=False), True


def _columns(x, geo, layout):
    if not _compiled(layout, x):
        return numpy_kernel.NUMPY_MOVES.columns(x, geo, layout)
    N, C, H, W = x.shape
    (top, bottom), (left, right) = geo.pads
    x = np.ascontiguousarray(x)
    cols = np.empty_like(x, shape=(C, *geo.kernel, *geo.out_hw, N))
    padded = (H + top + bottom, W + left + right)
    _by_channel(lambda a, b: _im2col(x, a, b, top, left, geo.stride, geo.dilation, padded, cols),
                C, cols.size)
    return cols


def _image(cols, geo, layout, bias=None):
    if not _compiled(layout, cols):
        return numpy_kernel.NUMPY_MOVES.image(cols, geo, layout, bias)
    C, N = cols.shape[0], cols.shape[-1]
    (top, bottom), (left, right) = geo.pads
    (H, W), cols = geo.in_hw, np.ascontiguousarray(cols)
    x = np.empty_like(cols, shape=(N, C, H, W))
    bias, has_bias = _bias(bias, cols)
    padded = (H + top + bottom, W + left + right)
    _by_channel(lambda a, b: _col2im(cols, a, b, top, left, geo.stride, geo.dilation, padded,
                                     bias, has_bias, x), C, cols.size)
    return x


def _to_internal(x, layout):
    if not _compiled(layout, x):
        return numpy_kernel.NUMPY_MOVES.to_internal(x, layout)
    N, C, H, W = x.shape
    a = np.empty_like(x, shape=(C, H, W, N), order="C")
    _by_channel(lambda first, last: _batch_last(x, first, last, a), C, a.size)
    return a


def _to_nchw(a, layout, bias=None):
    if not _compiled(layout, a):
        return numpy_kernel.NUMPY_MOVES.to_nchw(a, layout, bias)
    C, H, W, N = a.shape
    x = np.empty_like(a, shape=(N, C, H, W), order="C")
    bias, has_bias = _bias(bias, a)
    _by_channel(lambda first, last: _batch_first(a, first, last, bias, has_bias, x), C, x.size)
    return x


MOVES = numpy_kernel.Moves(columns=_columns, image=_image, to_internal=_to_internal,
                           to_nchw=_to_nchw)


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """As the reference's (nn/functional/conv.py)."""
    return numpy_kernel.convolution_forward(x, weight, bias, stride, padding, dilation, groups,
                                            MOVES)


def conv2d_backward(dy, cache, input_grad=True):
    """As the reference's."""
    return numpy_kernel.convolution_backward(dy, cache, input_grad, MOVES)


def conv_transpose2d_forward(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    """As the reference's."""
    return numpy_kernel.transposed_forward(x, weight, bias, stride, padding, output_padding,
                                           groups, dilation, MOVES)


def conv_transpose2d_backward(dy, cache, input_grad=True):
    """As the reference's."""
    return numpy_kernel.transposed_backward(dy, cache, input_grad, MOVES)
