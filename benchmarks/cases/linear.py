"""Linear at a realistic size (float32)."""
import numpy as np

from ..harness import case


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


@case("Linear 600x256->1024", target=1.2)
def linear(lib):
    x, dy = _inputs((600, 256), (600, 1024))
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.Linear(256, 1024)

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = torch.nn.Linear(256, 1024)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        layer(tx).backward(tdy)
    return step

