"""Tokenizers: Vocab, word, char and byte-level BPE (trained, or GPT-2's files).

Every tokenizer has encode(text) -> list[int], decode(ids) -> str, vocab_size, token_to_id,
id_to_token, special_tokens (token -> id), save(path) / Cls.load(path); `load(path)` reads any
of them (and a Vocab) back from its JSON "type" field."""
from .base import Tokenizer, load
from .vocab import SPECIALS, Vocab
from .word import WordTokenizer
from .char import CharTokenizer
from .bpe import ByteLevelBPE, gpt2
