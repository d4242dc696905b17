"""ByteLevelBPE: GPT-2's tokenizer, trained on a corpus or read from GPT-2's own files.

Text -> pieces (GPT-2's pattern, `byte_level.py`) -> the UTF-8 bytes of each piece -> repeatedly
merge the adjacent pair with the lowest merge rank (every occurrence, left to right) until no
pair in the piece has a rank. Every string is encodable (any byte is a token) and decode gives
the text back exactly. Pieces repeat a lot, so each piece's ids are cached.
"""
import json
import re

from .base import Tokenizer, check_ids, check_text, parse_json_file, register_type
from .byte_level import bytes_to_unicode, pretokenize

__all__ = ["ByteLevelBPE", "gpt2"]

_CACHE_LIMIT = 500_000   # pieces remembered (the cache is emptied when it grows past this)


@register_type
class ByteLevelBPE(Tokenizer):
    """vocab: token (bytes written with `bytes_to_unicode`, e.g. "Ġthe") -> id, holding all 256
    single bytes; merges: (left, right) token pairs in rank order, each merged token in vocab;
    special_tokens: text -> id, never split and never produced by merges.

    encode(text, allowed_special="all"): special tokens written in the text become their ids
    (pass a set of them to allow only those, or () to treat them as plain text)."""

    def __init__(self, vocab: dict, merges, special_tokens: dict = None):
        self._vocab, self._merges = dict(vocab), [tuple(m) for m in merges]
        self.special_tokens = dict(special_tokens or {})
        if not all(isinstance(t, str) and t for t in self.special_tokens):
            raise ValueError(f"ByteLevelBPE: special tokens must be non-empty strings, got "
                             f"{list(self.special_tokens)}")
        ids = sorted(list(self._vocab.values()) + list(self.special_tokens.values()))
        if ids != list(range(len(ids))):
            raise ValueError("ByteLevelBPE: the ids of the vocab and special tokens must be "
                             f"0..{len(ids) - 1}, each once")
        self._byte_char = bytes_to_unicode()
        char_byte = {c: b for b, c in self._byte_char.items()}
        missing = [c for c in self._byte_char.values() if c not in self._vocab]
        if missing:
            raise ValueError(f"ByteLevelBPE: the vocab lacks single-byte tokens {missing[:5]}")
        self._byte_ids = [self._vocab[self._byte_char[b]] for b in range(256)]
        self._id_bytes = [b""] * len(ids)            # id -> the bytes it stands for
        for token, i in self._vocab.items():
            try:
                self._id_bytes[i] = bytes(char_byte[c] for c in token)
            except KeyError:
                raise ValueError(f"ByteLevelBPE: vocab token {token!r} has a character outside the "
                                 "byte alphabet (special tokens belong in special_tokens)") from None
        for token, i in self.special_tokens.items():
            self._id_bytes[i] = token.encode("utf-8")
        self._id_token = {i: t for t, i in {**self._vocab, **self.special_tokens}.items()}
        self._ranks = {}                              # (left id, right id) -> (rank, merged id)
        for rank, (left, right) in enumerate(self._merges):
            for token in (left, right, left + right):
                if token not in self._vocab:
                    raise ValueError(f"ByteLevelBPE: merge {rank} ({left!r}, {right!r}) uses "
                                     f"{token!r}, which is not in the vocab")
            pair = (self._vocab[left], self._vocab[right])
            self._ranks.setdefault(pair, (rank, self._vocab[left + right]))
        self._special_pattern = _alternation(self.special_tokens)
        self._cache = {}

    # ---- building ----
    @classmethod
    def train(cls, texts, vocab_size: int, special_tokens=()) -> "ByteLevelBPE":
        """Learn merges on `texts` (a str or an iterable of str) until the vocab (256 bytes +
        merges + special tokens) has `vocab_size` tokens, or no pair is left to merge.

        Ids: the 256 bytes first (in GPT-2's order), then merges, then the special tokens.
        Special tokens written in the texts are cut out before counting."""
        from .bpe_train import count_pieces, learn_merges
        special_tokens = list(special_tokens)
        if len(set(special_tokens)) != len(special_tokens):
            raise ValueError(f"ByteLevelBPE.train: special tokens repeat: {special_tokens}")
        if not all(isinstance(t, str) and t for t in special_tokens):
            raise ValueError(f"ByteLevelBPE.train: special tokens must be non-empty strings, got "
                             f"{special_tokens}")
        if vocab_size < 256 + len(special_tokens):
            raise ValueError(f"ByteLevelBPE.train: vocab_size={vocab_size} is below the 256 byte "
                             f"tokens plus {len(special_tokens)} special tokens")
        texts = [texts] if isinstance(texts, str) else texts
        special = _alternation(special_tokens)
        if special is not None:
            texts = (part for text in texts for part in special.split(text))
        byte_char = bytes_to_unicode()
        alphabet = sorted(byte_char.values())         # GPT-2's byte order: printable bytes first
        byte_ids = {b: alphabet.index(c) for b, c in byte_char.items()}
        merges = learn_merges(count_pieces(texts), byte_ids, vocab_size - 256 - len(special_tokens))
        tokens = list(alphabet)
        for left, right in merges:
            tokens.append(tokens[left] + tokens[right])
        vocab = {t: i for i, t in enumerate(tokens)}
        specials = {t: len(tokens) + k for k, t in enumerate(special_tokens)}
        return cls(vocab, [(tokens[a], tokens[b]) for a, b in merges], specials)

    @classmethod
    def from_gpt2_files(cls, encoder_json, vocab_bpe) -> "ByteLevelBPE":
        """GPT-2's tokenizer from its `encoder.json` (token -> id) and `vocab.bpe` (one merge per
        line after a version line); tokens of encoder.json that no merge or byte makes
        ("<|endoftext|>") are the special tokens."""
        encoder = parse_json_file(encoder_json)
        if not isinstance(encoder, dict) or not all(isinstance(i, int) for i in encoder.values()):
            raise ValueError(f"{encoder_json} is not a GPT-2 encoder.json: expected a JSON object "
                             "of token -> integer id")
        try:
            with open(vocab_bpe, encoding="utf-8") as f:
                lines = f.read().split("\n")
        except UnicodeDecodeError as error:
            raise ValueError(f"{vocab_bpe}: not UTF-8 text (byte {error.start})") from None
        if not lines or not lines[0].startswith("#version"):
            raise ValueError(f"{vocab_bpe}, line 1: not a GPT-2 vocab.bpe: its first line should "
                             "be '#version: ...'")
        merges = []
        for number, line in enumerate(lines[1:], 2):
            if line:
                merge = tuple(line.split(" "))
                if len(merge) != 2:
                    raise ValueError(f"{vocab_bpe}, line {number}: a merge line is two tokens "
                                     f"separated by a space, got {line!r}")
                merges.append(merge)
        made = set(bytes_to_unicode().values()) | {a + b for a, b in merges}
        vocab = {t: i for t, i in encoder.items() if t in made}
        specials = {t: i for t, i in encoder.items() if t not in made}
        return cls(vocab, merges, specials)

    # ---- encoding ----
    def encode(self, text: str, allowed_special="all") -> list:
        """Ids of `text`. Special tokens written in it become their ids if allowed
        ("all", or a collection of them; () encodes them as plain text)."""
        check_text(self, text)
        pattern = self._allowed_pattern(allowed_special)
        if pattern is None:
            return self.encode_ordinary(text)
        ids, start = [], 0
        for match in pattern.finditer(text):
            ids += self.encode_ordinary(text[start:match.start()])
            ids.append(self.special_tokens[match.group()])
            start = match.end()
        return ids + self.encode_ordinary(text[start:])

    def encode_ordinary(self, text: str) -> list:
        """Ids of `text` with special tokens treated as plain text."""
        ids, cache = [], self._cache
        for piece in pretokenize(text):
            piece_ids = cache.get(piece)
            if piece_ids is None:
                if len(cache) >= _CACHE_LIMIT:
                    cache.clear()
                piece_ids = cache[piece] = self._merge_piece(piece)
            ids += piece_ids
        return ids

    def _merge_piece(self, piece: str) -> tuple:
        """BPE on one piece: merge the lowest-ranked adjacent pair everywhere, until none is left."""
        try:
            data = piece.encode("utf-8")
        except UnicodeEncodeError as error:
            raise ValueError(f"ByteLevelBPE cannot encode {piece!r}: it is not valid Unicode "
                             f"({error.reason}; lone surrogates have no UTF-8 bytes)") from None
        ids, ranks = [self._byte_ids[b] for b in data], self._ranks
        while len(ids) > 1:
            best = min(((ranks[pair], pair) for pair in zip(ids, ids[1:]) if pair in ranks),
                       default=None)
            if best is None:
                break
            (_, merged), (left, right) = best
            out, i, n = [], 0, len(ids)
            while i < n:
                if i + 1 < n and ids[i] == left and ids[i + 1] == right:
                    out.append(merged)
                    i += 2
                else:
                    out.append(ids[i])
                    i += 1
            ids = out
        return tuple(ids)

    def _allowed_pattern(self, allowed_special):
        if allowed_special == "all":
            return self._special_pattern
        allowed = set(allowed_special)
        unknown = sorted(allowed - set(self.special_tokens))
        if unknown:
            raise ValueError(f"ByteLevelBPE.encode: {unknown} are not special tokens of this "
                             f"tokenizer; it has {list(self.special_tokens)}")
        return _alternation(sorted(allowed))

    # ---- decoding ----
    def decode_bytes(self, ids, skip_special_tokens: bool = False) -> bytes:
        """The bytes `ids` stand for (a token may hold part of a character)."""
        id_bytes, ids = self._id_bytes, check_ids(ids, len(self._id_bytes), self)
        if skip_special_tokens:
            specials = set(self.special_tokens.values())
            ids = [i for i in ids if i not in specials]
        return b"".join([id_bytes[i] for i in ids])

    def decode(self, ids, skip_special_tokens: bool = False, errors: str = "replace") -> str:
        """The text of `ids`; bytes that are not valid UTF-8 (a cut character) become U+FFFD."""
        return self.decode_bytes(ids, skip_special_tokens).decode("utf-8", errors=errors)

    # ---- lookups ----
    @property
    def vocab_size(self) -> int:
        return len(self._id_bytes)

    @property
    def merges(self) -> list:
        return list(self._merges)

    def get_vocab(self) -> dict:
        """Every token -> id, special tokens included (a copy)."""
        return {**self._vocab, **self.special_tokens}

    def token_to_id(self, token: str) -> int:
        """The id of a special token ("<|endoftext|>") or of a vocab token, written byte-level
        ("Ġthe" for " the")."""
        if token in self.special_tokens:
            return self.special_tokens[token]
        if token not in self._vocab:
            raise KeyError(f"{token!r} is neither a special token nor a vocab token of this "
                           "ByteLevelBPE (vocab tokens are written byte-level: ' the' is 'Ġthe')")
        return self._vocab[token]

    def id_to_token(self, index: int) -> str:
        return self._id_token[check_ids([index], self.vocab_size, self, "id_to_token")[0]]

    # ---- files ----
    def to_dict(self) -> dict:
        return {"vocab": self._vocab, "merges": [list(m) for m in self._merges],
                "special_tokens": self.special_tokens}

    @classmethod
    def from_dict(cls, data: dict) -> "ByteLevelBPE":
        return cls(data["vocab"], data["merges"], data["special_tokens"])


def _alternation(tokens):
    """A pattern matching any of `tokens` (longest first), or None for none."""
    if not tokens:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(tokens, key=len, reverse=True)))


def gpt2(data_dir=None) -> ByteLevelBPE:
    """GPT-2's tokenizer (50,257 tokens), its files fetched through `nt.data.fetch`."""
    from ..data import fetch
    return ByteLevelBPE.from_gpt2_files(fetch("gpt2-tokenizer/encoder.json", data_dir),
                                        fetch("gpt2-tokenizer/vocab.bpe", data_dir))
