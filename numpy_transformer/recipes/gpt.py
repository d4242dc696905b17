"""`gpt-shakespeare` (characters) and `gpt-shakespeare-bpe` (GPT-2 tokens): a small GPT on
tiny-shakespeare with nanoGPT's CPU configuration.

    numpy-transformer train gpt-shakespeare            # 2000 steps; val loss about 1.89
    numpy-transformer generate runs/gpt-shakespeare --prompt "ROMEO:" --max-new-tokens 300
    numpy-transformer compare gpt-shakespeare          # the PyTorch twin on the same batches

Data as nanoGPT's shakespeare_char: the first 90% of the text to train, the last 10% to
validate. Batches are random windows (train/language_model.py); the validation loss is the
mean over every token of the split, in consecutive windows (`SplitWindows`; eval_batches=n
instead uses n fixed random batches). Training as nanoGPT's train_shakespeare_char: AdamW
(betas 0.9, 0.99; weight decay 0.1 on the matrices only), 100 warm-up steps then cosine decay
from 1e-3 to 1e-4, gradients clipped to norm 1, no dropout. nanoGPT reports a val loss of 1.88
for this run, its mean over 20 random batches of 12 windows: on our seed-0 run that estimate
has a standard deviation of 0.014 (tools/nanogpt_val_estimate.py), around the split's 1.890.

The BPE recipe uses GPT-2's tokenizer; of its 50257 tokens only about 11k occur in the text, so
by default (restrict_vocab) the model's vocabulary is those ids, renumbered: a 5x smaller
embedding and output layer. A prompt with a token that never occurs in the text is an error.
"""
import math
from dataclasses import dataclass

import numpy as np

from .. import optim
from ..data import RandomBlocks, SplitWindows, load_text
from ..models.gpt import GPT, GPTConfig
from ..models.sampling import make_generator
from ..train.language_model import LanguageModelTask, weight_decay_groups
from ..train.twin import language_model_twin, register_twin
from .registry import Recipe, Setup, TrainingConfig, register

EVAL_SEED = 1234          # random validation windows do not depend on the training seed
EVAL_CHUNK = 20           # validation batches evaluated per forward pass


@dataclass
class GPTShakespeareConfig(TrainingConfig):
    steps: int = 2000
    batch_size: int = 12
    eval_every: int = 250
    # the model (nanoGPT's CPU configuration)
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = False
    activation: str = "gelu_tanh"
    # the optimisation (nanoGPT's train_shakespeare_char)
    min_lr: float = 1e-4
    warmup_steps: int = 100
    weight_decay: float = 0.1
    beta1: float = 0.9
    beta2: float = 0.99
    grad_clip: float = 1.0
    eval_batches: int = None        # None: the whole validation split; n: n random batches
    text: str = "tinyshakespeare"   # a name known to nt.data.load_text, a UTF-8 file or a folder


@dataclass
class GPTShakespeareBPEConfig(GPTShakespeareConfig):
    restrict_vocab: bool = True     # only the GPT-2 ids that occur in the text, renumbered


class SubsetTokenizer:
    """A tokenizer limited to the ids `kept` of another, renumbered 0..len(kept)-1."""

    def __init__(self, base, kept):
        self.base, self.kept = base, np.asarray(kept, dtype=np.int64)
        self._index = {int(t): i for i, t in enumerate(self.kept)}

    @property
    def vocab_size(self) -> int:
        return len(self.kept)

    def encode(self, text: str) -> list:
        ids = self.base.encode(text)
        unknown = [t for t in ids if t not in self._index]
        if unknown:
            pieces = sorted({self.base.decode([t]) for t in unknown})
            raise ValueError(f"the text has tokens that never occur in the training text: "
                             f"{pieces}; this model only knows the {self.vocab_size} that do")
        return [self._index[t] for t in ids]

    def decode(self, ids) -> str:
        return self.base.decode([int(t) for t in self.kept[np.asarray(ids, dtype=np.int64)]])


def _ids(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


def char_data(config, data_dir):
    """(tokenizer, train ids, val ids): one id per character, the split 90/10 (as nanoGPT)."""
    from ..tokenizers import CharTokenizer
    text = load_text(config.text, data_dir)
    tokenizer = CharTokenizer.build(text, specials=())      # the text's 65 characters, no specials
    ids = _ids(tokenizer.encode(text))
    n = int(0.9 * len(ids))
    return tokenizer, ids[:n], ids[n:]


def bpe_data(config, data_dir):
    """(tokenizer, train ids, val ids): GPT-2 tokens of the first 90% and of the last 10%."""
    from ..tokenizers import gpt2
    text = load_text(config.text, data_dir)
    tokenizer = gpt2(data_dir)
    n = int(0.9 * len(text))
    train, val = _ids(tokenizer.encode(text[:n])), _ids(tokenizer.encode(text[n:]))
    if config.restrict_vocab:
        kept = np.unique(np.concatenate([train, val]))
        tokenizer = SubsetTokenizer(tokenizer, kept)
        train, val = np.searchsorted(kept, train), np.searchsorted(kept, val)
    return tokenizer, train, val


def validation_windows(config, val_ids):
    """The whole split in consecutive windows (eval_batches None), or that many random batches,
    the same at every evaluation; EVAL_CHUNK batches of windows per forward pass."""
    if config.eval_batches is None:
        return SplitWindows(val_ids, config.block_size, config.batch_size * EVAL_CHUNK)
    per_pass = min(EVAL_CHUNK, config.eval_batches)
    return RandomBlocks(val_ids, config.block_size, config.batch_size * per_pass,
                        batches_per_epoch=math.ceil(config.eval_batches / per_pass),
                        seed=EVAL_SEED, fixed=True)


def build_gpt(config, data_dir, data) -> Setup:
    """The model, AdamW with nanoGPT's groups, warm-up + cosine, and the loaders."""
    tokenizer, train_ids, val_ids = data(config, data_dir)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=config.block_size,
                          n_layer=config.n_layer, n_head=config.n_head, n_embd=config.n_embd,
                          dropout=config.dropout, bias=config.bias, activation=config.activation))
    train = RandomBlocks(train_ids, config.block_size, config.batch_size, seed=config.seed)
    val = validation_windows(config, val_ids)
    optimizer = optim.AdamW(weight_decay_groups(model, config.weight_decay), lr=config.lr,
                            betas=(config.beta1, config.beta2))
    total = config.steps or math.ceil(config.epochs * len(train))
    scheduler = optim.lr_scheduler.warmup_cosine(optimizer, min(config.warmup_steps, total - 1),
                                                 total, config.min_lr)
    task = LanguageModelTask(model, optimizer, scheduler, grad_clip=config.grad_clip,
                             defer_weight_grads=True)
    return Setup(task, train, val, val, notes={"tokenizer": tokenizer})


class _TextStream:
    """Decodes the generated ids as they come and hands on the new text (a byte-level token
    may end inside a character: such text waits for the token that completes it)."""

    def __init__(self, tokenizer, on_token):
        self.tokenizer, self.on_token = tokenizer, on_token
        self.ids, self.sent = [], 0

    def add(self, token: int) -> None:
        self.ids.append(token)
        text = self.tokenizer.decode(self.ids)
        if not text.endswith("\ufffd"):
            self._send(text)

    def _send(self, text: str) -> None:
        if self.on_token is not None and len(text) > self.sent:
            self.on_token(text[self.sent:])
        self.sent = len(text)

    def finish(self) -> str:
        text = self.tokenizer.decode(self.ids)
        self._send(text)
        return text


def generate(setup, prompt: str, max_new_tokens: int, temperature: float = 1.0, top_k=None,
             top_p=None, seed=None, on_token=None, use_cache: bool = True) -> str:
    """The text the model writes after `prompt` (an empty prompt starts at a new line);
    on_token(text) receives it piece by piece as it is sampled."""
    tokenizer, model = setup.notes["tokenizer"], setup.task.model
    ids = tokenizer.encode(prompt or "\n")
    stream = _TextStream(tokenizer, on_token)
    model.generate(_ids([ids]), max_new_tokens, temperature, top_k, top_p,
                   generator=make_generator(seed), use_cache=use_cache,
                   on_token=lambda next_ids, logits: stream.add(int(next_ids[0])))
    return stream.finish()


def _gpt_to_torch(model):
    """The PyTorch twin of our GPT (interop.torch_gpt imports torch: only when comparing)."""
    from ..interop.torch_gpt import gpt_to_torch
    return gpt_to_torch(model)


register(Recipe("gpt-shakespeare", "character-level GPT (4 layers, 128 wide) on tiny-shakespeare, "
                "nanoGPT's CPU run (val loss ~1.89)", GPTShakespeareConfig,
                lambda config, data_dir=None: build_gpt(config, data_dir, char_data),
                hooks={"generate": generate}, data_field="text",
                headline=lambda r: f"val loss {r['test_loss']:.3f} (whole validation split)"))
register(Recipe("gpt-shakespeare-bpe", "GPT (4 layers, 128 wide) on tiny-shakespeare in GPT-2 "
                "tokens (vocabulary restricted to the ~11k that occur)", GPTShakespeareBPEConfig,
                lambda config, data_dir=None: build_gpt(config, data_dir, bpe_data),
                hooks={"generate": generate}, data_field="text",
                headline=lambda r: f"val loss {r['test_loss']:.3f} per GPT-2 token"))
for _name in ("gpt-shakespeare", "gpt-shakespeare-bpe"):
    register_twin(_name, language_model_twin(_gpt_to_torch))
