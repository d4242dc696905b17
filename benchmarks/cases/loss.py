"""Cross-entropy over a language model's vocabulary (float32): forward + backward."""
import numpy as np

from ..harness import case


def cross_entropy_step(lib, logits, target):
    """A step doing cross-entropy forward + backward of `logits` [N, C] against class ids [N]."""
    if lib == "numpy":
        import numpy_transformer as nt
        criterion = nt.nn.CrossEntropyLoss()

        def step():
            criterion(logits, target)
            criterion.backward()
        return step
    import torch
    criterion = torch.nn.CrossEntropyLoss()
    tx, tt = torch.from_numpy(logits).requires_grad_(), torch.from_numpy(target)

    def step():
        tx.grad = None                  # a fresh gradient each step, as ours returns
        criterion(tx, tt).backward()
    return step


@case("CrossEntropyLoss 3072x8192", target=1.5)
def cross_entropy(lib):
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((3072, 8192)).astype(np.float32)
    return cross_entropy_step(lib, logits, rng.integers(0, 8192, 3072))
