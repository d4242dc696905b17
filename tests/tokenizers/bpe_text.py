"""Hypothesis strategies for text that exercises GPT-2's pre-tokenisation pattern."""
from hypothesis import strategies as st

GPT2_PATTERN = r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""

# contractions, runs of spaces and newlines, Unicode letters, numbers (Nd, No, Nl), symbols,
# the odd separators \x1c and \x85, combining marks, astral letters and emoji
PIECES = st.sampled_from(["'s", "'t", "'re", "'ll", "'d", "'x", " ", "  ", "\n", "\n\n", "\t",
                          "\x1c", "\x85", "\u3000", "a", "Z", "é", "ß", "日", "0", "7", "²", "Ⅻ",
                          "½", ".", "!", "—", "$", "𝒜", "𐐷", "🎉", "\u0301", "_"])
TEXT = st.one_of(st.text(max_size=30), st.lists(PIECES, max_size=20).map("".join))
