"""Gradient clipping by total norm and by value (torch.nn.utils.clip_grad_norm_ / _value_)."""
import math

import numpy as np

from ..nn.parameter import Parameter

__all__ = ["clip_grad_norm_", "clip_grad_value_"]


def _grads(parameters):
    """The gradient arrays of the trainable parameters (a single Parameter is allowed)."""
    if isinstance(parameters, Parameter):
        parameters = [parameters]
    return [p.grad for p in parameters if p.requires_grad and p.grad is not None]


def _norm(g, norm_type: float) -> float:
    """||g||_p of one array, as a Python float."""
    if norm_type == 2.0:
        flat = g.reshape(-1)
        return math.sqrt(float(np.dot(flat, flat)))
    if norm_type == math.inf:
        return float(np.maximum(g.max(), -g.min())) if g.size else 0.0
    if norm_type == -math.inf:
        return float(np.abs(g).min()) if g.size else math.inf
    if norm_type == 0:
        return float(np.count_nonzero(g))
    return float(np.sum(np.abs(g) ** norm_type)) ** (1.0 / norm_type)


def clip_grad_norm_(parameters, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False):
    """Scale all gradients together so that their total `norm_type`-norm is at most `max_norm`.

    total = || (||g_1||, ||g_2||, ...) ||  (the norm of all gradients seen as one vector)
    every g *= min(1, max_norm / (total + 1e-6)).  Returns total, before clipping, in the
    gradients' dtype (as torch does; a non-finite total scales by NaN or 0 unless
    `error_if_nonfinite` raises)."""
    norm_type = float(norm_type)
    grads = _grads(parameters)
    if not grads:
        return np.float32(0.0)
    # torch's definition: the norm of the vector of per-gradient norms
    total = _norm(np.asarray([_norm(g, norm_type) for g in grads]), norm_type)
    total = grads[0].dtype.type(total)
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {float(total)}, so it cannot be clipped; set "
                           "error_if_nonfinite=False to scale the gradients by it anyway")
    coef = float(max_norm) / (float(total) + 1e-6)
    if not coef >= 1.0:                         # also NaN, as torch (its clamp keeps NaN)
        with np.errstate(invalid="ignore"):     # inf * 0 is NaN, as in torch
            for g in grads:
                g *= coef
    return total


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clip every gradient element into [-clip_value, clip_value] in place."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)
