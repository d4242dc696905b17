"""The reference set: nn/functional's functions, as they are, and plain versions of the helpers
the modules and the training step call (no threads, nothing deferred)."""
import contextlib

import numpy as np

from ..nn.functional import (activation, attention, conv, dropout, embedding, linear, loss,
                             normalization, optim, patches, pooling, positional, recurrent,
                             special, windows)

REFERENCE_MODULES = (activation, attention, conv, dropout, embedding, linear, loss, normalization,
                     optim, patches, pooling, positional, recurrent, special, windows)

__all__ = ["kernels", "accumulate_grad", "deferred_weight_grads", "foreach"]


def accumulate_grad(param, grad, index=None, scatter_add=np.add.at) -> None:
    """param.grad += grad, of the parameter's shape (or of its size, flattened to fewer dims:
    a 2-D view of a conv-shaped weight); into the rows `index` only when given (a slice, or ids
    that may repeat, whose rows then add up by `scatter_add(param.grad, ids, rows)`)."""
    if index is None:
        flattened = grad.ndim < len(param.shape) and grad.size == param.size
        param.accumulate(grad.reshape(param.shape) if flattened else grad)
    elif isinstance(index, slice):
        param.grad[index] += grad
    else:
        scatter_add(param.grad, index, grad)
    if param.on_grad is not None:          # data parallel: this gradient may be ready to send
        param.on_grad(param)


def deferred_weight_grads(enabled: bool = True):
    """Nothing to defer: the reference computes every gradient when it is asked for."""
    return contextlib.nullcontext()


def foreach(fn, jobs, sizes) -> None:
    """fn(job) for every job, one after the other."""
    for job in jobs:
        fn(job)


def scaled_dot_product_attention_forward(*args, out=None, **kwargs):
    """The reference's attention; with `out`, its output is copied into that array (a view of
    a module's buffer: the fast kernel writes there directly)."""
    result, cache = attention.scaled_dot_product_attention_forward(*args, **kwargs)
    if out is None:
        return result, cache
    out[...] = result
    return out, cache


def scaled_dot_product_attention_backward(d_out, cache, out=None):
    """The reference's backward; with `out=(dq, dk, dv)`, the gradients are copied into them."""
    grads = attention.scaled_dot_product_attention_backward(d_out, cache)
    if out is None:
        return grads
    for target, grad in zip(out, grads):
        target[...] = grad
    return tuple(out)


def kernels() -> dict:
    """{name: function} of the reference math and the helpers above."""
    table = {name: getattr(module, name) for module in REFERENCE_MODULES for name in module.__all__}
    table.update(accumulate_grad=accumulate_grad, deferred_weight_grads=deferred_weight_grads,
                 foreach=foreach,
                 scaled_dot_product_attention_forward=scaled_dot_product_attention_forward,
                 scaled_dot_product_attention_backward=scaled_dot_product_attention_backward)
    return table
