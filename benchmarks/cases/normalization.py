"""LayerNorm, BatchNorm2d and Embedding at realistic sizes (float32), forward + backward."""
import numpy as np

from ..harness import case


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _layer_step(lib, make_ours, make_torch, x, dy):
    """forward + backward of a float layer; torch accumulates the input gradient as ours returns it."""
    if lib == "numpy":
        layer = make_ours()

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = make_torch()
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        layer(tx).backward(tdy)
    return step


@case("LayerNorm 64x128x512", target=1.5)
def layer_norm(lib):
    import numpy_transformer as nt
    x, dy = _inputs((64, 128, 512), (64, 128, 512))
    return _layer_step(lib, lambda: nt.nn.LayerNorm(512),
                       lambda: __import__("torch").nn.LayerNorm(512), x, dy)


@case("BatchNorm2d 64x32x28x28", target=1.5)
def batch_norm_2d(lib):
    import numpy_transformer as nt
    x, dy = _inputs((64, 32, 28, 28), (64, 32, 28, 28))
    return _layer_step(lib, lambda: nt.nn.BatchNorm2d(32),
                       lambda: __import__("torch").nn.BatchNorm2d(32), x, dy)


@case("Embedding 64x128 of 50257x768", target=1.5)
def embedding(lib):
    ids = np.random.default_rng(0).integers(0, 50257, (64, 128))
    (dy,) = _inputs((64, 128, 768))
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.Embedding(50257, 768)

        def step():
            layer(ids)
            layer.backward(dy)
        return step
    import torch
    layer = torch.nn.Embedding(50257, 768)
    tids, tdy = torch.from_numpy(ids), torch.from_numpy(dy)

    def step():
        layer(tids).backward(tdy)
    return step
