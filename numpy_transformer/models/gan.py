"""DCGAN for 28x28 images: a Generator (noise -> image) and a Discriminator (image -> logit).

    Generator      z [N, Z] -> Linear -> BN -> ReLU -> [N, 2W, 7, 7]
                   (refine: -> Conv 3x3 -> BN -> ReLU, R times, at 7x7)
                   -> ConvT 4x4/2 -> BN -> ReLU -> [N, W, 14, 14]
                   -> ConvT 4x4/2 -> Tanh       -> [N, 1, 28, 28] in [-1, 1]
    Discriminator  x [N, 1, 28, 28] -> Conv 4x4/2 -> LeakyReLU -> [N, W, 14, 14]
                   -> Conv 4x4/2 -> BN -> LeakyReLU -> [N, 2W, 7, 7]
                   (disc_refine: -> Conv 3x3 -> BN -> LeakyReLU, R' times, at 7x7)
                   -> Flatten -> Linear -> [N, 1] logits (real > 0 > fake)

Z = latent_dim, W = width. Both are Sequentials with named layers, so a torch.nn.Sequential
built from an OrderedDict of the same names has the same state-dict keys.
"""
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..nn import init
from ..random import default_generator

__all__ = ["GANConfig", "Generator", "Discriminator", "GAN"]


@dataclass
class GANConfig:
    latent_dim: int = 64     # Z: size of the noise vector
    width: int = 64          # W: channels of the 14x14 maps (the 7x7 maps have 2W)
    image_channels: int = 1
    image_size: int = 28     # must be divisible by 4 (two stride-2 steps)
    leak: float = 0.2        # LeakyReLU slope in the discriminator
    refine: int = 0          # R: 3x3 conv blocks on the generator's 7x7 maps (global shape)
    disc_refine: int = 0     # R': 3x3 conv blocks on the discriminator's 7x7 maps


def _check(config: GANConfig) -> None:
    if config.image_size % 4 or config.image_size < 4:
        raise ValueError(f"GAN: image_size must be a positive multiple of 4, got {config.image_size}")
    if config.refine < 0 or config.disc_refine < 0:
        raise ValueError(f"GAN: refine and disc_refine must be >= 0, got {config.refine}, "
                         f"{config.disc_refine}")
    if min(config.latent_dim, config.width, config.image_channels) < 1:
        raise ValueError(f"GAN: latent_dim, width and image_channels must be positive, got "
                         f"{config.latent_dim}, {config.width}, {config.image_channels}")


class Generator(nn.Sequential):
    """Noise [N, Z] -> images [N, C, H, W] in [-1, 1]."""

    def __init__(self, config: GANConfig):
        _check(config)
        w, s, c = config.width, config.image_size // 4, config.image_channels
        super().__init__(OrderedDict([
            ("project", nn.Linear(config.latent_dim, 2 * w * s * s, bias=False)),
            ("project_norm", nn.BatchNorm1d(2 * w * s * s)),
            ("project_act", nn.ReLU()),
            ("reshape", nn.Unflatten(1, (2 * w, s, s))),                          # [N, 2W, s, s]
            *_refine_blocks(2 * w, config.refine),                               # [N, 2W, s, s]
            ("up1", nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False)),  # [N, W, 2s, 2s]
            ("norm1", nn.BatchNorm2d(w)),
            ("act1", nn.ReLU()),
            ("up2", nn.ConvTranspose2d(w, c, 4, stride=2, padding=1)),           # [N, C, 4s, 4s]
            ("out", nn.Tanh()),
        ]))
        self.config = config


def _refine_blocks(channels: int, count: int, activation=nn.ReLU) -> list:
    """(name, layer) pairs of `count` blocks Conv 3x3 (same size) -> BN -> activation."""
    layers = []
    for k in range(1, count + 1):
        layers += [(f"refine{k}", nn.Conv2d(channels, channels, 3, padding=1, bias=False)),
                   (f"refine{k}_norm", nn.BatchNorm2d(channels)),
                   (f"refine{k}_act", activation())]
    return layers


class Discriminator(nn.Sequential):
    """Images [N, C, H, W] -> one logit per image [N, 1] (positive: judged real)."""

    def __init__(self, config: GANConfig):
        _check(config)
        w, s, c = config.width, config.image_size // 4, config.image_channels
        super().__init__(OrderedDict([
            ("conv1", nn.Conv2d(c, w, 4, stride=2, padding=1)),                  # [N, W, 2s, 2s]
            ("act1", nn.LeakyReLU(config.leak)),
            ("conv2", nn.Conv2d(w, 2 * w, 4, stride=2, padding=1, bias=False)),  # [N, 2W, s, s]
            ("norm2", nn.BatchNorm2d(2 * w)),
            ("act2", nn.LeakyReLU(config.leak)),
            *_refine_blocks(2 * w, config.disc_refine, lambda: nn.LeakyReLU(config.leak)),
            ("flatten", nn.Flatten()),
            ("classify", nn.Linear(2 * w * s * s, 1)),
        ]))
        self.config = config


def dcgan_init_(module, generator=None) -> None:
    """DCGAN's initialisation: conv and linear weights ~ N(0, 0.02), batch-norm scales ~ N(1, 0.02),
    biases 0."""
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            init.normal_(layer.weight, 0.0, 0.02, generator=generator)
            if layer.bias is not None:
                init.zeros_(layer.bias)
        elif isinstance(layer, (nn.BatchNorm1d, nn.BatchNorm2d)):
            init.normal_(layer.weight, 1.0, 0.02, generator=generator)
            init.zeros_(layer.bias)


class GAN(nn.Module):
    """The pair: `generator` and `discriminator` (trained against each other by GANTask)."""

    def __init__(self, config: GANConfig = None):
        super().__init__()
        self.config = config or GANConfig()
        self.generator = Generator(self.config)
        self.discriminator = Discriminator(self.config)
        dcgan_init_(self)

    def noise(self, n: int, rng: np.random.Generator = None) -> np.ndarray:
        """n latent vectors ~ N(0, 1) [n, Z] in the parameters' dtype."""
        rng = rng or default_generator()
        dtype = self.generator.project.weight.dtype
        return rng.standard_normal((n, self.config.latent_dim), dtype=dtype)

    def forward(self, z):
        """Images from noise (the generator alone)."""
        return self.generator(z)

    def backward(self, grad_output):
        return self.generator.backward(grad_output)
