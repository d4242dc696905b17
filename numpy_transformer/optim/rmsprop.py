"""RMSprop, torch.optim's formulas (optionally centered, with momentum)."""
import numpy as np

from .optimizer import Optimizer

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    """RMSprop, torch's formulas:

        g = grad + weight_decay * p                          (-grad when maximize)
        s = alpha * s + (1 - alpha) * g * g                  ('square_avg')
        a = a + (1 - alpha) * (g - a)                        ('grad_avg', if centered)
        d = sqrt(s - a * a) + eps   if centered  else  sqrt(s) + eps
        b = momentum * b + g / d;  p -= lr * b               ('momentum_buffer', if momentum > 0)
        p -= lr * g / d                                      (without momentum)"""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
                 centered=False, *, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_options(self, group):
        super()._check_options(group)
        for name in ("eps", "momentum", "weight_decay", "alpha"):
            if not group.get(name, 0) >= 0.0:
                raise self._error(f"an invalid {name}={group[name]}; it must be >= 0")

    def _update(self, p, state, group):
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p.data)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p.data)
        state["step"] += 1
        work = self._work(p, 0)

        g = p.grad
        if weight_decay != 0 or maximize:       # g = (-)grad + weight_decay * p
            g = self._work(p, 1)
            if weight_decay != 0:
                np.multiply(p.data, weight_decay, out=g)
                (np.subtract if maximize else np.add)(g, p.grad, out=g)
            else:
                np.negative(p.grad, out=g)

        square_avg = state["square_avg"]        # s = alpha * s + (1 - alpha) * g^2
        np.multiply(g, g, out=work)
        work *= 1 - alpha
        square_avg *= alpha
        square_avg += work
        if group["centered"]:
            grad_avg = state["grad_avg"]        # a += (1 - alpha) * (g - a)
            np.subtract(g, grad_avg, out=work)
            work *= 1 - alpha
            grad_avg += work
            np.multiply(grad_avg, grad_avg, out=work)
            np.subtract(square_avg, work, out=work)
            denom = np.sqrt(work, out=work)
        else:
            denom = np.sqrt(square_avg, out=work)
        denom += eps

        if momentum > 0:                        # b = momentum * b + g / d;  p -= lr * b
            buf = state["momentum_buffer"]
            buf *= momentum
            update = np.divide(g, denom, out=work)
            buf += update
            np.multiply(buf, -lr, out=work)
        else:                                   # p -= lr * g / d
            np.divide(g, denom, out=work)
            work *= -lr
        p.data += work
