"""The hybrid stem's conv_patches with the fast kernels' convolution and activation; the cut
into patch rows is the reference's (one transposing copy each way)."""
from ...nn.functional.patches import check_conv_patches, patches_backward, patches_forward
from . import activation, conv

__all__ = ["conv_patches_forward", "conv_patches_backward"]

ACTIVATIONS = {"gelu": (activation.gelu_forward, activation.gelu_backward),
               "relu": (activation.relu_forward, activation.relu_backward)}


def conv_patches_forward(x, weight, bias, patch_size, activation="gelu"):
    """As the reference's (nn/functional/patches.py)."""
    check_conv_patches(x, weight, patch_size, activation)
    act_forward, _ = ACTIVATIONS[activation]
    z, conv_cache = conv.conv2d_forward(x, weight, bias, padding=weight.shape[-1] // 2)
    a, act_cache = act_forward(z)
    rows, patch_cache = patches_forward(a, patch_size)
    return rows, (conv_cache, act_cache, patch_cache, activation)


def conv_patches_backward(d_rows, cache, input_grad=True):
    """As the reference's."""
    conv_cache, act_cache, patch_cache, activation = cache
    _, act_backward = ACTIVATIONS[activation]
    d_z = act_backward(patches_backward(d_rows, patch_cache), act_cache)
    return conv.conv2d_backward(d_z, conv_cache, input_grad)
