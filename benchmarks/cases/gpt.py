"""GPT training step (forward + cross-entropy + backward) at nanoGPT's CPU configuration:
4 layers, 4 heads, 128 wide, block 64, batch 12, 65 characters, no dropout (float32)."""
import numpy as np

from ..harness import case

CONFIG = dict(vocab_size=65, block_size=64, n_layer=4, n_head=4, n_embd=128, dropout=0.0,
              bias=False)
BATCH = 12


def _batch():
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, CONFIG["vocab_size"], (BATCH, CONFIG["block_size"] + 1))
    return tokens[:, :-1].copy(), tokens[:, 1:].copy()


def gpt_step(lib, **options):
    """A step doing forward, loss and backward of the GPT (or its torch twin) on one batch."""
    from numpy_transformer.models import GPT, GPTConfig
    x, y = _batch()
    config = GPTConfig(**{**CONFIG, **options})
    if lib == "numpy":
        import numpy_transformer as nt
        model, criterion = GPT(config), nt.nn.CrossEntropyLoss()

        def step():
            model.zero_grad()
            logits = model(x)
            criterion(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
            with nt.kernels.deferred_weight_grads():      # as the GPT recipe's training step
                model.backward(criterion.backward().reshape(logits.shape))
        return step
    import torch
    from numpy_transformer.interop.torch_gpt import TorchGPT
    model, tx, ty = TorchGPT(config), torch.from_numpy(x), torch.from_numpy(y).reshape(-1)

    def step():
        model.zero_grad()
        logits = model(tx)
        torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), ty).backward()
    return step


@case("GPT train step nanoGPT-cpu 4x128 B12 T64", target=1.0, recipe="gpt-shakespeare")
def gpt_nanogpt_cpu(lib):
    return gpt_step(lib)
