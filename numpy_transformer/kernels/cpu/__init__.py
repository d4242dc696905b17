"""The fast CPU kernels: the reference's functions (nn/functional) with the same signatures,
tuned for speed with cache blocks, threads and in-place steps; tests/kernels proves each equal
to the reference."""
from . import (activation, attention, conv, deferred, embedding, erf, foreach, linear, loss,
               normalization, optim, patches, pooling, recurrent)

# The modules whose __all__ names replace the reference functions of the same name.
KERNEL_MODULES = (activation, attention, conv, embedding, erf, linear, loss, normalization,
                  optim, patches, pooling, recurrent)


def kernels() -> dict:
    """{name: function} of every fast kernel and of the training-step helpers."""
    table = {name: getattr(module, name) for module in KERNEL_MODULES for name in module.__all__}
    table.update(deferred_weight_grads=deferred.deferred_weight_grads,
                 accumulate_grad=deferred.accumulate_grad, foreach=foreach.foreach)
    return table
