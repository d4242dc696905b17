"""WordTokenizer: words and punctuation marks as tokens, looked up in a Vocab."""
import re

from .base import VocabTokenizer, check_text, register_type
from .vocab import SPECIALS, Vocab

__all__ = ["WordTokenizer"]

# A word: letters, digits and underscores, with inner apostrophes kept ("don't", "o'clock").
# Anything else that is not a space is a token of its own (".", ",", "-", "$", an emoji...).
WORD = r"\w+(?:['\u2019]\w+)*|[^\w\s]"
_NO_SPACE_BEFORE = set(".,;:!?%)]}\u2019\u201d")
_NO_SPACE_AFTER = set("([{$\u2018\u201c")


@register_type
class WordTokenizer(VocabTokenizer):
    """Splits text into words and punctuation, maps them to ids with a Vocab.

    The rule (`tokenize`): special tokens written in the text ("[MASK]", "[SEP]"...) stay whole;
    elsewhere a token is a run of letters/digits/underscores with inner apostrophes ("don't"),
    or any single other non-space character; spaces only separate. With `lowercase=True` the
    tokens (not the specials) are lowercased. Words missing from the vocab encode as [UNK].
    `decode` joins tokens with one space, none before closing punctuation (. , ; : ! ? ) ...)
    or after opening brackets, so it gives the text back up to case and spacing."""

    def __init__(self, vocab: Vocab, lowercase: bool = True):
        self.vocab, self.lowercase = vocab, lowercase
        specials = sorted(vocab.specials, key=len, reverse=True)   # longest first
        self._pattern = re.compile("|".join([re.escape(s) for s in specials] + [WORD]))

    @classmethod
    def build(cls, texts, min_freq: int = 1, max_size: int = None, lowercase: bool = True,
              specials=SPECIALS) -> "WordTokenizer":
        """A tokenizer whose vocab holds the words of `texts` (a str or an iterable of str)."""
        texts = [texts] if isinstance(texts, str) else texts
        tokenizer = cls(Vocab([], specials), lowercase)
        vocab = Vocab.build((tokenizer.tokenize(t) for t in texts), min_freq, max_size, specials)
        return cls(vocab, lowercase)

    def tokenize(self, text: str) -> list:
        """The tokens of `text` (strings), before lookup in the vocab."""
        tokens = self._pattern.findall(check_text(self, text))
        if self.lowercase:
            specials = self.vocab.special_tokens
            tokens = [t if t in specials else t.lower() for t in tokens]
        return tokens

    def encode(self, text: str) -> list:
        return self.vocab.encode(self.tokenize(text))

    def decode(self, ids, skip_special_tokens: bool = False) -> str:
        """The tokens joined into text (see the class docstring for the spacing rule)."""
        return detokenize(self.tokens(ids, skip_special_tokens))

    def to_dict(self) -> dict:
        return {"lowercase": self.lowercase, "vocab": self.vocab.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> "WordTokenizer":
        return cls(Vocab.from_dict(data["vocab"]), data["lowercase"])


def spacing(previous: str, token: str) -> str:
    """What goes between two tokens: a space, except before closing punctuation and after an
    opening bracket or quote."""
    return "" if token in _NO_SPACE_BEFORE or previous in _NO_SPACE_AFTER else " "


def detokenize(tokens) -> str:
    """Tokens joined by `spacing`."""
    pieces = tokens[:1]
    for previous, token in zip(tokens, tokens[1:]):
        pieces += [spacing(previous, token), token]
    return "".join(pieces)
