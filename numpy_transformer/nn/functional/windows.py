"""The sliding windows of convolution and pooling: their geometry, and im2col / col2im.

N batch, C channels, H x W input, KH x KW kernel, OH x OW output. Kernel offset (i, j) meets
one pixel of the padded input per output position; those pixels form a strided slice, so
every loop below runs over the KH * KW kernel offsets, never over pixels.
"""
from collections import namedtuple

import numpy as np

__all__ = ["Geometry", "pair", "resolve_padding", "conv_output_size", "conv_geometry",
           "window_slices", "pad", "im2col", "col2im"]

# pads = ((top, bottom), (left, right)); in_hw is the unpadded input size and out_hw the output
# size, both kept so that the transposed convolution can fix them.
Geometry = namedtuple("Geometry", "kernel stride dilation pads in_hw out_hw")


def pair(value, name: str = "value"):
    """An int or a pair of ints -> (int, int)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    both = tuple(int(v) for v in value)
    if len(both) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return both


def resolve_padding(padding, kernel, dilation):
    """int, (ph, pw), ((top, bottom), (left, right)), 'valid' or 'same' -> ((t, b), (l, r)).

    'same' pads d * (k - 1) in total per axis, the odd one out at the end (as PyTorch does)."""
    if isinstance(padding, str):
        if padding == "valid":
            return (0, 0), (0, 0)
        if padding == "same":
            totals = [d * (k - 1) for k, d in zip(kernel, dilation)]
            return tuple((t // 2, t - t // 2) for t in totals)
        raise ValueError(f"padding must be an int, a pair, 'same' or 'valid', got {padding!r}")
    if isinstance(padding, (int, np.integer)):
        return (int(padding),) * 2, (int(padding),) * 2
    padding = tuple(padding)
    if len(padding) == 2 and all(isinstance(p, (int, np.integer)) for p in padding):
        return (int(padding[0]),) * 2, (int(padding[1]),) * 2
    return pair(padding[0], "padding"), pair(padding[1], "padding")


def conv_output_size(size: int, kernel: int, stride: int = 1, pad: int = 0,
                     dilation: int = 1) -> int:
    """Output length of a convolution over `size` (pad = both sides together)."""
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def conv_geometry(x_shape, kernel, stride, padding, dilation) -> Geometry:
    """The geometry of a convolution of x [..., H, W] by a kernel (KH, KW)."""
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads = resolve_padding(padding, kernel, dilation)
    in_hw = tuple(x_shape[-2:])
    out_hw = tuple(conv_output_size(n, k, s, sum(p), d)
                   for n, k, s, p, d in zip(in_hw, kernel, stride, pads, dilation))
    if min(out_hw) <= 0:
        raise ValueError(f"conv2d: input of spatial size {in_hw} padded by {pads} is smaller than "
                         f"the kernel {tuple(kernel)} with dilation {dilation}; output would be "
                         f"{out_hw}")
    return Geometry(tuple(kernel), stride, dilation, pads, in_hw, out_hw)


def window_slices(geo, i: int, j: int):
    """(rows, columns) of the padded input that kernel offset (i, j) meets, one per output."""
    (sh, sw), (dh, dw), (oh, ow) = geo.stride, geo.dilation, geo.out_hw
    return (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def pad(x, pads, value=0.0):
    """x [..., H, W] padded by ((top, bottom), (left, right)) with `value`."""
    return np.pad(x, ((0, 0),) * (x.ndim - 2) + tuple(pads), constant_values=value)


def im2col(x, geo, fill=0.0):
    """x [N, C, H, W] -> cols [N, C, KH, KW, OH, OW]: cols[..., i, j, :, :] holds the pixels
    that kernel offset (i, j) meets, one per output position (`fill` in the padding)."""
    xp = pad(x, geo.pads, fill)                             # [N, C, H + pads, W + pads]
    kh, kw = geo.kernel
    cols = np.empty_like(x, shape=(*x.shape[:2], kh, kw, *geo.out_hw))
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = xp[(..., *window_slices(geo, i, j))]
    return cols


def col2im(cols, geo):
    """cols [N, C, KH, KW, OH, OW] -> [N, C, H, W]: each column added back to the pixel it was
    copied from (a pixel in several windows sums them), the padding cut off."""
    (top, bottom), (left, right) = geo.pads
    H, W = geo.in_hw
    dxp = np.zeros_like(cols, shape=(*cols.shape[:2], H + top + bottom, W + left + right))
    for i in range(geo.kernel[0]):
        for j in range(geo.kernel[1]):
            dxp[(..., *window_slices(geo, i, j))] += cols[:, :, i, j]
    return dxp[..., top:top + H, left:left + W]
