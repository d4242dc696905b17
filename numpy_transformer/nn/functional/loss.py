"""Losses as `loss, cache = *_forward(input, target, ...)` and `dinput = *_backward(grad, cache)`.

`reduction`: 'mean' (the default), 'sum' or 'none' (the per-element losses). `grad` is the
gradient of the loss: a scalar for 'mean' and 'sum', an array of the loss's shape for 'none'.
Class-index losses take input [N, C, d1, ...] (class axis 1) or unbatched [C], and targets
[N, d1, ...] or a 0-d index. These functions trust their arguments; the modules in
`nn/loss.py` check them first.
"""
import numpy as np

from .activation import log_softmax_forward

__all__ = [
    "cross_entropy_forward", "cross_entropy_backward", "nll_loss_forward", "nll_loss_backward",
    "binary_cross_entropy_forward", "binary_cross_entropy_backward",
    "binary_cross_entropy_with_logits_forward", "binary_cross_entropy_with_logits_backward",
    "mse_loss_forward", "mse_loss_backward", "l1_loss_forward", "l1_loss_backward",
    "smooth_l1_loss_forward", "smooth_l1_loss_backward",
    "huber_loss_forward", "huber_loss_backward",
]


# ---- reductions ----
def reduce_losses(losses, reduction, denominator=None):
    """(loss, scale): 'none' gives the losses, 'sum' their sum, 'mean' sum / denominator (by
    default their count); d loss / d losses = scale (1 for 'none' and 'sum'; 0 when nothing
    counts, as torch's gradient is then)."""
    if reduction == "none":
        return losses, 1
    total = losses.sum(keepdims=True)                      # [1, ...]: an array, not a scalar
    if reduction == "sum":
        return total.reshape(()), 1
    denominator = losses.size if denominator is None else denominator
    with np.errstate(invalid="ignore", divide="ignore"):   # 0/0 is reported by the module
        return (total / denominator).reshape(()), (1 / denominator if denominator else 0)


def each_loss_grad(grad, scale, reduction, class_axis=None):
    """The gradient of each per-element loss, grad * scale, shaped to broadcast over the input."""
    if reduction != "none":
        return grad * scale                                 # a 0-d array or a scalar
    return grad if class_axis is None else np.expand_dims(grad, class_axis)


def batched(x, target):
    """Unbatched class-index input [C] and target [] (or [C]) become a batch of one."""
    if x.ndim == 1:
        return x[None], np.asarray(target, like=x)[None], True
    return x, target, False


# ---- class indices: cross-entropy and negative log-likelihood ----
def target_distribution(x, target, weight, ignore_index, label_smoothing):
    """(q, denominator): q [N, C, ...] the distribution each prediction is scored against,
    q_c = w_c ((1 - eps) y_c + eps / C) (y: the target's one-hot, or its probabilities), 0 where
    the target index is ignore_index; 'mean' divides by the summed weight of the kept targets
    (class indices) or by the number of elements (probabilities: denominator None)."""
    C, eps = x.shape[1], label_smoothing
    w = np.ones_like(x, shape=(C,)) if weight is None else weight
    w = w.reshape((1, C) + (1,) * (x.ndim - 2))                        # [1, C, 1, ...]
    if np.issubdtype(target.dtype, np.floating):                      # class probabilities
        return (target * (1 - eps) + eps / C) * w, None
    keep = (target != ignore_index)[:, None]                           # [N, 1, ...]
    t = np.where(keep, target[:, None], 0)                             # [N, 1, ...]
    one_hot = (np.arange(C, like=x).reshape(w.shape) == t).astype(x.dtype)   # [N, C, ...]
    q = (one_hot * (1 - eps) + eps / C) * w * keep
    w_t = (one_hot * w).sum(axis=1, keepdims=True)                     # the target's weight
    return q, (w_t * keep).sum()


def cross_entropy_forward(input, target, weight=None, ignore_index=-100, reduction="mean",
                          label_smoothing=0.0):
    """Softmax cross-entropy of logits `input` against class indices (integer `target`) or class
    probabilities (floating `target` of input's shape), as torch.nn.functional.cross_entropy:
    each element's loss is -sum_c q_c log softmax(x)_c (q: `target_distribution`)."""
    x, target, unbatched = batched(input, target)
    q, denominator = target_distribution(x, target, weight, ignore_index, label_smoothing)
    log_p, _ = log_softmax_forward(x, axis=1)                          # [N, C, ...]
    with np.errstate(invalid="ignore"):                                # 0 * log 0 counts as 0
        losses = -np.where(q != 0, q * log_p, 0).sum(axis=1)           # [N, ...]
    loss, scale = reduce_losses(losses, reduction, denominator)
    if unbatched and reduction == "none":
        loss = loss.reshape(())
    return loss, (np.exp(log_p), q, reduction, scale, unbatched)


def cross_entropy_backward(grad, cache):
    """d loss / d x = g (q_sum softmax(x) - q) with q_sum = sum_c q_c, g the gradient of each
    element's loss (the derivative of -sum_c q_c (x_c - log sum_k exp x_k))."""
    p, q, reduction, scale, unbatched = cache
    if unbatched and reduction == "none":
        grad = np.asarray(grad, like=p)[None]
    g = each_loss_grad(grad, scale, reduction, class_axis=1)
    dx = g * (q.sum(axis=1, keepdims=True) * p - q)
    return dx[0] if unbatched else dx


def nll_loss_forward(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """loss = -w_t input[t] per element (input: log-probabilities), 0 where t == ignore_index;
    'mean' divides by the summed weight of the kept targets."""
    x, target, unbatched = batched(input, target)
    keep = (target != ignore_index)[:, None]                           # [N, 1, ...]
    t = np.where(keep, target[:, None], 0)                             # [N, 1, ...]
    w_t = keep.astype(x.dtype) if weight is None else weight[t] * keep  # the target's weight
    picked = np.take_along_axis(x, t, axis=1)                          # input[t]
    losses = np.where(keep, -w_t * picked, 0)[:, 0]                    # 0 even if input is -inf
    loss, scale = reduce_losses(losses, reduction, w_t.sum())
    if unbatched and reduction == "none":
        loss = loss.reshape(())
    return loss, (x.shape, x.dtype, t, w_t, reduction, scale, unbatched)


def nll_loss_backward(grad, cache):
    """d loss / d input = -g w_t at each target class, 0 elsewhere."""
    shape, dtype, t, w_t, reduction, scale, unbatched = cache
    if unbatched and reduction == "none":
        grad = np.asarray(grad, like=w_t)[None]
    dx = np.zeros_like(w_t, shape=shape, dtype=dtype)
    np.put_along_axis(dx, t, -w_t * each_loss_grad(grad, scale, reduction, class_axis=1), axis=1)
    return dx[0] if unbatched else dx


# ---- binary cross-entropy ----
def binary_cross_entropy_forward(input, target, weight=None, reduction="mean"):
    """loss = -w (y log x + (1 - y) log(1 - x)), each log clamped to >= -100 as in torch."""
    with np.errstate(divide="ignore"):                      # log(0) = -inf, then clamped
        log_x = np.maximum(np.log(input), -100)
        log_1mx = np.maximum(np.log1p(-input), -100)
    losses = (target - 1) * log_1mx - target * log_x
    if weight is not None:
        losses = losses * weight
    loss, scale = reduce_losses(losses, reduction)
    return loss, (input, target, weight, reduction, scale)


def binary_cross_entropy_backward(grad, cache):
    """d loss / d x = w (x - y) / max(x (1 - x), 1e-12) (torch's guard against 0 and 1)."""
    x, y, weight, reduction, scale = cache
    dx = (x - y) / np.maximum(x * (1 - x), 1e-12)
    if weight is not None:
        dx = dx * weight
    return dx * each_loss_grad(grad, scale, reduction)


def binary_cross_entropy_with_logits_forward(input, target, weight=None, pos_weight=None,
                                             reduction="mean"):
    """BCE of sigmoid(x) computed from the logits x without overflow:
    loss = w ((1 - y) x + l softplus(-x)), log weight l = 1 + (pos_weight - 1) y,
    with softplus(-x) = log(1 + exp(-x)) = max(-x, 0) + log1p(exp(-|x|))."""
    x, y = input, target
    e = np.exp(-np.abs(x))                                  # in (0, 1]: never overflows
    softplus = np.log1p(e) + np.maximum(-x, 0)              # -log sigmoid(x)
    log_weight = 1 if pos_weight is None else (pos_weight - 1) * y + 1
    losses = (1 - y) * x + log_weight * softplus
    if weight is not None:
        losses = losses * weight
    loss, scale = reduce_losses(losses, reduction)
    return loss, (x, y, e, weight, pos_weight, log_weight, reduction, scale)


def binary_cross_entropy_with_logits_backward(grad, cache):
    """d loss / d x = w (l sigmoid(x) - pos_weight y) (= w (sigmoid(x) - y) without pos_weight)."""
    x, y, e, weight, pos_weight, log_weight, reduction, scale = cache
    sigmoid = np.where(x >= 0, 1, e) / (1 + e)              # stable, from e = exp(-|x|)
    dx = sigmoid - y if pos_weight is None else log_weight * sigmoid - pos_weight * y
    if weight is not None:
        dx = dx * weight
    return dx * each_loss_grad(grad, scale, reduction)


# ---- regression ----
def mse_loss_forward(input, target, reduction="mean"):
    """loss = (x - y)^2."""
    d = input - target
    loss, scale = reduce_losses(d * d, reduction)
    return loss, (d, reduction, scale)


def mse_loss_backward(grad, cache):
    """d loss / d x = 2 (x - y)."""
    d, reduction, scale = cache
    return d * (2 * each_loss_grad(grad, scale, reduction))


def l1_loss_forward(input, target, reduction="mean"):
    """loss = |x - y|."""
    d = input - target
    loss, scale = reduce_losses(np.abs(d), reduction)
    return loss, (d, reduction, scale)


def l1_loss_backward(grad, cache):
    """d loss / d x = sign(x - y) (0 where x == y)."""
    d, reduction, scale = cache
    return np.sign(d) * each_loss_grad(grad, scale, reduction)


def smooth_l1_loss_forward(input, target, reduction="mean", beta=1.0):
    """loss = 0.5 d^2 / beta where |d| < beta, else |d| - 0.5 beta (d = x - y; L1 for beta 0)."""
    d = input - target
    a = np.abs(d)
    if beta == 0:
        losses = a
    else:
        losses = np.where(a < beta, (0.5 / beta) * d * d, a - 0.5 * beta)
    loss, scale = reduce_losses(losses, reduction)
    return loss, (d, beta, reduction, scale)


def smooth_l1_loss_backward(grad, cache):
    """d loss / d x = d / beta inside, sign(d) outside."""
    d, beta, reduction, scale = cache
    dx = np.sign(d) if beta == 0 else np.clip(d / beta, -1, 1)
    return dx * each_loss_grad(grad, scale, reduction)


def huber_loss_forward(input, target, reduction="mean", delta=1.0):
    """loss = 0.5 d^2 where |d| < delta, else delta (|d| - 0.5 delta)  (d = x - y)."""
    d = input - target
    a = np.abs(d)
    losses = np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))
    loss, scale = reduce_losses(losses, reduction)
    return loss, (d, delta, reduction, scale)


def huber_loss_backward(grad, cache):
    """d loss / d x = d inside, delta sign(d) outside."""
    d, delta, reduction, scale = cache
    return np.clip(d, -delta, delta) * each_loss_grad(grad, scale, reduction)
