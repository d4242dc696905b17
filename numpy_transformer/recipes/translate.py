"""`translate-multi30k`: German -> English on Multi30k (29k training pairs) with the seq2seq
Transformer, scored by BLEU on test_2016_flickr (sacrebleu, detokenised, 13a).

    numpy-transformer train translate-multi30k                 # 3+3 layers, d_model 256
    numpy-transformer translate runs/translate-multi30k "ein Hund läuft im Park" --beam 4
    numpy-transformer attention runs/translate-multi30k --text "ein Hund läuft" --out att.png

Tokens: cased words and punctuation (nt.tokenizers.WordTokenizer, words seen at least
min_freq times; one vocabulary per language), or byte-level BPE (tokenizer="bpe", one joint
vocabulary, once nt.tokenizers has it). The vocabularies are rebuilt from the training text
whenever the recipe is built, so a checkpoint needs only its config. Batches hold sentences of
similar length (sorted by length, cut into batches of batch_size, shuffled as whole batches),
so there is little padding. Adam (0.9, 0.98), warm-up then inverse square root (Noam) or
cosine decay, label smoothing 0.1, gradients clipped to norm 1.
Evaluation: teacher-forced loss and token accuracy, and BLEU of greedy translations (validation);
the test loader also reports beam-search BLEU (beam, length_penalty).
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data import DataLoader, load_parallel
from ..distributed.sharded_loader import merge_over_shards, sum_over_shards
from ..grad_mode import no_grad
from ..models.decoding import decode
from ..models.seq2seq import Transformer, TransformerConfig
from ..train import Task
from .registry import Recipe, Setup, Target, TrainingConfig, register


@dataclass
class TranslateConfig(TrainingConfig):
    epochs: float = 8
    batch_size: int = 128              # sentences per batch (of similar length)
    lr: float = 7e-4                   # peak learning rate, reached after warm-up
    log_every: int = 50
    src_lang: str = "de"
    tgt_lang: str = "en"
    tokenizer: str = "word"            # "word" (cased words + punctuation) or "bpe"
    min_freq: int = 2                  # word tokenizer: rarer words become [UNK]
    vocab_size: int = 8000             # bpe: joint vocabulary size
    d_model: int = 256
    nhead: int = 4
    num_encoder_layers: int = 3
    num_decoder_layers: int = 3
    dim_feedforward: int = 1024
    dropout: float = 0.1
    norm_first: bool = False
    positions: str = "sinusoidal"
    tie_output: bool = True            # output projection = target embedding
    max_len: int = 128
    label_smoothing: float = 0.1
    schedule: str = "cosine"           # warm-up then cosine to 0, or "inverse_sqrt" (Noam)
    warmup: int = 400
    weight_decay: float = 0.0
    grad_clip: float = 1.0
    beam: int = 4                      # test-set beam search (1: greedy only)
    length_penalty: float = 0.6
    eval_sentences: int = 500          # validation BLEU on the first n pairs (None: all 1014)
    train_sentences: int = None        # train on the first n pairs only (tiny runs)
    test_sentences: int = None         # test on the first n pairs only (tiny runs)


# ---- data: sentence pairs as ids, batched by length ----
class PairBatches:
    """Sentence pairs cut into batches of similar length; item i is batch i, padded:
    (src [n, S], tgt [n, T] = BOS ... EOS, indices [n] of the pairs in the data set).

    Used with DataLoader(batch_size=1): the loader shuffles (and resumes) whole batches."""

    def __init__(self, src_ids, tgt_ids, batch_size, pad_id, bos_id, eos_id, pairs=None):
        self.src_ids, self.tgt_ids = src_ids, tgt_ids
        self.pad_id, self.bos_id, self.eos_id = pad_id, bos_id, eos_id
        self.sources = [s for s, _ in pairs] if pairs else None      # texts (plots, BLEU)
        self.references = [t for _, t in pairs] if pairs else None
        src_len = np.array([len(s) for s in src_ids])
        tgt_len = np.array([len(t) for t in tgt_ids])
        order = np.lexsort((tgt_len, src_len))   # by source length, then target length
        self.batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        self.beam_size = 1                       # the decoding metrics of evaluate use this

    def __len__(self) -> int:
        return len(self.batches)

    def __getitem__(self, index):
        (b,) = np.atleast_1d(index)
        rows = self.batches[int(b)]
        src = self._pad([self.src_ids[i] for i in rows])
        tgt = self._pad([[self.bos_id] + self.tgt_ids[i] + [self.eos_id] for i in rows])
        return src, tgt, rows

    def _pad(self, sequences):
        out = np.full((len(sequences), max(len(s) for s in sequences)), self.pad_id, np.int64)
        for i, s in enumerate(sequences):          # one row copy per sentence, at batching time
            out[i, :len(s)] = s
        return out


# ---- the task ----
class Seq2SeqTask(Task):
    """Teacher forcing: model(src, tgt[:, :-1]) predicts tgt[:, 1:]; label-smoothed
    cross-entropy over the non-padding target tokens. evaluate adds decoding metrics."""

    def __init__(self, model, optimizer, scheduler=None, *, bos_id, eos_id, label_smoothing=0.1,
                 grad_clip=None, length_penalty=0.6):
        super().__init__({"model": model}, {"optimizer": optimizer},
                         {"scheduler": scheduler} if scheduler else {}, grad_clip,
                         defer_weight_grads=True)
        self.model, self.criterion = model, model.criterion(label_smoothing)
        self.bos_id, self.eos_id, self.length_penalty = bos_id, eos_id, length_penalty

    def loss_weight(self, batch) -> float:
        """The target tokens that are not padding: the loss is their mean."""
        return int(np.count_nonzero(batch[1][:, 1:] != self.model.config.pad_id))

    def forward_backward(self, batch) -> dict:
        src, tgt = batch[0], batch[1]
        logits = self.model(src, tgt[:, :-1])                               # [N, T, V]
        target = tgt[:, 1:].reshape(-1)
        loss = self.criterion(logits.reshape(-1, logits.shape[-1]), target)
        self.backward(self.model, self.criterion.backward().reshape(logits.shape))
        real = target != self.model.config.pad_id
        correct = logits.reshape(-1, logits.shape[-1])[real].argmax(-1) == target[real]
        return {"loss": float(loss), "accuracy": float(correct.mean()),
                "tokens": float(real.sum())}

    def evaluate(self, loader) -> dict:
        """Teacher-forced loss and token accuracy, then the decoding metrics (see decoded)."""
        self.model.eval()
        loss_sum, correct, tokens = 0.0, 0, 0
        with no_grad():
            for src, tgt, _ in loader:
                logits = self.model(src, tgt[:, :-1])
                target = tgt[:, 1:].reshape(-1)
                real = target != self.model.config.pad_id
                n = int(real.sum())
                loss_sum += float(self.criterion(logits.reshape(-1, logits.shape[-1]), target)) * n
                correct += int((logits.reshape(-1, logits.shape[-1])[real].argmax(-1)
                                == target[real]).sum())
                tokens += n
        sums = sum_over_shards(loader, {"loss": loss_sum, "correct": correct, "tokens": tokens})
        metrics = {"loss": sums["loss"] / sums["tokens"], "accuracy": sums["correct"] / sums["tokens"]}
        metrics.update(self.decoded(loader))
        self.model.train()
        return metrics

    def translate_ids(self, src, beam_size=1, max_steps=None):
        """Token ids of the outputs for src [N, S] (lists without BOS/EOS)."""
        return decode(self.model, src, self.bos_id, self.eos_id, beam_size=beam_size,
                      alpha=self.length_penalty, max_steps=max_steps)

    def decode_loader(self, loader, beam_size=1):
        """Outputs for every pair of loader's data set (every rank's, for a sharded loader), in
        data-set order."""
        outputs = {}
        for src, _, rows in loader:
            outputs.update(zip(rows.tolist(), self.translate_ids(src, beam_size)))
        outputs = merge_over_shards(loader, outputs)
        return [outputs[i] for i in range(sum(len(b) for b in loader.dataset.batches))]

    def decoded(self, loader) -> dict:
        return {}


class TranslationTask(Seq2SeqTask):
    """Adds BLEU of greedy translations (and of beam search where the loader asks for it)."""

    def __init__(self, model, src_tokenizer, tgt_tokenizer, *args, **kwargs):
        super().__init__(model, *args, bos_id=_special(tgt_tokenizer, "[BOS]"),
                         eos_id=_special(tgt_tokenizer, "[EOS]"), **kwargs)
        self.src_tokenizer, self.tgt_tokenizer = src_tokenizer, tgt_tokenizer

    def decoded(self, loader) -> dict:
        from ..metrics import corpus_bleu
        references = loader.dataset.references
        metrics = {"bleu": corpus_bleu(self.detokenize(self.decode_loader(loader)), references)}
        if loader.dataset.beam_size > 1:
            beam = self.decode_loader(loader, loader.dataset.beam_size)
            metrics[f"bleu_beam{loader.dataset.beam_size}"] = corpus_bleu(self.detokenize(beam),
                                                                          references)
        return metrics

    def detokenize(self, outputs):
        return [self.tgt_tokenizer.decode(ids, skip_special_tokens=True) for ids in outputs]

    def translate(self, sentences, beam_size=1):
        """Source sentences (str) -> translations (str)."""
        ids = [self.src_tokenizer.encode(s)[:self.model.config.max_len] for s in sentences]
        src = np.full((len(ids), max(1, max(len(i) for i in ids))), self.model.config.pad_id,
                      np.int64)
        for row, sentence in zip(src, ids):
            row[:len(sentence)] = sentence
        return self.detokenize(self.translate_ids(src, beam_size))


def _special(tokenizer, token):
    return tokenizer.special_tokens[token]


# ---- schedules ----
def inverse_sqrt(warmup: int):
    """Noam's schedule as a factor of the peak lr: linear warm-up, then 1/sqrt(step)."""
    def factor(step):
        step += 1
        return min(step / warmup, math.sqrt(warmup / step))
    return factor


def make_scheduler(optimizer, config, total_steps):
    if config.schedule == "inverse_sqrt":
        return optim.lr_scheduler.LambdaLR(optimizer, inverse_sqrt(config.warmup))
    if config.schedule == "cosine":
        return optim.lr_scheduler.warmup_cosine(optimizer, min(config.warmup, total_steps - 1),
                                                total_steps)
    raise ValueError(f"schedule must be 'inverse_sqrt' or 'cosine', got {config.schedule!r}")


# ---- building ----
def build_tokenizers(config, train_pairs):
    """(source tokenizer, target tokenizer), built from the training pairs only."""
    from .. import tokenizers
    sources, targets = [s for s, _ in train_pairs], [t for _, t in train_pairs]
    if config.tokenizer == "word":
        return (tokenizers.WordTokenizer.build(sources, min_freq=config.min_freq, lowercase=False),
                tokenizers.WordTokenizer.build(targets, min_freq=config.min_freq, lowercase=False))
    if config.tokenizer == "bpe":
        if not hasattr(tokenizers, "ByteLevelBPE"):
            raise NotImplementedError("tokenizer='bpe' needs nt.tokenizers.ByteLevelBPE")
        joint = tokenizers.ByteLevelBPE.train(sources + targets, config.vocab_size,
                                              special_tokens=tokenizers.SPECIALS)
        return joint, joint
    raise ValueError(f"tokenizer must be 'word' or 'bpe', got {config.tokenizer!r}")


def _encode_pairs(pairs, src_tok, tgt_tok, max_len):
    """(source ids, target ids): truncated so that the target with BOS and EOS fits max_len."""
    src = [src_tok.encode(s)[:max_len] for s, _ in pairs]
    tgt = [tgt_tok.encode(t)[:max_len - 2] for _, t in pairs]
    return src, tgt


def build(config: TranslateConfig, data_dir=None) -> Setup:
    langs = (config.src_lang, config.tgt_lang)
    train_pairs = load_parallel("multi30k", "train", *langs, data_dir=data_dir)
    if config.train_sentences:
        train_pairs = train_pairs[:config.train_sentences]
    src_tok, tgt_tok = build_tokenizers(config, train_pairs)
    pad, bos, eos = (_special(tgt_tok, t) for t in ("[PAD]", "[BOS]", "[EOS]"))
    if _special(src_tok, "[PAD]") != pad:
        raise ValueError("the source and target tokenizers need the same [PAD] id")

    def batches(pairs, batch_size):
        src, tgt = _encode_pairs(pairs, src_tok, tgt_tok, config.max_len)
        return PairBatches(src, tgt, batch_size, pad, bos, eos, pairs)

    train = DataLoader(batches(train_pairs, config.batch_size), 1, shuffle=True, seed=config.seed)
    val_pairs = load_parallel("multi30k", "val", *langs, data_dir=data_dir)
    val = DataLoader(batches(val_pairs[:config.eval_sentences], 100), 1)
    test_pairs = load_parallel("multi30k", "test", *langs, data_dir=data_dir)
    test_data = batches(test_pairs[:config.test_sentences], 100)
    test_data.beam_size = config.beam
    test = DataLoader(test_data, 1)

    model = Transformer(TransformerConfig(
        src_vocab_size=src_tok.vocab_size, tgt_vocab_size=tgt_tok.vocab_size,
        d_model=config.d_model, nhead=config.nhead, num_encoder_layers=config.num_encoder_layers,
        num_decoder_layers=config.num_decoder_layers, dim_feedforward=config.dim_feedforward,
        dropout=config.dropout, share_embeddings=src_tok is tgt_tok,
        tie_output=config.tie_output, positions=config.positions, norm_first=config.norm_first,
        max_len=config.max_len, pad_id=pad))
    optimizer = optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.98), eps=1e-9,
                           weight_decay=config.weight_decay)
    total = config.steps or int(config.epochs * len(train))
    task = TranslationTask(model, src_tok, tgt_tok, optimizer,
                           make_scheduler(optimizer, config, total),
                           label_smoothing=config.label_smoothing, grad_clip=config.grad_clip,
                           length_penalty=config.length_penalty)
    return Setup(task, train, val, test)


def attention_hook(setup, out, count=None, text=None, data_dir=None):
    """Plot encoder, decoder and cross-attention per head for `text` (or the first `count`
    test sentences) and the model's greedy translation; returns the PNG paths written."""
    from ..viz.attention import plot_translation_attention
    if text is not None:
        sources = [text] if isinstance(text, str) else list(text)
    else:
        sources = setup.test_loader.dataset.sources[:count or 1]
    return plot_translation_attention(setup.task, sources, out)


def bleu_headline(result: dict) -> str:
    """Test BLEU, greedy and with the beam when the run searched one."""
    beams = [(k, v) for k, v in result.items() if k.startswith("test_bleu_beam")]
    figures = [f"test BLEU {100 * result['test_bleu']:.1f} greedy"]
    figures += [f"{100 * v:.1f} beam {k[len('test_bleu_beam'):]}" for k, v in beams]
    return ", ".join(figures)


register(Recipe("translate-multi30k",
                "Transformer 3+3 layers, German -> English on Multi30k (target BLEU >= 30)",
                TranslateConfig, build, hooks={"attention": attention_hook}, headline=bleu_headline,
                target=Target("bleu", 0.30)))
