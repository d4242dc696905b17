"""Optimizer steps over 10M float32 parameters in 10 tensors of 1M (torch.optim's default
implementation on CPU, the per-tensor loop)."""
import numpy as np

from ..harness import case

SHAPES = [(1000, 1000)] * 10


def _arrays():
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s, dtype=np.float32) for s in SHAPES]


def _step(lib, make_ours, make_theirs):
    """The optimizer's step with fixed gradients (one per parameter)."""
    weights, grads = _arrays(), _arrays()
    if lib == "numpy":
        import numpy_transformer as nt
        params = [nt.nn.Parameter(w) for w in weights]
        for p, g in zip(params, grads):
            p.grad[...] = g
        return make_ours(nt.optim, params).step
    import torch
    params = [torch.nn.Parameter(torch.from_numpy(w)) for w in weights]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    return make_theirs(torch.optim, params).step


@case("Adam step 10M params", target=1.5)
def adam(lib):
    return _step(lib, lambda optim, ps: optim.Adam(ps, lr=1e-3),
                 lambda optim, ps: optim.Adam(ps, lr=1e-3))


@case("SGD momentum step 10M params", target=1.5)
def sgd_momentum(lib):
    return _step(lib, lambda optim, ps: optim.SGD(ps, lr=0.01, momentum=0.9),
                 lambda optim, ps: optim.SGD(ps, lr=0.01, momentum=0.9))
