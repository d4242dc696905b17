"""`rnn-lm`: a word-level LSTM language model on the JamesFT quotes (week 4).

    numpy-transformer train rnn-lm          # 810 steps, ~1.5-4 min on one core; perplexity ~64
    numpy-transformer generate runs/rnn-lm --prompt "life is" --max-new-tokens 30 --seed 0

Data: the corpus holds 5,421 quotes but only 1,638 distinct ones; duplicates are dropped, then
the quotes are split 90/10 (a fixed shuffle), so no held-out quote was seen in training. Words
come from a WordTokenizer (lowercased, punctuation split off) built on the training quotes;
words seen fewer than `min_freq` times there are [UNK]. Each split is one token stream, every
quote followed by [EOS], cut into windows of `seq_len` tokens: x = stream[i:i+T],
y = stream[i+1:i+T+1] (the last partial window is dropped). Each window starts from a zero
state, so any batch size works and batches can be shuffled. Evaluation reports the loss per
token and the perplexity exp(loss) on the held-out windows ([UNK] targets included).

Training: Adam, cosine decay to 0, gradients clipped to `grad_clip` (global norm).
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data import ArrayDataset, DataLoader, load_quotes, load_text
from ..models import RNNLanguageModel
from ..train.language_model import LanguageModelTask
from .registry import Recipe, Setup, TrainingConfig, register

SPLIT_SEED = 1234        # the held-out quotes do not depend on the training seed


@dataclass
class RNNLMConfig(TrainingConfig):
    epochs: float = 30
    lr: float = 3e-3
    log_every: int = 20
    # the model
    cell: str = "lstm"
    embed_dim: int = 256
    hidden_size: int = 256
    num_layers: int = 1
    dropout: float = 0.5
    tie_weights: bool = True
    # the data and the optimisation
    seq_len: int = 32
    min_freq: int = 2
    val_fraction: float = 0.1
    grad_clip: float = 1.0
    weight_decay: float = 0.0
    data: str = None           # your text instead of the quotes: a UTF-8 file or a folder of .txt


class RNNLMTask(LanguageModelTask):
    """ids [B, T] -> logits [B, T, V]; cross-entropy at every position; perplexity logged too."""

    def logits(self, x):
        return self.model(x)[0]                                           # (logits, state)

    def metrics(self, loss: float) -> dict:
        return {"loss": loss, "perplexity": math.exp(loss)}


def text_lines(path) -> list:
    """A user's text as units like the quotes: its non-empty lines."""
    lines = [line.strip() for line in load_text(path).splitlines() if line.strip()]
    if len(lines) < 10:
        raise ValueError(f"--data {path}: {len(lines)} non-empty lines; the held-out split needs "
                         "at least 10")
    return lines


def split_quotes(quotes, val_fraction: float):
    """(train, held-out) lists of distinct quotes, split by a fixed shuffle."""
    distinct = list(dict.fromkeys(quotes))                              # first occurrences, in order
    order = np.random.default_rng(SPLIT_SEED).permutation(len(distinct))
    n_val = max(1, round(val_fraction * len(distinct)))
    return [distinct[i] for i in order[n_val:]], [distinct[i] for i in order[:n_val]]


def token_stream(tokenizer, quotes) -> np.ndarray:
    """Every quote's ids followed by [EOS], concatenated: [N] int64."""
    ids = []
    for quote in quotes:
        ids += tokenizer.encode(quote)
        ids.append(tokenizer.eos_id)
    return np.asarray(ids, dtype=np.int64)


def windows(stream, seq_len: int) -> ArrayDataset:
    """Non-overlapping (x, y) windows [N, T]: y is x shifted by one token."""
    n = (len(stream) - 1) // seq_len
    if n < 1:
        raise ValueError(f"a stream of {len(stream)} tokens is too short for seq_len={seq_len}")
    x = stream[:n * seq_len].reshape(n, seq_len)
    y = stream[1:n * seq_len + 1].reshape(n, seq_len)
    return ArrayDataset(x, y)


def build(config: RNNLMConfig, data_dir=None) -> Setup:
    from ..tokenizers import WordTokenizer
    units = text_lines(config.data) if config.data else load_quotes(data_dir)
    train_quotes, val_quotes = split_quotes(units, config.val_fraction)
    tokenizer = WordTokenizer.build(train_quotes, min_freq=config.min_freq)
    train = windows(token_stream(tokenizer, train_quotes), config.seq_len)
    val = windows(token_stream(tokenizer, val_quotes), config.seq_len)
    model = RNNLanguageModel(tokenizer.vocab_size, config.embed_dim, config.hidden_size,
                             config.num_layers, cell=config.cell, dropout=config.dropout,
                             tie_weights=config.tie_weights)
    optimizer = optim.Adam(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    train_loader = DataLoader(train, config.batch_size, shuffle=True, seed=config.seed)
    val_loader = DataLoader(val, 256)
    total = config.steps or math.ceil(config.epochs * len(train_loader))
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    task = RNNLMTask(model, optimizer, scheduler, grad_clip=config.grad_clip,
                     defer_weight_grads=True)
    return Setup(task, train_loader, val_loader, val_loader, notes={"tokenizer": tokenizer})


def generate(setup, prompt: str, max_new_tokens: int, temperature: float = 1.0, top_k=None,
             top_p=None, seed=None, on_token=None) -> str:
    """The words the model writes after `prompt`, a new line for each [EOS] (the end of a
    quote), lowercased and spaced by the WordTokenizer's rule; on_token(piece) gets each
    word as it is sampled. Special tokens other than [EOS] ([UNK], [PAD]...) are never drawn."""
    from ..models.sampling import make_generator
    from ..tokenizers.word import spacing
    tokenizer, model = setup.notes["tokenizer"], setup.task.model
    prompt_ids = tokenizer.encode(prompt)
    context = np.asarray([[tokenizer.eos_id] + prompt_ids], dtype=np.int64)   # a quote begins
    banned = [i for token, i in tokenizer.special_tokens.items() if token != "[EOS]"]
    ends_in_word = prompt_ids and not prompt[-1].isspace()
    previous = [tokenizer.id_to_token(prompt_ids[-1]) if ends_in_word else None]   # for spacing
    pieces = []

    def add(next_ids) -> None:
        token = tokenizer.id_to_token(int(next_ids[0]))
        if token == "[EOS]":
            piece, previous[0] = "\n", None
        else:
            piece = ("" if previous[0] is None else spacing(previous[0], token)) + token
            previous[0] = token
        pieces.append(piece)
        if on_token is not None:
            on_token(piece)

    model.generate(context, max_new_tokens, temperature, top_k, top_p,
                   generator=make_generator(seed), banned=banned, on_token=add)
    return "".join(pieces)


register(Recipe("rnn-lm", "word-level LSTM language model on the quotes (held-out perplexity; "
                "generate)", RNNLMConfig, build, hooks={"generate": generate}, data_field="data",
                headline=lambda r: f"held-out perplexity {r['test_perplexity']:.1f}"))
