"""CharTokenizer: one token per character (Unicode code point)."""
from .base import VocabTokenizer, check_text, register_type
from .vocab import SPECIALS, Vocab

__all__ = ["CharTokenizer"]


@register_type
class CharTokenizer(VocabTokenizer):
    """Every character of the text is a token; the vocab holds the specials, then the
    characters of the training text sorted by code point.

    Characters missing from the vocab encode as [UNK] (a KeyError without one); special tokens
    are never read from the text, only added by id. decode(encode(text)) == text when every
    character of `text` is in the vocab."""

    def __init__(self, vocab: Vocab):
        for token in vocab.get_itos()[len(vocab.specials):]:
            if len(token) != 1:
                raise ValueError(f"CharTokenizer: vocab token {token!r} is not one character")
        self.vocab = vocab

    @classmethod
    def build(cls, text, specials=SPECIALS) -> "CharTokenizer":
        """A tokenizer for the characters of `text` (a str or an iterable of str)."""
        chars = set(text) if isinstance(text, str) else set().union(*map(set, text))
        return cls(Vocab(sorted(chars - set(specials)), specials))

    def encode(self, text: str) -> list:
        stoi, unk = self.vocab.get_stoi(), self.vocab.special_tokens.get("[UNK]")
        ids = [stoi.get(c, unk) for c in check_text(self, text)]
        if unk is None and None in ids:
            missing = sorted({c for c in text if c not in stoi})
            raise KeyError(f"CharTokenizer: characters {missing} are not in the vocab and it has "
                           f"no [UNK] token")
        return ids

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        return "".join(self.tokens(ids, skip_special_tokens))

    def to_dict(self) -> dict:
        return {"vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "CharTokenizer":
        return cls(Vocab.from_dict(data["vocab"]))
