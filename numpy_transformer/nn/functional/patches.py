"""Patches: images cut into p x p tiles, one row per tile (the ViT's tokens before their linear
map), and the hybrid ViT's stem in front of the cut: a convolution and its activation.

N images, C channels, H x W pixels, p patch size, P = (H/p)(W/p) patches, S stem channels:

    rows  = patches(x)                               [N, C, H, W] -> [N*P, C*p*p]
    rows  = patches(act(conv2d(x, weight) + bias))   [N, C, H, W] -> [N*P, S*p*p]  (conv_patches)

A row lists its tile's values channel by channel, row by row: the order of a torch
Conv2d(C, E, p, stride=p) weight [E, C, p, p] flattened, so rows @ weight.reshape(E, -1).T is
that convolution.
"""
from .activation import gelu_backward, gelu_forward, relu_backward, relu_forward
from .conv import conv2d_backward, conv2d_forward

__all__ = ["patches_forward", "patches_backward", "conv_patches_forward", "conv_patches_backward",
           "check_conv_patches"]

# The stem's activations: name -> (forward, backward). 'gelu' is the exact one.
PATCH_ACTIVATIONS = {"gelu": (gelu_forward, gelu_backward), "relu": (relu_forward, relu_backward)}


def patches_forward(x, patch_size):
    """x [N, C, H, W] -> rows [N*P, C*p*p], one row per patch (a copy); H and W divisible by p."""
    N, C, H, W = x.shape
    p = patch_size
    h, w = H // p, W // p
    # [N, C, h, p, w, p] -> [N, h, w, C, p, p] -> [N*P, C*p*p]
    rows = x.reshape(N, C, h, p, w, p).transpose(0, 2, 4, 1, 3, 5).reshape(N * h * w, -1)
    return rows, (x.shape, p)


def patches_backward(d_rows, cache):
    """d_rows [N*P, C*p*p] -> d_x [N, C, H, W]: each row's values back to the pixels it cut."""
    (N, C, H, W), p = cache
    # [N*P, C*p*p] -> [N, h, w, C, p, p] -> [N, C, h, p, w, p] -> [N, C, H, W]
    d_x = d_rows.reshape(N, H // p, W // p, C, p, p).transpose(0, 3, 1, 4, 2, 5)
    return d_x.reshape(N, C, H, W)


def check_conv_patches(x, weight, patch_size, activation):
    """Raise unless conv_patches takes these: an odd square kernel, whole patches, a known activation."""
    k = weight.shape[-1]
    if activation not in PATCH_ACTIVATIONS:
        raise ValueError(f"conv_patches: activation must be one of {list(PATCH_ACTIVATIONS)}, "
                         f"got {activation!r}")
    if weight.ndim != 4 or weight.shape[-2] != k or k % 2 == 0 or x.ndim != 4 \
            or x.shape[2] % patch_size or x.shape[3] % patch_size:
        raise ValueError(f"conv_patches: needs images [N, C, H, W] with H and W divisible by "
                         f"patch_size={patch_size} and a weight [S, C, k, k] with k odd, got "
                         f"{list(x.shape)} and {list(weight.shape)}")


def conv_patches_forward(x, weight, bias, patch_size, activation="gelu"):
    """x [N, C, H, W], weight [S, C, k, k] (k odd), bias [S] or None -> rows [N*P, S*p*p]: the
    patches of act(conv2d(x)), the convolution padded to keep H x W."""
    check_conv_patches(x, weight, patch_size, activation)
    act_forward, _ = PATCH_ACTIVATIONS[activation]
    z, conv_cache = conv2d_forward(x, weight, bias, padding=weight.shape[-1] // 2)  # [N, S, H, W]
    a, act_cache = act_forward(z)
    rows, patch_cache = patches_forward(a, patch_size)
    return rows, (conv_cache, act_cache, patch_cache, activation)


def conv_patches_backward(d_rows, cache, input_grad=True):
    """d_rows [N*P, S*p*p] -> d_x [N, C, H, W] (None with input_grad=False), d_weight
    [S, C, k, k], d_bias [S] (None without a bias)."""
    conv_cache, act_cache, patch_cache, activation = cache
    _, act_backward = PATCH_ACTIVATIONS[activation]
    d_a = patches_backward(d_rows, patch_cache)              # back to the feature map
    d_z = act_backward(d_a, act_cache)                       # through the activation
    return conv2d_backward(d_z, conv_cache, input_grad)      # through the convolution
