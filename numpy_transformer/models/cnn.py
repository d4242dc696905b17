"""CNN: (Conv 3x3 -> ReLU -> MaxPool 2x2) blocks, then a ReLU hidden layer and a linear classifier."""
from .. import nn


class CNN(nn.Sequential):
    """For [N, C, H, W] images; channels=(32, 64) on 28x28 gives 64 x 7 x 7 features.

    The input is data, so by default backward computes no input gradient and returns None
    (the first Conv2d skips that product, its col2im included); needs_input_grad=True returns it."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size: int = 28,
                 channels=(32, 64), hidden: int = 128, dropout: float = 0.25,
                 needs_input_grad: bool = False):
        layers, size, previous = [], image_size, in_channels
        for width in channels:
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous, size = width, size // 2
        layers += [nn.Flatten(), nn.Linear(previous * size * size, hidden), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden, num_classes))
        super().__init__(*layers)
        layers[0].needs_input_grad = needs_input_grad
