"""The seq2seq Transformer's training step (forward, label-smoothed loss, backward) against the
same model in torch, at translate-multi30k's default size: d_model 256, 4 heads, 3+3 layers,
feed-forward 1024, vocabularies 8052 / 6250 (tied output), dropout 0.1; a batch of 128 pairs
of 14 source and 15 target tokens (the recipe's batches by length are about this size).
"""
import math

import numpy as np

from ..harness import case

N, S, T = 128, 14, 15
SRC_V, TGT_V = 8052, 6250
SIZE = dict(d_model=256, nhead=4, num_encoder_layers=3, num_decoder_layers=3,
            dim_feedforward=1024, dropout=0.1)


def _batch():
    rng = np.random.default_rng(0)
    src = rng.integers(4, SRC_V, (N, S))
    tgt = rng.integers(4, TGT_V, (N, T + 1))
    src[N // 2:, S - 3:] = 0                       # some padding, as in real batches
    tgt[N // 2:, T - 2:] = 0
    return src, tgt


def _numpy_step():
    import numpy_transformer as nt
    from numpy_transformer.models import Transformer, TransformerConfig
    model = Transformer(TransformerConfig(SRC_V, TGT_V, tie_output=True, **SIZE))
    criterion = model.criterion(0.1)
    src, tgt = _batch()

    def step():
        logits = model(src, tgt[:, :-1])
        criterion(logits.reshape(-1, TGT_V), tgt[:, 1:].reshape(-1))
        with nt.kernels.deferred_weight_grads():          # as the translation recipe's step
            model.backward(criterion.backward().reshape(logits.shape))
    return step


def _torch_step():
    import torch

    class Seq2Seq(torch.nn.Module):
        def __init__(self):
            super().__init__()
            d = SIZE["d_model"]
            self.src_embed = torch.nn.Embedding(SRC_V, d, padding_idx=0)
            self.tgt_embed = torch.nn.Embedding(TGT_V, d, padding_idx=0)
            self.transformer = torch.nn.Transformer(batch_first=True, **SIZE)
            self.output = torch.nn.Linear(d, TGT_V)
            self.output.weight = self.tgt_embed.weight
            position = torch.arange(128.0)[:, None]
            angle = position * torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
            pe = torch.zeros(128, d)
            pe[:, 0::2], pe[:, 1::2] = torch.sin(angle), torch.cos(angle)
            self.register_buffer("pe", pe)
            self.dropout = torch.nn.Dropout(SIZE["dropout"])

        def embed(self, ids, table):
            return self.dropout(table(ids) * math.sqrt(self.pe.shape[1]) + self.pe[:ids.shape[1]])

        def forward(self, src, tgt):
            # float masks everywhere: mixing bool padding with a float causal mask is deprecated
            # and slower in torch
            neg = torch.tensor(float("-inf"))
            causal = torch.nn.Transformer.generate_square_subsequent_mask(tgt.shape[1])
            src_pad = torch.where(src == 0, neg, 0.0)
            tgt_pad = torch.where(tgt == 0, neg, 0.0)
            h = self.transformer(self.embed(src, self.src_embed), self.embed(tgt, self.tgt_embed),
                                 tgt_mask=causal, src_key_padding_mask=src_pad,
                                 tgt_key_padding_mask=tgt_pad, memory_key_padding_mask=src_pad,
                                 tgt_is_causal=True)
            return self.output(h)

    model = Seq2Seq()
    src, tgt = (torch.from_numpy(a) for a in _batch())

    def step():
        model.zero_grad(set_to_none=False)
        logits = model(src, tgt[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, TGT_V), tgt[:, 1:].reshape(-1),
                                                 ignore_index=0, label_smoothing=0.1)
        loss.backward()
    return step


@case("Seq2seq train step 128x14->15 d256 3+3", target=1.0, recipe="translate-multi30k")
def seq2seq_step(lib):
    return _numpy_step() if lib == "numpy" else _torch_step()
