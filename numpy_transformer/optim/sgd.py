"""SGD with momentum, dampening, Nesterov momentum and L2 weight decay (torch.optim.SGD)."""
import numpy as np

from .optimizer import Optimizer

__all__ = ["SGD"]


class SGD(Optimizer):
    """Stochastic gradient descent, torch's formulas:

        g = grad + weight_decay * p                    (-grad when maximize)
        b = g  on the first step,  then  b = momentum * b + (1 - dampening) * g
        p -= lr * (g + momentum * b)   if nesterov  else  lr * b      (lr * g without momentum)

    State per parameter: 'momentum_buffer' (when momentum != 0)."""

    def __init__(self, params, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False,
                 *, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_options(self, group):
        super()._check_options(group)
        if not group.get("momentum", 0) >= 0.0:
            raise self._error(f"an invalid momentum={group['momentum']}; it must be >= 0")
        if not group.get("weight_decay", 0) >= 0.0:
            raise self._error(f"an invalid weight_decay={group['weight_decay']}; it must be >= 0")
        if group.get("nesterov") and (group.get("momentum", 0) <= 0 or group.get("dampening", 0) != 0):
            raise self._error(f"nesterov=True with momentum={group.get('momentum', 0)} and "
                              f"dampening={group.get('dampening', 0)}; Nesterov momentum needs "
                              "momentum > 0 and dampening = 0")

    def _update(self, p, state, group):
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, maximize = group["weight_decay"], group["maximize"]
        g = p.grad
        if weight_decay != 0 or maximize:       # g = (-)grad + weight_decay * p, in a work array
            g = self._work(p, 0)
            if weight_decay != 0:
                np.multiply(p.data, weight_decay, out=g)
                (np.subtract if maximize else np.add)(g, p.grad, out=g)
            else:
                np.negative(p.grad, out=g)
        direction = g
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:                               # b = momentum * b + (1 - dampening) * g
                buf *= momentum
                if dampening != 0:
                    scaled = self._work(p, 1)
                    np.multiply(g, 1 - dampening, out=scaled)
                    buf += scaled
                else:
                    buf += g
            direction = buf
            if group["nesterov"]:               # direction = g + momentum * b
                direction = self._work(p, 1)
                np.multiply(buf, momentum, out=direction)
                direction += g
        step = self._work(p, 1)                 # p += -lr * direction
        np.multiply(direction, -lr, out=step)
        p.data += step
