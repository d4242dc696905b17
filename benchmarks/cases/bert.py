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
            with nt.kernels.deferred_weight_grads():      # as the BERT recipe's training step
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


@case("BERT train step 6x50 d256 L6 h4 p0.1", target=1.0, recipe="bert-quotes")
def bert_train_step(lib):
    return _bert_step(lib, dropout=0.1)


@case("BERT train step 6x50 d256 L6 h4 p0", target=1.0)
def bert_train_step_no_dropout(lib):
    return _bert_step(lib, dropout=0.0)


def profile_layers(dropout: float = 0.1, steps: int = 20) -> dict:
    """Milliseconds per step inside each layer kind of our BERT (exclusive of its children),
    and in the loss and AdamW: where a training step's time goes."""
    import time
    from collections import defaultdict
    from numpy_transformer.models.bert import BERT, BERTConfig
    import numpy_transformer as nt
    config = BERTConfig(vocab_size=VOCAB, dropout=dropout)
    inputs, labels, where = _batch(config)
    model, criterion = BERT(config), nt.nn.CrossEntropyLoss()
    optimizer = nt.optim.AdamW(model.parameters(), lr=1e-4)
    totals, open_calls = defaultdict(float), []

    def timed(fn, key):
        def call(*args, **kwargs):
            open_calls.append(0.0)                     # time spent in children of this call
            started = time.perf_counter()
            out = fn(*args, **kwargs)
            spent = time.perf_counter() - started
            totals[key] += spent - open_calls.pop()
            if open_calls:
                open_calls[-1] += spent
            return out
        return call

    for module in [*model.modules(), criterion]:
        for method in ("forward", "backward"):
            object.__setattr__(module, method, timed(getattr(module, method),
                                                     f"{type(module).__name__}.{method}"))
    optimizer.step = timed(optimizer.step, "AdamW.step")
    optimizer.zero_grad = timed(optimizer.zero_grad, "AdamW.zero_grad")

    def step():
        optimizer.zero_grad()
        criterion(model(inputs, masked_positions=where), labels[where])
        with nt.kernels.deferred_weight_grads():
            model.backward(criterion.backward())
        optimizer.step()

    for _ in range(3):
        step()
    totals.clear()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    per_step = {k: v / steps * 1e3 for k, v in totals.items()}
    per_step["total"] = (time.perf_counter() - started) / steps * 1e3
    return per_step


if __name__ == "__main__":       # python -m benchmarks.cases.bert: the profile of our step
    import sys
    profile = profile_layers(float(sys.argv[1]) if len(sys.argv) > 1 else 0.1)
    total = profile.pop("total")
    print(f"our BERT training step: {total:.1f} ms")
    for key, ms in sorted(profile.items(), key=lambda item: -item[1]):
        if ms >= 0.05:
            print(f"  {key:<32}{ms:8.2f} ms {100 * ms / total:5.1f}%")
