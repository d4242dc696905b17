"""GPT-2's two conventions for byte-level BPE: bytes written as printable characters, and the
regular expression that cuts text into the pieces BPE works on (written for Python's `re`)."""
import functools
import itertools
import re
import unicodedata

__all__ = ["bytes_to_unicode", "gpt2_pattern", "pretokenize"]

# Unicode's White_Space characters (what `\s` means in the `regex` package and in Rust). Python's
# own `\s` also matches \x1c-\x1f, so the set is spelled out.
WHITESPACE = "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# No letters or numbers beyond plane 3 (plane 14 holds tags and variation selectors, 15-16
# private use), so the categories are read for code points below this.
_LAST_PLANE_END = 0x40000


def bytes_to_unicode() -> dict:
    """byte value -> one printable character: the 188 printable Latin-1 bytes stand for
    themselves, the 68 others (controls, space, soft hyphen...) for chr(256), chr(257), ... in
    byte order. A token is then a printable string, e.g. " the" is written "Ġthe"."""
    printable = [b for b in range(256) if chr(b).isprintable() and chr(b) != " "]
    others = [b for b in range(256) if b not in printable]
    table = {b: chr(b) for b in printable}
    table.update({b: chr(256 + n) for n, b in enumerate(others)})
    return table


def _category_class(first_letter: str, low: int, high: int) -> str:
    """The body of a character class matching the code points in [low, high) of Unicode general
    category `first_letter`* (L: letters, N: numbers), as ranges."""
    def in_category(cp):
        return unicodedata.category(chr(cp))[0] == first_letter
    ranges = []
    for inside, run in itertools.groupby(range(low, high), key=in_category):
        if inside:
            run = list(run)
            ranges.append(f"\\U{run[0]:08x}-\\U{run[-1]:08x}")
    return "".join(ranges)


@functools.lru_cache(maxsize=None)
def gpt2_pattern() -> re.Pattern:
    """GPT-2's pre-tokenisation pattern, built once (about 0.2 s) on first use:

        's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+

    English contractions; a letter run, a number run or a run of other symbols, each with at
    most one leading space; whitespace before a word leaves its last space to that word.

    `re` has no \\p{L} or \\p{N}, so the classes are spelled out as code point ranges. Python keeps
    the part of a class below U+10000 as a bitmap but tests the ranges above it one by one, for
    every character that misses the bitmap; so each class is split in two, and the second half
    is only tried (lookahead) for characters above U+FFFF: 2-3x faster on ordinary text."""
    bmp, astral = (0, 0x10000), (0x10000, _LAST_PLANE_END)
    letter_bmp, letter_astral = _category_class("L", *bmp), _category_class("L", *astral)
    number_bmp, number_astral = _category_class("N", *bmp), _category_class("N", *astral)
    above = "\\U00010000-\\U0010ffff"
    letter = f"(?:[{letter_bmp}]|(?=[{above}])[{letter_astral}])"
    number = f"(?:[{number_bmp}]|(?=[{above}])[{number_astral}])"
    other = (f"(?:(?![{WHITESPACE}{letter_bmp}{number_bmp}])[^{above}]"
             f"|(?=[{above}])[^{letter_astral}{number_astral}])")
    space, not_space = f"[{WHITESPACE}]", f"[^{WHITESPACE}]"
    return re.compile(rf"'s|'t|'re|'ve|'m|'ll|'d| ?{letter}+| ?{number}+| ?{other}+"
                      rf"|{space}+(?!{not_space})|{space}+")


# The same pattern for ASCII text (letters, numbers and spaces need no tables): 4x faster.
ASCII_PATTERN = re.compile(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\t-\r A-Za-z0-9]+"
                           r"|[\t-\r ]+(?![^\t-\r ])|[\t-\r ]+")


def pretokenize(text: str) -> list:
    """The pieces of `text` under GPT-2's pattern; concatenated they give `text` back."""
    return (ASCII_PATTERN if text.isascii() else gpt2_pattern()).findall(text)
