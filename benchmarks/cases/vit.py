"""The ViT of the vit-mnist recipe: one training step's forward, loss and backward (no optimizer)."""
import numpy as np

from ..harness import case


def _batch(N, C, S, classes):
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, C, S, S)).astype(np.float32), rng.integers(0, classes, N)


@case("ViT train step b100 28x28 p4 d96 x6 h4", target=1.0)
def vit_mnist(lib):
    """Batch 100 of 1x28x28 images: 49 patch tokens + the class token, 6 blocks, mlp 192."""
    options = dict(image_size=28, patch_size=4, in_channels=1, num_classes=10, dim=96, depth=6,
                   heads=4, mlp_dim=192)
    x, y = _batch(100, 1, 28, 10)
    if lib == "numpy":
        import numpy_transformer as nt
        model, criterion = nt.models.ViT(**options), nt.nn.CrossEntropyLoss()

        def step():
            model.zero_grad()
            criterion(model(x), y)
            model.backward(criterion.backward())
        return step
    import torch
    from tests.models.vit_twin import TorchViT
    import numpy_transformer as nt
    model = TorchViT(nt.models.ViTConfig(**options))
    criterion = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        model.zero_grad()
        criterion(model(tx), ty).backward()
    return step
