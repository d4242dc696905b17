"""ViT training steps: forward, cross-entropy and backward (no optimizer step on either side)."""
import numpy as np

from ..harness import case


def _batch(N, C, S, classes):
    rng = np.random.default_rng(0)
    return rng.standard_normal((N, C, S, S)).astype(np.float32), rng.integers(0, classes, N)


def _step(lib, batch, patch_size, depth=6, stem_channels=0):
    """1x28x28 images, dim 96, 4 heads, mlp 192, 10 classes, class-token pooling."""
    options = dict(image_size=28, patch_size=patch_size, in_channels=1, num_classes=10, dim=96,
                   depth=depth, heads=4, mlp_dim=192, stem_channels=stem_channels)
    x, y = _batch(batch, 1, 28, 10)
    import numpy_transformer as nt
    if lib == "numpy":
        model, criterion = nt.models.ViT(**options), nt.nn.CrossEntropyLoss()
        model.needs_input_grad = False                    # images are data, as in torch's step

        def step():
            model.zero_grad()
            criterion(model(x), y)
            with nt.kernels.deferred_weight_grads():      # as the vit-mnist recipe's step
                model.backward(criterion.backward())
        return step
    import torch
    from tests.models.vit_twin import TorchViT
    model = TorchViT(nt.models.ViTConfig(**options))
    criterion = torch.nn.CrossEntropyLoss()
    tx, ty = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        model.zero_grad()
        criterion(model(tx), ty).backward()
    return step


@case("ViT train step b100 28x28 p4 d96 x6 h4", target=1.0)
def vit_patch4(lib):
    """49 patch tokens + the class token."""
    return _step(lib, 100, 4)


@case("ViT train step b128 28x28 stem16 p7 d96 x4 h4 (vit-mnist)", target=1.0, recipe="vit-mnist")
def vit_mnist(lib):
    """The vit-mnist recipe's model: a 3x3 convolution to 16 channels, then 16 patch tokens +
    the class token, batch 128."""
    return _step(lib, 128, 7, depth=4, stem_channels=16)
