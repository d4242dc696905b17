"""Losses as `loss, cache = *_forward(input, target, ...)` and `dinput = *_backward(grad, cache)`.

`reduction`: 'mean' (the default), 'sum' or 'none' (the per-element losses). `grad` is the
gradient of the loss: a scalar for 'mean' and 'sum', an array of the loss's shape for 'none'.
Class-index losses take input [N, C, d1, ...] (class axis 1) or unbatched [C], and targets
[N, d1, ...] or a 0-d index. These functions trust their arguments; the modules in
`nn/loss.py` check them first. A backward may reuse its cache's buffers: one backward per
forward, as the modules do.
"""
import numpy as np

from ..._parallel import parallel_slices
from ._select import where_select

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_forward", "binary_cross_entropy_with_logits_backward",
    "mse_loss_forward", "mse_loss_backward", "l1_loss_forward", "l1_loss_backward",
    "smooth_l1_loss_forward", "smooth_l1_loss_backward", "huber_loss_forward", "huber_loss_backward",
]


# ---- reductions ----
def _reduce(losses, reduction, denominator=None):
    """'none': the losses; 'sum': their sum; 'mean': sum / denominator (default: their count).

    Returns (loss, scale) where d loss / d losses = grad * scale (scale 1 for 'none')."""
    if reduction == "none":
        return losses, 1
    total = losses.sum()
    if reduction == "sum":
        return np.asarray(total), 1
    denominator = losses.size if denominator is None else denominator
    with np.errstate(invalid="ignore", divide="ignore"):   # 0/0 is reported by the module
        return np.asarray(total / denominator), 1 / denominator if denominator else np.inf


def _spread(grad, scale, reduction, class_axis=None):
    """The gradient of each per-element loss: grad * scale, shaped to broadcast over the input."""
    if reduction != "none":
        return grad * scale                                 # a 0-d array or a scalar
    return grad if class_axis is None else np.expand_dims(grad, class_axis)


def _batched(x, target):
    """Unbatched class-index input [C] and target [] (or [C]) become a batch of one."""
    if x.ndim == 1:
        return x[None], np.asarray(target)[None], True
    return x, target, False


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
    x, target, unbatched = _batched(input, target)
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
    loss, scale = _reduce(losses[:, 0], reduction, denominator)
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
    g = _spread(grad, scale, reduction, class_axis=1)
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


def nll_loss_forward(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """loss = -w_t input[t] per element (input: log-probabilities), 0 where t == ignore_index;
    'mean' divides by the summed weight of the non-ignored targets."""
    x, target, unbatched = _batched(input, target)
    w = None if weight is None else weight.astype(x.dtype, copy=False)
    t, keep, w_t = _class_targets(target, w, ignore_index, x.dtype)
    losses = -(w_t * np.take_along_axis(x, t, axis=1))      # [N, 1, ...]
    losses[keep == 0] = 0                                   # ignored, even if input[.., 0] is -inf
    loss, scale = _reduce(losses[:, 0], reduction, w_t.sum())
    if unbatched and reduction == "none":
        loss = loss.reshape(())
    return loss, (x[:0], x.shape, t, w_t, reduction, scale, unbatched)


def nll_loss_backward(grad, cache):
    """d loss / d input = -g w_t at each target class, 0 elsewhere."""
    like, shape, t, w_t, reduction, scale, unbatched = cache
    if unbatched and reduction == "none":
        grad = np.asarray(grad)[None]
    dx = np.zeros_like(like, shape=shape)
    np.put_along_axis(dx, t, -w_t * _spread(grad, scale, reduction, class_axis=1), axis=1)
    return dx[0] if unbatched else dx


# ---- binary cross-entropy ----
def binary_cross_entropy_forward(input, target, weight=None, reduction="mean"):
    """loss = -w (y log x + (1 - y) log(1 - x)), each log clamped to >= -100 as in torch."""
    with np.errstate(divide="ignore"):                      # log(0) = -inf, then clamped
        log_x = np.maximum(np.log(input), -100)
        log_1mx = np.maximum(np.log1p(-input), -100)
    losses = (target - 1) * log_1mx
    losses -= target * log_x
    if weight is not None:
        losses = losses * weight
    loss, scale = _reduce(losses, reduction)
    return loss, (input, target, weight, reduction, scale)


def binary_cross_entropy_backward(grad, cache):
    """d loss / d x = w (x - y) / max(x (1 - x), 1e-12) (torch's guard against 0 and 1)."""
    x, y, weight, reduction, scale = cache
    dx = x - y
    dx /= np.maximum(x * (1 - x), 1e-12)
    if weight is not None:
        dx *= weight
    dx *= _spread(grad, scale, reduction)
    return dx


def binary_cross_entropy_with_logits_forward(input, target, weight=None, pos_weight=None,
                                             reduction="mean"):
    """BCE of sigmoid(x) computed from the logits x without overflow:
    loss = w ((1 - y) x + l softplus(-x)), l = 1 + (pos_weight - 1) y,
    with softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|))."""
    x, y = input, target
    e = np.exp(-np.abs(x))                                  # in (0, 1]: never overflows
    softplus = np.log1p(e)
    softplus += np.maximum(-x, 0)                           # softplus(-x) = -log sigmoid(x)
    l = None if pos_weight is None else (pos_weight - 1) * y + 1
    losses = (1 - y) * x
    losses += softplus if l is None else l * softplus
    if weight is not None:
        losses *= weight
    loss, scale = _reduce(losses, reduction)
    return loss, (x, y, e, weight, pos_weight, l, reduction, scale)


def binary_cross_entropy_with_logits_backward(grad, cache):
    """d loss / d x = w (l sigmoid(x) - pos_weight y) (= w (sigmoid(x) - y) without pos_weight)."""
    x, y, e, weight, pos_weight, l, reduction, scale = cache
    sigmoid = where_select(x >= 0, 1.0, e, e.dtype)       # np.where(x >= 0, 1, e), no branches
    sigmoid /= 1 + e                                        # stable sigmoid(x) from exp(-|x|)
    if l is None:
        dx = sigmoid - y
    else:
        dx = l * sigmoid - pos_weight * y
    if weight is not None:
        dx *= weight
    dx *= _spread(grad, scale, reduction)
    return dx


# ---- regression ----
def mse_loss_forward(input, target, reduction="mean"):
    """loss = (x - y)^2."""
    d = input - target
    loss, scale = _reduce(d * d, reduction)
    return loss, (d, reduction, scale)


def mse_loss_backward(grad, cache):
    """d loss / d x = 2 (x - y)."""
    d, reduction, scale = cache
    return d * (2 * _spread(grad, scale, reduction))


def l1_loss_forward(input, target, reduction="mean"):
    """loss = |x - y|."""
    d = input - target
    loss, scale = _reduce(np.abs(d), reduction)
    return loss, (d, reduction, scale)


def l1_loss_backward(grad, cache):
    """d loss / d x = sign(x - y) (0 where x == y)."""
    d, reduction, scale = cache
    return np.sign(d) * _spread(grad, scale, reduction)


def smooth_l1_loss_forward(input, target, reduction="mean", beta=1.0):
    """loss = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y; L1 for beta 0)."""
    d = input - target
    a = np.abs(d)
    losses = a - 0.5 * beta if beta == 0 else np.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    loss, scale = _reduce(losses, reduction)
    return loss, (d, beta, reduction, scale)


def smooth_l1_loss_backward(grad, cache):
    """d loss / d x = d / beta inside, sign(d) outside."""
    d, beta, reduction, scale = cache
    dx = np.sign(d) if beta == 0 else np.clip(d / beta, -1, 1)
    return dx * _spread(grad, scale, reduction)


def huber_loss_forward(input, target, reduction="mean", delta=1.0):
    """loss = 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)  (d = x - y)."""
    d = input - target
    a = np.abs(d)
    losses = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    loss, scale = _reduce(losses, reduction)
    return loss, (d, delta, reduction, scale)


def huber_loss_backward(grad, cache):
    """d loss / d x = d inside, delta sign(d) outside."""
    d, delta, reduction, scale = cache
    return np.clip(d, -delta, delta) * _spread(grad, scale, reduction)
