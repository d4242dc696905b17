"""Embedding math: a row lookup forward, a scatter-add of the gradient rows backward.

The backward must sum the gradients of repeated ids. `np.add.at` does that but is slow on rows
(about 10 ns per element); `scatter_add_rows` sorts the ids instead and adds in rounds in which
no id repeats, so each round is one fancy-indexed `+=` (no Python loop over tokens).
"""
import numpy as np

__all__ = ["embedding_forward", "embedding_backward", "embedding_row_gradients", "scatter_add_rows"]

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


def embedding_forward(ids, weight, padding_idx=None, scale_grad_by_freq=False):
    """ids [...] ints, weight [V, D] -> y [..., D] = weight[ids].

    `padding_idx`: that row gets no gradient. `scale_grad_by_freq`: each id's gradient is divided
    by its count in `ids`."""
    return weight[ids], (ids, weight.shape, padding_idx, scale_grad_by_freq)


def embedding_row_gradients(dy, cache):
    """The (ids [M], rows [M, D]) that `embedding_backward` scatter-adds: no padding id, scaled."""
    ids, (V, D), padding_idx, scale_grad_by_freq = cache
    ids = ids.reshape(-1)
    rows = dy.reshape(-1, D)
    if padding_idx is not None:
        keep = ids != padding_idx
        if not keep.all():
            ids, rows = ids[keep], rows[keep]
    if scale_grad_by_freq:
        counts = np.bincount(ids, minlength=V)                 # [V] occurrences in this batch
        rows = rows * (1.0 / counts[ids]).astype(rows.dtype)[:, None]
    return ids, rows


def embedding_backward(dy, cache):
    """(None, dweight): the ids get no gradient; dweight[v] = sum of dy at the positions of v."""
    ids, rows = embedding_row_gradients(dy, cache)
    return None, scatter_add_rows(np.zeros_like(dy, shape=cache[1]), ids, rows)
