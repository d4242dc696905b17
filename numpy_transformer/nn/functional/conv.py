"""2-D convolution and its transpose by im2col: one copy of the sliding windows, then GEMMs.

Shapes: N batch, C input channels, O output channels, g groups, H x W input, OH x OW output,
KH x KW kernel, L = OH * OW. Inside, images are kept channel-first ([C, N, H, W], or
[C, H, W, N] when rows are short; see "internal layouts") and the columns are
`cols [C, KH, KW, N*L]`, so that with `weight [O, C/g, KH, KW]` viewed as `[g, O/g, C/g*KH*KW]`
every product below is one (grouped) GEMM whose result needs no reshuffling:

    forward        y'    [O, N*L]          = W @ cols                   (then to [N, O, OH, OW])
    weight grad    dW    [O, C/g*KH*KW]    = dy' @ cols^T
    input grad     dcols [C*KH*KW, N*L]    = W^T @ dy'                  (then col2im)

The transposed convolution is the adjoint of a convolution: its forward is the convolution's
input gradient and its backward is the convolution's forward (for dx) and weight gradient.
"""
from collections import namedtuple

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..._blas import single_threaded_blas
from ..._parallel import parallel_blocks, row_chunks, run_chunks

__all__ = ["conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward", "conv_output_size"]

# Geometry of one convolution: pads = ((top, bottom), (left, right)); in_hw is the unpadded input
# size and out_hw the output size, both given so that the transposed convolution can fix them.
Geometry = namedtuple("Geometry", "kernel stride dilation pads in_hw out_hw")


def _pair(value, name: str = "value"):
    """An int or a pair of ints -> (int, int)."""
    if isinstance(value, (int, np.integer)):
        return int(value), int(value)
    pair = tuple(int(v) for v in value)
    if len(pair) != 2:
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return pair


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
    return _pair(padding[0], "padding"), _pair(padding[1], "padding")


def conv_output_size(size: int, kernel: int, stride: int = 1, pad: int = 0, dilation: int = 1) -> int:
    """Output length of a convolution over `size` (pad = both sides together)."""
    return (size + pad - dilation * (kernel - 1) - 1) // stride + 1


def _conv_geometry(x_shape, kernel, stride, padding, dilation) -> Geometry:
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    pads = resolve_padding(padding, kernel, dilation)
    in_hw = tuple(x_shape[-2:])
    out_hw = tuple(conv_output_size(n, k, s, sum(p), d)
                   for n, k, s, p, d in zip(in_hw, kernel, stride, pads, dilation))
    if min(out_hw) <= 0:
        raise ValueError(f"conv2d: input of spatial size {in_hw} padded by {pads} is smaller than "
                         f"the kernel {tuple(kernel)} with dilation {dilation}; output would be {out_hw}")
    return Geometry(tuple(kernel), stride, dilation, pads, in_hw, out_hw)


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


def _window_slices(geo, i: int, j: int):
    """(rows, columns) of the padded input that kernel offset (i, j) meets, one per output."""
    (sh, sw), (dh, dw), (oh, ow) = geo.stride, geo.dilation, geo.out_hw
    return (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
            slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


# ---- im2col / col2im ----
def _windows(xp, geo, layout):
    """Padded internal xp [C, ...] -> a view [C, KH, KW, (N, OH, OW in the layout's order)] of
    every window: the columns before they are copied."""
    (kh, kw), (dh, dw) = geo.kernel, geo.dilation
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    rows, columns = _window_slices(geo, 0, 0)                       # where each window starts
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
                part[_spatial(layout, *_window_slices(geo, i, j))] += cols_part[:, i, j]
    _in_pieces(add, layout, N, C, cols.size)
    return dxp[_spatial(layout, slice(top, top + H), slice(left, left + W))]


# ---- the three GEMMs, grouped: g independent products ----
def _weight_columns(weight, groups):
    """weight [O, C/g, KH, KW] -> [g, O/g, C/g*KH*KW]."""
    return weight.reshape(groups, weight.shape[0] // groups, -1)


def _conv_columns(cols, weight, groups):
    """y' [O, N*L] = W @ cols, per group."""
    cols_g = cols.reshape(groups, -1, cols[0, 0, 0].size)           # [g, C/g*KH*KW, N*L]
    return np.matmul(_weight_columns(weight, groups), cols_g).reshape(weight.shape[0], -1)


def _columns_grad(dy_cf, weight, groups):
    """dcols [C, KH, KW, (N, OH, OW)] = W^T @ dy', per group; dy_cf is [O, (N, OH, OW)]."""
    O, Cg, KH, KW = weight.shape
    dy_g = dy_cf.reshape(groups, O // groups, -1)                   # [g, O/g, N*L]
    dcols = np.matmul(_weight_columns(weight, groups).transpose(0, 2, 1), dy_g)
    return dcols.reshape(Cg * groups, KH, KW, *dy_cf.shape[1:])


def _weight_grad(dy_cf, cols, weight_shape, groups):
    """dW [O, C/g, KH, KW] = dy' @ cols^T, per group (summed over batch and positions)."""
    dy_g = dy_cf.reshape(groups, dy_cf.shape[0] // groups, -1)       # [g, O/g, N*L]
    cols_g = cols.reshape(groups, -1, dy_g.shape[-1])               # [g, C/g*KH*KW, N*L]
    return np.matmul(dy_g, cols_g.transpose(0, 2, 1)).reshape(weight_shape)


def _check_groups(in_channels, weight_channels, groups, what, out_channels):
    if in_channels != weight_channels * groups or out_channels % groups:
        raise ValueError(f"{what}: input has {in_channels} channels but weight expects "
                         f"{weight_channels} per group x {groups} groups (and {out_channels} "
                         f"outputs must divide into {groups} groups)")


# ---- the NHW convolution in blocks of images ----
# In the NHW layout the convolution runs on blocks of whole images, every step of a block
# (window copy, products, col2im, the move to [N, C, H, W]) while the block is in the CPU cache,
# the blocks shared out among threads, each with one BLAS thread. The blocks do not depend on
# the thread count, and the weight and bias gradients add per-block sums in block order, so
# results do not either. An even number of blocks, so that two threads get equal shares.
# Block sizes in columns. Forward + backward, blocks / whole arrays (two BLAS threads per
# product), calls alternating in one process on the 2-core development machine: 64x16x28x28
# 3x3 -> 32 (the benchmark's) 0.84, 64x3x32x32 -> 32 0.83, 128x1x28x28 5x5 -> 16 0.92,
# 16x32x56x56 -> 64 (one block) 0.95; without evening out the blocks 0.86, 0.84, 0.98.
FORWARD_BLOCK_ELEMENTS = 1 << 18
BACKWARD_BLOCK_ELEMENTS = 1 << 20


def _images_per_block(n_images, image_elements, block_elements):
    """Images per block: an even number of blocks of about block_elements (the last may be less)."""
    blocks = -(-n_images // max(1, block_elements // max(image_elements, 1)))
    blocks += blocks % 2 if blocks > 1 else 0
    return -(-n_images // blocks)


def _image_blocks(fn, n_images, image_elements, block_elements):
    """fn(k, start, stop) for each block k of images start:stop, the blocks spread over threads."""
    per_block = _images_per_block(n_images, image_elements, block_elements)
    if n_images <= per_block:                 # one block: the products keep their BLAS threads
        fn(0, 0, n_images)
        return
    with single_threaded_blas():
        parallel_blocks(lambda start, stop: fn(start // per_block, start, stop), n_images,
                        image_elements, per_block * image_elements)


def _forward_in_blocks(x, weight, bias, geo, groups):
    """conv2d_forward in the NHW layout: -> y [N, O, OH, OW], cols [C, KH, KW, N, OH, OW]."""
    N, O, (oh, ow) = x.shape[0], weight.shape[0], geo.out_hw
    windows = _windows(_to_internal(x, "NHW", geo.pads), geo, "NHW")
    cols = np.empty_like(x, shape=windows.shape, order="C")
    y = np.empty_like(x, shape=(N, O, oh, ow), order="C")

    def block(k, start, stop):
        cols_block = cols[:, :, :, start:stop]                      # [C, KH, KW, n, OH, OW]
        np.copyto(cols_block, windows[:, :, :, start:stop])
        y_block = _conv_columns(cols_block, weight, groups).reshape(O, stop - start, oh, ow)
        if bias is None:
            np.copyto(y[start:stop], y_block.transpose(1, 0, 2, 3))
        else:
            np.add(y_block.transpose(1, 0, 2, 3), bias.reshape(-1, 1, 1), out=y[start:stop])
    _image_blocks(block, N, cols[:, :, :, 0].size, FORWARD_BLOCK_ELEMENTS)
    return y, cols


def _backward_in_blocks(dy, cols, weight, has_bias, groups, geo, input_grad):
    """conv2d_backward in the NHW layout: -> dx (or None), dweight, dbias (or None)."""
    N, O = dy.shape[:2]
    blocks = -(-N // _images_per_block(N, cols[:, :, :, 0].size, BACKWARD_BLOCK_ELEMENTS))
    dweights = np.empty_like(weight, shape=(blocks, *weight.shape))
    dbiases = np.empty_like(weight, shape=(blocks, O)) if has_bias else None
    dx = np.empty_like(dy, shape=(N, cols.shape[0], *geo.in_hw)) if input_grad else None

    def block(k, start, stop):
        dy_block = np.ascontiguousarray(dy[start:stop].transpose(1, 0, 2, 3))  # [O, n, OH, OW]
        dweights[k] = _weight_grad(dy_block, cols[:, :, :, start:stop], weight.shape, groups)
        if has_bias:
            dy_block.reshape(O, -1).sum(axis=1, out=dbiases[k])
        if input_grad:
            dx_block = _col2im(_columns_grad(dy_block, weight, groups), geo, "NHW")  # [C, n, H, W]
            np.copyto(dx[start:stop], dx_block.transpose(1, 0, 2, 3))
    _image_blocks(block, N, cols[:, :, :, 0].size, BACKWARD_BLOCK_ELEMENTS)
    return dx, dweights.sum(axis=0), dbiases.sum(axis=0) if has_bias else None


# ---- convolution ----
def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x [N, C, H, W], weight [O, C/g, KH, KW], bias [O] -> y [N, O, OH, OW].

    padding: int, (ph, pw), ((top, bottom), (left, right)), 'valid' or 'same'."""
    _check_groups(x.shape[1], weight.shape[1], groups, "conv2d", weight.shape[0])
    geo = _conv_geometry(x.shape, weight.shape[2:], stride, padding, dilation)
    layout = _layout(geo, weight, groups)
    if layout == "NHW":
        y, cols = _forward_in_blocks(x, weight, bias, geo, groups)
        return y, (cols, weight, bias is not None, groups, geo)
    cols = _im2col(x, geo, layout)                                  # [C, KH, KW, OH, OW, N]
    y_cf = _conv_columns(cols, weight, groups)                      # [O, L*N]
    y_cf = y_cf.reshape(_internal_shape(weight.shape[0], x.shape[0], geo.out_hw, layout))
    y = _to_nchw(y_cf, layout, bias)
    return y, (cols, weight, bias is not None, groups, geo)


def conv2d_backward(dy, cache, input_grad=True):
    """dy [N, O, OH, OW] -> dx [N, C, H, W], dweight [O, C/g, KH, KW], dbias [O] (or None).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    cols, weight, has_bias, groups, geo = cache
    layout = _layout(geo, weight, groups)
    if layout == "NHW":
        return _backward_in_blocks(dy, cols, weight, has_bias, groups, geo, input_grad)
    dy_cf = _to_internal(dy, layout)                                # [O, (N, OH, OW)]
    dweight = _weight_grad(dy_cf, cols, weight.shape, groups)
    dx = None
    if input_grad:
        dx = _to_nchw(_col2im(_columns_grad(dy_cf, weight, groups), geo, layout), layout)
    dbias = dy_cf.reshape(dy_cf.shape[0], -1).sum(axis=1) if has_bias else None
    return dx, dweight, dbias


# ---- transposed convolution: the adjoint of conv2d ----
def conv_transpose2d_forward(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    """x [N, C, H, W], weight [C, O/g, KH, KW], bias [O] -> y [N, O, HO, WO] with
    HO = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.

    y is the input gradient of the convolution (weight, stride, padding, dilation) that maps
    y's shape to x's: columns W^T @ x', then col2im."""
    if isinstance(padding, str):
        raise ValueError(f"conv_transpose2d: padding must be an int or a pair, got {padding!r}")
    C, Og, KH, KW = weight.shape
    _check_groups(x.shape[1], C // groups, groups, "conv_transpose2d", C)
    stride, dilation = _pair(stride, "stride"), _pair(dilation, "dilation")
    (ph, pw), (oph, opw) = _pair(padding, "padding"), _pair(output_padding, "output_padding")
    in_hw = tuple(x.shape[-2:])
    out_hw = tuple((n - 1) * s - 2 * p + d * (k - 1) + op + 1
                   for n, s, p, d, k, op in zip(in_hw, stride, (ph, pw), dilation, (KH, KW), (oph, opw)))
    if min(out_hw) <= 0:
        raise ValueError(f"conv_transpose2d: input of spatial size {in_hw} gives output size {out_hw}")
    # the convolution y -> x that this layer transposes
    geo = Geometry((KH, KW), stride, dilation, ((ph, ph), (pw, pw)), out_hw, in_hw)
    layout = _layout(geo, weight, groups)
    x_cf = _to_internal(x, layout)                                  # [C, (N, H, W)]
    y_cf = _col2im(_columns_grad(x_cf, weight, groups), geo, layout)  # [O, (N, HO, WO)]
    y = _to_nchw(y_cf, layout, bias)
    return y, (x_cf, weight, bias is not None, groups, geo)


def conv_transpose2d_backward(dy, cache, input_grad=True):
    """dy [N, O, HO, WO] -> dx [N, C, H, W], dweight [C, O/g, KH, KW], dbias [O] (or None).

    input_grad=False skips dx (returned as None)."""
    x_cf, weight, has_bias, groups, geo = cache
    layout = _layout(geo, weight, groups)
    cols = _im2col(dy, geo, layout)                                 # [O, KH, KW, (N, H, W)]
    dweight = _weight_grad(x_cf, cols, weight.shape, groups)
    dbias = dy.sum(axis=(0, 2, 3)) if has_bias else None
    if not input_grad:
        return None, dweight, dbias
    dx_cf = _conv_columns(cols, weight, groups).reshape(x_cf.shape)  # the convolution of dy
    return _to_nchw(dx_cf, layout), dweight, dbias
