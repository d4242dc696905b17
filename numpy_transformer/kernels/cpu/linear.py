"""Linear with its weight gradients deferred: inside `deferred_weight_grads` dW and db are
computed on the worker thread while the caller goes on with dx (see `deferred`)."""
from . import deferred

__all__ = ["linear_forward", "linear_backward"]


def linear_forward(x, weight, bias=None):
    """x [..., in], weight [out, in], bias [out] -> y [..., out]; the bias added in place."""
    x2 = x.reshape(-1, x.shape[-1])                     # [N, in]
    y = x2 @ weight.T                                   # [N, out]
    if bias is not None:
        y += bias
    return y.reshape(*x.shape[:-1], weight.shape[0]), (x2, x.shape, weight, bias is not None)


def linear_backward(dy, cache, input_grad=True):
    """As the reference; dweight and dbias are submitted first, so the worker starts on them
    while dx is computed here (they come back as futures inside an open block)."""
    x2, x_shape, weight, has_bias = cache
    dy2 = dy.reshape(-1, dy.shape[-1])                  # [N, out]
    dweight = deferred.run(lambda: dy2.T @ x2)
    dbias = deferred.run(lambda: dy2.sum(axis=0)) if has_bias else None
    dx = (dy2 @ weight).reshape(x_shape) if input_grad else None
    return dx, dweight, dbias
