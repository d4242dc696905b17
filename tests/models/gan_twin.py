"""The PyTorch twin of nt.models.GAN and of one GANTask step, written independently of ours."""
from collections import OrderedDict

import torch
from torch import nn


def torch_generator(config) -> nn.Sequential:
    w, s, c = config.width, config.image_size // 4, config.image_channels
    return nn.Sequential(OrderedDict([
        ("project", nn.Linear(config.latent_dim, 2 * w * s * s, bias=False)),
        ("project_norm", nn.BatchNorm1d(2 * w * s * s)),
        ("project_act", nn.ReLU()),
        ("reshape", nn.Unflatten(1, (2 * w, s, s))),
        *[layer for k in range(1, config.refine + 1) for layer in (
            (f"refine{k}", nn.Conv2d(2 * w, 2 * w, 3, padding=1, bias=False)),
            (f"refine{k}_norm", nn.BatchNorm2d(2 * w)),
            (f"refine{k}_act", nn.ReLU()))],
        ("up1", nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False)),
        ("norm1", nn.BatchNorm2d(w)),
        ("act1", nn.ReLU()),
        ("up2", nn.ConvTranspose2d(w, c, 4, stride=2, padding=1)),
        ("out", nn.Tanh()),
    ]))


def torch_discriminator(config) -> nn.Sequential:
    w, s, c = config.width, config.image_size // 4, config.image_channels
    return nn.Sequential(OrderedDict([
        ("conv1", nn.Conv2d(c, w, 4, stride=2, padding=1)),
        ("act1", nn.LeakyReLU(config.leak)),
        ("conv2", nn.Conv2d(w, 2 * w, 4, stride=2, padding=1, bias=False)),
        ("norm2", nn.BatchNorm2d(2 * w)),
        ("act2", nn.LeakyReLU(config.leak)),
        *[layer for k in range(1, config.disc_refine + 1) for layer in (
            (f"refine{k}", nn.Conv2d(2 * w, 2 * w, 3, padding=1, bias=False)),
            (f"refine{k}_norm", nn.BatchNorm2d(2 * w)),
            (f"refine{k}_act", nn.LeakyReLU(config.leak)))],
        ("flatten", nn.Flatten()),
        ("classify", nn.Linear(2 * w * s * s, 1)),
    ]))


def copy_weights(ours, theirs) -> None:
    """Our state dict (parameters and batch-norm statistics) into the torch module, by name."""
    theirs.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in ours.state_dict().items()})


class TorchGANStep:
    """PyTorch's DCGAN example step: D on real and fake.detach(), then G through D."""

    def __init__(self, ours_gan, lr, betas, real_label=1.0, dtype=torch.float64):
        self.G = torch_generator(ours_gan.config).to(dtype)
        self.D = torch_discriminator(ours_gan.config).to(dtype)
        copy_weights(ours_gan.generator, self.G)
        copy_weights(ours_gan.discriminator, self.D)
        self.g_optimizer = torch.optim.Adam(self.G.parameters(), lr=lr, betas=betas)
        self.d_optimizer = torch.optim.Adam(self.D.parameters(), lr=lr, betas=betas)
        self.criterion, self.real_label = nn.BCEWithLogitsLoss(), real_label

    def step(self, real, noise) -> dict:
        real, noise = torch.from_numpy(real), torch.from_numpy(noise)
        self.d_optimizer.zero_grad()
        real_logits = self.D(real)
        loss_real = self.criterion(real_logits, torch.full_like(real_logits, self.real_label))
        fake = self.G(noise)
        fake_logits = self.D(fake.detach())
        loss_fake = self.criterion(fake_logits, torch.zeros_like(fake_logits))
        (loss_real + loss_fake).backward()
        self.d_optimizer.step()
        self.g_optimizer.zero_grad()
        logits = self.D(fake)
        g_loss = self.criterion(logits, torch.ones_like(logits))
        g_loss.backward()
        self.g_optimizer.step()
        return {"d_loss": (loss_real + loss_fake).item(), "g_loss": g_loss.item()}
