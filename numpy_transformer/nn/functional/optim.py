"""The optimizers' elementwise updates, in place (torch.optim's functional forms): the
optimizer classes own the state and the options, these own the arithmetic."""
import numpy as np

__all__ = ["adam_update"]


def adam_update(param, grad, exp_avg, exp_avg_sq, work, *, lr, beta1, beta2, eps, step,
                decay=1.0, max_exp_avg_sq=None):
    """One Adam step of one parameter, every array of its shape and dtype, changed in place:

        p *= decay                                 AdamW's decoupled weight decay (1: none)
        m += (1 - beta1) * (g - m)                 first moment
        v = beta2 * v + (1 - beta2) * g * g        second moment
        v_max = max(v_max, v)  and use it for v    if max_exp_avg_sq is given (amsgrad)
        p += -lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    `work` is scratch of the same shape; its contents are undefined afterwards."""
    if decay != 1.0:
        param *= decay
    np.subtract(grad, exp_avg, out=work)
    work *= 1 - beta1
    exp_avg += work
    np.multiply(grad, grad, out=work)
    work *= 1 - beta2
    exp_avg_sq *= beta2
    exp_avg_sq += work
    v = exp_avg_sq if max_exp_avg_sq is None else np.maximum(max_exp_avg_sq, exp_avg_sq,
                                                             out=max_exp_avg_sq)
    denom = np.sqrt(v, out=work)
    denom /= (1 - beta2 ** step) ** 0.5
    denom += eps
    update = np.divide(exp_avg, denom, out=work)
    update *= -lr / (1 - beta1 ** step)
    param += update
