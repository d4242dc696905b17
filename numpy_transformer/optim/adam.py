"""Adam and AdamW (decoupled weight decay), torch.optim's formulas."""
import numpy as np

from ..kernels import ops
from .optimizer import Optimizer

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, torch's formulas (t counts this parameter's steps, from 1):

        g = grad + weight_decay * p        (L2; AdamW instead does p *= 1 - lr * weight_decay)
        m = m + (1 - beta1) * (g - m)                          first moment  ('exp_avg')
        v = beta2 * v + (1 - beta2) * g * g                    second moment ('exp_avg_sq')
        v_max = max(v_max, v)  and use it for v                 if amsgrad ('max_exp_avg_sq')
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    State per parameter: 'step' (an int), 'exp_avg', 'exp_avg_sq' (+ 'max_exp_avg_sq')."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0,
                 amsgrad=False, *, maximize=False, decoupled_weight_decay=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize,
                                      decoupled_weight_decay=decoupled_weight_decay))

    def _check_options(self, group):
        super()._check_options(group)
        if not group.get("eps", 0) >= 0.0:
            raise self._error(f"an invalid eps={group['eps']}; it must be >= 0")
        for i, beta in enumerate(group.get("betas", ())):
            if not 0.0 <= beta < 1.0:
                raise self._error(f"an invalid beta at index {i}: betas={tuple(group['betas'])}; "
                                  "each beta must be in [0, 1)")
        if not group.get("weight_decay", 0) >= 0.0:
            raise self._error(f"an invalid weight_decay={group['weight_decay']}; it must be >= 0")

    def _update(self, p, state, group):
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p.data)
            state["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p.data)
        state["step"] += 1
        m, v, t = state["exp_avg"], state["exp_avg_sq"], state["step"]

        g, decay = p.grad, 1.0
        if weight_decay != 0 and group["decoupled_weight_decay"]:
            decay = 1 - lr * weight_decay
        elif weight_decay != 0:                 # g = (-)grad + weight_decay * p
            g = self._work(p, 1)
            np.multiply(p.data, weight_decay, out=g)
            (np.subtract if maximize else np.add)(g, p.grad, out=g)
        if maximize and g is p.grad:
            g = self._work(p, 1)
            np.negative(p.grad, out=g)
        ops.adam_update(p.data, g, m, v, lr=lr, beta1=beta1, beta2=beta2, eps=eps, step=t,
                        decay=decay, max_exp_avg_sq=state.get("max_exp_avg_sq"))


class AdamW(Adam):
    """Adam with decoupled weight decay: p *= 1 - lr * weight_decay before the Adam step."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize, decoupled_weight_decay=True)
