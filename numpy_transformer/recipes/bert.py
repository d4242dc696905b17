"""`bert-quotes`: BERT learns to fill in masked words of the 5,421 JamesFT quotes.

Each quote becomes [CLS] words [SEP] [PAD]..., 50 tokens (WordTokenizer built on the training
quotes). Every training batch is masked afresh with the loader's per-batch generator (so a
resumed run draws the same masks); the held-out 10% is masked once, the same at every
evaluation. Reports the held-out masked-LM loss and accuracy (top-1 at the masked positions).
"""
import dataclasses
from dataclasses import dataclass

import numpy as np

from .. import nn, optim
from ..data import ArrayDataset, DataLoader, load_quotes
from ..data.transforms import Transform
from ..distributed.sharded_loader import sum_over_shards
from ..grad_mode import no_grad
from ..interop.bert_twin import bert_to_torch, evaluate_masked_lm, masked_lm_loss
from ..models.bert import BERT, IGNORE_INDEX, BERTConfig, mask_tokens
from ..tokenizers import WordTokenizer
from ..train import Task
from ..train.twin import Twin, register_twin
from .registry import Recipe, Setup, TrainingConfig, register

SPLIT_SEED = 0              # the held-out quotes are the same whatever the training seed
EVAL_MASK_SEED = 1          # and so are their masks


@dataclass
class BertQuotesConfig(TrainingConfig):
    epochs: float = 10
    batch_size: int = 6
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 500
    grad_clip: float = 1.0
    max_len: int = 50
    dim: int = 256
    depth: int = 6
    heads: int = 4
    ff_dim: int = 1024
    dropout: float = 0.1
    norm_first: bool = False
    mask_prob: float = 0.15
    holdout: float = 0.1
    log_every: int = 50


class MaskTokens(Transform):
    """ids [B, T] -> (inputs, labels): BERT's 15% / 80-10-10 masking with the batch's generator."""

    def __init__(self, vocab, p: float = 0.15):
        self.p, self.mask_id, self.vocab_size = p, vocab.mask_id, len(vocab)
        self.special_ids = sorted(vocab.special_tokens.values())

    def __call__(self, ids, rng=None):
        from ..random import default_generator
        return mask_tokens(ids, rng or default_generator(), self.mask_id, self.special_ids,
                           self.vocab_size, p=self.p)


def encode_quotes(texts, tokenizer, max_len: int) -> np.ndarray:
    """[N, max_len] int64 ids: [CLS] the first max_len - 2 tokens [SEP], then [PAD]s."""
    vocab = tokenizer.vocab
    ids = np.full((len(texts), max_len), vocab.pad_id, dtype=np.int64)
    for row, text in enumerate(texts):
        tokens = [vocab.cls_id] + tokenizer.encode(text)[:max_len - 2] + [vocab.sep_id]
        ids[row, :len(tokens)] = tokens
    return ids


class MaskedLMTask(Task):
    """Masked-LM training: the head runs at the masked positions only; loss and accuracy there."""

    def __init__(self, model, optimizer, scheduler=None, grad_clip=None, tokenizer=None):
        super().__init__({"model": model}, {"optimizer": optimizer},
                         {"scheduler": scheduler} if scheduler else {}, grad_clip,
                         defer_weight_grads=True)
        self.model, self.tokenizer = model, tokenizer
        self.criterion = nn.CrossEntropyLoss()

    def loss_weight(self, batch) -> float:
        """The masked tokens: the loss is their mean."""
        return int(np.count_nonzero(batch[1] != IGNORE_INDEX))

    def forward_backward(self, batch) -> dict:
        inputs, labels = batch
        where = labels != IGNORE_INDEX                         # [B, T] the chosen positions
        logits = self.model(inputs, masked_positions=where)    # [M, V]
        targets = labels[where]
        loss = self.criterion(logits, targets)
        self.backward(self.model, self.criterion.backward())
        return {"loss": float(loss), "accuracy": float(np.mean(logits.argmax(-1) == targets))}

    def evaluate(self, loader) -> dict:
        """Loss and accuracy over every masked token of `loader` (eval mode, no caches)."""
        self.model.eval()
        total_loss, correct, count = 0.0, 0, 0
        with no_grad():
            for inputs, labels in loader:
                where = labels != IGNORE_INDEX
                targets = labels[where]
                logits = self.model(inputs, masked_positions=where)
                total_loss += float(self.criterion(logits, targets)) * len(targets)
                correct += int(np.sum(logits.argmax(-1) == targets))
                count += len(targets)
        self.model.train()
        sums = sum_over_shards(loader, {"loss": total_loss, "correct": correct, "count": count})
        return {"loss": sums["loss"] / sums["count"], "accuracy": sums["correct"] / sums["count"]}

    def fill_mask(self, text: str, k: int = 5) -> list:
        """For each [MASK] in `text`, the k likeliest words with their probabilities."""
        vocab = self.tokenizer.vocab
        ids = encode_quotes([text], self.tokenizer, self.model.config.max_len)
        where = ids == vocab.mask_id
        self.model.eval()
        with no_grad():
            logits = self.model(ids, masked_positions=where)   # [masks, V]
        self.model.train()
        logits = logits - logits.max(axis=-1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=-1, keepdims=True)
        top = np.argsort(-probs, axis=-1)[:, :k]
        return [[(vocab.lookup_token(int(i)), float(p[i])) for i in row] for row, p in zip(top, probs)]


def split_quotes(quotes, holdout: float):
    """(training quotes, held-out quotes): a fixed random `holdout` fraction held out."""
    order = np.random.default_rng(SPLIT_SEED).permutation(len(quotes))
    n_held = int(round(holdout * len(quotes)))
    return [quotes[i] for i in order[n_held:]], [quotes[i] for i in order[:n_held]]


def model_config(config: BertQuotesConfig, vocab_size: int, pad_id: int) -> BERTConfig:
    return BERTConfig(vocab_size=vocab_size, max_len=config.max_len, dim=config.dim,
                      depth=config.depth, heads=config.heads, ff_dim=config.ff_dim,
                      dropout=config.dropout, norm_first=config.norm_first, pad_id=pad_id)


def build(config: BertQuotesConfig, data_dir=None) -> Setup:
    quotes = [q for q in load_quotes(data_dir) if q.strip()]
    train_quotes, held_quotes = split_quotes(quotes, config.holdout)
    tokenizer = WordTokenizer.build(train_quotes)
    vocab = tokenizer.vocab
    masker = MaskTokens(vocab, config.mask_prob)
    train = DataLoader(encode_quotes(train_quotes, tokenizer, config.max_len), config.batch_size,
                       shuffle=True, transform=masker, seed=config.seed)
    held_ids = encode_quotes(held_quotes, tokenizer, config.max_len)
    held = DataLoader(ArrayDataset(*masker(held_ids, np.random.default_rng(EVAL_MASK_SEED))), 128)

    model = BERT(model_config(config, len(vocab), vocab.pad_id))
    optimizer = optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    total = config.steps or int(np.ceil(config.epochs * len(train)))
    scheduler = optim.lr_scheduler.warmup_cosine(optimizer, min(config.warmup_steps, total - 1),
                                                 total)
    task = MaskedLMTask(model, optimizer, scheduler, config.grad_clip or None, tokenizer)
    return Setup(task, train, held, held, notes={"vocab_size": len(vocab),
                                                 "train_quotes": len(train_quotes),
                                                 "held_out_quotes": len(held_quotes)})


register(Recipe("bert-quotes", "BERT (6 blocks, width 256) masked-LM on the quotes, word-level",
                BertQuotesConfig, build,
                headline=lambda r: f"held-out masked-token loss {r['test_loss']:.2f}, "
                                   f"accuracy {r['test_accuracy']:.1%}"))
register_twin("bert-quotes", Twin(      # the twin cannot draw our dropout masks: both run without
    bert_to_torch, masked_lm_loss, evaluate_masked_lm, metrics=("loss", "accuracy"),
    prepare=lambda config: dataclasses.replace(config, dropout=0.0)))
