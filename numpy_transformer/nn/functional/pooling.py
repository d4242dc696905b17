"""2-D max and average pooling over [N, C, H, W], with PyTorch's output sizes and tie rules.

Each window's pixels come from im2col as K = KH * KW values: cols [N, C, K, OH, OW]. Max pooling
takes their maximum (the first one on ties), average pooling their sum over a divisor.
"""
import numpy as np

from .windows import Geometry, col2im, im2col, pair

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward", "pool_output_size", "pool_geometry", "flat_indices"]


def pool_output_size(size: int, kernel: int, stride: int, pad: int, dilation: int = 1,
                     ceil_mode: bool = False) -> int:
    """PyTorch's rule: floor (or ceil) division, but a window may not start in the right padding."""
    span = dilation * (kernel - 1) + 1                      # what one window covers
    out = (size + 2 * pad - span + (stride - 1 if ceil_mode else 0)) // stride + 1
    if ceil_mode and (out - 1) * stride >= size + pad:
        out -= 1
    return out


def pool_geometry(x_shape, kernel_size, stride, padding, dilation, ceil_mode, what) -> Geometry:
    """The windows of a pooling of x [..., H, W]; raises at options PyTorch refuses."""
    kernel = pair(kernel_size, "kernel_size")
    stride = kernel if stride is None or stride == () or stride == [] else pair(stride, "stride")
    padding, dilation = pair(padding, "padding"), pair(dilation, "dilation")
    in_hw = tuple(x_shape[-2:])
    for k, s, p, d in zip(kernel, stride, padding, dilation):
        if k <= 0 or s <= 0 or d <= 0 or p < 0:
            raise ValueError(f"{what}: kernel_size {kernel}, stride {stride} and dilation "
                             f"{dilation} must be positive and padding {padding} non-negative")
        if p > k // 2:
            raise ValueError(f"{what}: padding {padding} must be at most half of the kernel "
                             f"size {kernel}")
    out_hw = tuple(pool_output_size(n, k, s, p, d, ceil_mode)
                   for n, k, s, p, d in zip(in_hw, kernel, stride, padding, dilation))
    if min(out_hw) <= 0:
        raise ValueError(f"{what}: input of spatial size {in_hw} with kernel {kernel}, padding "
                         f"{padding} and dilation {dilation} gives output size {out_hw}")
    # ceil_mode may need room past the right padding for the last window
    pads = tuple((p, max(p, (o - 1) * s + d * (k - 1) + 1 - n - p))
                 for n, k, s, p, d, o in zip(in_hw, kernel, stride, padding, dilation, out_hw))
    return Geometry(kernel, stride, dilation, pads, in_hw, out_hw)


def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       return_indices=False):
    """x [N, C, H, W] -> y [N, C, OH, OW], the maximum of each window (padding is -inf);
    with return_indices, (y, indices) where indices [N, C, OH, OW] are flat positions in H * W."""
    geo = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    N, C = x.shape[:2]
    cols = im2col(x, geo, fill=-np.inf).reshape(N, C, -1, *geo.out_hw)  # [N, C, K, OH, OW]
    winner = cols.argmax(axis=2)[:, :, None]            # [N, C, 1, OH, OW]: the first maximum
    y = np.take_along_axis(cols, winner, axis=2)[:, :, 0]
    cache = (winner, cols.shape, geo)
    if return_indices:
        return (y, flat_indices(winner[:, :, 0], geo)), cache
    return y, cache


def max_pool2d_backward(dy, cache):
    """dy [N, C, OH, OW] (or (dy, None) with return_indices) -> dx [N, C, H, W]: each window's
    gradient goes to its maximal element; overlapping windows add up."""
    if isinstance(dy, tuple):
        dy = dy[0]
    winner, cols_shape, geo = cache
    dcols = np.zeros_like(dy, shape=cols_shape)                          # [N, C, K, OH, OW]
    np.put_along_axis(dcols, winner, dy[:, :, None], axis=2)
    return col2im(dcols.reshape(*cols_shape[:2], *geo.kernel, *geo.out_hw), geo)


def flat_indices(winner, geo):
    """Window offsets i * KW + j [N, C, OH, OW] -> PyTorch's indices: row * W + column in the
    unpadded input (int64)."""
    kw, (sh, sw), (dh, dw), (oh, ow) = geo.kernel[1], geo.stride, geo.dilation, geo.out_hw
    (top, _), (left, _) = geo.pads
    winner = winner.astype(np.int64)
    rows = np.arange(oh, like=winner)[:, None] * sh - top + (winner // kw) * dh
    columns = np.arange(ow, like=winner) * sw - left + (winner % kw) * dw
    return rows * geo.in_hw[1] + columns


def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """x [N, C, H, W] -> y [N, C, OH, OW], each window's sum over its divisor (zero padding)."""
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool2d: divisor_override must not be zero")
    geo = pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    cols = im2col(x, geo)                                                # [N, C, KH, KW, OH, OW]
    scale = pool_divisors(geo, count_include_pad, divisor_override, x)   # [OH, OW]
    return cols.sum(axis=(2, 3)) * scale, (scale, geo)


def avg_pool2d_backward(dy, cache):
    """dy [N, C, OH, OW] -> dx [N, C, H, W]: every pixel of a window gets dy / divisor."""
    scale, geo = cache
    share = (dy * scale)[:, :, None, None]                               # [N, C, 1, 1, OH, OW]
    return col2im(np.broadcast_to(share, (*dy.shape[:2], *geo.kernel, *geo.out_hw)), geo)


def pool_divisors(geo, count_include_pad, divisor_override, like):
    """1 / (the number each window's sum is divided by), [OH, OW], as PyTorch counts it."""
    if divisor_override is not None:
        return np.full_like(like, 1.0 / divisor_override, shape=geo.out_hw)
    counts = []
    for n, k, s, (p, _), o in zip(geo.in_hw, geo.kernel, geo.stride, geo.pads, geo.out_hw):
        start = np.arange(o) * s - p
        end = np.minimum(start + k, n + p)                    # may reach into the padding...
        if not count_include_pad:                             # ...or only over real pixels
            start, end = np.maximum(start, 0), np.minimum(end, n)
        counts.append(end - start)
    return np.asarray(1.0 / (counts[0][:, None] * counts[1]), dtype=like.dtype, like=like)
