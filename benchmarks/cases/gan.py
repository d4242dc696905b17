"""The gan-mnist DCGAN (width 64, latent 64): one full training step, D step then G step, Adam."""
import numpy as np

from ..harness import case


@case("GAN train step b64 28x28 w64 (D+G, Adam)", target=1.5, recipe="gan-mnist")
def gan_step(lib):
    """Batch 64: G once, D on real and fake, D updated, D on fake again, back into G, G updated."""
    rng = np.random.default_rng(0)
    real = rng.uniform(-1, 1, (64, 1, 28, 28)).astype(np.float32)
    noise = rng.standard_normal((64, 64)).astype(np.float32)
    import numpy_transformer as nt
    from numpy_transformer.recipes.gan import GANTask
    gan = nt.models.GAN(nt.models.GANConfig(latent_dim=64, width=64))
    if lib == "numpy":
        task = GANTask(gan, lr=2e-4, betas=(0.5, 0.999))
        return lambda: task.step(real, noise)
    import torch
    from tests.models.gan_twin import TorchGANStep
    twin = TorchGANStep(gan, lr=2e-4, betas=(0.5, 0.999), dtype=torch.float32)
    return lambda: twin.step(real, noise)
