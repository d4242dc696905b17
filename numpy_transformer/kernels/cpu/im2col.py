"""im2col / col2im in the internal layouts the fast convolution works in.

Shapes: N batch, C channels, H x W input, OH x OW output, KH x KW kernel. The geometry and the
window slices are the reference's (nn/functional/windows.py); here the images are moved to a
channel-first layout once, and the copies run in pieces on threads.
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ...nn.functional.windows import window_slices
from .threads import row_chunks, run_chunks


# ---- internal layouts: channel-first, the batch outside or inside each image ----
# "NHW" [C, N, H, W]: each image's rows stay whole, so converting from [N, C, H, W] is cheap,
#   but im2col / col2im then move one row (OW numbers) at a time.
# "HWN" [C, H, W, N]: the batch is innermost, so im2col / col2im move runs of N (or OW * N)
#   numbers; worth its costlier conversion (the batch moves to the inside of every image)
#   when rows are short and the columns outweigh the images (measured on the CNN/GAN shapes).
# The columns follow the layout: [C, KH, KW, N, OH, OW] or [C, KH, KW, OH, OW, N].
SHORT_ROW = 16
_FROM_NCHW = {"NHW": (1, 0, 2, 3), "HWN": (1, 2, 3, 0)}
_TO_NCHW = {"NHW": (1, 0, 2, 3), "HWN": (3, 0, 1, 2)}


def _layout(geo, weight, groups) -> str:
    """The internal layout of the convolution geo with weight [O, C/g, KH, KW]."""
    (oh, ow), (h, w) = geo.out_hw, geo.in_hw
    channels, outputs = weight.shape[1] * groups, weight.shape[0]
    columns = channels * weight.shape[2] * weight.shape[3] * oh * ow  # per image
    images = channels * h * w + outputs * oh * ow
    return "HWN" if ow < SHORT_ROW and columns >= images else "NHW"


def _spatial(layout, rows, columns):
    """Index applying `rows` and `columns` to the H and W axes of a [C, ...] internal array."""
    return (slice(None), rows, columns) if layout == "HWN" else (slice(None), slice(None), rows, columns)


def _internal_shape(channels, batch, hw, layout):
    return (channels, *hw, batch) if layout == "HWN" else (channels, batch, *hw)


def _piece(a, layout, start, stop, nchw: bool = False):
    """The part of `a` one thread works on: images start:stop in the NHW layout, channels
    start:stop in the HWN layout (its batch is innermost: halving those runs would slow every
    copy). `a` is internal ([C, ...] or columns [C, KH, KW, ...]), or [N, C, ...] if nchw."""
    if layout == "HWN":
        return a[:, start:stop] if nchw else a[start:stop]
    if nchw:
        return a[start:stop]
    axis = a.ndim - 3                                       # N of [C, N, H, W] / [C, KH, KW, N, OH, OW]
    return a[(slice(None),) * axis + (slice(start, stop),)]


def _in_pieces(fn, layout, batch, channels, size):
    """fn(start, stop) over ranges of images (NHW) or of channels (HWN), one range per thread
    when the work (`size` elements) is big: the copies below are independent per image and per
    channel, so results are the same."""
    run_chunks(fn, row_chunks(channels if layout == "HWN" else batch, size))


def _to_internal(x, layout, pads=((0, 0), (0, 0))):
    """[N, C, H, W] -> contiguous internal [C, ...] array, zero padded by ((t, b), (l, r))."""
    (top, bottom), (left, right) = pads
    N, C, H, W = x.shape
    xp = np.empty_like(x, shape=_internal_shape(C, N, (H + top + bottom, W + left + right), layout),
                       order="C")
    padded = top or bottom or left or right
    interior = _spatial(layout, slice(top, top + H), slice(left, left + W))

    def move(start, stop):
        part = _piece(xp, layout, start, stop)
        if padded:
            part.fill(0)
        part[interior] = _piece(x, layout, start, stop, nchw=True).transpose(_FROM_NCHW[layout])
    _in_pieces(move, layout, N, C, xp.size)
    return xp


def _to_nchw(a, layout, bias=None):
    """Internal [C, ...] array (any strides) -> contiguous [N, C, H, W], plus bias [C] if given."""
    C, N = a.shape[0], a.shape[1] if layout == "NHW" else a.shape[3]
    hw = a.shape[2:] if layout == "NHW" else a.shape[1:3]
    y = np.empty_like(a, shape=(N, C, *hw), order="C")

    def move(start, stop):
        part = _piece(a, layout, start, stop).transpose(_TO_NCHW[layout])
        out = _piece(y, layout, start, stop, nchw=True)
        if bias is None:
            np.copyto(out, part)
        else:
            channels = bias[start:stop] if layout == "HWN" else bias
            np.add(part, channels.reshape(-1, 1, 1), out=out)
    _in_pieces(move, layout, N, C, y.size)
    return y


# ---- im2col / col2im ----
def _windows(xp, geo, layout):
    """Padded internal xp [C, ...] -> a view [C, KH, KW, (N, OH, OW in the layout's order)] of
    every window: the columns before they are copied."""
    (kh, kw), (dh, dw) = geo.kernel, geo.dilation
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    rows, columns = window_slices(geo, 0, 0)                       # where each window starts
    if layout == "HWN":                                             # [C, OH, OW, N, KH, KW]
        windows = sliding_window_view(xp, span, axis=(1, 2))[:, rows, columns, :, ::dh, ::dw]
    else:                                                           # [C, N, OH, OW, KH, KW]
        windows = sliding_window_view(xp, span, axis=(2, 3))[:, :, rows, columns, ::dh, ::dw]
    return windows.transpose(0, 4, 5, 1, 2, 3)                      # kernel axes after C


def _im2col(x, geo, layout):
    """x [N, C, H, W] -> cols [C, KH, KW, (N, OH, OW in the layout's order)]: every window."""
    xp = _to_internal(x, layout, geo.pads)
    windows = _windows(xp, geo, layout)
    cols = np.empty_like(xp, shape=windows.shape, order="C")
    _in_pieces(lambda start, stop: np.copyto(_piece(cols, layout, start, stop),
                                             _piece(windows, layout, start, stop)),
               layout, x.shape[0], x.shape[1], cols.size)
    return cols


def _col2im(cols, geo, layout):
    """cols [C, KH, KW, ...] -> internal [C, ...] of the input: each column added back to the
    pixel it was copied from (pixels shared by several windows sum), padding cropped."""
    C, KH, KW = cols.shape[:3]
    N = cols.shape[-1] if layout == "HWN" else cols.shape[3]
    (top, bottom), (left, right) = geo.pads
    H, W = geo.in_hw
    shape = _internal_shape(C, N, (H + top + bottom, W + left + right), layout)
    dxp = np.empty_like(cols, shape=shape, order="C")

    def add(start, stop):
        part, cols_part = _piece(dxp, layout, start, stop), _piece(cols, layout, start, stop)
        part.fill(0)
        for i in range(KH):
            for j in range(KW):
                part[_spatial(layout, *window_slices(geo, i, j))] += cols_part[:, i, j]
    _in_pieces(add, layout, N, C, cols.size)
    return dxp[_spatial(layout, slice(top, top + H), slice(left, left + W))]
