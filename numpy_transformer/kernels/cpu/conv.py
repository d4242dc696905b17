"""2-D convolution and its transpose by im2col, laid out so that no product needs reshuffling.

The reference's products (nn/functional/conv.py), with the images kept channel-first inside
([C, N, H, W], or [C, H, W, N] when rows are short; see "internal layouts" in `im2col.py`) and
the columns as `cols [C, KH, KW, N*L]`: with `weight [O, C/g, KH, KW]` viewed as
`[g, O/g, C/g*KH*KW]` every product is one (grouped) GEMM whose result needs no transpose:

    forward        y'    [O, N*L]          = W @ cols                   (then to [N, O, OH, OW])
    weight grad    dW    [O, C/g*KH*KW]    = dy' @ cols^T
    input grad     dcols [C*KH*KW, N*L]    = W^T @ dy'                  (then col2im)

In the NHW layout the convolution runs on blocks of whole images in cache, on threads. In the
HWN layout the moves between [N, C, H, W] and the layout are a `Moves`: NumPy's here, compiled
ones in kernels/compiled/conv.py.
"""
from collections import namedtuple

import numpy as np

from ...nn.functional.conv import check_groups, transposed_geometry
from ...nn.functional.windows import conv_geometry
from .im2col import _col2im, _im2col, _internal_shape, _layout, _to_internal, _to_nchw, _windows
from .threads import indexed_blocks

__all__ = ["conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
           "conv_transpose2d_backward"]

# columns(x, geo, layout) -> cols: im2col of x [N, C, H, W];
# image(cols, geo, layout, bias) -> [N, C, H, W]: col2im, cropped, plus bias [C] (or None);
# to_internal(x, layout) and to_nchw(a, layout, bias): the unpadded moves.
Moves = namedtuple("Moves", "columns image to_internal to_nchw")
NUMPY_MOVES = Moves(columns=_im2col,
                    image=lambda cols, geo, layout, bias=None: _to_nchw(_col2im(cols, geo, layout),
                                                                         layout, bias),
                    to_internal=_to_internal, to_nchw=_to_nchw)

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


# ---- the NHW convolution in blocks of images ----
# In the NHW layout the convolution runs on blocks of whole images, every step of a block
# (window copy, products, col2im, the move to [N, C, H, W]) while the block is in the CPU cache,
# the blocks shared out among threads, each with one BLAS thread. The blocks do not depend on
# the thread count, and the weight and bias gradients add per-block sums in block order, so
# results do not either. An even number of blocks, so that two threads get equal shares.
# Block sizes in columns. Forward + backward in blocks against whole arrays (two BLAS threads
# per product): 64x16x28x28 3x3 -> 32 0.84x, 64x3x32x32 -> 32 0.83x, 128x1x28x28 5x5 -> 16
# 0.92x; an odd number of blocks loses 2-6% of that. Without groups the products go image by
# image, W [O, C*KH*KW] @ one image's columns: y and dy stay [N, O, OH, OW], with no transposed
# copy of either: the CNN's first layer (64x1x28x28 3x3->32, no input
# gradient) 0.49x, the GAN's first 0.79x, 64x16x28x28 3x3->32 1.01x against one product a block.
FORWARD_BLOCK_ELEMENTS = 1 << 18
BACKWARD_BLOCK_ELEMENTS = 1 << 20


def _per_image(cols_block):
    """Columns [C, KH, KW, n, OH, OW] -> a view [n, C*KH*KW, OH*OW]: one image's columns per
    matrix, so that W @ it is that image's [O, OH*OW] output, already in [N, O, OH, OW] order."""
    n = cols_block.shape[3]
    return cols_block.reshape(-1, n, cols_block[0, 0, 0, 0].size).transpose(1, 0, 2)


def _images_per_block(n_images, image_elements, block_elements):
    """Images per block: an even number of blocks of about block_elements (the last may be less)."""
    blocks = -(-n_images // max(1, block_elements // max(image_elements, 1)))
    blocks += blocks % 2 if blocks > 1 else 0
    return -(-n_images // blocks)


def _forward_in_blocks(x, weight, bias, geo, groups):
    """conv2d_forward in the NHW layout: -> y [N, O, OH, OW], cols [C, KH, KW, N, OH, OW]."""
    N, O, (oh, ow) = x.shape[0], weight.shape[0], geo.out_hw
    windows = _windows(_to_internal(x, "NHW", geo.pads), geo, "NHW")
    cols = np.empty_like(x, shape=windows.shape, order="C")
    y = np.empty_like(x, shape=(N, O, oh, ow), order="C")

    def block(k, start, stop):
        cols_block = cols[:, :, :, start:stop]                      # [C, KH, KW, n, OH, OW]
        np.copyto(cols_block, windows[:, :, :, start:stop])
        if groups == 1:                     # a product per image, straight into [N, O, OH, OW]
            y_block = y[start:stop].reshape(stop - start, O, oh * ow)
            np.matmul(weight.reshape(O, -1), _per_image(cols_block), out=y_block)
            if bias is not None:
                y_block += bias.reshape(-1, 1)
            return
        y_block = _conv_columns(cols_block, weight, groups).reshape(O, stop - start, oh, ow)
        if bias is None:
            np.copyto(y[start:stop], y_block.transpose(1, 0, 2, 3))
        else:
            np.add(y_block.transpose(1, 0, 2, 3), bias.reshape(-1, 1, 1), out=y[start:stop])
    image = cols[:, :, :, 0].size                                   # column elements per image
    indexed_blocks(block, N, image, _images_per_block(N, image, FORWARD_BLOCK_ELEMENTS))
    return y, cols


def _backward_in_blocks(dy, cols, weight, has_bias, groups, geo, input_grad):
    """conv2d_backward in the NHW layout: -> dx (or None), dweight, dbias (or None)."""
    N, O = dy.shape[:2]
    image = cols[:, :, :, 0].size                                   # column elements per image
    per_block = _images_per_block(N, image, BACKWARD_BLOCK_ELEMENTS)
    blocks = -(-N // per_block)
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

    def per_image_block(k, start, stop):                            # groups == 1
        n, cols_block = stop - start, cols[:, :, :, start:stop]
        dy_block = np.ascontiguousarray(dy[start:stop]).reshape(n, O, -1)   # [n, O, L]
        per_image = _per_image(cols_block)                          # [n, C*KH*KW, L]
        dweight = np.matmul(dy_block, per_image.transpose(0, 2, 1))  # [n, O, C*KH*KW]
        dweight.sum(axis=0, out=dweights[k].reshape(O, -1))
        if has_bias:
            dy_block.sum(axis=(0, 2), out=dbiases[k])
        if input_grad:
            dcols = np.matmul(weight.reshape(O, -1).T, dy_block)     # [n, C*KH*KW, L]
            dcols = dcols.transpose(1, 0, 2).reshape(cols_block.shape)
            dx_block = _col2im(dcols, geo, "NHW")                   # [C, n, H, W]
            np.copyto(dx[start:stop], dx_block.transpose(1, 0, 2, 3))
    indexed_blocks(per_image_block if groups == 1 else block, N, image, per_block)
    return dx, dweights.sum(axis=0), dbiases.sum(axis=0) if has_bias else None


# ---- convolution ----
def conv2d_forward(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """x [N, C, H, W], weight [O, C/g, KH, KW], bias [O] -> y [N, O, OH, OW].

    padding: int, (ph, pw), ((top, bottom), (left, right)), 'valid' or 'same'."""
    return convolution_forward(x, weight, bias, stride, padding, dilation, groups, NUMPY_MOVES)


def convolution_forward(x, weight, bias, stride, padding, dilation, groups, moves):
    """conv2d_forward with `moves` in the HWN layout."""
    check_groups(x.shape[1], weight.shape[1], groups, "conv2d", weight.shape[0])
    geo = conv_geometry(x.shape, weight.shape[2:], stride, padding, dilation)
    layout = _layout(geo, weight, groups)
    if layout == "NHW":
        y, cols = _forward_in_blocks(x, weight, bias, geo, groups)
        return y, (cols, weight, bias is not None, groups, geo)
    cols = moves.columns(x, geo, layout)                            # [C, KH, KW, OH, OW, N]
    y_cf = _conv_columns(cols, weight, groups)                      # [O, L*N]
    y_cf = y_cf.reshape(_internal_shape(weight.shape[0], x.shape[0], geo.out_hw, layout))
    y = moves.to_nchw(y_cf, layout, bias)
    return y, (cols, weight, bias is not None, groups, geo)


def conv2d_backward(dy, cache, input_grad=True):
    """dy [N, O, OH, OW] -> dx [N, C, H, W], dweight [O, C/g, KH, KW], dbias [O] (or None).

    input_grad=False skips dx (returned as None): the input is data, not a layer's output."""
    return convolution_backward(dy, cache, input_grad, NUMPY_MOVES)


def convolution_backward(dy, cache, input_grad, moves):
    """conv2d_backward with `moves` in the HWN layout."""
    cols, weight, has_bias, groups, geo = cache
    layout = _layout(geo, weight, groups)
    if layout == "NHW":
        return _backward_in_blocks(dy, cols, weight, has_bias, groups, geo, input_grad)
    dy_cf = moves.to_internal(dy, layout)                           # [O, (N, OH, OW)]
    dweight = _weight_grad(dy_cf, cols, weight.shape, groups)
    dx = None
    if input_grad:
        dx = moves.image(_columns_grad(dy_cf, weight, groups), geo, layout)
    dbias = dy_cf.reshape(dy_cf.shape[0], -1).sum(axis=1) if has_bias else None
    return dx, dweight, dbias


# ---- transposed convolution: the adjoint of conv2d ----
def conv_transpose2d_forward(x, weight, bias=None, stride=1, padding=0, output_padding=0,
                             groups=1, dilation=1):
    """x [N, C, H, W], weight [C, O/g, KH, KW], bias [O] -> y [N, O, HO, WO] with
    HO = (H - 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1.

    y is the input gradient of the convolution (weight, stride, padding, dilation) that maps
    y's shape to x's: columns W^T @ x', then col2im."""
    return transposed_forward(x, weight, bias, stride, padding, output_padding, groups, dilation,
                              NUMPY_MOVES)


def transposed_forward(x, weight, bias, stride, padding, output_padding, groups, dilation, moves):
    """conv_transpose2d_forward with `moves`."""
    geo = transposed_geometry(x.shape, weight.shape, stride, padding, output_padding, dilation)
    C = weight.shape[0]
    check_groups(x.shape[1], C // groups, groups, "conv_transpose2d", C)
    layout = _layout(geo, weight, groups)
    x_cf = moves.to_internal(x, layout)                             # [C, (N, H, W)]
    y = moves.image(_columns_grad(x_cf, weight, groups), geo, layout, bias)  # [N, O, HO, WO]
    return y, (x_cf, weight, bias is not None, groups, geo)


def conv_transpose2d_backward(dy, cache, input_grad=True):
    """dy [N, O, HO, WO] -> dx [N, C, H, W], dweight [C, O/g, KH, KW], dbias [O] (or None).

    input_grad=False skips dx (returned as None)."""
    return transposed_backward(dy, cache, input_grad, NUMPY_MOVES)


def transposed_backward(dy, cache, input_grad, moves):
    """conv_transpose2d_backward with `moves`."""
    x_cf, weight, has_bias, groups, geo = cache
    layout = _layout(geo, weight, groups)
    cols = moves.columns(dy, geo, layout)                           # [O, KH, KW, (N, H, W)]
    dweight = _weight_grad(x_cf, cols, weight.shape, groups)
    dbias = dy.sum(axis=(0, 2, 3)) if has_bias else None
    if not input_grad:
        return None, dweight, dbias
    dx_cf = _conv_columns(cols, weight, groups).reshape(x_cf.shape)  # the convolution of dy
    return moves.to_nchw(dx_cf, layout, None), dweight, dbias
