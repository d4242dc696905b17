"""The embedding's backward: the gradient rows of repeated ids summed into the table.

`np.add.at` sums them but is slow on rows (about 10 ns per element); `scatter_add_rows` sorts the
ids instead and adds in rounds in which no id repeats, so each round is one fancy-indexed `+=`
(no Python loop over tokens).
"""
import numpy as np

from ...nn.functional.embedding import embedding_row_gradients

__all__ = ["embedding_backward"]

# Once at most this many ids still have rows left, each of them is summed on its own.
_FEW_IDS = 32


def scatter_add_rows(target, ids, rows):
    """target[ids[m]] += rows[m] for every m, repeated ids summed. ids [M] ints, rows [M, D].

    Sorting groups equal ids into runs. Round k adds the k-th row of every run (ids are distinct
    within a round, so a fancy-indexed `+=` is correct). Rounds go on while more than _FEW_IDS
    runs still have rows; the rest of those few long runs (frequent tokens) is summed run by run."""
    M = ids.size
    if M == 0:
        return target
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts_run = np.empty_like(ids, dtype=bool)                # [M] True where a run begins
    starts_run[0] = True
    np.not_equal(sorted_ids[1:], sorted_ids[:-1], out=starts_run[1:])
    run_start = np.flatnonzero(starts_run)                     # [U] sorted position of each run
    run_end = np.append(run_start[1:], M)                      # [U]
    rank = np.arange(M, like=ids) - run_start[np.cumsum(starts_run) - 1]  # [M] 0 = first, 1 = second...
    by_rank = np.argsort(rank, kind="stable")                  # sorted positions, round after round
    round_ends = np.cumsum(np.bincount(rank))                  # round k = by_rank[ends[k-1]:ends[k]]
    begin = 0
    for k, end in enumerate(round_ends):
        if end - begin <= _FEW_IDS:                            # few runs left: finish them one by one
            for r in np.flatnonzero(run_end - run_start > k):
                target[sorted_ids[run_start[r]]] += rows[order[run_start[r] + k:run_end[r]]].sum(axis=0)
            break
        pos = by_rank[begin:end]
        target[sorted_ids[pos]] += rows[order[pos]]
        begin = end
    return target


def embedding_backward(dy, cache):
    """As the reference, with the rows added by `scatter_add_rows` instead of np.add.at."""
    ids, rows = embedding_row_gradients(dy, cache)
    return None, scatter_add_rows(np.zeros_like(dy, shape=cache[1]), ids, rows)
