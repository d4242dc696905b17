"""Weight gradients computed on a second thread while the backward pass goes on.

In a Linear's backward, dx = dy W is on the critical path (the layer below waits for it) but
dW = dy^T x is not: nothing reads it before the optimizer. Inside `deferred_weight_grads()` a
Linear (and MultiheadAttention's input projection) hands its dW and db to one worker thread
and returns dx at once. On two cores the worker's products then fill the time the main thread
spends in passes that use one core (LayerNorm, the residual adds); both threads' products run
on one BLAS thread each.

On leaving the block the worker's results are added into `.grad` on the calling thread, in the
order the layers asked: the same sums in the same order as without deferring, so the gradients
are bit for bit those of the plain backward. Until then a deferred layer's `.grad` is unchanged,
and the arrays the worker reads (a layer's dy, and its input from the forward) must not be
written to: the library's layers never write into either.

The GPT's training step against the plain backward (its own process each, paired turns of 20
steps): 0.95x; the ViT's 0.98x, the translation Transformer's 0.99x, BERT's 0.99-1.00x. Also
tried: the dx products split over two threads (1.19x), no pool threads inside (1.06x), two
BLAS threads per product (2.9x: the products fight over the cores), LayerNorm's parameter sums
on the worker too (1.00x).
"""
import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from .._blas import single_threaded_blas

__all__ = ["deferred_weight_grads", "accumulate_deferred"]

_local = threading.local()          # .queue: [(param, rows, future)] of the open block on this thread
_worker, _worker_lock = None, threading.Lock()


def _get_worker() -> ThreadPoolExecutor:
    global _worker
    with _worker_lock:
        if _worker is None:
            _worker = ThreadPoolExecutor(1, thread_name_prefix="nt-weight-grads")
        return _worker


def _forget_worker():
    """A forked child has none of the parent's threads: start a new worker when needed."""
    global _worker, _worker_lock
    _worker, _worker_lock = None, threading.Lock()
    _local.__dict__.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_worker)


@contextlib.contextmanager
def deferred_weight_grads(enabled: bool = True):
    """Within the block, Linear layers (and MultiheadAttention's input projection) compute their
    weight gradients on a worker thread; on exit they are added into `.grad`. Nested blocks
    join the outermost one."""
    if not enabled or getattr(_local, "queue", None) is not None:
        yield
        return
    queue = _local.queue = []
    try:
        with single_threaded_blas():        # the two threads' products: one core each
            try:
                yield
            finally:
                results = [(param, rows, future.result()) for param, rows, future in queue]
    finally:
        _local.queue = None
    for param, rows, grad in results:
        _add(param, rows, grad)


def _add(param, rows, grad):
    if rows is None:
        param.accumulate(grad)
    else:
        param.grad[rows] += grad


def accumulate_deferred(param, compute, rows=None) -> None:
    """Add compute() into param's gradient (into its `rows` only, when given): computed on the
    worker inside `deferred_weight_grads`, else now."""
    if param is None:
        return
    queue = getattr(_local, "queue", None)
    if queue is None:
        _add(param, rows, compute())
    else:
        queue.append((param, rows, _get_worker().submit(compute)))
