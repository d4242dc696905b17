"""The optimizers' elementwise updates, in place (torch.optim's functional forms): the
optimizer classes own the state and the options, these own the arithmetic."""
import numpy as np

__all__ = ["adam_update"]


def adam_update(param, grad, exp_avg, exp_avg_sq, *, lr, beta1, beta2, eps, step, decay=1.0,
                max_exp_avg_sq=None):
    """One Adam step of one parameter (t = step, from 1), every array changed in place:

        p *= decay                                 AdamW's decoupled weight decay (1: none)
        m += (1 - beta1) (g - m)                   first moment
        v = beta2 v + (1 - beta2) g^2              second moment
        v_max = max(v_max, v), used for v          amsgrad, when max_exp_avg_sq is given
        p -= lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)"""
    param *= decay
    exp_avg += (grad - exp_avg) * (1 - beta1)
    exp_avg_sq *= beta2
    exp_avg_sq += grad * grad * (1 - beta2)
    v = exp_avg_sq
    if max_exp_avg_sq is not None:
        max_exp_avg_sq[...] = np.maximum(max_exp_avg_sq, exp_avg_sq)
        v = max_exp_avg_sq
    param += exp_avg / (np.sqrt(v) / (1 - beta2 ** step) ** 0.5 + eps) * (-lr / (1 - beta1 ** step))
