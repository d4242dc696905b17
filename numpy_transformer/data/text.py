"""Text corpora: whole texts, lists of quotes, and sentence pairs for translation."""
import gzip
import json
from pathlib import Path

from .download import fetch
from .registry import known_files

__all__ = ["TEXTS", "load_text", "load_quotes", "load_fortunes", "load_parallel", "load_bible_pairs"]

TEXTS = {"tinyshakespeare": "text/tinyshakespeare.txt"}  # short name -> known file
_MULTI30K_SPLITS = {"train": "train", "val": "val", "test": "test_2016_flickr"}
_BIBLE_COLUMNS = {"en": 1, "es": 2}  # ref<TAB>en<TAB>es


def load_text(name: str, data_dir=None) -> str:
    """A whole corpus as one string: a short name from TEXTS (e.g. 'tinyshakespeare'), a UTF-8
    file's path, or a folder whose .txt files (sorted by name) are joined by blank lines."""
    if name in TEXTS:
        return fetch(TEXTS[name], data_dir).read_text(encoding="utf-8")
    path = Path(name).expanduser()
    if path.is_dir():
        files = sorted(path.glob("*.txt"))
        if not files:
            raise ValueError(f"--data {path}: the folder has no .txt files")
        text = "\n\n".join(_read_utf8(f) for f in files)
        if not text.strip():
            raise ValueError(f"--data {path}: its .txt files hold only white space")
        return text
    if path.is_file():
        text = _read_utf8(path)
        if not text.strip():
            raise ValueError(f"--data {path}: the file is empty")
        return text
    raise KeyError(f"unknown text {name!r}: not one of {sorted(TEXTS)} and not a file or folder")


def _read_utf8(path: Path) -> str:
    """A text file's contents; bytes that are not UTF-8 are an error naming the file and line."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise ValueError(f"{path}, line {line}: not UTF-8 text (byte {error.start}); save it as "
                         "UTF-8") from None


def load_quotes(data_dir=None, authors: bool = False) -> list:
    """The 5,421 JamesFT quotes as strings (or (quote, author) pairs with `authors=True`)."""
    with open(fetch("text/quotes_jamesft.json", data_dir), encoding="utf-8") as f:
        records = json.load(f)
    if authors:
        return [(r["quoteText"].strip(), r["quoteAuthor"].strip()) for r in records]
    return [r["quoteText"].strip() for r in records]


def load_fortunes(data_dir=None, files=None) -> list[str]:
    """Fortune-cookie entries (separated by lines that are exactly '%') from the named files, default all 43."""
    names = known_files("text/fortunes/") if files is None else [f"text/fortunes/{f}" for f in files]
    entries = []
    for name in names:
        entries += split_fortunes(fetch(name, data_dir).read_text(encoding="utf-8"))
    return entries


def split_fortunes(text: str) -> list[str]:
    """Entries of a fortune file: the blocks between '%' lines, without blank ones."""
    entries, lines = [], []
    for line in text.split("\n") + ["%"]:
        if line == "%":
            entry = "\n".join(lines).strip("\n")
            if entry.strip():
                entries.append(entry)
            lines = []
        else:
            lines.append(line)
    return entries


def load_parallel(name: str = "multi30k", split: str = "train", src: str = "de", tgt: str = "en",
                  data_dir=None) -> list[tuple[str, str]]:
    """Aligned (source, target) sentence pairs; Multi30k task 1: split train/val/test, languages de/en/fr."""
    if name != "multi30k":
        raise KeyError(f"unknown parallel corpus {name!r}; known: 'multi30k' (and load_bible_pairs)")
    if split not in _MULTI30K_SPLITS:
        raise KeyError(f"Multi30k has splits {sorted(_MULTI30K_SPLITS)}, not {split!r}")
    sides = [_read_lines(fetch(f"text/multi30k/{_MULTI30K_SPLITS[split]}.{lang}.gz", data_dir))
             for lang in (src, tgt)]
    if len(sides[0]) != len(sides[1]):
        raise ValueError(f"Multi30k {split}: {src} has {len(sides[0])} lines but {tgt} has {len(sides[1])}")
    return list(zip(*sides))


def load_bible_pairs(src: str = "en", tgt: str = "es", data_dir=None) -> list[tuple[str, str]]:
    """The 31,084 verse-aligned pairs of the King James (en) and Reina-Valera 1909 (es) Bibles."""
    if src not in _BIBLE_COLUMNS or tgt not in _BIBLE_COLUMNS:
        raise KeyError(f"the Bible pairs have languages {sorted(_BIBLE_COLUMNS)}, not {src!r}/{tgt!r}")
    rows = [line.split("\t") for line in _read_lines(fetch("text/bible_kjv_en__rv1909_es.tsv.gz", data_dir))]
    return [(row[_BIBLE_COLUMNS[src]], row[_BIBLE_COLUMNS[tgt]]) for row in rows]


def _read_lines(path) -> list[str]:
    """Lines split on '\n' only (str.splitlines would also split on rare separators inside a sentence)."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    return lines[:-1] if lines and lines[-1] == "" else lines
