"""Transformer layers as torch.nn's: encoder and decoder layers, their stacks, and Transformer.

Each backward calls the children's backward in reverse order of the forward; a residual
x + f(x) sends its gradient down both paths and adds them.
"""
import copy

import numpy as np

from . import init
from ._checks import check_dim, check_float, check_ndim
from .activation import GELU, ReLU
from .attention import MultiheadAttention
from .container import ModuleList
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]


def _activation_module(activation):
    """'relu' / 'gelu' / a Module with a backward (torch also takes functions; we need backward)."""
    if isinstance(activation, str):
        if activation == "relu":
            return ReLU()
        if activation == "gelu":
            return GELU()
        raise ValueError(f"activation should be relu/gelu, not {activation!r}")
    if isinstance(activation, Module):
        return activation
    raise TypeError(f"activation must be 'relu', 'gelu' or a Module (it needs a backward), "
                    f"got {type(activation).__name__}")


class _Layer(Module):
    """What the encoder and decoder layers share: input checks and the feed-forward block."""

    def _check_input(self, x, name):
        check_float(self, x, name, self.linear1.weight.dtype)
        check_ndim(self, x, (2, 3), name, "([L, d_model] or [L, N, d_model] / [N, L, d_model])")
        check_dim(self, x, -1, self.linear1.in_features, name, "last dimension (d_model)")

    def _ff_block(self, x, dropout_out):
        """dropout_out(linear2(dropout(activation(linear1(x))))), on [N*L, d_model] (one GEMM each)."""
        h = x.reshape(-1, x.shape[-1])
        h = dropout_out(self.linear2(self.dropout(self.activation(self.linear1(h)))))
        return h.reshape(x.shape)

    def _ff_block_backward(self, grad, dropout_out):
        g = self.linear2.backward(dropout_out.backward(grad.reshape(-1, grad.shape[-1])))
        g = self.linear1.backward(self.activation.backward(self.dropout.backward(g)))
        return g.reshape(grad.shape)

    def _sa_block(self, x, mask, padding, is_causal):
        """dropout1(self_attn(x, x, x)[0])."""
        y = self.self_attn(x, x, x, attn_mask=mask, key_padding_mask=padding, need_weights=False,
                           is_causal=is_causal)[0]
        return self.dropout1(y)

    def _sa_block_backward(self, grad):
        (d_x,) = self.self_attn.backward(self.dropout1.backward(grad), merge_shared=True)
        return d_x                                # x was query, key and value: one product

    def extra_repr(self):
        attn = self.self_attn
        return (f"d_model={attn.embed_dim}, nhead={attn.num_heads}, "
                f"dim_feedforward={self.linear1.out_features}, norm_first={self.norm_first}")


class TransformerEncoderLayer(_Layer):
    """Self-attention then feed-forward, each with a residual and LayerNorm (after, or before
    with norm_first=True)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation_module(activation)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False):
        self._check_input(src, "src")
        masks = (src_mask, src_key_padding_mask, is_causal)
        if self.norm_first:
            x1 = src + self._sa_block(self.norm1(src), *masks)
            y = x1 + self._ff_block(self.norm2(x1), self.dropout2)
        else:
            x1 = self.norm1(src + self._sa_block(src, *masks))
            y = self.norm2(x1 + self._ff_block(x1, self.dropout2))
        self._push(None, y)
        return y

    def backward(self, grad_output):
        """d_src; the residuals add the skip gradient to the block's."""
        self._pop(grad_output)
        if self.norm_first:             # x1 = src + sa(norm1(src)),  y = x1 + ff(norm2(x1))
            d_x1 = grad_output + self.norm2.backward(self._ff_block_backward(grad_output,
                                                                             self.dropout2))
            return d_x1 + self.norm1.backward(self._sa_block_backward(d_x1))
        d_h2 = self.norm2.backward(grad_output)          # y = norm2(h2), h2 = x1 + ff(x1)
        d_h1 = self.norm1.backward(d_h2 + self._ff_block_backward(d_h2, self.dropout2))
        return d_h1 + self._sa_block_backward(d_h1)      # x1 = norm1(h1), h1 = src + sa(src)


class TransformerDecoderLayer(_Layer):
    """Self-attention over tgt, attention to memory, feed-forward; residuals and LayerNorms."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = False,
                 norm_first: bool = False, bias: bool = True, dtype=None):
        super().__init__()
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, dtype=dtype)
        self.multihead_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                                 batch_first=batch_first, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, dtype=dtype)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.dropout3 = Dropout(dropout)
        self.activation = _activation_module(activation)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False):
        self._check_input(tgt, "tgt")
        self._check_input(memory, "memory")
        self_masks = (tgt_mask, tgt_key_padding_mask, tgt_is_causal)
        memory_masks = (memory_mask, memory_key_padding_mask, memory_is_causal)
        if self.norm_first:
            x1 = tgt + self._sa_block(self.norm1(tgt), *self_masks)
            x2 = x1 + self._mha_block(self.norm2(x1), memory, *memory_masks)
            y = x2 + self._ff_block(self.norm3(x2), self.dropout3)
        else:
            x1 = self.norm1(tgt + self._sa_block(tgt, *self_masks))
            x2 = self.norm2(x1 + self._mha_block(x1, memory, *memory_masks))
            y = self.norm3(x2 + self._ff_block(x2, self.dropout3))
        self._push(None, y)
        return y

    def _mha_block(self, x, memory, mask, padding, is_causal):
        """dropout2(multihead_attn(x, memory, memory)[0])."""
        y = self.multihead_attn(x, memory, memory, attn_mask=mask, key_padding_mask=padding,
                                need_weights=False, is_causal=is_causal)[0]
        return self.dropout2(y)

    def _mha_block_backward(self, grad):
        """(d_x, d_memory): memory was both key and value."""
        return self.multihead_attn.backward(self.dropout2.backward(grad), merge_shared=True)

    def backward(self, grad_output):
        """(d_tgt, d_memory)."""
        self._pop(grad_output)
        if self.norm_first:             # x2 = x1 + mha(norm2(x1), memory),  y = x2 + ff(norm3(x2))
            d_x2 = grad_output + self.norm3.backward(self._ff_block_backward(grad_output,
                                                                             self.dropout3))
            d_normed, d_memory = self._mha_block_backward(d_x2)
            d_x1 = d_x2 + self.norm2.backward(d_normed)
            return d_x1 + self.norm1.backward(self._sa_block_backward(d_x1)), d_memory
        d_h3 = self.norm3.backward(grad_output)          # y = norm3(h3), h3 = x2 + ff(x2)
        d_h2 = self.norm2.backward(d_h3 + self._ff_block_backward(d_h3, self.dropout3))
        d_attended, d_memory = self._mha_block_backward(d_h2)   # h2 = x1 + mha(x1, memory)
        d_h1 = self.norm1.backward(d_h2 + d_attended)    # x1 = norm1(h1), h1 = tgt + sa(tgt)
        return d_h1 + self._sa_block_backward(d_h1), d_memory


class TransformerEncoder(Module):
    """num_layers deep copies of encoder_layer (layers.0, layers.1, ...), then an optional norm."""

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm=None,
                 enable_nested_tensor: bool = True, mask_check: bool = True):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        output = src
        for layer in self.layers:
            output = layer(output, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                           is_causal=bool(is_causal))
        if self.norm is not None:
            output = self.norm(output)
        self._push(None, output)
        return output

    def backward(self, grad_output):
        """d_src."""
        self._pop(grad_output)
        grad = grad_output
        if self.norm is not None:
            grad = self.norm.backward(grad)
        for layer in reversed(list(self.layers)):
            grad = layer.backward(grad)
        return grad


class TransformerDecoder(Module):
    """num_layers deep copies of decoder_layer, each attending to the same memory; optional norm."""

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int, norm=None):
        super().__init__()
        self.layers = ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal: bool = False):
        output = tgt
        for layer in self.layers:
            output = layer(output, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                           tgt_key_padding_mask=tgt_key_padding_mask,
                           memory_key_padding_mask=memory_key_padding_mask,
                           tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        if self.norm is not None:
            output = self.norm(output)
        self._push(None, output)
        return output

    def backward(self, grad_output):
        """(d_tgt, d_memory): every layer read memory, so their memory gradients add up."""
        self._pop(grad_output)
        grad = grad_output
        if self.norm is not None:
            grad = self.norm.backward(grad)
        d_memory = None
        for layer in reversed(list(self.layers)):
            grad, d_mem = layer.backward(grad)
            d_memory = d_mem if d_memory is None else d_memory + d_mem
        return grad, d_memory


class Transformer(Module):
    """Encoder-decoder Transformer ("Attention Is All You Need") as torch.nn.Transformer."""

    def __init__(self, d_model: int = 512, nhead: int = 8, num_encoder_layers: int = 6,
                 num_decoder_layers: int = 6, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", custom_encoder=None, custom_decoder=None,
                 layer_norm_eps: float = 1e-5, batch_first: bool = False, norm_first: bool = False,
                 bias: bool = True, dtype=None):
        super().__init__()
        options = dict(dim_feedforward=dim_feedforward, dropout=dropout, activation=activation,
                       layer_norm_eps=layer_norm_eps, batch_first=batch_first,
                       norm_first=norm_first, bias=bias, dtype=dtype)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(d_model, nhead, **options), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(d_model, nhead, **options), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, dtype=dtype))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self) -> None:
        """torch's: xavier_uniform_ on every weight matrix."""
        for param in self.parameters():
            if param.data.ndim > 1:
                init.xavier_uniform_(param)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal: bool = False):
        batch = 0 if self.batch_first else 1
        if src.ndim == 3 and tgt.ndim == 3 and src.shape[batch] != tgt.shape[batch]:
            raise ValueError(f"{self._describe()}: the batch sizes of src {tuple(src.shape)} and "
                             f"tgt {tuple(tgt.shape)} must be equal (batch_first={self.batch_first})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"{self._describe()}: the last dimension of src {tuple(src.shape)} and "
                             f"tgt {tuple(tgt.shape)} must be d_model={self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        output = self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                              tgt_key_padding_mask=tgt_key_padding_mask,
                              memory_key_padding_mask=memory_key_padding_mask,
                              tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)
        self._push(None, output)
        return output

    def backward(self, grad_output):
        """(d_src, d_tgt): the decoder's memory gradient flows into the encoder."""
        self._pop(grad_output)
        d_tgt, d_memory = self.decoder.backward(grad_output)
        return self.encoder.backward(d_memory), d_tgt

    @staticmethod
    def generate_square_subsequent_mask(sz: int, device=None, dtype=None):
        """[sz, sz] float mask: 0 on and below the diagonal, -inf above (position i sees 0..i);
        on `device` ("cuda") if given."""
        from ..device import to_device
        from ..dtype import get_default_dtype
        dtype = np.dtype(dtype or get_default_dtype())
        mask = np.triu(np.full((sz, sz), -np.inf, dtype=dtype), k=1)
        return mask if device is None else to_device(mask, device)

    def extra_repr(self):
        return f"d_model={self.d_model}, nhead={self.nhead}, batch_first={self.batch_first}"
