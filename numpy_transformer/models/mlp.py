"""MLP: flatten, then Linear + activation (+ dropout) layers."""
from .. import nn

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid}


class MLP(nn.Sequential):
    """sizes=(784, 256, 128, 10): Flatten, Linear(784, 256), ReLU, ..., Linear(128, 10).

    The input is data, so by default backward computes no input gradient and returns None
    (the first Linear skips that product); needs_input_grad=True returns it."""

    def __init__(self, sizes=(784, 256, 128, 10), activation: str = "relu", dropout: float = 0.0,
                 needs_input_grad: bool = False):
        layers = [nn.Flatten()]
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(ACTIVATIONS[activation]())
                if dropout:
                    layers.append(nn.Dropout(dropout))
        super().__init__(*layers)
        self.sizes = tuple(sizes)
        layers[1].needs_input_grad = needs_input_grad
