"""`copy`, `reverse`, `sort`: a tiny seq2seq Transformer learns to copy, reverse or sort random
digit sequences; scored by exact-sequence accuracy of greedy decoding.

    numpy-transformer train reverse            # about a minute on one thread; target >= 99%

Tokens: [PAD] 0, [BOS] 1, [EOS] 2, digits 0-9 as 3-12. Sequences of min_len..max_len digits,
drawn from the seed (the evaluation set from a separate fixed seed).
"""
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data import DataLoader
from ..models.seq2seq import Transformer, TransformerConfig
from .registry import Recipe, Setup, Target, TrainingConfig, register
from .translate import PairBatches, Seq2SeqTask, make_scheduler

PAD, BOS, EOS, FIRST_DIGIT = 0, 1, 2, 3
VOCAB = FIRST_DIGIT + 10
EVAL_SEED = 4321


@dataclass
class SyntheticConfig(TrainingConfig):
    steps: int = 600
    batch_size: int = 64
    lr: float = 3e-3
    eval_every: int = 200
    log_every: int = 50
    min_len: int = 3
    max_len: int = 8                   # longest digit sequence
    train_size: int = 20000
    eval_size: int = 500
    d_model: int = 64
    nhead: int = 4
    num_encoder_layers: int = 2
    num_decoder_layers: int = 2
    dim_feedforward: int = 128
    dropout: float = 0.0
    label_smoothing: float = 0.0
    schedule: str = "cosine"
    warmup: int = 50


TASKS = {"copy": lambda s: s, "reverse": lambda s: s[::-1], "sort": sorted}


def make_pairs(task: str, count: int, min_len: int, max_len: int, rng):
    """(source ids, target ids) lists: random digit tokens and their copy/reverse/sort."""
    lengths = rng.integers(min_len, max_len + 1, size=count)
    sources = [list(FIRST_DIGIT + rng.integers(0, 10, size=n)) for n in lengths]
    return sources, [[int(t) for t in TASKS[task](s)] for s in sources]


class SequenceTask(Seq2SeqTask):
    """Adds exact-sequence accuracy of greedy decoding."""

    def decoded(self, loader) -> dict:
        outputs = self.decode_loader(loader)
        expected = loader.dataset.tgt_ids
        return {"sequence_accuracy": float(np.mean([o == e for o, e in zip(outputs, expected)]))}


def builder(task: str):
    def build(config: SyntheticConfig, data_dir=None) -> Setup:
        train_rng = np.random.default_rng(config.seed)
        eval_rng = np.random.default_rng(EVAL_SEED)
        size = (config.min_len, config.max_len)
        train = PairBatches(*make_pairs(task, config.train_size, *size, train_rng),
                            config.batch_size, PAD, BOS, EOS)
        held_out = PairBatches(*make_pairs(task, config.eval_size, *size, eval_rng), 250,
                               PAD, BOS, EOS)
        model = Transformer(TransformerConfig(
            src_vocab_size=VOCAB, tgt_vocab_size=VOCAB, d_model=config.d_model,
            nhead=config.nhead, num_encoder_layers=config.num_encoder_layers,
            num_decoder_layers=config.num_decoder_layers,
            dim_feedforward=config.dim_feedforward, dropout=config.dropout,
            max_len=config.max_len + 2, pad_id=PAD))
        loader = DataLoader(train, 1, shuffle=True, seed=config.seed)
        total = config.steps or int(config.epochs * len(loader))
        optimizer = optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98))
        scheduler = make_scheduler(optimizer, config, total)
        seq_task = SequenceTask(model, optimizer, scheduler, bos_id=BOS, eos_id=EOS,
                                label_smoothing=config.label_smoothing, grad_clip=1.0)
        evaluation = DataLoader(held_out, 1)
        return Setup(seq_task, loader, evaluation, evaluation)
    return build


for _name, _what in (("copy", "copy"), ("reverse", "reverse"), ("sort", "sort")):
    register(Recipe(_name, f"tiny seq2seq Transformer learns to {_what} digit sequences "
                           "(target >= 99% exact sequences, greedy)", SyntheticConfig,
                    builder(_name),
                    headline=lambda r: f"{r['test_sequence_accuracy']:.1%} exact sequences",
                    target=Target("sequence_accuracy", 0.99)))
