"""2-D max and average pooling as a loop over the KH x KW kernel offsets, on threads.

For kernel offset (i, j) the pixels it meets, one per output position, form a strided view of
the padded input: a running maximum (or sum) over these views needs no im2col copy. The
geometry, divisors and indices are the reference's (nn/functional/pooling.py).
"""
import numpy as np

from ...nn.functional.pooling import flat_indices, pool_divisors, pool_geometry
from ...nn.functional.windows import window_slices
from .threads import parallel_slices

__all__ = ["max_pool2d_forward", "max_pool2d_backward", "avg_pool2d_forward",
           "avg_pool2d_backward"]


def _pad(x, pads, value=0.0):
    """Pad the last two axes of x by ((top, bottom), (left, right)) with `value`."""
    (top, bottom), (left, right) = pads
    if top == bottom == left == right == 0:
        return x
    *lead, H, W = x.shape
    xp = np.full_like(x, value, shape=(*lead, H + top + bottom, W + left + right), order="C")
    xp[..., top:top + H, left:left + W] = x
    return xp


def _window(geo, i, j):
    """Index of the [N, C, OH, OW] pixels that kernel offset (i, j) meets in the padded input."""
    return (Ellipsis, *window_slices(geo, i, j))


def _by_image(fn, *arrays):
    """fn(*arrays) in pieces along the longest leading axis (images or channels: never H or W),
    one piece per thread when big; the windows of different images are independent."""
    lead = arrays[0].shape[:-2]
    if not lead:
        fn(*arrays)
        return
    parallel_slices(fn, *arrays, axis=max(range(len(lead)), key=lambda a: lead[a]))


def _offsets(geo):
    kh, kw = geo.kernel
    return [(i, j) for i in range(kh) for j in range(kw)]


def _crop(dxp, geo):
    """The gradient of the padded input -> the gradient of the input."""
    (top, _), (left, _) = geo.pads
    H, W = geo.in_hw
    if dxp.shape[-2:] == (H, W):
        return dxp
    return np.ascontiguousarray(dxp[..., top:top + H, left:left + W])


# ---- max pooling ----
def max_pool2d_forward(x, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
                       return_indices=False):
    """x [N, C, H, W] -> y [N, C, OH, OW], the maximum of each window (padding is -inf);
    with return_indices, (y, indices) where indices [N, C, OH, OW] are flat positions in H * W."""
    geo = pool_geometry(x.shape, kernel_size, stride, padding, dilation, ceil_mode, "max_pool2d")
    xp = _pad(x, geo.pads, -np.inf)
    offsets = _offsets(geo)
    y = np.empty_like(x, shape=x.shape[:-2] + geo.out_hw)

    def pool(xp, y):
        np.copyto(y, xp[_window(geo, *offsets[0])])
        for i, j in offsets[1:]:
            np.maximum(y, xp[_window(geo, i, j)], out=y)   # NaN propagates, as in PyTorch
    _by_image(pool, xp, y)
    cache = (xp, y, geo)
    if return_indices:
        return (y, flat_indices(_argmax_offsets(xp, y, geo), geo)), cache
    return y, cache


def _argmax_offsets(xp, y, geo):
    """For each window, the offset number i * KW + j of its first maximal element."""
    offsets = _offsets(geo)
    winner = np.zeros_like(y, dtype=np.min_scalar_type(len(offsets)))
    for k in reversed(range(len(offsets))):                   # the first maximum is written last
        winner = np.where(xp[_window(geo, *offsets[k])] == y, winner.dtype.type(k), winner)
    return winner


def max_pool2d_backward(dy, cache):
    """dy [N, C, OH, OW] (or (dy, None) with return_indices) -> dx [N, C, H, W]: each window's
    gradient goes to its first maximal element; overlapping windows add up.

    Offsets are visited in order; an offset `claims` the windows whose maximum it holds and no
    earlier offset held (`seen`). (A non-finite dy spreads NaN over its window: masks multiply.)"""
    if isinstance(dy, tuple):
        dy = dy[0]
    xp, y, geo = cache
    dxp, disjoint = _scatter_buffer(xp.shape, geo, dy)
    offsets = _offsets(geo)

    def scatter(xp, y, dy, dxp):
        seen = None                                           # windows claimed so far
        for k, (i, j) in enumerate(offsets):
            window = _window(geo, i, j)
            claims = xp[window] == y
            if seen is None:
                seen = claims.copy() if len(offsets) > 1 else None
            else:
                np.greater(claims, seen, out=claims)          # claims and not seen
                if k + 1 < len(offsets):
                    seen |= claims
            if disjoint:
                np.multiply(dy, claims, out=dxp[window])
            else:
                dxp[window] += dy * claims
    _by_image(scatter, xp, y, dy, dxp)
    return _crop(dxp, geo)


def _scatter_buffer(padded_shape, geo, like):
    """The buffer that window gradients go into, and whether windows are disjoint (then each
    offset may assign its slice instead of adding; zeros are needed only where no window looks)."""
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(geo.kernel, geo.stride, geo.dilation))
    covered = all((o - 1) * s + d * (k - 1) + 1 == n for k, s, d, o, n in
                  zip(geo.kernel, geo.stride, geo.dilation, geo.out_hw, padded_shape[-2:]))
    if disjoint and covered and all(s == d * (k - 1) + 1 for k, s, d in
                                    zip(geo.kernel, geo.stride, geo.dilation)):
        return np.empty_like(like, shape=padded_shape, order="C"), True
    return np.zeros_like(like, shape=padded_shape, order="C"), disjoint


# ---- average pooling ----
def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, ceil_mode=False,
                       count_include_pad=True, divisor_override=None):
    """x [N, C, H, W] -> y [N, C, OH, OW], each window's sum over its divisor (zero padding)."""
    if divisor_override is not None and divisor_override == 0:
        raise ValueError("avg_pool2d: divisor_override must not be zero")
    geo = pool_geometry(x.shape, kernel_size, stride, padding, 1, ceil_mode, "avg_pool2d")
    xp = _pad(x, geo.pads)
    offsets = _offsets(geo)
    y = xp[_window(geo, *offsets[0])].copy()
    for i, j in offsets[1:]:
        y += xp[_window(geo, i, j)]
    scale = pool_divisors(geo, count_include_pad, divisor_override, x)
    y *= scale
    return y, (scale, xp.shape, geo)


def avg_pool2d_backward(dy, cache):
    """dy [N, C, OH, OW] -> dx [N, C, H, W]: every pixel of a window gets dy / divisor."""
    scale, padded_shape, geo = cache
    share = dy * scale                                        # [N, C, OH, OW]
    dxp, disjoint = _scatter_buffer(padded_shape, geo, dy)
    for i, j in _offsets(geo):
        if disjoint:
            dxp[_window(geo, i, j)] = share
        else:
            dxp[_window(geo, i, j)] += share
    return _crop(dxp, geo)
