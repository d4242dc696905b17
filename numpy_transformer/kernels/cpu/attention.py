"""Scaled dot-product attention as the reference computes it, with fewer passes and threads.

Every step writes into the arrays it is given (`out=`), so a module's heads can be strided views
of one buffer with no copy to merge them; a big batch runs in a few slices on worker threads
(see the end of the file), each slice doing the same operations as the whole would.
"""
import functools
import math

import numpy as np

from ...nn.functional.attention import AttentionCache, check_attention_inputs, sum_to_shape
from ...nn.functional.dropout import dropout_mask
from .blas import blas_thread_control, single_threaded_blas
from .threads import num_threads, row_chunks, run_chunks

__all__ = ["scaled_dot_product_attention_forward", "scaled_dot_product_attention_backward"]


def softmax_last_axis_(scores):
    """Softmax over the last axis, in place and stable; a row that is all -inf becomes zeros.

    A fully masked row has nothing to attend to: its weights are 0 (torch's SDPA does the same)."""
    row_max = scores.max(axis=-1, keepdims=True)
    np.copyto(row_max, 0, where=~np.isfinite(row_max))   # all -inf: exp(-inf - 0) = 0, no NaN
    np.subtract(scores, row_max, out=scores)              # every entry <= 0: exp cannot overflow
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    np.divide(1, total, out=total, where=total > 0)       # total 0 stays 0: the row stays 0
    scores *= total
    return scores


@functools.lru_cache(maxsize=32)
def _causal_mask(L, S, dtype):
    """[L, S] of 0 where query i may see key j (j <= i, top-left aligned) and -inf elsewhere."""
    mask = np.where(np.tri(L, S, dtype=bool), 0, -np.inf).astype(dtype)
    mask.flags.writeable = False
    return mask


def _mask_scores_(scores, attn_mask, is_causal):
    """Apply torch's SDPA masks in place: bool True = takes part, float = added."""
    if is_causal:        # adding 0 / -inf (as torch's reference math does): 18 against 50 us
        scores += _causal_mask(*scores.shape[-2:], scores.dtype)   # for a masked copy of 6x4x64x64
    if attn_mask is None:
        return
    if attn_mask.dtype == np.bool_:
        np.copyto(scores, -np.inf, where=~attn_mask)
    else:
        scores += attn_mask


def scaled_dot_product_attention_forward(query, key, value, attn_mask=None, dropout_p=0.0,
                                         is_causal=False, scale=None, generator=None, out=None):
    """(out [..., L, Ev], cache); `out=` writes into a given array (e.g. a view of a buffer).

    attn_mask broadcasts to [..., L, S]: bool True = takes part, float = added to the scores.
    is_causal: query i attends to keys 0..i. dropout_p: dropout on the weights (training only:
    pass 0 in evaluation). scale: default 1 / sqrt(E)."""
    return attention_forward(query, key, value, attn_mask, dropout_p, is_causal, scale, generator,
                             out, softmax_last_axis_)


def attention_forward(query, key, value, attn_mask, dropout_p, is_causal, scale, generator, out,
                      softmax_):
    """The forward with `softmax_(scores)` (in place) as the softmax: NumPy's above, or a
    compiled one (kernels/compiled/attention.py)."""
    check_attention_inputs(query, key, value, attn_mask, dropout_p, is_causal)
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else float(scale)
    lead = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
    L, S, Ev = query.shape[-2], key.shape[-2], value.shape[-1]
    if attn_mask is not None and attn_mask.dtype != np.bool_:
        attn_mask = attn_mask.astype(query.dtype, copy=False)
    query_scaled = np.empty_like(query, shape=lead + query.shape[-2:])   # query * scale
    weights = np.empty(lead + (L, S), query.dtype)          # C order, whatever query's layout:
                                                            # rows of whole blocks for a softmax
    mask = None                                                      # drawn up front: the same
    if dropout_p > 0:                                                # stream however work is split
        mask = dropout_mask(weights, weights.shape, dropout_p, generator)
    dropped = weights if mask is None else np.empty_like(weights)
    if out is None:
        out = np.empty_like(query, shape=lead + (L, Ev))

    def attend(part):                                                # part(x): a slice of a batch
        scores, q_scaled = part(weights), np.multiply(part(query), scale, out=part(query_scaled))
        np.matmul(q_scaled, part(key).swapaxes(-1, -2), out=scores)             # [..., L, S]
        _mask_scores_(scores, part(attn_mask), is_causal)
        softmax_(scores)
        if mask is not None:
            np.multiply(scores, part(mask), out=part(dropped))
        np.matmul(part(dropped), part(value), out=part(out))                     # [..., L, Ev]

    _in_parts(attend, lead, (query, key, value, out), weights.size)
    cache = AttentionCache(query_scaled, key, value, weights, dropped, mask, scale,
                           (query.shape, key.shape, value.shape))
    return out, cache


def scaled_dot_product_attention_backward(d_out, cache, out=None):
    """(d_query, d_key, d_value); `out=(dq, dk, dv)` writes into given arrays.

        scores = (q * scale) k^T     P = softmax(scores)     Pd = P * dropout_mask     out = Pd v
    """
    return attention_backward(d_out, cache, out, softmax_backward_)


def softmax_backward_(d_weights, weights):
    """d_weights <- the scores' gradient, in place, through the softmax's Jacobian
    diag(P) - P P^T:  dS_ij = P_ij (dP_ij - sum_k P_ik dP_ik)."""
    row_dot = np.einsum("...ij,...ij->...i", weights, d_weights)[..., None]
    d_weights -= row_dot
    d_weights *= weights


def attention_backward(d_out, cache, out, softmax_backward_):
    """The backward with `softmax_backward_(d_weights, weights)` (in place) for the softmax."""
    q_scaled, key, value, weights, dropped, mask, scale, shapes = cache
    lead = weights.shape[:-2]
    if out is None:
        out = (np.empty_like(q_scaled, shape=lead + q_scaled.shape[-2:]),
               np.empty_like(key, shape=lead + key.shape[-2:]),
               np.empty_like(value, shape=lead + value.shape[-2:]))
    dq, dk, dv = out

    def gradients(part):
        P, Pd, g = part(weights), part(dropped), part(d_out)
        # out = Pd v:  d_value = Pd^T d_out,  d_Pd = d_out v^T                     [..., L, S]
        np.matmul(Pd.swapaxes(-1, -2), g, out=part(dv))
        d_scores = np.matmul(g, part(value).swapaxes(-1, -2))
        if mask is not None:
            d_scores *= part(mask)                         # dropped weights get no gradient
        softmax_backward_(d_scores, P)                     # through the softmax
        # scores = (q scale) k^T:  d_query = dS k scale,  d_key = dS^T (q scale)
        d_query = np.matmul(d_scores, part(key), out=part(dq))
        d_query *= scale
        np.matmul(d_scores.swapaxes(-1, -2), part(q_scaled), out=part(dk))

    _in_parts(gradients, lead, (q_scaled, key, value, d_out, dq, dk, dv), weights.size)
    return tuple(sum_to_shape(g, s) for g, s in zip(out, shapes))


# ---- big batches on worker threads ----
# NumPy's elementwise ops use one core, and OpenBLAS threads a stack of small matrix products
# poorly; so a big attention runs as a few slices of one leading axis, one per worker thread
# (NumPy releases the GIL inside), while OpenBLAS is told to run each product on one thread.
# Every slice does the same operations as the whole would, so the results are identical.

# Below this many scores, threads cost more than they save (the two threads' many short NumPy
# calls wait on each other for the GIL). Forward + backward, split / not, 2 cores: 40,000 scores
# 887 / 795 us, 60,000 (BERT's 6x4x50x50) 1016 / 1136 us, GPT's 196,608 1688 / 2346 us.
MIN_PARALLEL_SCORES = 48 * 1024


def _worker_pool():
    """(the shared pool's thread count, OpenBLAS thread count get/set), or None where BLAS
    threads cannot be set (then attention runs unsplit)."""
    blas = blas_thread_control()
    return None if blas is None else (num_threads(), blas)


def _in_parts(fn, lead, arrays, n_scores):
    """fn(part) once with part = identity, or once per slice of a leading axis on worker threads.

    `part(x)` takes the slice of x (an array shaped lead + 2 trailing dims, or a mask that
    broadcasts to it); it splits only when every array in `arrays` has the full leading shape."""
    threads = min(num_threads(), max(lead, default=1))
    full = all(a.shape[:-2] == lead for a in arrays)
    split = threads > 1 and full and n_scores >= MIN_PARALLEL_SCORES and _worker_pool() is not None
    if not split:
        fn(lambda x: x)
        return
    axis = int(np.argmax(lead))                          # split the longest leading axis
    ndim = len(lead) + 2

    def run(start, stop):                                # the slice start:stop of that axis
        def part(x):
            if x is None:
                return None
            at = axis - (ndim - x.ndim)                  # masks may have fewer leading dims
            if at < 0 or x.shape[at] == 1:
                return x                                 # broadcast along the split axis
            return x[(slice(None),) * at + (slice(start, stop),)]
        fn(part)

    with single_threaded_blas():                         # one BLAS thread per product meanwhile
        run_chunks(run, row_chunks(lead[axis], n_scores, min_elements=0))
