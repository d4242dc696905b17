"""Week 1 reference: the library's activations, losses and Linear."""
from numpy_transformer.nn import Linear
from numpy_transformer.nn.functional import (binary_cross_entropy_backward,
                                             binary_cross_entropy_forward, cross_entropy_backward,
                                             cross_entropy_forward, linear_backward,
                                             linear_forward, relu_backward, relu_forward,
                                             sigmoid_backward, sigmoid_forward, softmax_backward,
                                             softmax_forward, tanh_backward, tanh_forward)

__all__ = ["relu_forward", "relu_backward", "sigmoid_forward", "sigmoid_backward", "tanh_forward",
           "tanh_backward", "softmax_forward", "softmax_backward", "cross_entropy_forward",
           "cross_entropy_backward", "binary_cross_entropy_forward", "binary_cross_entropy_backward",
           "linear_forward", "linear_backward", "Linear"]
