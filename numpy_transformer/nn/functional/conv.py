"""2-D convolution and its transpose by im2col: every window copied out as a column, then one
matrix product per group.

N batch, C input channels, O output channels, g groups, KH x KW kernel, OH x OW output,
K = C/g * KH * KW (one window of one group), L = OH * OW (the output positions):

    cols = im2col(x)          [N, g, K, L]
    forward       y  = W @ cols               W [g, O/g, K]          -> y [N, O, OH, OW]
    weight grad   dW = sum over N of dy @ cols^T                     -> [O, C/g, KH, KW]
    input grad    dx = col2im(W^T @ dy)

The transposed convolution is the adjoint of a convolution: its forward is the convolution's
input gradient, and its backward is the convolution's forward (for dx) and weight gradient.
"""
import numpy as np

from .windows import Geometry, col2im, conv_geometry, im2col, pair

__all__ = ["conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward", "check_groups"]


def check_groups(in_channels, weight_channels, groups, what, out_channels):
    """Raise unless the channels split into `groups` as the weight says."""
    if in_channels != weight_channels * groups or out_channels % groups:
        raise ValueError(f"{what}: input has {in_channels} channels but weight expects "
                         f"{weight_channels} per group x {groups} groups (and {out_channels} "
                         f"outputs must divide into {groups} groups)")


def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x [N, C, H, W], weight [O, C/g, KH, KW], bias [O] -> y [N, O, OH, OW].

    padding: int, (ph, pw), ((top, bottom), (left, right)), 'valid' or 'same'."""
    check_groups(x.shape[1], weight.shape[1], groups, "conv2d", weight.shape[0])
    geo = conv_geometry(x.shape, weight.shape[2:], stride, padding, dilation)
    N, O = x.shape[0], weight.shape[0]
    cols = im2col(x, geo).reshape(N, groups, -1, np.prod(geo.out_hw))   # [N, g, K, L]
    W = weight.reshape(groups, O // groups, -1)                          # [g, O/g, K]
    y = (W @ cols).reshape(N, O, *geo.out_hw)            # [N, g, O/g, L] -> [N, O, OH, OW]
    if bias is not None:
        y = y + bias.reshape(1, O, 1, 1)
    return y, (cols, weight, bias is not None, groups, geo)


def conv2d_backward(dy, cache, input_grad=True):
    """dy [N, O, OH, OW] -> dx [N, C, H, W], dweight [O, C/g, KH, KW], dbias [O] (or None).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    cols, weight, has_bias, groups, geo = cache
    N, O = dy.shape[:2]
    dy_g = dy.reshape(N, groups, O // groups, -1)                        # [N, g, O/g, L]
    W = weight.reshape(groups, O // groups, -1)                          # [g, O/g, K]
    dweight = (dy_g @ cols.swapaxes(-1, -2)).sum(axis=0).reshape(weight.shape)  # dy cols^T
    dbias = dy.sum(axis=(0, 2, 3)) if has_bias else None
    dx = None
    if input_grad:
        dcols = W.swapaxes(-1, -2) @ dy_g                                # [N, g, K, L]
        dx = col2im(dcols.reshape(N, -1, *weight.shape[2:], *geo.out_hw), geo)
    return dx, dweight, dbias


def conv_transpose2d_forward(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    """x [N, C, H, W], weight [C, O/g, KH, KW], bias [O] -> y [N, O, HO, WO] with
    HO = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1: the input
    gradient of the convolution (weight, stride, padding, dilation) that maps y's shape to x's."""
    geo = transposed_geometry(x.shape, weight.shape, stride, padding, output_padding, dilation)
    C, N = weight.shape[0], x.shape[0]
    check_groups(x.shape[1], C // groups, groups, "conv_transpose2d", C)
    W = weight.reshape(groups, C // groups, -1)                          # [g, C/g, O/g*KH*KW]
    x_g = x.reshape(N, groups, C // groups, -1)                          # [N, g, C/g, H*W]
    cols = W.swapaxes(-1, -2) @ x_g                                      # [N, g, O/g*KH*KW, H*W]
    y = col2im(cols.reshape(N, -1, *weight.shape[2:], *geo.out_hw), geo)
    if bias is not None:
        y = y + bias.reshape(1, -1, 1, 1)
    return y, (x, weight, bias is not None, groups, geo)


def conv_transpose2d_backward(dy, cache, input_grad=True):
    """dy [N, O, HO, WO] -> dx [N, C, H, W], dweight [C, O/g, KH, KW], dbias [O] (or None)."""
    x, weight, has_bias, groups, geo = cache
    C, N = weight.shape[0], x.shape[0]
    cols = im2col(dy, geo).reshape(N, groups, -1, x.shape[2] * x.shape[3])  # [N, g, O/g*KH*KW, H*W]
    x_g = x.reshape(N, groups, C // groups, -1)                          # [N, g, C/g, H*W]
    dweight = (x_g @ cols.swapaxes(-1, -2)).sum(axis=0).reshape(weight.shape)   # x cols^T
    dbias = dy.sum(axis=(0, 2, 3)) if has_bias else None
    W = weight.reshape(groups, C // groups, -1)                          # [g, C/g, O/g*KH*KW]
    dx = (W @ cols).reshape(x.shape) if input_grad else None             # the convolution of dy
    return dx, dweight, dbias


def transposed_geometry(x_shape, weight_shape, stride, padding, output_padding, dilation):
    """The geometry of the convolution y -> x that conv_transpose2d transposes: its in_hw is the
    transposed layer's output size, and its out_hw the layer's input size."""
    if isinstance(padding, str):
        raise ValueError(f"conv_transpose2d: padding must be an int or a pair, got {padding!r}")
    kernel = tuple(weight_shape[2:])
    stride, dilation = pair(stride, "stride"), pair(dilation, "dilation")
    pads, extra = pair(padding, "padding"), pair(output_padding, "output_padding")
    in_hw = tuple(x_shape[-2:])
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + e + 1
                   for n, s, p, d, k, e in zip(in_hw, stride, pads, dilation, kernel, extra))
    if min(out_hw) <= 0:
        raise ValueError(f"conv_transpose2d: input of spatial size {in_hw} gives output size "
                         f"{out_hw}")
    return Geometry(kernel, stride, dilation, tuple((p, p) for p in pads), out_hw, in_hw)
