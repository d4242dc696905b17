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


@case("RNN LM part: LSTM forward 32x32x256", target=1.5)
def lstm_forward(lib):
    """The RNN LM's LSTM forward alone, time-major [32 steps, 32, 256] (ours the functional pair's
    forward: a module would keep every call's cache for a backward that never comes)."""
    x = np.random.default_rng(0).standard_normal((32, 32, FEATURES)).astype(np.float32)
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.LSTM(FEATURES, FEATURES)
        weights = [p.data for p in layer.parameters()]          # W_ih, W_hh, b_ih, b_hh
        h0 = np.zeros((32, FEATURES), np.float32)
        return lambda: nt.kernels.ops.lstm_forward(x, h0, h0, *weights)
    import torch
    layer, tx = torch.nn.LSTM(FEATURES, FEATURES), torch.from_numpy(x)
    return lambda: layer(tx)


@case("RNN LM part: time step product 32x256 @ 256x1024", target=1.5)
def time_step_product(lib):
    """One time step's h_{t-1} W_hh^T, 32 of them (a sequence's loop): OpenBLAS against MKL."""
    rng = np.random.default_rng(0)
    h = rng.standard_normal((32, FEATURES)).astype(np.float32)
    weight_t = rng.standard_normal((FEATURES, 4 * FEATURES)).astype(np.float32)
    out = np.empty((32, 4 * FEATURES), np.float32)
    if lib == "numpy":
        def step():
            for _ in range(32):
                np.matmul(h, weight_t, out=out)
        return step
    import torch
    th, tw, tout = torch.from_numpy(h), torch.from_numpy(weight_t), torch.from_numpy(out)

    def step():
        for _ in range(32):
            torch.mm(th, tw, out=tout)
    return step
