"""Convolution, pooling and transposed convolution at CNN / GAN sizes (float32, batch 64), and
each convolution of the CNN and GAN training steps alone ("CNN part", "GAN part")."""
import numpy as np

from ..harness import case


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _step(lib, make_layer, x_shape, y_shape, input_grad=True):
    """forward + backward of the layer `make_layer(nn)` builds; with input_grad=False the input
    is data (the first layer of a model) and no input gradient is computed."""
    x, dy = _inputs(x_shape, y_shape)
    if lib == "numpy":
        import numpy_transformer as nt
        layer = make_layer(nt.nn)
        layer.needs_input_grad = input_grad

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = make_layer(torch.nn)
    tx, tdy = torch.from_numpy(x).requires_grad_(input_grad), torch.from_numpy(dy)

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


@case("CNN part: Conv2d 64x1x28x28 3x3->32, data input", target=2.0)
def cnn_conv1(lib):
    return _step(lib, lambda nn: nn.Conv2d(1, 32, 3, padding=1), (64, 1, 28, 28),
                 (64, 32, 28, 28), input_grad=False)


@case("CNN part: Conv2d 64x32x14x14 3x3->64", target=2.0)
def cnn_conv2(lib):
    return _step(lib, lambda nn: nn.Conv2d(32, 64, 3, padding=1), (64, 32, 14, 14),
                 (64, 64, 14, 14))


@case("GAN part: Conv2d 64x1x28x28 4x4 s2 ->64", target=2.0)
def gan_d_conv1(lib):
    return _step(lib, lambda nn: nn.Conv2d(1, 64, 4, stride=2, padding=1), (64, 1, 28, 28),
                 (64, 64, 14, 14))


@case("GAN part: Conv2d 64x64x14x14 4x4 s2 ->128", target=2.0)
def gan_d_conv2(lib):
    return _step(lib, lambda nn: nn.Conv2d(64, 128, 4, stride=2, padding=1, bias=False),
                 (64, 64, 14, 14), (64, 128, 7, 7))


@case("GAN part: ConvTranspose2d 64x128x7x7 4x4 s2 ->64", target=2.0)
def gan_g_up1(lib):
    return _step(lib, lambda nn: nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1, bias=False),
                 (64, 128, 7, 7), (64, 64, 14, 14))


@case("GAN part: ConvTranspose2d 64x64x14x14 4x4 s2 ->1", target=2.0)
def gan_g_up2(lib):
    return _step(lib, lambda nn: nn.ConvTranspose2d(64, 1, 4, stride=2, padding=1),
                 (64, 64, 14, 14), (64, 1, 28, 28))
