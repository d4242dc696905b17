"""BERT: a Transformer encoder that learns by filling in masked words (Devlin et al., 2018).

    ids [B, T] -> token + position + segment embeddings -> LayerNorm -> dropout   [B, T, D]
               -> `depth` encoder blocks (post-norm as the original; pre-norm by option)
               -> masked-LM head: dense -> GELU -> LayerNorm -> decoder          [.., V]

B batch, T sequence length (<= max_len), D dim, V vocab_size, M predicted positions.
The decoder's weight IS the token embedding table (tied): both paths add into its .grad.
`mask_tokens` draws BERT's training inputs: 15% of the ordinary tokens are chosen, of those
80% become [MASK], 10% a random token, 10% stay; the loss is taken at the chosen ones only.
"""
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..nn import init
from ..nn._checks import check_int

__all__ = ["BERTConfig", "BERT", "BERTEmbeddings", "MaskedLMHead", "mask_tokens", "IGNORE_INDEX"]

IGNORE_INDEX = -100       # the label of a position the loss skips (CrossEntropyLoss's default)


@dataclass
class BERTConfig:
    vocab_size: int
    max_len: int = 50
    dim: int = 256
    depth: int = 6
    heads: int = 4
    ff_dim: int = 1024
    dropout: float = 0.1
    norm_first: bool = False          # False: post-norm (the original BERT); True: pre-norm
    type_vocab_size: int = 2
    activation: str = "gelu"
    layer_norm_eps: float = 1e-12     # the original BERT's
    pad_id: int = 0                   # ids equal to it are padding (keys nobody attends to)
    init_std: float = 0.02            # weights ~ N(0, init_std), biases 0, LayerNorms 1 and 0


class BERTEmbeddings(nn.Module):
    """ids [B, T] (+ segment ids) -> LayerNorm(token + position + segment) -> dropout  [B, T, D]."""

    def __init__(self, config: BERTConfig, dtype=None):
        super().__init__()
        D = config.dim
        self.word_embeddings = nn.Embedding(config.vocab_size, D, dtype=dtype)
        self.position_embeddings = nn.Embedding(config.max_len, D, dtype=dtype)
        self.token_type_embeddings = nn.Embedding(config.type_vocab_size, D, dtype=dtype)
        self.norm = nn.LayerNorm(D, eps=config.layer_norm_eps, dtype=dtype)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, input_ids, token_type_ids):
        T = input_ids.shape[1]
        x = (self.word_embeddings(input_ids)                              # [B, T, D]
             + self.position_embeddings(np.arange(T, like=input_ids))     # + [T, D], every row
             + self.token_type_embeddings(token_type_ids))                # + [B, T, D]
        y = self.dropout(self.norm(x))
        self._push(None, y)
        return y

    def backward(self, grad_output):
        """Adds into the three tables' gradients; the ids have none (returns None)."""
        self._pop(grad_output)
        g = self.norm.backward(self.dropout.backward(grad_output))        # d(sum) [B, T, D]
        self.token_type_embeddings.backward(g)
        self.position_embeddings.backward(g.sum(axis=0))                  # each row used B times
        self.word_embeddings.backward(g)
        return None


class MaskedLMHead(nn.Module):
    """h [.., D] -> logits [.., V] = LayerNorm(GELU(dense(h))) W_tokens^T + bias."""

    def __init__(self, config: BERTConfig, dtype=None):
        super().__init__()
        self.dense = nn.Linear(config.dim, config.dim, dtype=dtype)
        self.activation = nn.GELU() if config.activation == "gelu" else nn.ReLU()
        self.norm = nn.LayerNorm(config.dim, eps=config.layer_norm_eps, dtype=dtype)
        self.decoder = nn.Linear(config.dim, config.vocab_size, dtype=dtype)   # weight tied by BERT

    def forward(self, h):
        y = self.decoder(self.norm(self.activation(self.dense(h))))
        self._push(None, y)
        return y

    def backward(self, grad_output):
        self._pop(grad_output)
        g = self.norm.backward(self.decoder.backward(grad_output))
        return self.dense.backward(self.activation.backward(g))


class BERT(nn.Module):
    """BERT for masked-language modelling; names map 1:1 onto its PyTorch twin
    (`numpy_transformer.interop.bert_twin.BertTwin`).

    forward(input_ids [B, T], token_type_ids=None (zeros), key_padding_mask=None (True = padding;
    default: input_ids == pad_id), masked_positions=None) -> logits [B, T, V], or [M, V] at the
    M positions where the bool mask `masked_positions` [B, T] is True (row-major order), so the
    head runs only where the loss looks. backward(d_logits) fills every .grad, returns None."""

    def __init__(self, config: BERTConfig, dtype=None):
        super().__init__()
        if config.dim % config.heads:
            raise ValueError(f"BERT: dim={config.dim} is not divisible by heads={config.heads}")
        if config.activation not in ("gelu", "relu"):
            raise ValueError(f"BERT: activation should be 'gelu' or 'relu', not {config.activation!r}")
        self.config = config
        self.embeddings = BERTEmbeddings(config, dtype)
        layer = nn.TransformerEncoderLayer(
            config.dim, config.heads, config.ff_dim, config.dropout, config.activation,
            layer_norm_eps=config.layer_norm_eps, batch_first=True, norm_first=config.norm_first,
            dtype=dtype)
        final_norm = (nn.LayerNorm(config.dim, eps=config.layer_norm_eps, dtype=dtype)
                      if config.norm_first else None)       # pre-norm leaves the sum unnormalised
        self.encoder = nn.TransformerEncoder(layer, config.depth, norm=final_norm)
        self.head = MaskedLMHead(config, dtype)
        self.head.decoder.weight = self.embeddings.word_embeddings.weight   # tied: one Parameter
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """BERT's: every weight matrix and table ~ N(0, init_std), biases 0, LayerNorm 1 and 0.

        (The encoder's blocks are deep copies of one block; this also makes them differ.)"""
        std = self.config.init_std
        for module in self.modules():
            if isinstance(module, nn.LayerNorm):
                init.ones_(module.weight)
                init.zeros_(module.bias)
                continue
            for name, param in module.named_parameters(recurse=False):
                if name.endswith("bias"):
                    init.zeros_(param)
                else:
                    init.normal_(param, std=std)

    # ---- checks ----
    def _check(self, input_ids, token_type_ids, key_padding_mask, masked_positions):
        check_int(self, input_ids, "input_ids")
        if input_ids.ndim != 2:
            raise ValueError(f"{self._describe()} expects input_ids [B, T], got shape "
                             f"{tuple(input_ids.shape)}")
        if input_ids.shape[1] > self.config.max_len:
            raise ValueError(f"{self._describe()} got input_ids of shape {tuple(input_ids.shape)}: "
                             f"T={input_ids.shape[1]} is longer than max_len={self.config.max_len}")
        shape = tuple(input_ids.shape)
        for name, array, kind in (("token_type_ids", token_type_ids, "int"),
                                  ("key_padding_mask", key_padding_mask, "bool"),
                                  ("masked_positions", masked_positions, "bool")):
            if array is None:
                continue
            ok = (np.issubdtype(array.dtype, np.integer) if kind == "int"
                  else array.dtype == np.bool_)
            if not ok:
                raise TypeError(f"{self._describe()} needs {kind} {name} like input_ids "
                                f"{shape}, got dtype {array.dtype}")
            if tuple(array.shape) != shape:
                raise ValueError(f"{self._describe()} needs {name} of input_ids' shape {shape}, "
                                 f"got shape {tuple(array.shape)}")

    # ---- forward and backward ----
    def forward(self, input_ids, token_type_ids=None, key_padding_mask=None, masked_positions=None):
        self._check(input_ids, token_type_ids, key_padding_mask, masked_positions)
        B, T = input_ids.shape
        if token_type_ids is None:
            token_type_ids = np.zeros_like(input_ids)
        if key_padding_mask is None and self.config.pad_id is not None:
            key_padding_mask = input_ids == self.config.pad_id
        if key_padding_mask is not None and not key_padding_mask.any():
            key_padding_mask = None                            # nothing to hide: skip the mask
        h = self.embeddings(input_ids, token_type_ids)                        # [B, T, D]
        h = self.encoder(h, src_key_padding_mask=key_padding_mask)            # [B, T, D]
        rows = None
        if masked_positions is not None:                       # [B*T, D] -> [M, D]
            rows = np.flatnonzero(masked_positions)
            h = h.reshape(B * T, -1)[rows]
        logits = self.head(h)                                                 # [.., V]
        self._push((rows, (B, T)), logits)
        return logits

    def backward(self, grad_output):
        """d_logits -> every parameter's gradient (the tied table gets the decoder's and the
        embedding's); the integer ids have none: returns None."""
        rows, (B, T) = self._pop(grad_output)
        g = self.head.backward(grad_output)
        if rows is not None:                                   # unpredicted positions get 0
            full = np.zeros_like(g, shape=(B * T, g.shape[-1]))
            full[rows] = g
            g = full.reshape(B, T, -1)
        self.embeddings.backward(self.encoder.backward(g))
        return None

    def extra_repr(self):
        c = self.config
        return (f"vocab_size={c.vocab_size}, max_len={c.max_len}, dim={c.dim}, depth={c.depth}, "
                f"heads={c.heads}, norm_first={c.norm_first}")


def mask_tokens(input_ids, rng, mask_id, special_ids, vocab_size, p=0.15, mask_frac=0.8,
                random_frac=0.1, ignore_index=IGNORE_INDEX):
    """BERT's masking: (inputs, labels), both [B, T] like input_ids.

    Per sequence, k = max(1, round(p * n)) of its n ordinary (non-special) tokens are chosen
    uniformly without repetition (none if n = 0). Each chosen token becomes mask_id with
    probability mask_frac, a random ordinary token with probability random_frac, else stays.
    labels hold the original id at the chosen positions and ignore_index elsewhere."""
    ordinary = ~np.isin(input_ids, np.asarray(list(special_ids), dtype=input_ids.dtype))
    n = ordinary.sum(axis=1)                                           # [B]
    k = np.where(n > 0, np.maximum(1, np.rint(p * n)), 0).astype(n.dtype)
    keys = rng.random(input_ids.shape)                                 # random order per row,
    keys[~ordinary] = 2.0                                              # special tokens last
    rank = np.argsort(np.argsort(keys, axis=1, kind="stable"), axis=1, kind="stable")
    chosen = rank < k[:, None]                                         # [B, T]

    action = rng.random(input_ids.shape)                               # one draw per position
    to_mask = chosen & (action < mask_frac)
    to_random = chosen & (action >= mask_frac) & (action < mask_frac + random_frac)
    ordinary_ids = np.setdiff1d(np.arange(vocab_size), list(special_ids))
    random_ids = ordinary_ids[rng.integers(0, len(ordinary_ids), size=input_ids.shape)]
    inputs = np.where(to_mask, mask_id, np.where(to_random, random_ids, input_ids))
    labels = np.where(chosen, input_ids, ignore_index)
    return inputs.astype(input_ids.dtype, copy=False), labels.astype(input_ids.dtype, copy=False)
