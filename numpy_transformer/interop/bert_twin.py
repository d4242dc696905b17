"""BERT's PyTorch twin, built from torch.nn layers with the same names as `nt.models.BERT`.

    twin = bert_to_torch(model)             # BertTwin(model.config) with our weights, by name

The twin computes what our BERT computes (embeddings, torch.nn.TransformerEncoder, the
masked-LM head with the decoder tied to the token table), so the same weights and inputs give
the same logits and gradients. It needs PyTorch (imported when a twin is built).
"""
import numpy as np

from ..models.bert import IGNORE_INDEX

__all__ = ["BertTwin", "bert_to_torch", "masked_lm_loss", "evaluate_masked_lm"]


def _torch():
    from .torch import _torch as load
    return load()


def BertTwin(config, dtype=None):
    """A torch.nn.Module twin of `BERT(config)` (its weights are still torch's own)."""
    torch = _torch()
    tnn = torch.nn

    class Embeddings(tnn.Module):
        def __init__(self):
            super().__init__()
            D = config.dim
            self.word_embeddings = tnn.Embedding(config.vocab_size, D)
            self.position_embeddings = tnn.Embedding(config.max_len, D)
            self.token_type_embeddings = tnn.Embedding(config.type_vocab_size, D)
            self.norm = tnn.LayerNorm(D, eps=config.layer_norm_eps)
            self.dropout = tnn.Dropout(config.dropout)

        def forward(self, input_ids, token_type_ids):
            positions = torch.arange(input_ids.shape[1])
            x = (self.word_embeddings(input_ids) + self.position_embeddings(positions)
                 + self.token_type_embeddings(token_type_ids))
            return self.dropout(self.norm(x))

    class Head(tnn.Module):
        def __init__(self):
            super().__init__()
            self.dense = tnn.Linear(config.dim, config.dim)
            self.activation = tnn.GELU() if config.activation == "gelu" else tnn.ReLU()
            self.norm = tnn.LayerNorm(config.dim, eps=config.layer_norm_eps)
            self.decoder = tnn.Linear(config.dim, config.vocab_size)

        def forward(self, h):
            return self.decoder(self.norm(self.activation(self.dense(h))))

    class Bert(tnn.Module):
        def __init__(self):
            super().__init__()
            self.config = config
            self.embeddings = Embeddings()
            layer = tnn.TransformerEncoderLayer(
                config.dim, config.heads, config.ff_dim, config.dropout, config.activation,
                layer_norm_eps=config.layer_norm_eps, batch_first=True,
                norm_first=config.norm_first)
            norm = tnn.LayerNorm(config.dim, eps=config.layer_norm_eps) if config.norm_first else None
            self.encoder = tnn.TransformerEncoder(layer, config.depth, norm=norm,
                                                  enable_nested_tensor=False)
            self.head = Head()
            self.head.decoder.weight = self.embeddings.word_embeddings.weight   # tied

        def forward(self, input_ids, token_type_ids=None, key_padding_mask=None,
                    masked_positions=None):
            if token_type_ids is None:
                token_type_ids = torch.zeros_like(input_ids)
            if key_padding_mask is None and config.pad_id is not None:
                key_padding_mask = input_ids == config.pad_id
            if key_padding_mask is not None and not bool(key_padding_mask.any()):
                key_padding_mask = None
            h = self.embeddings(input_ids, token_type_ids)
            h = self.encoder(h, src_key_padding_mask=key_padding_mask)
            if masked_positions is not None:
                h = h[masked_positions]                       # [M, D], row-major order
            return self.head(h)

    twin = Bert()
    if dtype is not None:
        twin.to({np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}
                [np.dtype(dtype)])
    return twin


def bert_to_torch(model):
    """The twin of our BERT, in our model's dtype, holding the same weights."""
    from ..testing.twin import copy_weights_to_torch
    twin = BertTwin(model.config, model.embeddings.word_embeddings.weight.dtype)
    copy_weights_to_torch(model, twin)
    return twin


def masked_lm_loss(twin, batch):
    """The twin's loss on a batch (inputs, labels) as MaskedLMTask computes ours: cross-entropy
    at the positions whose label is not ignored."""
    torch = _torch()
    inputs, labels = batch
    where = labels != IGNORE_INDEX
    logits = twin(torch.from_numpy(inputs), masked_positions=torch.from_numpy(where))
    return torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[where]))


def evaluate_masked_lm(twin, loader) -> dict:
    """The twin's held-out masked-LM loss and accuracy (as MaskedLMTask.evaluate)."""
    torch = _torch()
    twin.eval()
    total_loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for inputs, labels in loader:
            where = labels != IGNORE_INDEX
            targets = torch.from_numpy(labels[where])
            logits = twin(torch.from_numpy(inputs), masked_positions=torch.from_numpy(where))
            total_loss += float(torch.nn.functional.cross_entropy(logits, targets)) * len(targets)
            correct += int((logits.argmax(-1) == targets).sum())
            count += len(targets)
    return {"loss": total_loss / count, "accuracy": correct / count}
