"""BERT training step at the bert-quotes configuration, ours against the PyTorch twin.

One step: zero the gradients, forward with the masked-LM head at the masked positions only,
cross-entropy, backward, AdamW (float32). Batch 6 x 50 tokens, 6 blocks of width 256, 4 heads,
feed-forward 1024, the quotes' word vocabulary (~3,000 words); quote-like lengths, padded to 50.
"""
import numpy as np

from ..harness import case

VOCAB = 3057          # WordTokenizer over the quotes, 7 specials included


def _batch(config, B=6, seed=0):
    """(inputs, labels, masked positions) like the recipe's: [CLS] words [SEP] then padding."""
    from numpy_transformer.models.bert import mask_tokens
    rng = np.random.default_rng(seed)
    T = config.max_len
    ids = np.zeros((B, T), dtype=np.int64)                          # [PAD] = 0
    for row, n in enumerate(rng.integers(8, 40, size=B)):
        ids[row, 0], ids[row, 1:n + 1], ids[row, n + 1] = 2, rng.integers(7, VOCAB, n), 3
    inputs, labels = mask_tokens(ids, rng, mask_id=4, special_ids=range(7), vocab_size=VOCAB)
    return inputs, labels, labels != -100


def _bert_step(lib, dropout):
    from numpy_transformer.models.bert import BERT, BERTConfig
    config = BERTConfig(vocab_size=VOCAB, dropout=dropout)
    inputs, labels, where = _batch(config)
    targets = labels[where]
    if lib == "numpy":
        import numpy_transformer as nt
        model = BERT(config)
        criterion = nt.nn.CrossEntropyLoss()
        optimizer = nt.optim.AdamW(model.parameters(), lr=1e-4)

        def step():
            optimizer.zero_grad()
            criterion(model(inputs, masked_positions=where), targets)
            model.backward(criterion.backward())
            optimizer.step()
        return step
    import torch
    from numpy_transformer.interop.bert_twin import BertTwin
    model = BertTwin(config)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4)
    t_inputs, t_targets, t_where = (torch.from_numpy(a) for a in (inputs, targets, where))

    def step():
        optimizer.zero_grad()
        logits = model(t_inputs, masked_positions=t_where)
        torch.nn.functional.cross_entropy(logits, t_targets).backward()
        optimizer.step()
    return step


@case("BERT train step 6x50 d256 L6 h4 p0.1", target=1.0)
def bert_train_step(lib):
    return _bert_step(lib, dropout=0.1)


@case("BERT train step 6x50 d256 L6 h4 p0", target=1.0)
def bert_train_step_no_dropout(lib):
    return _bert_step(lib, dropout=0.0)
