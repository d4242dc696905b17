"""Week 2 reference: the library's convolution, max pooling and flatten."""
from numpy_transformer.nn import Conv2d, Flatten, MaxPool2d
from numpy_transformer.nn.functional import (conv2d_backward, conv2d_forward, max_pool2d_backward,
                                             max_pool2d_forward)

__all__ = ["conv2d_forward", "conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
           "flatten_forward", "flatten_backward", "Conv2d", "MaxPool2d", "Flatten"]


def flatten_forward(x):
    """x [N, ...] -> [N, D]; the cache is x's shape."""
    return x.reshape(x.shape[0], -1), x.shape


def flatten_backward(dy, cache):
    return dy.reshape(cache)
