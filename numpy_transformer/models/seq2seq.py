"""An encoder-decoder Transformer for translation ("Attention Is All You Need").

Shapes: N sentences, S source length, T target length, E = d_model, V vocabulary size.

    src [N, S] ids -> src_embed * sqrt(E) + positions -> encoder  -> memory [N, S, E]
    tgt [N, T] ids -> tgt_embed * sqrt(E) + positions -> decoder(memory) -> output -> logits [N, T, V]

The padding id marks padding on both sides: padded source positions are hidden from the
encoder and from cross-attention, padded target positions from the decoder's self-attention,
which is also causal (position t sees 0..t). `IncrementalDecoder` runs the decoder one token
at a time with cached keys and values, for greedy and beam search (models/decoding.py).
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import nn
from ..device import device_of
from ..grad_mode import no_grad
from ..kernels import ops
from ..nn import init
from ..nn._checks import check_int, check_ndim

__all__ = ["TransformerConfig", "Transformer", "IncrementalDecoder"]


@dataclass
class TransformerConfig:
    src_vocab_size: int
    tgt_vocab_size: int
    d_model: int = 256
    nhead: int = 4
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    dim_feedforward: int = 1024
    dropout: float = 0.1
    activation: str = "relu"
    share_embeddings: bool = False   # one table for both sides (needs one joint vocabulary)
    tie_output: bool = False         # the output projection reuses the target embedding
    positions: str = "sinusoidal"    # or "learned"
    norm_first: bool = False
    max_len: int = 256
    pad_id: int = 0


class Transformer(nn.Module):
    """Embeddings, positions, nn.Transformer (batch first) and an output projection.

    forward(src, tgt) -> logits [N, T, V]; backward(d_logits) -> None (ids have no gradient)."""

    def __init__(self, config: TransformerConfig = None, dtype=None, **options):
        super().__init__()
        config = config or TransformerConfig(**options)
        if config.positions not in ("sinusoidal", "learned"):
            raise ValueError(f"Transformer: positions must be 'sinusoidal' or 'learned', got "
                             f"{config.positions!r}")
        if config.share_embeddings and config.src_vocab_size != config.tgt_vocab_size:
            raise ValueError(f"Transformer: share_embeddings needs one vocabulary, got "
                             f"src_vocab_size={config.src_vocab_size} and "
                             f"tgt_vocab_size={config.tgt_vocab_size}")
        self.config = config
        E, pad = config.d_model, config.pad_id
        self.src_embed = nn.Embedding(config.src_vocab_size, E, padding_idx=pad, dtype=dtype)
        self.tgt_embed = (self.src_embed if config.share_embeddings else
                          nn.Embedding(config.tgt_vocab_size, E, padding_idx=pad, dtype=dtype))
        self.src_pos = self._positions(config, dtype)
        self.tgt_pos = self._positions(config, dtype)
        self.transformer = nn.Transformer(
            E, config.nhead, config.num_encoder_layers, config.num_decoder_layers,
            config.dim_feedforward, config.dropout, config.activation, batch_first=True,
            norm_first=config.norm_first, dtype=dtype)
        self.output = nn.Linear(E, config.tgt_vocab_size, dtype=dtype)
        self._reset_embeddings()
        if config.tie_output:
            self.output.weight = self.tgt_embed.weight          # one Parameter, gradients add up
        self.scale = math.sqrt(E)

    @staticmethod
    def _positions(config, dtype):
        if config.positions == "learned":
            return nn.LearnedPositionalEncoding(config.max_len, config.d_model, config.dropout,
                                                dtype=dtype)
        return nn.PositionalEncoding(config.d_model, config.max_len, config.dropout, dtype=dtype)

    def _reset_embeddings(self) -> None:
        """N(0, 1/E): times sqrt(E) the embeddings start at unit scale, like the positions."""
        for table in {id(m): m for m in (self.src_embed, self.tgt_embed)}.values():
            init.normal_(table.weight, std=self.config.d_model ** -0.5)
            table.weight.data[self.config.pad_id] = 0

    # ---- masks ----
    def padding_mask(self, ids):
        """[N, L] bool, True at padding (torch's key_padding_mask convention)."""
        return ids == self.config.pad_id

    def causal_mask(self, T):
        """[T, T] float: 0 on and below the diagonal, -inf above (position t sees 0..t)."""
        weight = self.output.weight
        return nn.Transformer.generate_square_subsequent_mask(T, device=device_of(weight.data),
                                                              dtype=weight.dtype)

    def _check_ids(self, ids, name):
        check_int(self, ids, name)
        check_ndim(self, ids, 2, name, "[N, L] token ids")
        if ids.shape[1] > self.config.max_len:
            raise ValueError(f"{self._describe()} got {name} of shape {tuple(ids.shape)}, longer "
                             f"than max_len={self.config.max_len}")

    # ---- forward and backward ----
    def embed(self, ids, table, positions):
        """table(ids) * sqrt(E) + positions: [N, L] -> [N, L, E]."""
        return positions(table(ids) * self.scale)

    def encode(self, src):
        """memory [N, S, E] (under no_grad: decoding)."""
        self._check_ids(src, "src")
        x = self.embed(src, self.src_embed, self.src_pos)
        return self.transformer.encoder(x, src_key_padding_mask=self.padding_mask(src))

    def forward(self, src, tgt):
        """src [N, S], tgt [N, T] (the target shifted right: BOS first) -> logits [N, T, V]."""
        self._check_ids(src, "src")
        self._check_ids(tgt, "tgt")
        if src.shape[0] != tgt.shape[0]:
            raise ValueError(f"{self._describe()}: src {tuple(src.shape)} and tgt "
                             f"{tuple(tgt.shape)} need the same batch size")
        src_padding, tgt_padding = self.padding_mask(src), self.padding_mask(tgt)
        h = self.transformer(
            self.embed(src, self.src_embed, self.src_pos),
            self.embed(tgt, self.tgt_embed, self.tgt_pos),
            tgt_mask=self.causal_mask(tgt.shape[1]), src_key_padding_mask=src_padding,
            tgt_key_padding_mask=tgt_padding, memory_key_padding_mask=src_padding,
            tgt_is_causal=True)                                           # [N, T, E]
        logits = self.output(h.reshape(-1, h.shape[-1]))                  # [N*T, V], one GEMM
        logits = logits.reshape(*h.shape[:-1], -1)
        self._push(None, logits)
        return logits

    def backward(self, grad_output):
        """Output, transformer, then each side's positions and embedding (times sqrt(E))."""
        self._pop(grad_output)
        d_h = self.output.backward(grad_output.reshape(-1, grad_output.shape[-1]))
        d_src, d_tgt = self.transformer.backward(d_h.reshape(*grad_output.shape[:-1], -1))
        for grad, table, positions in ((d_tgt, self.tgt_embed, self.tgt_pos),
                                       (d_src, self.src_embed, self.src_pos)):
            table.backward(positions.backward(grad) * self.scale)
        return None

    def criterion(self, label_smoothing: float = 0.1):
        """Cross-entropy of logits [N*T, V] against ids [N*T], padding ignored, labels smoothed."""
        return nn.CrossEntropyLoss(ignore_index=self.config.pad_id,
                                   label_smoothing=label_smoothing)

    # ---- inference ----
    def start_decoding(self, src):
        """An IncrementalDecoder over the encoded src [N, S] (for models/decoding.py)."""
        with no_grad():
            memory = self.encode(src)
        return IncrementalDecoder(self, memory, self.padding_mask(src))

    def attention_maps(self, src, tgt):
        """Per-head attention weights of one pass over (src [N, S], tgt [N, T]), in eval mode:
        `{"encoder": [layer][N, H, S, S], "decoder": [layer][N, H, T, T] (causal),
        "cross": [layer][N, H, T, S]}`, and `"logits" [N, T, V]` (equal to forward's)."""
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                maps = {"encoder": [], "decoder": [], "cross": []}
                padding = self.padding_mask(src)
                x = self.embed(src, self.src_embed, self.src_pos)
                for layer in self.transformer.encoder.layers:
                    x, w = _encoder_layer_with_weights(layer, x, padding)
                    maps["encoder"].append(w)
                memory = _norm(self.transformer.encoder.norm, x)
                y = self.embed(tgt, self.tgt_embed, self.tgt_pos)
                masks = (self.causal_mask(tgt.shape[1]), self.padding_mask(tgt), padding)
                for layer in self.transformer.decoder.layers:
                    y, w_self, w_cross = _decoder_layer_with_weights(layer, y, memory, *masks)
                    maps["decoder"].append(w_self)
                    maps["cross"].append(w_cross)
                y = _norm(self.transformer.decoder.norm, y)
                maps["logits"] = self.output(y)
        finally:
            self.train(was_training)
        return maps

    def extra_repr(self):
        c = self.config
        return (f"src_vocab_size={c.src_vocab_size}, tgt_vocab_size={c.tgt_vocab_size}, "
                f"d_model={c.d_model}, nhead={c.nhead}, layers={c.num_encoder_layers}+"
                f"{c.num_decoder_layers}")


# ---- a pass that keeps the per-head weights (no_grad, eval: the layers' own modules) ----
def _norm(norm, x):
    return x if norm is None else norm(x)


def _attend(attn, query, memory, attn_mask, padding):
    """attn(query, memory, memory) with per-head weights [N, H, L, S]."""
    return attn(query, memory, memory, key_padding_mask=padding, attn_mask=attn_mask,
                need_weights=True, average_attn_weights=False)


def _encoder_layer_with_weights(layer, x, padding):
    """TransformerEncoderLayer.forward written out, returning (y, self-attention weights)."""
    if layer.norm_first:
        h = layer.norm1(x)
        a, w = _attend(layer.self_attn, h, h, None, padding)
        x = x + a
        return x + layer._ff_block(layer.norm2(x), layer.dropout2), w
    a, w = _attend(layer.self_attn, x, x, None, padding)
    x = layer.norm1(x + a)
    return layer.norm2(x + layer._ff_block(x, layer.dropout2)), w


def _decoder_layer_with_weights(layer, y, memory, causal, tgt_padding, memory_padding):
    """TransformerDecoderLayer.forward written out: (y, self weights, cross weights)."""
    if layer.norm_first:
        h = layer.norm1(y)
        a, w_self = _attend(layer.self_attn, h, h, causal, tgt_padding)
        y = y + a
        a, w_cross = _attend(layer.multihead_attn, layer.norm2(y), memory, None, memory_padding)
        y = y + a
        return y + layer._ff_block(layer.norm3(y), layer.dropout3), w_self, w_cross
    a, w_self = _attend(layer.self_attn, y, y, causal, tgt_padding)
    y = layer.norm1(y + a)
    a, w_cross = _attend(layer.multihead_attn, y, memory, None, memory_padding)
    y = layer.norm2(y + a)
    return layer.norm3(y + layer._ff_block(y, layer.dropout3)), w_self, w_cross


# ---- incremental decoding: one new token per step, keys and values of the past cached ----
class IncrementalDecoder:
    """The decoder run one position at a time over N sentences x K beams (rows sentence-major).

    Each self-attention keeps the keys and values of the positions decoded so far
    ([R, H, t, D], R = N*K rows), so step t costs O(t) attention instead of re-running the
    prefix. Cross-attention keys and values of the memory are computed once per sentence and
    shared by its K beams (the beams are K queries of one attention).
        log_probs(tokens [R]) -> [R, V]   feeds one token per row, advances one position
        expand(K)                          each row becomes K rows (beams) with its history
        reorder(rows)                      row i continues the history of row rows[i]; beams
                                           stay within their sentence (rows[i] // K == i // K)"""

    def __init__(self, model: Transformer, memory, memory_padding):
        self.model, self.beams, self.length = model, 1, 0
        N, S, E = memory.shape
        H = model.config.nhead
        neg = np.asarray(-np.inf, dtype=memory.dtype)
        # [N, 1, 1, S]: -inf at padded source positions, added to the cross-attention scores
        self.memory_mask = np.where(memory_padding[:, None, None, :], neg, memory.dtype.type(0))
        self.memory_kv, self.self_kv = [], []
        with no_grad():
            for layer in model.transformer.decoder.layers:
                attn = layer.multihead_attn
                kv = memory.reshape(-1, E) @ attn.in_proj_weight.data[E:].T
                kv += attn.in_proj_bias.data[E:]                                # [N*S, 2E]
                self.memory_kv.append(kv.reshape(N, S, 2, H, E // H).transpose(2, 0, 3, 1, 4))
                self.self_kv.append(np.zeros_like(memory, shape=(2, N, H, 0, E // H)))
        self._pending_rows = None

    @property
    def rows(self) -> int:
        return self.memory_mask.shape[0] * self.beams

    def expand(self, beams: int) -> None:
        """Every row becomes `beams` rows (sentence-major), each with the same history."""
        self._apply_pending()
        self.self_kv = [np.repeat(kv, beams, axis=1) for kv in self.self_kv]
        self.beams *= beams

    def reorder(self, rows) -> None:
        """Row i continues row rows[i] (applied lazily, in the next step's cache copy)."""
        rows = np.asarray(rows)
        self._pending_rows = rows if self._pending_rows is None else self._pending_rows[rows]

    def _apply_pending(self) -> None:
        if self._pending_rows is not None:
            self.self_kv = [np.take(kv, self._pending_rows, axis=1) for kv in self.self_kv]
            self._pending_rows = None

    def log_probs(self, tokens):
        """Log-probabilities [R, V] of the next token after feeding tokens [R] at the next position."""
        model, t = self.model, self.length
        if t >= model.config.max_len:
            raise ValueError(f"IncrementalDecoder: all max_len={model.config.max_len} positions used")
        with no_grad():
            x = model.tgt_embed(tokens[:, None]) * model.scale + model.tgt_pos._table()[t]
            layers = model.transformer.decoder.layers
            for i, layer in enumerate(layers):
                x = self._layer_step(layer, x, i)
            x = _norm(model.transformer.decoder.norm, x)
            logits = model.output(x[:, 0])                                     # [R, V]
        self._pending_rows = None
        self.length = t + 1
        return _log_softmax(logits)

    def _layer_step(self, layer, x, i):
        """TransformerDecoderLayer.forward for one new position."""
        def self_block(h):
            return self._self_attention(layer.self_attn, h, i)

        def cross_block(h):
            return self._memory_attention(layer.multihead_attn, h, i)

        if layer.norm_first:
            x = x + self_block(layer.norm1(x))
            x = x + cross_block(layer.norm2(x))
            return x + layer._ff_block(layer.norm3(x), layer.dropout3)
        x = layer.norm1(x + self_block(x))
        x = layer.norm2(x + cross_block(x))
        return layer.norm3(x + layer._ff_block(x, layer.dropout3))

    def _self_attention(self, attn, x, i):
        """The new position attends to 0..t: the cache (reordered) plus its own key and value."""
        E, t = attn.embed_dim, self.length
        q, kv_new = _project_heads(attn, x, slice(0, E)), _project_heads(attn, x, slice(E, 3 * E))
        old = self.self_kv[i]                                          # [2, R_old, H, t, D]
        kv = np.empty_like(old, shape=kv_new.shape[:3] + (t + 1,) + kv_new.shape[4:])
        if self._pending_rows is None:
            kv[:, :, :, :t] = old
        else:                                                          # gather straight into kv
            np.take(old, self._pending_rows, axis=1, out=kv[:, :, :, :t], mode="clip")
        kv[:, :, :, t:] = kv_new
        self.self_kv[i] = kv
        out, _ = ops.scaled_dot_product_attention_forward(q[0], kv[0], kv[1])   # [R, H, 1, D]
        return attn.out_proj(out.reshape(out.shape[0], 1, E))                 # [R, 1, E]

    def _memory_attention(self, attn, x, i):
        """The K beams of a sentence are K queries over that sentence's memory."""
        E, K = attn.embed_dim, self.beams
        (q,) = _project_heads(attn, x, slice(0, E))                            # [R, H, 1, D]
        R, H, _, D = q.shape
        q = q.reshape(R // K, K, H, D).transpose(0, 2, 1, 3)                   # [N, H, K, D]
        k, v = self.memory_kv[i]                                               # [N, H, S, D]
        out, _ = ops.scaled_dot_product_attention_forward(q, k, v, attn_mask=self.memory_mask)
        return attn.out_proj(out.transpose(0, 2, 1, 3).reshape(R, 1, E))       # [R, 1, E]


def _project_heads(attn, x, rows):
    """x [R, 1, E] @ in_proj_weight[rows]^T + bias -> [c, R, H, 1, D], c = len(rows) / E."""
    E, H = attn.embed_dim, attn.num_heads
    y = x[:, 0] @ attn.in_proj_weight.data[rows].T
    y += attn.in_proj_bias.data[rows]                                          # [R, c*E]
    R = y.shape[0]
    return y.reshape(R, -1, H, 1, E // H).transpose(1, 0, 2, 3, 4)


def _log_softmax(logits):
    """log softmax over the last axis, stable, in place."""
    logits -= logits.max(axis=-1, keepdims=True)
    logits -= np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    return logits
