"""`gan-mnist`: a DCGAN learns to draw MNIST digits; a sample grid per epoch in the run folder.

One training step, as in PyTorch's DCGAN example (the generator runs once per step):
    fake = G(z)
    D step: D(real) -> 1, D(fake) -> 0; D's gradients only (G gets no gradient: "detach")
    G step: D(fake) -> 1 through the updated D, back through D into G; only G is updated
"""
import contextlib
import copy
import os
from dataclasses import dataclass

import numpy as np

from .. import nn, optim
from ..data import DataLoader, Subset, transforms
from ..distributed.data_parallel import DataParallel, shard_batch
from ..distributed.sharded_loader import sum_over_shards
from ..grad_mode import no_grad
from ..models import GAN, GANConfig
from ..random import default_generator
from ..train import Task
from ..train.task import average_metrics
from .images import load_images
from .registry import Recipe, Setup, TrainingConfig, register

SAMPLES = "samples.png"   # the latest grid; samples_epoch_NNN.png keep each epoch's


class GANTask(Task):
    """Trains `gan.generator` and `gan.discriminator` with their own Adam optimizers
    (and learning-rate schedulers, if the recipe sets `schedulers`).

    With `ema_decay`, a third module `generator_ema` keeps an exponential moving average of the
    generator's weights (its batch-norm statistics copied from the generator) and draws the
    samples: the average of the last ~1/(1 - decay) steps' generators. (On gan-mnist it judged
    no better than the latest generator: 0.873 against 0.875 at decay 0.999, so it is off.)"""

    def __init__(self, gan: GAN, lr: float = 2e-4, betas=(0.5, 0.999), real_label: float = 1.0,
                 fixed_noise=None, ema_decay: float = None):
        generator_optimizer = optim.Adam(gan.generator.parameters(), lr=lr, betas=betas)
        discriminator_optimizer = optim.Adam(gan.discriminator.parameters(), lr=lr, betas=betas)
        modules = {"gan": gan}
        if ema_decay:
            if not 0.0 < ema_decay < 1.0:
                raise ValueError(f"GANTask: ema_decay must be in (0, 1), got {ema_decay}")
            modules["generator_ema"] = copy.deepcopy(gan.generator)
        super().__init__(modules, {"generator": generator_optimizer,
                                   "discriminator": discriminator_optimizer})
        self.gan, self.criterion = gan, nn.BCEWithLogitsLoss()
        self.ema_decay, self.generator_ema = ema_decay, modules.get("generator_ema")
        self.real_label = real_label   # < 1 smooths the real targets of the D step (one-sided)
        self.fixed_noise = gan.noise(64, np.random.default_rng(0)) if fixed_noise is None else fixed_noise
        # the noise is drawn like the data: the same on every rank, then sharded with the batch
        self.noise_rng = np.random.default_rng(int(default_generator().integers(2 ** 63)))
        self.parallels = None            # (D's, G's) DataParallel when data parallel

    def join(self, world) -> None:
        """Data parallel: rank 0's weights everywhere; D's and G's gradients averaged in their
        own steps; batch statistics over the global batch (SyncBatchNorm)."""
        DataParallel(world, self.modules, sync_batch_norm=False).broadcast_parameters()
        self.parallels = (DataParallel(world, {"discriminator": self.gan.discriminator}),
                          DataParallel(world, {"generator": self.gan.generator}))

    def train_step(self, batch) -> dict:
        real = batch[0] if isinstance(batch, tuple) else batch      # labels are not used
        noise = self.gan.noise(len(real), self.noise_rng)
        if self.parallels is None:
            metrics = self.step(real, noise)
        else:
            world, batch_size = self.parallels[0].world, len(real)
            (real, noise), share = shard_batch((real, noise), world.rank, world.size)
            if not share:
                raise ValueError(f"GANTask: a batch of {batch_size} images on {world.size} ranks "
                                 f"leaves rank {world.rank} none; its batch normalisation needs "
                                 f"every rank: use a batch size of at least {world.size}")
            metrics = average_metrics(world, self.step(real, noise, share), share)
        if self.generator_ema is not None:
            self.update_ema()
        for scheduler in self.schedulers.values():
            scheduler.step()
        return metrics

    def state(self) -> dict:
        return {**super().state(), "noise_rng": self.noise_rng.bit_generator.state}

    def load_state(self, state: dict) -> None:
        super().load_state(state)
        if "noise_rng" in state:
            self.noise_rng.bit_generator.state = state["noise_rng"]

    def update_ema(self) -> None:
        """ema <- decay * ema + (1 - decay) * generator, weight by weight; statistics copied."""
        decay, live = self.ema_decay, self.gan.generator
        for average, weight in zip(self.generator_ema.parameters(), live.parameters()):
            average.data *= decay
            average.data += (1.0 - decay) * weight.data
        for (_, average), (_, buffer) in zip(self.generator_ema.named_buffers(), live.named_buffers()):
            average[...] = buffer

    def step(self, real, noise, share: float = 1.0) -> dict:
        """One D step then one G step on `real` images [N, C, H, W] and `noise` [N, Z] (this
        rank's `share` of the batch, when data parallel)."""
        G, D, criterion = self.gan.generator, self.gan.discriminator, self.criterion
        d_optimizer, g_optimizer = self.optimizers["discriminator"], self.optimizers["generator"]
        d_averaged, g_averaged = ((p.averaging(share) for p in self.parallels) if self.parallels
                                  else (contextlib.nullcontext(), contextlib.nullcontext()))
        d_optimizer.zero_grad()
        with d_averaged:
            fake = G(noise)                              # its cache waits for the G step

            # D step: two calls of D (and of the criterion), backpropagated last call first.
            real_logits = D(real)                        # [N, 1]
            loss_real = criterion(real_logits, np.full_like(real_logits, self.real_label))
            fake_logits = D(fake)
            loss_fake = criterion(fake_logits, np.zeros_like(fake_logits))
            D.backward(criterion.backward())             # the fake batch; d fake is dropped: G keeps no gradient
            D.backward(criterion.backward())             # the real batch
        d_optimizer.step()

        # G step: D (updated) judges the same fakes; its gradient flows into G, D's stays unused.
        g_optimizer.zero_grad()
        with g_averaged:
            logits = D(fake)
            g_loss = criterion(logits, np.ones_like(logits))
            G.backward(D.backward(criterion.backward()))
        g_optimizer.step()
        D.zero_grad()                                    # the G step's D gradients are never applied

        d_loss = float(loss_real) + float(loss_fake)
        return {"loss": d_loss + float(g_loss), "d_loss": d_loss, "g_loss": float(g_loss),
                "d_real": _mean_probability(real_logits), "d_fake": _mean_probability(fake_logits)}

    def evaluate(self, loader) -> dict:
        """D's losses and mean probabilities on held-out real images and as many fresh fakes
        (noise from a fixed seed, so epochs compare), keeping no caches.

        G draws in eval mode; D judges each batch with that batch's statistics, as in training
        (its running statistics average real and fake batches, which fits neither), and its
        running statistics are put back afterwards."""
        G, D, criterion = self.gan.generator, self.gan.discriminator, self.criterion
        running = {name: buffer.copy() for name, buffer in D.named_buffers()}
        rng = np.random.default_rng(1)
        sums, count = dict.fromkeys(("d_loss", "g_loss", "d_real", "d_fake"), 0.0), 0
        G.eval()
        with no_grad():
            for batch in loader:
                real = batch[0] if isinstance(batch, tuple) else batch
                n = len(real)
                real_logits, fake_logits = D(real), D(G(self.gan.noise(n, rng)))
                ones, zeros = np.ones_like(real_logits), np.zeros_like(fake_logits)
                sums["d_loss"] += n * (float(criterion(real_logits, ones)) + float(criterion(fake_logits, zeros)))
                sums["g_loss"] += n * float(criterion(fake_logits, ones))
                sums["d_real"] += n * _mean_probability(real_logits)
                sums["d_fake"] += n * _mean_probability(fake_logits)
                count += n
        G.train()
        D.load_state_dict(running, strict=False)
        sums = sum_over_shards(loader, {**sums, "count": count})
        return {k: v / sums["count"] for k, v in sums.items() if k != "count"}

    def sample(self, n: int = None, rng: np.random.Generator = None, noise=None) -> np.ndarray:
        """Images in [0, 1] [n, C, H, W] from the generator (its moving average, if kept) in eval
        mode, from `noise` or n fresh vectors."""
        noise = self.gan.noise(n, rng) if noise is None else noise
        generator = self.gan.generator if self.generator_ema is None else self.generator_ema
        generator.eval()
        with no_grad():
            images = generator(noise)
        generator.train()
        images += 1.0                                    # tanh's [-1, 1] -> [0, 1]
        images *= 0.5
        return images

    def after_evaluate(self, out_dir, record: dict) -> None:
        """The fixed noise's samples: samples_epoch_NNN.png (or _step_ between epochs) and samples.png."""
        from ..viz.samples import save_image_grid
        images = self.sample(noise=self.fixed_noise)
        epoch = record["epoch"]
        name = (f"samples_epoch_{int(epoch):03d}.png" if epoch == int(epoch)
                else f"samples_step_{record['step']:07d}.png")
        for file in (name, SAMPLES):
            save_image_grid(images, os.path.join(out_dir, file))


def _mean_probability(logits) -> float:
    """Mean of sigmoid(logits): how real D finds the batch, on average."""
    return float(np.mean(0.5 * (1.0 + np.tanh(0.5 * logits))))


@dataclass
class GanMnistConfig(TrainingConfig):
    epochs: float = 12
    batch_size: int = 64
    lr: float = 4e-4             # start of the linear decay (DCGAN: 2e-4 constant)
    beta1: float = 0.5           # Adam's betas = (beta1, 0.999), as DCGAN
    latent_dim: int = 64
    width: int = 32              # channels of the 14x14 maps (7x7 maps have twice as many)
    refine: int = 2              # 3x3 conv blocks on the generator's 7x7 maps (0: plain DCGAN)
    disc_refine: int = 1         # 3x3 conv blocks on the discriminator's 7x7 maps (0: DCGAN's)
    real_label: float = 1.0      # e.g. 0.9: one-sided label smoothing
    lr_decay: bool = True        # both learning rates fall linearly to 0 over the run
    ema_decay: float = None      # e.g. 0.999: samples from a moving average of the generator
    eval_images: int = 2000      # held-out images evaluate() compares with as many fakes
    log_every: int = 50
    data: str = None             # your images instead of MNIST: square, side a multiple of 4


def images_in_tanh_range():
    """uint8 pixels [N, C, H, W] -> floats in [-1, 1] (the generator's tanh range)."""
    return transforms.Compose([transforms.ToFloat(), transforms.Normalize(0.5, 0.5)])


def build(config: GanMnistConfig, data_dir=None) -> Setup:
    images = load_images(config, data_dir)
    channels, height, width = images.shape
    if height != width or height % 4:
        raise ValueError(f"gan-mnist: the generator draws square images whose side is a multiple "
                         f"of 4; the data's are {height}x{width}")
    gan = GAN(GANConfig(latent_dim=config.latent_dim, width=config.width, refine=config.refine,
                        disc_refine=config.disc_refine, image_channels=channels,
                        image_size=height))
    task = GANTask(gan, lr=config.lr, betas=(config.beta1, 0.999), real_label=config.real_label,
                   ema_decay=config.ema_decay)
    prepare = images_in_tanh_range()
    train = DataLoader(images.train, config.batch_size, shuffle=True,
                       drop_last=True, transform=prepare, seed=config.seed)
    test = images.test
    held_out = Subset(test, np.arange(min(config.eval_images, len(test))))
    evaluation = DataLoader(held_out, 500, transform=prepare)
    if config.lr_decay:
        total = config.steps or int(config.epochs * len(train))
        task.schedulers = {name: optim.lr_scheduler.LinearLR(optimizer, 1.0, 0.0, total)
                           for name, optimizer in task.optimizers.items()}
    return Setup(task, train, evaluation, None, notes=images.notes)


def sample_images(task: GANTask, n: int, rng: np.random.Generator = None) -> np.ndarray:
    """`n` generated images in [0, 1] [n, C, H, W] (the hook `gan-quality` uses)."""
    return task.sample(n, rng)


register(Recipe("gan-mnist", "DCGAN drawing MNIST digits; sample grids per epoch (see gan-quality)",
                GanMnistConfig, build, hooks={"sample_images": sample_images}, data_field="data",
                headline=lambda r: f"mean top-class probability {r['mean_top_probability']:.3f}, "
                                   f"smallest class {r['min_class_share']:.1%} (gan-quality)"))
