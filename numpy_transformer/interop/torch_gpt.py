"""The PyTorch twin of `nt.models.GPT`: the same layers and parameter names in torch.nn.

Used by the parity tests, the `compare` command (the twin trained on the same batches) and the
benchmarks. `gpt_to_torch(model)` builds the twin of a model and copies its weights.
"""
import math

import torch
from torch import nn
from torch.nn import functional as F

from ..models.gpt import ACTIVATIONS, GPTConfig

__all__ = ["TorchGPT", "gpt_to_torch"]


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0,
                                           is_causal=True)
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.act = nn.GELU(ACTIVATIONS[config.activation])
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        eps = config.layer_norm_eps
        self.ln_1 = nn.LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = nn.LayerNorm(config.n_embd, eps=eps, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class TorchGPT(nn.Module):
    """forward(idx [B, T] long) -> logits [B, T, vocab_size], as nt.models.GPT."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, config.n_embd),
            wpe=nn.Embedding(config.block_size, config.n_embd),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(config.n_embd, eps=config.layer_norm_eps, bias=config.bias),
        ))
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight
        for name, param in self.named_parameters():          # GPT-2's initialisation
            if name.endswith("bias"):
                nn.init.zeros_(param)
            elif param.ndim == 2:
                residual = name.endswith("c_proj.weight")
                std = 0.02 / math.sqrt(2 * config.n_layer) if residual else 0.02
                nn.init.normal_(param, std=std)

    def forward(self, idx):
        T = idx.shape[1]
        tr = self.transformer
        x = tr.drop(tr.wte(idx) + tr.wpe(torch.arange(T, device=idx.device)))
        for block in tr.h:
            x = block(x)
        return self.lm_head(tr.ln_f(x))


def gpt_to_torch(model, dtype=None) -> TorchGPT:
    """The twin of our GPT `model`, holding copies of its weights (float32 unless `dtype`)."""
    twin = TorchGPT(model.config)
    state = {k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()}
    twin.load_state_dict(state)
    twin.train(model.training)
    return twin.to(dtype) if dtype is not None else twin.to(getattr(torch, str(model.dtype)))
