"""Learning BPE merges: count the pieces of a corpus, then merge the most frequent adjacent pair.

Each distinct piece is a list of token ids with a count. Pair counts are kept up to date as
pieces change (only the pieces holding the merged pair are touched), and a heap with lazy
deletion finds the most frequent pair: entries whose count is out of date are skipped.
Ties go to the pair with the smaller ids (what Hugging Face's trainer does too).
"""
import heapq
from collections import Counter, defaultdict

from .byte_level import pretokenize

__all__ = ["count_pieces", "learn_merges"]


def count_pieces(texts) -> Counter:
    """How often each piece (GPT-2's pre-tokenisation) occurs in `texts`."""
    counts = Counter()
    for text in texts:
        counts.update(pretokenize(text))
    return counts


def learn_merges(piece_counts: Counter, byte_ids: dict, num_merges: int) -> list:
    """Up to `num_merges` merges as (left id, right id); merge k makes the token 256 + k.

    `byte_ids` maps a byte value to its token id (0..255)."""
    words, counts = [], []
    for piece, n in piece_counts.items():
        words.append([byte_ids[b] for b in piece.encode("utf-8")])
        counts.append(n)
    pair_counts, where = defaultdict(int), defaultdict(set)
    for w, (word, n) in enumerate(zip(words, counts)):
        for pair in zip(word, word[1:]):
            pair_counts[pair] += n
            where[pair].add(w)
    heap = [(-n, pair) for pair, n in pair_counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < num_merges and heap:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative or negative == 0:
            continue                                   # out of date: a newer entry exists
        new_id = 256 + len(merges)
        merges.append(pair)
        changes = defaultdict(int)                     # pair -> change of its count
        for w in where.pop(pair):
            word, n = words[w], counts[w]
            merged = _merge(word, pair, new_id)
            if len(merged) == len(word):
                continue                               # the pair left this word earlier
            for old in zip(word, word[1:]):
                changes[old] -= n
            for new in zip(merged, merged[1:]):
                changes[new] += n
                where[new].add(w)
            words[w] = merged
        for changed, delta in changes.items():
            if delta:
                count = pair_counts[changed] = pair_counts[changed] + delta
                if count > 0:
                    heapq.heappush(heap, (-count, changed))
                else:
                    del pair_counts[changed]
    return merges


def _merge(word: list, pair: tuple, new_id: int) -> list:
    """`word` with every occurrence of `pair` (left to right) replaced by `new_id`."""
    left, right = pair
    out, i, n = [], 0, len(word)
    while i < n:
        if i + 1 < n and word[i] == left and word[i + 1] == right:
            out.append(new_id)
            i += 2
        else:
            out.append(word[i])
            i += 1
    return out
