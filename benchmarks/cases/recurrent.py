"""Recurrent layers at a language-model size: batch 32, 64 steps, 256 in and hidden (float32)."""
import numpy as np

from ..harness import case

BATCH, STEPS, FEATURES = 32, 64, 256


def _recurrent_case(name):
    """forward + backward of the output of nn.<name>(256, 256, batch_first=True)."""
    def build(lib):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
        dy = rng.standard_normal((BATCH, STEPS, FEATURES)).astype(np.float32)
        if lib == "numpy":
            import numpy_transformer as nt
            layer = getattr(nt.nn, name)(FEATURES, FEATURES, batch_first=True)

            def step():
                layer(x)
                layer.backward(dy)
            return step
        import torch
        layer = getattr(torch.nn, name)(FEATURES, FEATURES, batch_first=True)
        tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

        def step():
            layer(tx)[0].backward(tdy)
        return step
    return build


for _name in ("LSTM", "GRU", "RNN"):
    case(f"{_name} {BATCH}x{STEPS}x{FEATURES}", target=1.5)(_recurrent_case(_name))
