"""GPT: a decoder-only Transformer language model with GPT-2's layout and module names.

    idx [B, T] -> wte + wpe -> n_layer x Block -> ln_f -> lm_head -> logits [B, T, V]
    Block: x = x + attn(ln_1(x));  x = x + mlp(ln_2(x))          (pre-norm, residuals)

B batch, T tokens, C = n_embd, H = n_head, D = C // H, V = vocab_size. Names follow GPT-2's
(transformer.wte, transformer.h.0.attn.c_attn, ...), so a Hugging Face state dict maps by key
(interop/gpt2.py). With tie_weights, lm_head.weight IS transformer.wte.weight: one Parameter,
whose gradient sums the head's and the embedding's. Generation keeps the keys and values of the
tokens seen so far in a KVCache, so each new token costs one position, not the whole context.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..device import to_device, to_host
from ..grad_mode import no_grad
from ..kernels import ops
from ..nn import init
from ..nn._checks import check_int
from ..nn.attention import split_heads
from .sampling import check_sampling, make_generator, sample

__all__ = ["GPTConfig", "GPT", "KVCache"]   # not MLP and Block: nt.models.MLP is another model

ACTIVATIONS = {"gelu_tanh": "tanh", "gelu": "none"}   # our name -> nn.GELU(approximate=...)


@dataclass
class GPTConfig:
    vocab_size: int = 50257
    block_size: int = 1024          # longest context (the number of learned positions)
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    dropout: float = 0.0
    bias: bool = True               # biases in the Linear layers and LayerNorms (GPT-2: True)
    tie_weights: bool = True        # lm_head.weight is transformer.wte.weight
    activation: str = "gelu_tanh"   # 'gelu_tanh' (GPT-2's) or 'gelu' (exact, erf)
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        if self.n_embd % self.n_head:
            raise ValueError(f"GPTConfig: n_embd={self.n_embd} is not divisible by "
                             f"n_head={self.n_head}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"GPTConfig: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {self.activation!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"GPTConfig: dropout must be in [0, 1), got {self.dropout}")


class KVCache:
    """The keys and values of every token seen so far, per layer [B, H, block_size, D], filled
    up to `length`; `GPT.forward(idx, kv_cache)` appends the new tokens' and moves `length`."""

    def __init__(self, config: GPTConfig, batch_size: int, dtype, like=None):
        D = config.n_embd // config.n_head
        shape = (batch_size, config.n_head, config.block_size, D)
        like = np.empty(0, dtype) if like is None else like          # on the weights' device
        self.keys = [np.zeros_like(like, shape=shape, dtype=dtype) for _ in range(config.n_layer)]
        self.values = [np.zeros_like(like, shape=shape, dtype=dtype) for _ in range(config.n_layer)]
        self.batch_size, self.capacity, self.length = batch_size, config.block_size, 0

    def layer(self, index: int):
        """(keys, values, start) of one layer: where its attention writes the new positions."""
        return self.keys[index], self.values[index], self.length


class CausalSelfAttention(nn.Module):
    """Multi-head self-attention in which token t sees tokens 0..t; every head in one batched SDPA.

    c_attn: x [B, T, C] -> [B, T, 3C] (q, k, v side by side); the heads are strided views
    [B, H, T, D] of it. c_proj mixes the heads' outputs back into C features."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        C = config.n_embd
        self.n_head, self.n_embd, self.dropout = config.n_head, C, config.dropout
        self.c_attn = nn.Linear(C, 3 * C, bias=config.bias, dtype=dtype)
        self.c_proj = nn.Linear(C, C, bias=config.bias, dtype=dtype)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x, layer_cache=None):
        B, T, C = x.shape
        qkv = self.c_attn(x.reshape(B * T, C)).reshape(B, T, 3 * C)
        q, k, v = split_heads(qkv, C, self.n_head, batch_first=True)          # [B, H, T, D] each
        mask, is_causal = None, T > 1
        if layer_cache is not None:                                          # generation
            keys, values, start = layer_cache
            end = start + T
            keys[:, :, start:end], values[:, :, start:end] = k, v
            k, v = keys[:, :, :end], values[:, :, :end]                      # [B, H, start+T, D]
            if start and T > 1:                       # new token i sees keys 0..start+i
                mask, is_causal = np.tri(T, end, k=start, dtype=bool, like=x), False
        attended = np.empty_like(x)                                          # [B, T, C]
        (heads_out,) = split_heads(attended, C, self.n_head, batch_first=True)
        p = self.dropout if self.training else 0.0
        _, cache = ops.scaled_dot_product_attention_forward(q, k, v, attn_mask=mask, dropout_p=p,
                                                            is_causal=is_causal, out=heads_out)
        y = self.resid_dropout(self.c_proj(attended.reshape(B * T, C))).reshape(B, T, C)
        self._push(cache, y)
        return y

    def backward(self, grad_output):
        cache = self._pop(grad_output)
        B, T, C = grad_output.shape
        d = self.resid_dropout.backward(grad_output.reshape(B * T, C))
        d_attended = self.c_proj.backward(d).reshape(B, T, C)
        (d_heads_out,) = split_heads(d_attended, C, self.n_head, batch_first=True)
        d_qkv = np.empty_like(d_attended, shape=(B, T, 3 * C))                # [B, T, 3C]
        dq, dk, dv = split_heads(d_qkv, C, self.n_head, batch_first=True)
        ops.scaled_dot_product_attention_backward(d_heads_out, cache, out=(dq, dk, dv))
        return self.c_attn.backward(d_qkv.reshape(B * T, 3 * C)).reshape(B, T, C)

    def extra_repr(self):
        return f"n_embd={self.n_embd}, n_head={self.n_head}"


class MLP(nn.Module):
    """c_fc (C -> 4C), GELU, c_proj (4C -> C), dropout; on rows [N, C]."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        C = config.n_embd
        self.c_fc = nn.Linear(C, 4 * C, bias=config.bias, dtype=dtype)
        self.act = nn.GELU(ACTIVATIONS[config.activation])
        self.c_proj = nn.Linear(4 * C, C, bias=config.bias, dtype=dtype)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))

    def backward(self, grad_output):
        return self.c_fc.backward(self.act.backward(self.c_proj.backward(
            self.dropout.backward(grad_output))))


class Block(nn.Module):
    """x + attn(ln_1(x)), then + mlp(ln_2(.)): pre-norm, both residuals carry the gradient."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        C = config.n_embd
        self.ln_1 = nn.LayerNorm(C, eps=config.layer_norm_eps, bias=config.bias, dtype=dtype)
        self.attn = CausalSelfAttention(config, dtype)
        self.ln_2 = nn.LayerNorm(C, eps=config.layer_norm_eps, bias=config.bias, dtype=dtype)
        self.mlp = MLP(config, dtype)

    def forward(self, x, layer_cache=None):
        B, T, C = x.shape
        x = x + self.attn(self.ln_1(x), layer_cache)                        # [B, T, C]
        y = x + self.mlp(self.ln_2(x.reshape(B * T, C))).reshape(B, T, C)
        self._push(None, y)
        return y

    def backward(self, grad_output):
        """Each residual sends its gradient down both paths: the skip and the branch."""
        self._pop(grad_output)
        B, T, C = grad_output.shape
        d_mlp = self.ln_2.backward(self.mlp.backward(grad_output.reshape(B * T, C)))
        d_x1 = grad_output + d_mlp.reshape(B, T, C)
        return d_x1 + self.ln_1.backward(self.attn.backward(d_x1))


class GPT(nn.Module):
    """Decoder-only Transformer LM: forward(idx [B, T] ints) -> logits [B, T, vocab_size];
    backward(d_logits) fills every gradient and returns None (the ids have none)."""

    def __init__(self, config: GPTConfig, dtype=None):
        super().__init__()
        self.config = config
        C = config.n_embd
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(config.vocab_size, C, dtype=dtype),
            wpe=nn.Embedding(config.block_size, C, dtype=dtype),
            drop=nn.Dropout(config.dropout),
            h=nn.ModuleList([Block(config, dtype) for _ in range(config.n_layer)]),
            ln_f=nn.LayerNorm(C, eps=config.layer_norm_eps, bias=config.bias, dtype=dtype),
        ))
        self.lm_head = nn.Linear(C, config.vocab_size, bias=False, dtype=dtype)
        if config.tie_weights:
            self.lm_head.weight = self.transformer.wte.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """GPT-2's: weights N(0, 0.02), residual projections (c_proj) N(0, 0.02 / sqrt(2 n_layer)),
        biases 0, LayerNorms 1 and 0."""
        for name, module in self.named_modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                std = 0.02 / math.sqrt(2 * self.config.n_layer) if name.endswith("c_proj") else 0.02
                if not (module is self.lm_head and self.config.tie_weights):
                    init.normal_(module.weight, std=std)
                if getattr(module, "bias", None) is not None:
                    init.zeros_(module.bias)
            elif isinstance(module, nn.LayerNorm):
                module.reset_parameters()

    @property
    def dtype(self):
        return self.lm_head.weight.dtype

    # ---- forward and backward ----
    def forward(self, idx, kv_cache: KVCache = None):
        """Logits [B, T, V]. With `kv_cache` (generation): idx holds the tokens after the
        cached ones; they attend to the cache too, and nothing is kept for backward."""
        start = self._check(idx, kv_cache)
        if kv_cache is not None:
            with no_grad():
                logits = self._forward(idx, start, kv_cache)
            kv_cache.length += idx.shape[1]
            return logits
        logits = self._forward(idx, start, None)
        self._push(idx.shape, logits)
        return logits

    def _forward(self, idx, start, kv_cache):
        B, T = idx.shape
        tr = self.transformer
        x = tr.wte(idx) + tr.wpe(np.arange(start, start + T, like=idx))      # [B, T, C] + [T, C]
        x = tr.drop(x)
        for i, block in enumerate(tr.h):
            x = block(x, None if kv_cache is None else kv_cache.layer(i))
        x = tr.ln_f(x.reshape(B * T, -1))                                     # [B*T, C]
        return self.lm_head(x).reshape(B, T, -1)                              # [B, T, V]

    def backward(self, grad_output):
        """Through the head, ln_f, the blocks (last first), the embeddings; returns None."""
        B, T = self._pop(grad_output)
        tr = self.transformer
        d = self.lm_head.backward(grad_output.reshape(B * T, -1))             # tied: adds into wte
        d = tr.ln_f.backward(d).reshape(B, T, -1)
        for block in reversed(tr.h):
            d = block.backward(d)
        d = tr.drop.backward(d)
        tr.wpe.backward(d.sum(axis=0))                                        # summed over B
        tr.wte.backward(d)
        return None

    def _check(self, idx, kv_cache) -> int:
        """Raise at a wrong input; returns the position of idx's first token."""
        check_int(self, idx)
        if idx.ndim != 2 or idx.shape[1] == 0:
            raise ValueError(f"{self._describe()} expects token ids [B, T] with T >= 1, got shape "
                             f"{tuple(idx.shape)}")
        start = 0 if kv_cache is None else kv_cache.length
        T, limit = idx.shape[1], self.config.block_size
        if kv_cache is not None:
            if kv_cache.batch_size != idx.shape[0]:
                raise ValueError(f"{self._describe()} got ids of shape {tuple(idx.shape)} for a "
                                 f"KVCache of batch size {kv_cache.batch_size}")
            if start + T > limit:
                raise ValueError(f"{self._describe()}: the KVCache holds {start} tokens; {T} more "
                                 f"would pass block_size={limit}")
        elif T > limit:
            raise ValueError(f"{self._describe()} got a sequence of length {T} (ids of shape "
                             f"{tuple(idx.shape)}), longer than block_size={limit}")
        return start

    # ---- generation ----
    def new_kv_cache(self, batch_size: int) -> KVCache:
        return KVCache(self.config, batch_size, self.dtype, like=self.transformer.wte.weight.data)

    def generate(self, idx, max_new_tokens: int, temperature: float = 1.0, top_k: int = None,
                 top_p: float = None, generator=None, use_cache: bool = True, on_token=None):
        """idx [B, T] followed by max_new_tokens sampled tokens: [B, T + max_new_tokens].

        Each step samples from the last position's logits (models/sampling.py; temperature 0 is
        greedy) and calls on_token(ids [B], logits [B, V]) if given. The context is the last
        block_size tokens. With use_cache, each step runs only the new token against the cached
        keys and values; past block_size the window slides and every position moves, so those
        steps run the whole window, as without the cache. Runs in eval mode."""
        check_sampling(temperature, top_k, top_p)
        idx = to_host(idx)                      # the ids stay on the host; each call's go over
        device = self.device
        generator = generator if generator is not None else make_generator()
        was_training, limit = self.training, self.config.block_size
        self.eval()
        kv_cache = None
        try:
            with no_grad():
                for _ in range(max_new_tokens):
                    length = idx.shape[1]
                    if use_cache and length <= limit:
                        if kv_cache is None:                  # the prompt, all at once
                            kv_cache = self.new_kv_cache(idx.shape[0])
                        logits = self(to_device(idx[:, kv_cache.length:], device),
                                      kv_cache)[:, -1]
                    else:
                        logits = self(to_device(idx[:, -limit:], device))[:, -1]   # [B, V]
                    next_ids = sample(logits, temperature, top_k, top_p, generator)
                    if on_token is not None:
                        on_token(next_ids, logits)
                    idx = np.concatenate([idx, next_ids[:, None].astype(idx.dtype)], axis=1)
        finally:
            self.train(was_training)
        return idx

    def extra_repr(self):
        c = self.config
        return (f"vocab_size={c.vocab_size}, block_size={c.block_size}, n_layer={c.n_layer}, "
                f"n_head={c.n_head}, n_embd={c.n_embd}")
