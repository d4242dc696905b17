"""Softmax cross-entropy as the reference defines it, without building the target distribution.

For class indices the reference's q [N, C, ...] is a smoothed one-hot: here only its sums and
the target's entries are formed, the exponentials are kept for backward, and the backward
writes over them in place (one backward per forward, as the modules do). The batch is split
over threads when big.
"""
import numpy as np

from ...nn.functional.loss import batched, each_loss_grad, reduce_losses
from .threads import parallel_slices

__all__ = ["cross_entropy_forward", "cross_entropy_backward"]


def _by_rows(fn, *arrays):
    """fn(*arrays) in pieces over the batch (axis 0), one per thread when big; the class axis
    stays whole, so the results are those of one call."""
    parallel_slices(fn, *arrays, axis=0)


# ---- class indices: cross-entropy and negative log-likelihood ----
def _class_targets(target, weight, ignore_index, dtype):
    """t [N, 1, ...] (ignored -> class 0); keep: 1 where not ignored, else 0; w_t: the weight
    of each target class (0 where ignored)."""
    kept = target != ignore_index
    t = np.where(kept, target, 0)[:, None]
    keep = kept[:, None].astype(dtype)
    return t, keep, (keep if weight is None else weight[t] * keep)


def cross_entropy_forward(input, target, weight=None, ignore_index=-100, reduction="mean",
                          label_smoothing=0.0):
    """Softmax cross-entropy of logits `input` against class indices (integer `target`) or class
    probabilities (floating `target` of input's shape), as torch.nn.functional.cross_entropy.

    Per element: loss = -sum_c q_c log softmax(x)_c, with the target distribution
      q_c = w_c ((1 - eps) y_c + eps / C)  (y: one-hot of the index, or the probabilities),
    0 where the target index is ignore_index. 'mean' divides by the summed weight w_t of the
    non-ignored targets (class indices) or by the number of elements (probabilities).
    Computed stably: log softmax(x)_c = (x_c - m) - log sum_k exp(x_k - m), m = max_k x_k."""
    x, target, unbatched = batched(input, target)
    n_classes, eps = x.shape[1], label_smoothing
    w = None if weight is None else weight.astype(x.dtype, copy=False)
    e = np.empty_like(x)                                    # shifted logits [N, C, ...]
    _by_rows(lambda x, e: np.subtract(x, x.max(axis=1, keepdims=True), out=e), x, e)
    if np.issubdtype(target.dtype, np.floating):            # class probabilities
        q = target * (1 - eps)
        q += eps / n_classes
        if w is not None:
            q *= w.reshape((1, n_classes) + (1,) * (x.ndim - 2))
        q_e = (q * e).sum(axis=1, keepdims=True)            # sum_c q_c (x_c - m)
        q_sum = q.sum(axis=1, keepdims=True)                # sum_c q_c
        targets, denominator = q, None
    else:                                                   # class indices
        t, keep, w_t = _class_targets(target, w, ignore_index, x.dtype)
        q_e = (1 - eps) * w_t * np.take_along_axis(e, t, axis=1)
        q_sum = (1 - eps) * w_t
        if eps > 0:                                         # sum_c w_c (x_c - m) and sum_c w_c
            if w is None:
                e_sum, w_sum = e.sum(axis=1, keepdims=True), n_classes
            else:
                e_sum, w_sum = np.expand_dims(np.tensordot(e, w, axes=([1], [0])), 1), w.sum()
            q_e += (eps / n_classes) * keep * e_sum
            q_sum += (eps / n_classes) * keep * w_sum
        targets, denominator = (t, keep, w_t), w_t.sum()
    z = np.empty_like(e, shape=(e.shape[0], 1) + e.shape[2:])   # sum_k exp(x_k - m) >= 1

    def exp_and_sum(e, z):
        np.exp(e, out=e)                                    # e <- exp(x - m), kept for backward
        np.sum(e, axis=1, keepdims=True, out=z)
    _by_rows(exp_and_sum, e, z)
    losses = q_sum * np.log(z) - q_e                        # -sum_c q_c log p_c  [N, 1, ...]
    loss, scale = reduce_losses(losses[:, 0], reduction, denominator)
    if unbatched and reduction == "none":
        loss = loss.reshape(())
    cache = (e, z, q_sum, targets, w, eps, reduction, scale, unbatched)
    return loss, cache


def cross_entropy_backward(grad, cache):
    """d loss / d x = g (q_sum softmax(x) - q), with g the gradient of each element's loss:
    softmax - target distribution, in place in the cached exp buffer."""
    e, z, q_sum, targets, w, eps, reduction, scale, unbatched = cache
    if unbatched and reduction == "none":
        grad = np.asarray(grad)[None]
    g = each_loss_grad(grad, scale, reduction, class_axis=1)
    dx = e                                                  # exp(x - m), no longer needed
    if isinstance(targets, tuple):                          # class indices
        t, keep, w_t = targets
        if eps > 0:                                         # the eps / C w_c part of q
            dx *= q_sum / z
            n_classes = dx.shape[1]
            dx -= eps / n_classes if w is None else (eps / n_classes) * w.reshape(
                (1, n_classes) + (1,) * (dx.ndim - 2))
            dx *= g * keep
        else:                                               # q_sum softmax; 0 where ignored
            _by_rows(lambda dx, factor: np.multiply(dx, factor, out=dx), dx, (q_sum / z) * g)
        picked = np.take_along_axis(dx, t, axis=1)          # the (1 - eps) w_t one-hot part
        np.put_along_axis(dx, t, picked - (1 - eps) * w_t * g, axis=1)
    else:                                                   # class probabilities
        q = targets
        dx *= (q_sum / z) * g
        q *= g
        dx -= q
    return dx[0] if unbatched else dx
