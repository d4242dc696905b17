"""CNN: (Conv 3x3 -> ReLU -> MaxPool 2x2) blocks, then a ReLU hidden layer and a linear classifier."""
import numpy as np

from .. import nn


class CNN(nn.Sequential):
    """For [N, C, H, W] images (`image_size`: H = W, or (H, W)); channels=(32, 64) on 28x28 gives
    64 x 7 x 7 features.

    The input is data, so by default backward computes no input gradient and returns None
    (the first Conv2d skips that product, its col2im included); needs_input_grad=True returns it."""

    def __init__(self, in_channels: int = 1, num_classes: int = 10, image_size=28,
                 channels=(32, 64), hidden: int = 128, dropout: float = 0.25,
                 needs_input_grad: bool = False):
        height, width_ = (image_size, image_size) if np.isscalar(image_size) else image_size
        if min(height, width_) < 2 ** len(channels):
            raise ValueError(f"CNN: images of {height}x{width_} are too small for {len(channels)} "
                             f"2x2 poolings (at least {2 ** len(channels)} pixels a side)")
        layers, previous = [], in_channels
        for width in channels:
            layers += [nn.Conv2d(previous, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            previous, height, width_ = width, height // 2, width_ // 2
        layers += [nn.Flatten(), nn.Linear(previous * height * width_, hidden), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(hidden, num_classes))
        super().__init__(*layers)
        layers[0].needs_input_grad = needs_input_grad
