"""Vocab: a fixed list of tokens, special tokens first, with ids both ways."""
from collections import Counter

from .base import SpecialIds, check_ids, from_dict_of, read_json, register_type, write_json

__all__ = ["SPECIALS", "Vocab"]

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "[BOS]", "[EOS]"]


@register_type
class Vocab(SpecialIds):
    """Token <-> id. Ids 0..len(specials)-1 are the special tokens, then `tokens` in order.

    `vocab[token]` is the token's id, or the id of [UNK] for a token it lacks (a KeyError if it
    has no [UNK]); `pad_id`, `unk_id`, `cls_id`, `sep_id`, `mask_id`, `bos_id`, `eos_id` name
    the usual specials."""

    def __init__(self, tokens, specials=SPECIALS):
        specials, tokens = list(specials), list(tokens)
        for token in specials + tokens:
            if not isinstance(token, str) or not token:
                raise TypeError(f"Vocab tokens must be non-empty strings, got {token!r}")
        self._itos = specials + tokens
        self._stoi = {}
        for i, token in enumerate(self._itos):
            if token in self._stoi:
                kind = "special token" if i < len(specials) or self._stoi[token] < len(specials) \
                    else "token"
                raise ValueError(f"Vocab: {kind} {token!r} appears twice (ids "
                                 f"{self._stoi[token]} and {i})")
            self._stoi[token] = i
        self.specials = specials
        self.special_tokens = {token: i for i, token in enumerate(specials)}
        self._unk = self.special_tokens.get("[UNK]")

    @classmethod
    def build(cls, token_lists, min_freq: int = 1, max_size: int = None, specials=SPECIALS) -> "Vocab":
        """The specials, then every token seen at least `min_freq` times, most frequent first
        (ties in alphabetical order), at most `max_size` entries in all (specials included).

        `token_lists` is an iterable of token lists (one per sentence); specials in them are
        not counted."""
        if not isinstance(min_freq, int) or min_freq < 1:
            raise ValueError(f"Vocab.build: min_freq must be a positive integer, got {min_freq!r}")
        specials = list(specials)
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"Vocab.build: max_size={max_size} leaves no room for the "
                             f"{len(specials)} special tokens")
        counts = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("Vocab.build expects an iterable of token lists, got a string "
                                "among them (wrap a single list of tokens in a list)")
            counts.update(tokens)
        for token in specials:
            counts.pop(token, None)
        kept = sorted((t for t, n in counts.items() if n >= min_freq), key=lambda t: (-counts[t], t))
        if max_size is not None:
            kept = kept[:max_size - len(specials)]
        return cls(kept, specials)

    # ---- lookups ----
    def __len__(self) -> int:
        return len(self._itos)

    def __contains__(self, token) -> bool:
        return token in self._stoi

    def __getitem__(self, token: str) -> int:
        i = self._stoi.get(token)
        if i is not None:
            return i
        if self._unk is None:
            raise KeyError(f"token {token!r} is not in the Vocab and it has no [UNK] token")
        return self._unk

    def lookup_token(self, index: int) -> str:
        """The token with id `index` (an IndexError outside [0, len(vocab)))."""
        return self._itos[check_ids([index], len(self._itos), self, "lookup_token")[0]]

    def encode(self, tokens) -> list:
        """Ids of `tokens` (unknown tokens -> the id of [UNK])."""
        if isinstance(tokens, str):
            raise TypeError("Vocab.encode expects a list of tokens, got a string (tokenize it first)")
        return [self[token] for token in tokens]

    def decode(self, ids) -> list:
        """Tokens of `ids` (ints or a 1-D integer array)."""
        return [self._itos[i] for i in check_ids(ids, len(self._itos), self)]

    def get_itos(self) -> list:
        """Every token, in id order (a copy)."""
        return list(self._itos)

    def get_stoi(self) -> dict:
        """token -> id (a copy)."""
        return dict(self._stoi)

    def __eq__(self, other):
        return isinstance(other, Vocab) and self._itos == other._itos and self.specials == other.specials

    def __repr__(self):
        return f"Vocab({len(self)} tokens, specials={self.specials})"

    # ---- files ----
    def to_dict(self) -> dict:
        return {"specials": self.specials, "tokens": self._itos[len(self.specials):]}

    @classmethod
    def from_dict(cls, data: dict) -> "Vocab":
        return cls(data["tokens"], data["specials"])

    def save(self, path) -> None:
        """Write {"type": "Vocab", "specials": [...], "tokens": [...]} as JSON."""
        write_json(path, "Vocab", self.to_dict())

    @classmethod
    def load(cls, path) -> "Vocab":
        data = read_json(path)
        if data["type"] != "Vocab":
            raise ValueError(f"{path} holds a {data['type']}, not a Vocab")
        return from_dict_of(cls, data, path)
