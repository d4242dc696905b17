"""The hybrid ViT's stem, conv_patches, in one compiled pass each way (Numba, float32): image
by image, the k x k convolution, the activation and the cut into patch rows, where the fast
kernels make an im2col, a product, the activation's passes and a transposing copy, and as many
again backward. The backward recomputes the convolution (k*k*C products a value) instead of
keeping the [N, S, H, W] map. vit-mnist's stem (128 images, 16 channels), forward and backward:
4.2 ms against the fast kernels' 13.0 (2 threads, 2026-12-07, `e1a7a75`). Images go in ranges on
the fast kernels' threads; each image's weight-gradient terms are its own, summed in image
order, so results do not depend on the split. Other dtypes take kernels/cpu/patches.py. The
sums run over the padded grid's unused columns too, where the gradient is 0: an infinite pixel
can make a NaN weight gradient there that the reference would not."""
import numpy as np
from numba import njit

from ..cpu import patches as numpy_kernel
from ..cpu.threads import row_chunks, run_chunks
from .activation import _F, _INV_SQRT_2PI, normal_cdf
from .fast_math import exp

__all__ = ["conv_patches_forward", "conv_patches_backward"]

compiled = njit(nogil=True, cache=True, error_model="numpy")

ACTIVATION_CODES = {"gelu": 0, "relu": 1}


@compiled
def _activate(z, act, a):                            # flat: a = act(z)
    if act == 0:
        for k in range(z.size):
            a[k] = z[k] * normal_cdf(z[k])
    else:
        for k in range(z.size):
            a[k] = z[k] if not z[k] <= 0 else _F(0.0)   # NaN stays NaN, as np.maximum's


@compiled
def _times_slope(z, act, g):                         # flat: g *= act'(z)
    if act == 0:
        for k in range(z.size):
            g[k] *= normal_cdf(z[k]) + z[k] * exp(z[k] * z[k] * _F(-0.5)) * _INV_SQRT_2PI
    else:
        for k in range(z.size):
            g[k] = g[k] if z[k] > 0 else _F(0.0)


# The padded image is kept flat, a row of WP = W + k - 1 values, and the feature map z [S, H*WP]
# on the same grid (its last k - 1 columns unused): tap (i, j) of the kernel reads the image at
# a fixed offset i * WP + j from each output, so each tap is one long contiguous loop.


@njit(inline="always")
def _pad(x, n, K, image):                            # image [C, HP*WP + k-1] <- x[n], zeros around
    C, H, W = x.shape[1:]
    WP, r = W + K - 1, K // 2
    for c in range(C):
        for h in range(H):
            for w in range(W):
                image[c, (r + h) * WP + r + w] = x[n, c, h, w]


@njit(inline="always")
def _convolve(image, weight, bias, WP, z):           # z [S, H*WP] <- bias + the taps' sum
    S, C, K = weight.shape[0], weight.shape[1], weight.shape[2]
    L = z.shape[1]
    for s in range(S):
        out = z[s]
        out[:] = bias[s]
        for c in range(C):
            for i in range(K):
                for j in range(K):
                    wt, tap = weight[s, c, i, j], image[c, i * WP + j:i * WP + j + L]
                    for q in range(L):                   # views indexed from 0: it vectorises
                        out[q] += wt * tap[q]


@njit(inline="always")
def _cut_order(H, W, p, S, WP):                      # for each value of an image's patch rows, in
    where = np.empty((H // p) * (W // p) * S * p * p, np.intp)   # order: its place in [S, H*WP]
    k = 0
    for ph in range(H // p):
        for pw in range(W // p):
            for s in range(S):
                for dh in range(p):
                    for dw in range(p):
                        where[k] = s * H * WP + (ph * p + dh) * WP + pw * p + dw
                        k += 1
    return where


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def _total(a):                                       # sum of a, reassociated as _dot
    total = a.dtype.type(0)
    for q in range(a.size):
        total += a[q]
    return total


@njit(nogil=True, cache=True, error_model="numpy", fastmath={"reassoc"})
def _dot(a, b):                                      # sum of a b; reassociated into SIMD
    total = a.dtype.type(0)                          # lanes: a fixed order per build
    for q in range(a.size):
        total += a[q] * b[q]
    return total


@compiled
def _forward(x, weight, bias, p, act, first, last, rows):
    """rows [N*P, S*p*p] of images first:last."""
    N, C, H, W = x.shape
    S, K = weight.shape[0], weight.shape[2]
    WP = W + K - 1
    image = np.zeros((C, (H + K - 1) * WP + K - 1), x.dtype)
    z, a = np.empty((S, H * WP), x.dtype), np.empty(S * H * WP, x.dtype)
    where, P = _cut_order(H, W, p, S, WP), (H // p) * (W // p)
    for n in range(first, last):
        _pad(x, n, K, image)
        _convolve(image, weight, bias, WP, z)
        _activate(z.reshape(-1), act, a)
        block = rows[n * P:(n + 1) * P].reshape(-1)  # the image's rows <- the cut of a
        for k in range(block.size):
            block[k] = a[where[k]]


@compiled
def _backward(x, weight, bias, p, act, d_rows, first, last, d_weight_n, d_bias_n, input_grad, d_x):
    """Each image's terms d_weight_n [N, S, C, k, k] and d_bias_n [N, S], and d_x (if
    input_grad), of images first:last."""
    N, C, H, W = x.shape
    S, K = weight.shape[0], weight.shape[2]
    WP, r = W + K - 1, K // 2
    image = np.zeros((C, (H + K - 1) * WP + K - 1), x.dtype)
    d_image = np.empty_like(image)
    z, g = np.empty((S, H * WP), x.dtype), np.empty((S, H * WP), x.dtype)
    where, P, flat = _cut_order(H, W, p, S, WP), (H // p) * (W // p), g.reshape(-1)
    for n in range(first, last):
        _pad(x, n, K, image)
        _convolve(image, weight, bias, WP, z)
        flat[:] = 0                                  # 0 off the map (its last k - 1 columns)
        block = d_rows[n * P:(n + 1) * P].reshape(-1)
        for k in range(block.size):                  # g = d_a, back from the rows
            flat[where[k]] = block[k]
        _times_slope(z.reshape(-1), act, g.reshape(-1))      # g = d_z = d_a act'(z)
        d_image[:] = 0
        L = g.shape[1]
        for s in range(S):
            d_z = g[s]
            d_bias_n[n, s] = _total(d_z)
            for c in range(C):
                for i in range(K):
                    for j in range(K):
                        start = i * WP + j
                        d_weight_n[n, s, c, i, j] = _dot(d_z, image[c, start:start + L])
                        if input_grad:
                            wt, d_tap = weight[s, c, i, j], d_image[c, start:start + L]
                            for q in range(L):
                                d_tap[q] += wt * d_z[q]
        if input_grad:
            for c in range(C):
                for h in range(H):
                    for w in range(W):
                        d_x[n, c, h, w] = d_image[c, (r + h) * WP + r + w]


def _compiled(x, weight, bias, patch_size, activation) -> bool:
    """Whether the compiled kernel takes these: float32 images and weight that fit, an odd square
    kernel, whole patches (anything else goes to the NumPy kernel, and its errors)."""
    if x.ndim != 4 or weight.ndim != 4 or x.dtype != np.float32 or weight.dtype != np.float32:
        return False
    S, C, K, K2 = weight.shape
    return (activation in ACTIVATION_CODES and C == x.shape[1] and K == K2 and K % 2 == 1
            and (bias is None or bias.shape == (S,)) and patch_size >= 1
            and x.shape[2] % patch_size == 0 and x.shape[3] % patch_size == 0)


def _by_image(fn, N: int, size: int) -> None:
    run_chunks(fn, row_chunks(N, size))


def conv_patches_forward(x, weight, bias, patch_size, activation="gelu"):
    """As the reference's (nn/functional/patches.py)."""
    if not _compiled(x, weight, bias, patch_size, activation):
        return numpy_kernel.conv_patches_forward(x, weight, bias, patch_size, activation)
    x, weight = np.ascontiguousarray(x), np.ascontiguousarray(weight)
    N, _, H, W = x.shape
    S, p = weight.shape[0], patch_size
    has_bias = bias is not None
    bias = np.ascontiguousarray(bias, np.float32) if has_bias else np.zeros(S, np.float32)
    rows = np.empty((N * (H // p) * (W // p), S * p * p), np.float32)
    act = ACTIVATION_CODES[activation]
    _by_image(lambda first, last: _forward(x, weight, bias, p, act, first, last, rows),
              N, rows.size * weight[0].size)
    return rows, ("compiled", x, weight, bias, has_bias, p, act)


def conv_patches_backward(d_rows, cache, input_grad=True):
    """As the reference's."""
    if cache[0] != "compiled":
        return numpy_kernel.conv_patches_backward(d_rows, cache, input_grad)
    _, x, weight, bias, has_bias, p, act = cache
    N, _, H, W = x.shape
    expected = (N * (H // p) * (W // p), weight.shape[0] * p * p)
    if d_rows.shape != expected:
        raise ValueError(f"conv_patches_backward: d_rows must be {list(expected)}, the forward's "
                         f"rows, got {list(d_rows.shape)}")
    d_rows = np.ascontiguousarray(d_rows, np.float32)
    input_grad = bool(input_grad)
    d_weight_n = np.empty((N, *weight.shape), np.float32)     # [N, S, C, k, k]
    d_bias_n = np.empty((N, weight.shape[0]), np.float32)     # [N, S]
    d_x = np.empty_like(x) if input_grad else np.empty((1, 1, 1, 1), np.float32)
    _by_image(lambda first, last: _backward(x, weight, bias, p, act, d_rows, first, last,
                                            d_weight_n, d_bias_n, input_grad, d_x),
              N, 2 * d_rows.size * weight[0].size)
    return (d_x if input_grad else None, d_weight_n.sum(axis=0),
            d_bias_n.sum(axis=0) if has_bias else None)
