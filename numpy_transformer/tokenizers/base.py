"""What every tokenizer shares: ids <-> text, special tokens, and JSON files with a "type" field."""
import json
import operator
import os

from ..io import atomic_write

__all__ = ["Tokenizer", "VocabTokenizer", "load"]

TYPES = {}  # the "type" written in a JSON file -> the class that reads it back


def register_type(cls):
    """Class decorator: `nt.tokenizers.load` reads files whose "type" is `cls.__name__` with `cls`."""
    TYPES[cls.__name__] = cls
    return cls


def write_json(path, type_name: str, payload: dict) -> None:
    """Write {"type": type_name, **payload} as UTF-8 JSON, atomically."""
    with atomic_write(path, "w") as f:
        json.dump({"type": type_name, **payload}, f, ensure_ascii=False, indent=1)


def parse_json_file(path):
    """A JSON file's value; a damaged one is a ValueError naming the file and the line."""
    try:
        with open(os.fspath(path), encoding="utf-8") as f:
            return json.load(f)
    except UnicodeDecodeError as error:
        raise ValueError(f"{path}: not UTF-8 text (byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}, line {error.lineno}, column {error.colno}: not valid JSON "
                         f"({error.msg})") from None


def from_dict_of(cls, data: dict, path):
    """cls.from_dict(data); a field missing or of the wrong kind names the file."""
    try:
        return cls.from_dict(data)
    except KeyError as error:
        raise ValueError(f"{path}: this {data['type']} file has no {error.args[0]!r} field") from None
    except (TypeError, ValueError, AttributeError) as error:
        raise ValueError(f"{path}: this {data['type']} file is damaged ({error})") from None


def read_json(path) -> dict:
    """A tokenizer/vocab file as a dict; it must be a JSON object with a "type" field."""
    data = parse_json_file(path)
    if not isinstance(data, dict) or "type" not in data:
        raise ValueError(f"{path} is not a tokenizer file: expected a JSON object with a \"type\" field")
    return data


def load(path):
    """Any tokenizer (or Vocab) saved with `.save(path)`, as the class named by its "type" field."""
    data = read_json(path)
    if data["type"] not in TYPES:
        raise ValueError(f"{path} has type {data['type']!r}; known types: {', '.join(sorted(TYPES))}")
    return from_dict_of(TYPES[data["type"]], data, path)


def check_text(owner, text) -> str:
    if not isinstance(text, str):
        raise TypeError(f"{type(owner).__name__}.encode expects a str, got {type(text).__name__}")
    return text


def check_ids(ids, size: int, owner, method: str = "decode") -> list:
    """`ids` (ints, or a 1-D integer array) as Python ints, each in [0, size)."""
    name = f"{type(owner).__name__}.{method}"
    if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
        raise TypeError(f"{name} expects a sequence of integer ids, got {type(ids).__name__}")
    out = []
    for i in ids:
        try:
            i = operator.index(i)
        except TypeError:
            raise TypeError(f"{name} expects integer ids, got {i!r} ({type(i).__name__})") from None
        if not 0 <= i < size:
            raise IndexError(f"{name} got id {i}, but the vocabulary has {size} tokens "
                             f"(ids 0..{size - 1})")
        out.append(i)
    return out


class SpecialIds:
    """`pad_id`, `unk_id`, ...: the ids of the usual special tokens, read from `special_tokens`
    (a dict token -> id); asking for one the object lacks is a KeyError that lists those it has."""

    def _special_id(self, token: str) -> int:
        specials = self.special_tokens
        if token not in specials:
            raise KeyError(f"{type(self).__name__} has no special token {token}; its special "
                           f"tokens are {list(specials)}")
        return specials[token]

    pad_id = property(lambda self: self._special_id("[PAD]"), doc="id of [PAD]")
    unk_id = property(lambda self: self._special_id("[UNK]"), doc="id of [UNK]")
    cls_id = property(lambda self: self._special_id("[CLS]"), doc="id of [CLS]")
    sep_id = property(lambda self: self._special_id("[SEP]"), doc="id of [SEP]")
    mask_id = property(lambda self: self._special_id("[MASK]"), doc="id of [MASK]")
    bos_id = property(lambda self: self._special_id("[BOS]"), doc="id of [BOS]")
    eos_id = property(lambda self: self._special_id("[EOS]"), doc="id of [EOS]")


class Tokenizer(SpecialIds):
    """encode(text) -> list of ids; decode(ids) -> text; save(path) / Cls.load(path) as JSON.

    Subclasses implement encode, decode, vocab_size, token_to_id, id_to_token, special_tokens
    (a dict token -> id) and to_dict/from_dict (the JSON payload)."""

    def encode(self, text: str) -> list:
        raise NotImplementedError

    def decode(self, ids) -> str:
        raise NotImplementedError

    @property
    def vocab_size(self) -> int:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.vocab_size

    # ---- files ----
    def to_dict(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: dict):
        raise NotImplementedError

    def save(self, path) -> None:
        """Write the tokenizer as JSON with "type": the class name (read back by `load`)."""
        write_json(path, type(self).__name__, self.to_dict())

    @classmethod
    def load(cls, path):
        """Read a file written by `save`; its "type" must be this class."""
        data = read_json(path)
        if data["type"] != cls.__name__:
            raise ValueError(f"{path} holds a {data['type']}, not a {cls.__name__} "
                             f"(nt.tokenizers.load reads any type)")
        return from_dict_of(cls, data, path)

    def __repr__(self):
        return f"{type(self).__name__}(vocab_size={self.vocab_size})"


class VocabTokenizer(Tokenizer):
    """A tokenizer whose tokens are the entries of a `Vocab` (`self.vocab`): word and character."""

    def tokens(self, ids, skip_special_tokens: bool = False) -> list:
        """The vocab's token for each id (special tokens left out if asked)."""
        tokens = self.vocab.decode(check_ids(ids, len(self.vocab), self, "decode"))
        if skip_special_tokens:
            tokens = [t for t in tokens if t not in self.vocab.special_tokens]
        return tokens

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def special_tokens(self) -> dict:
        return self.vocab.special_tokens

    def token_to_id(self, token: str) -> int:
        return self.vocab[token]

    def id_to_token(self, index: int) -> str:
        return self.vocab.lookup_token(index)
