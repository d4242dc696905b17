"""Week 4: a word-level RNN language model on the quotes corpus (the word tokenizer, an
Elman RNN): the loss falls, the validation perplexity with it, and the model writes text."""
import time

import numpy as np

from ... import nn, optim
from ...grad_mode import no_grad
from ...random import manual_seed
from .common import print_table, pyplot, save, smooth

SEQUENCE = 32


def _stream(tokenizer, quotes):
    """All quotes as one stream of ids, each quote ended by [EOS]."""
    ids = []
    for quote in quotes:
        ids += tokenizer.encode(quote) + [tokenizer.vocab.eos_id]
    return np.array(ids, dtype=np.int64)


def _windows(stream, length):
    """Non-overlapping windows of length + 1 ids: inputs [:-1], targets [1:]."""
    n = (len(stream) - 1) // length
    x = stream[:n * length].reshape(n, length)
    y = stream[1:n * length + 1].reshape(n, length)
    return x, y


def _perplexity(model, criterion, x, y, batch=64):
    model.eval()
    total = 0.0
    with no_grad():
        for start in range(0, len(x), batch):
            logits, _ = model(x[start:start + batch])
            total += float(criterion(logits.reshape(-1, logits.shape[-1]),
                                     y[start:start + batch].reshape(-1))) * len(x[start:start + batch])
    model.train()
    return float(np.exp(total / len(x)))


def run(out, quick=False, data_dir=None, log=print) -> dict:
    from ...data import load_quotes
    from ...models import RNNLanguageModel
    from ...tokenizers import WordTokenizer
    try:
        quotes = list(dict.fromkeys(load_quotes(data_dir)))  # the file repeats most quotes
    except Exception as e:
        raise SystemExit(f"the quotes corpus is not available ({type(e).__name__}: {e}); pass "
                         "--data-dir with the folder that holds text/quotes_jamesft.json") from None
    if quick:
        quotes = quotes[:300]
    split = int(0.9 * len(quotes))
    min_freq = 1 if quick else 2
    tokenizer = WordTokenizer.build(quotes[:split], min_freq=min_freq)
    train_x, train_y = _windows(_stream(tokenizer, quotes[:split]), SEQUENCE)
    val_x, val_y = _windows(_stream(tokenizer, quotes[split:]), SEQUENCE)
    unk = float(np.mean(val_x == tokenizer.vocab.unk_id))
    embed, hidden, dropout = (16, 32, 0.0) if quick else (64, 128, 0.3)
    steps, batch = (20, 16) if quick else (700, 32)
    log(f"{len(quotes)} distinct quotes ({split} to train, {len(quotes) - split} to validate); "
        f"word tokenizer with {tokenizer.vocab_size} tokens (words seen at least {min_freq} times; "
        f"{unk:.1%} of the validation words are [UNK])")
    log(f"{len(train_x)} training windows of {SEQUENCE} tokens; RNN language model: embedding "
        f"{embed}, one tanh RNN layer of {hidden}, dropout {dropout}, Adam lr 2e-3, gradients "
        f"clipped at norm 1, "
        f"{steps} steps of {batch} windows\n")
    manual_seed(0)
    model = RNNLanguageModel(tokenizer.vocab_size, embed, hidden, cell="rnn", dropout=dropout)
    optimizer = optim.Adam(model.parameters(), lr=2e-3)
    criterion = nn.CrossEntropyLoss()
    rng = np.random.default_rng(0)
    losses, evals = [], []
    start_perplexity = _perplexity(model, criterion, val_x, val_y)
    evals.append((0, start_perplexity))
    started = time.perf_counter()
    checkpoints = set(np.linspace(0, steps, 9).astype(int)[1:])    # 8 validations, the last at the end
    every = max(1, steps // 8)
    for step in range(1, steps + 1):
        index = rng.integers(0, len(train_x), batch)
        optimizer.zero_grad()
        logits, _ = model(train_x[index])
        loss = criterion(logits.reshape(-1, logits.shape[-1]), train_y[index].reshape(-1))
        model.backward(criterion.backward().reshape(logits.shape))
        optim.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(float(loss))
        if step in checkpoints:
            perplexity = _perplexity(model, criterion, val_x, val_y)
            evals.append((step, perplexity))
            log(f"  step {step:5d}  train loss {np.mean(losses[-every:]):.3f}  validation "
                f"perplexity {perplexity:.1f}  ({time.perf_counter() - started:.0f} s)")
    seconds = time.perf_counter() - started
    log("")
    print_table(["", "train loss", "validation perplexity"],
                [["start", f"{losses[0]:.3f}", f"{start_perplexity:.1f}"],
                 ["end", f"{np.mean(losses[-50:]):.3f}", f"{evals[-1][1]:.1f}"],
                 ["best", "", f"{min(p for _, p in evals):.1f}"]], log)
    log(f"(a uniform guess over the vocabulary has perplexity {tokenizer.vocab_size})")

    log("\nsamples (temperature 0.8; special tokens other than [EOS] are never drawn):")
    banned = [i for i in tokenizer.special_tokens.values() if i != tokenizer.vocab.eos_id]
    generator = np.random.default_rng(0)
    samples = []
    for prompt in ("life is", "the secret of", "love"):
        ids = np.array([tokenizer.encode(prompt)], dtype=np.int64)
        new = model.generate(ids, 20, temperature=0.8, generator=generator,
                             banned=banned)
        words = list(new[0])
        if tokenizer.vocab.eos_id in words:
            words = words[:words.index(tokenizer.vocab.eos_id)]
        text = tokenizer.decode(list(ids[0]) + words)
        samples.append(text)
        log(f"  {text}")

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(smooth(losses, 50), label="training loss (running mean of 50)")
    steps_at, perplexities = zip(*evals)
    ax.plot(steps_at, np.log(perplexities), "o-", label="validation loss (log perplexity)")
    ax.set(xlabel="step", ylabel="cross-entropy (nats per word)",
           title=f"RNN language model on the quotes ({tokenizer.vocab_size} words)")
    ax.grid(alpha=0.3)
    ax.legend()
    path = save(fig, out / "week_4_rnn_lm.png")
    log(f"\nplot: {path}  ({seconds:.0f} s of training)")
    return {"start_loss": losses[0], "end_loss": float(np.mean(losses[-50:])),
            "perplexity": evals[-1][1], "samples": samples, "plot": path}
