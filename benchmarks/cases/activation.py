"""GELU, exact (erf) and tanh, on a transformer MLP's activations (float32)."""
import numpy as np

from ..harness import case

SHAPE = (64, 128, 1024)


def _gelu(lib, approximate):
    rng = np.random.default_rng(0)
    x, dy = (rng.standard_normal(SHAPE).astype(np.float32) for _ in range(2))
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.GELU(approximate)

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = torch.nn.GELU(approximate)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        tx.grad = None                  # a fresh gradient each step, as ours returns
        layer(tx).backward(tdy)
    return step


@case("GELU 64x128x1024", target=1.5)
def gelu(lib):
    return _gelu(lib, "none")


@case("GELU tanh 64x128x1024", target=1.5)
def gelu_tanh(lib):
    return _gelu(lib, "tanh")
