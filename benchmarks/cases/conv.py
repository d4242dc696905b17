"""Convolution, pooling and transposed convolution at CNN / GAN sizes (float32, batch 64)."""
import numpy as np

from ..harness import case


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _step(lib, make_layer, x_shape, y_shape):
    """forward + backward (input gradient included) of the layer `make_layer(nn)` builds."""
    x, dy = _inputs(x_shape, y_shape)
    if lib == "numpy":
        import numpy_transformer as nt
        layer = make_layer(nt.nn)

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = make_layer(torch.nn)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        tx.grad = None
        layer(tx).backward(tdy)
    return step


@case("Conv2d 64x16x28x28 3x3->32", target=2.0)
def conv2d(lib):
    return _step(lib, lambda nn: nn.Conv2d(16, 32, 3, padding=1), (64, 16, 28, 28), (64, 32, 28, 28))


@case("MaxPool2d 64x32x28x28 2x2", target=2.0)
def max_pool2d(lib):
    return _step(lib, lambda nn: nn.MaxPool2d(2), (64, 32, 28, 28), (64, 32, 14, 14))


@case("AvgPool2d 64x32x28x28 2x2", target=2.0)
def avg_pool2d(lib):
    return _step(lib, lambda nn: nn.AvgPool2d(2), (64, 32, 28, 28), (64, 32, 14, 14))


@case("ConvTranspose2d 64x32x7x7 4x4 s2 ->16", target=2.0)
def conv_transpose2d(lib):
    return _step(lib, lambda nn: nn.ConvTranspose2d(32, 16, 4, stride=2, padding=1),
                 (64, 32, 7, 7), (64, 16, 14, 14))
