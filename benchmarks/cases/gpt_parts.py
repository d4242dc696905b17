"""The GPT step's parts at its shapes (nanoGPT's CPU configuration: 12 x 64 tokens, width 128),
each forward + backward on its own: where the whole step's time goes, part by part.

No targets: these rows explain the "GPT train step" row. A part can match PyTorch alone and
still cost more inside the model (other arrays evict its data from the cache between calls).
"""
import numpy as np

from ..harness import case
from .gpt import BATCH, CONFIG
from .loss import cross_entropy_step

T, C = CONFIG["block_size"], CONFIG["n_embd"]
H = CONFIG["n_head"]


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _module_step(lib, make, x, dy):
    """forward + backward of `make(lib)`, a module of ours or its torch twin, on x and dy."""
    module = make(lib)
    if lib == "numpy":
        def step():
            module(x)
            module.backward(dy)
        return step
    import torch
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        tx.grad = None
        module(tx).backward(tdy)
    return step


def _gpt_module(name, count=1):
    """make(lib): `count` of the GPT's module `name` in a row (ours or the torch twin's)."""
    def make(lib):
        from numpy_transformer.models import GPTConfig
        config = GPTConfig(**CONFIG)
        if lib == "numpy":
            import numpy_transformer as nt
            from numpy_transformer.models import gpt as ours
            modules = [getattr(ours, name)(config) for _ in range(count)]
            return modules[0] if count == 1 else nt.nn.Sequential(*modules)
        import torch
        from numpy_transformer.interop import torch_gpt as theirs
        modules = [getattr(theirs, name)(config) for _ in range(count)]
        return modules[0] if count == 1 else torch.nn.Sequential(*modules)
    return make


def _layer(ours, theirs):
    """make(lib): ours() from nt.nn or theirs() from torch.nn."""
    def make(lib):
        if lib == "numpy":
            import numpy_transformer as nt
            return ours(nt.nn)
        import torch
        return theirs(torch.nn)
    return make


@case("GPT part: LayerNorm 12x64x128 (no bias)")
def layer_norm(lib):
    norm = _layer(lambda nn: nn.LayerNorm(C, bias=False), lambda nn: nn.LayerNorm(C, bias=False))
    return _module_step(lib, norm, *_inputs((BATCH, T, C), (BATCH, T, C)))


@case("GPT part: GELU tanh 12x64x512")
def gelu_tanh(lib):
    gelu = _layer(lambda nn: nn.GELU("tanh"), lambda nn: nn.GELU(approximate="tanh"))
    return _module_step(lib, gelu, *_inputs((BATCH, T, 4 * C), (BATCH, T, 4 * C)))


def _linear_case(n_in, n_out):
    @case(f"GPT part: Linear {n_in}->{n_out} (no bias) on 768 tokens")
    def linear(lib):
        layer = _layer(lambda nn: nn.Linear(n_in, n_out, bias=False),
                       lambda nn: nn.Linear(n_in, n_out, bias=False))
        return _module_step(lib, layer, *_inputs((BATCH * T, n_in), (BATCH * T, n_out)))
    return linear


for _n_in, _n_out in ((C, 3 * C), (C, C), (C, 4 * C), (4 * C, C)):
    _linear_case(_n_in, _n_out)


@case("GPT part: causal attention 12x4x64x32")
def causal_attention(lib):
    q, k, v, dy = _inputs(*[(BATCH, H, T, C // H)] * 4)
    if lib == "numpy":
        from numpy_transformer.kernels import ops

        def step():
            _, cache = ops.scaled_dot_product_attention_forward(q, k, v, is_causal=True)
            ops.scaled_dot_product_attention_backward(dy, cache)
        return step
    import torch
    tq, tk, tv = (torch.from_numpy(a).requires_grad_() for a in (q, k, v))
    tdy = torch.from_numpy(dy)

    def step():
        tq.grad = tk.grad = tv.grad = None
        torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True).backward(tdy)
    return step


@case("GPT part: attention module (c_attn, heads, c_proj)")
def attention_module(lib):
    return _module_step(lib, _gpt_module("CausalSelfAttention"),
                        *_inputs((BATCH, T, C), (BATCH, T, C)))


@case("GPT part: MLP module (c_fc, GELU tanh, c_proj)")
def mlp_module(lib):
    return _module_step(lib, _gpt_module("MLP"), *_inputs((BATCH * T, C), (BATCH * T, C)))


@case("GPT part: one block")
def block(lib):
    return _module_step(lib, _gpt_module("Block"), *_inputs((BATCH, T, C), (BATCH, T, C)))


@case("GPT part: four blocks")
def four_blocks(lib):
    return _module_step(lib, _gpt_module("Block", count=4), *_inputs((BATCH, T, C), (BATCH, T, C)))


@case("GPT part: cross-entropy 768x65")
def cross_entropy(lib):
    (logits,) = _inputs((BATCH * T, CONFIG["vocab_size"]))
    targets = np.random.default_rng(1).integers(0, CONFIG["vocab_size"], BATCH * T)
    return cross_entropy_step(lib, logits, targets)
