"""Attention and Transformer layers at a realistic size (float32, batch_first, training mode).

The named cases use dropout=0.0 (the compute path); the "p0.1" cases add torch's default
dropout of the Transformer layers.
"""
import numpy as np

from ..harness import case


def _inputs(*shapes):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(np.float32) for s in shapes]


def _self_attention(lib, N, L, E, H):
    x, dy = _inputs((N, L, E), (N, L, E))
    if lib == "numpy":
        import numpy_transformer as nt
        attn = nt.nn.MultiheadAttention(E, H, batch_first=True)

        def step():
            attn(x, x, x)
            attn.backward(dy)
        return step
    import torch
    attn = torch.nn.MultiheadAttention(E, H, batch_first=True)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        attn(tx, tx, tx)[0].backward(tdy)
    return step


def _encoder_layer(lib, N, L, E, H, ff, dropout):
    x, dy = _inputs((N, L, E), (N, L, E))
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.TransformerEncoderLayer(E, H, ff, dropout=dropout, batch_first=True)

        def step():
            layer(x)
            layer.backward(dy)
        return step
    import torch
    layer = torch.nn.TransformerEncoderLayer(E, H, ff, dropout=dropout, batch_first=True)
    tx, tdy = torch.from_numpy(x).requires_grad_(), torch.from_numpy(dy)

    def step():
        layer(tx).backward(tdy)
    return step


def _decoder_layer(lib, N, L, S, E, H, ff, dropout):
    tgt, memory, dy = _inputs((N, L, E), (N, S, E), (N, L, E))
    if lib == "numpy":
        import numpy_transformer as nt
        layer = nt.nn.TransformerDecoderLayer(E, H, ff, dropout=dropout, batch_first=True)
        mask = nt.nn.Transformer.generate_square_subsequent_mask(L)

        def step():
            layer(tgt, memory, tgt_mask=mask, tgt_is_causal=True)
            layer.backward(dy)
        return step
    import torch
    layer = torch.nn.TransformerDecoderLayer(E, H, ff, dropout=dropout, batch_first=True)
    mask = torch.nn.Transformer.generate_square_subsequent_mask(L)
    ttgt, tmem = torch.from_numpy(tgt).requires_grad_(), torch.from_numpy(memory).requires_grad_()
    tdy = torch.from_numpy(dy)

    def step():
        layer(ttgt, tmem, tgt_mask=mask, tgt_is_causal=True).backward(tdy)
    return step


@case("MultiheadAttention 32x128x256 h4", target=1.2)
def multihead_attention(lib):
    return _self_attention(lib, 32, 128, 256, 4)


@case("TransformerEncoderLayer 32x128x256 h4 ff1024", target=1.2)
def encoder_layer(lib):
    return _encoder_layer(lib, 32, 128, 256, 4, 1024, dropout=0.0)


@case("TransformerEncoderLayer 32x128x256 h4 ff1024 p0.1")
def encoder_layer_dropout(lib):
    return _encoder_layer(lib, 32, 128, 256, 4, 1024, dropout=0.1)


@case("TransformerDecoderLayer 32x64x256 h4")
def decoder_layer(lib):
    """Causal self-attention over 64 targets, cross-attention to 64 memory positions, ff 1024."""
    return _decoder_layer(lib, 32, 64, 64, 256, 4, 1024, dropout=0.0)
