"""A recurrent layer's products that need not wait for its time loop, run in chunks of time
steps on the second core while the loop goes on (one product a step, on one core).

Forward, the input projection x_t W_ih^T runs ahead of the loop (`InputProjection`): a pool
thread projects the chunks in the loop's order and the loop waits only for the first. Backward,
the weight gradients dW_ih = sum_t dg_x[t]^T x_t and dW_hh = sum_t dg_h[t]^T h_{t-1} follow
behind it (`WeightGrads`): once the loop has a chunk's gate gradients, its products go to the
deferred worker inside `deferred_weight_grads` (futures, summed there) and to a pool thread
outside (summed before the backward returns). The chunks and the order of their sums depend
only on the sequence's length, so threads change only the speed.

The loops run with BLAS on one thread. A time step's product, [32, 256] x [256, 1024], takes
0.25 ms on one OpenBLAS thread and 0.15 on two (a healthy host): the second core does half a
step's product or the chunks, not both (both at once, three threads on two cores: the RNN LM
step 1.3-1.7x slower). Either measures the same: the RNN LM training step (LSTM 256, batch 32 x
32 steps) with the forward loop on two BLAS threads and its projection before it, against the
chunks, 1.006x (paired turns, `benchmarks.versions`, 15 rounds); where the host lends less than
two cores, a step takes 0.23 ms on one thread and 0.29 on two, and the chunks win (RNN LM step
0.95x, LSTM layer 32x64x256 0.89x against one GEMM each before and after the loop).
"""
import contextlib
from concurrent.futures import Future

import numpy as np

from . import deferred, threads
from .blas import single_threaded_blas
from .threads import _get_pool, in_worker, num_threads

__all__ = ["CHUNK_STEPS", "time_chunks", "overlaps", "one_blas_thread_each", "InputProjection",
           "WeightGrads", "bias_grads"]

# Time steps a chunk. The RNN LM step (32 steps) against chunks of 8, paired turns in one
# process: 4 steps 1.04x, 16 1.09x, 32 (one chunk, nothing beside the loop) 1.17x.
CHUNK_STEPS = 8


def time_chunks(order) -> list:
    """The loop's time steps (in its order) cut into chunks of CHUNK_STEPS."""
    order = list(order)
    return [order[i:i + CHUNK_STEPS] for i in range(0, len(order), CHUNK_STEPS)]


def _span(chunk):
    """The rows start:stop of a chunk's time steps."""
    return min(chunk), max(chunk) + 1


def overlaps(chunks, size: int) -> bool:
    """Whether a second thread runs the chunks' products: several chunks, two threads, enough work
    (`size` elements a pass over the gates)."""
    return len(chunks) > 1 and num_threads() > 1 and not in_worker() and \
        size >= threads.MIN_PARALLEL_ELEMENTS


def one_blas_thread_each(overlapping: bool):
    """OpenBLAS on one thread while the loop and a second thread share the cores."""
    return single_threaded_blas() if overlapping else contextlib.nullcontext()


def _value(part):
    """An array, or a future's array (raising its error)."""
    return part.result() if isinstance(part, Future) else part


class InputProjection:
    """gates [L, N, G] = x [L, N, I] W_ih^T, chunk by chunk in the loop's order; iterating gives
    each chunk's time steps once its projection is there."""

    def __init__(self, x, weight_ih, order):
        L, N, I = x.shape
        self.x2 = x.reshape(L * N, I)                                  # [L*N, I]
        self.gates = np.empty((L, N, weight_ih.shape[0]), np.result_type(x, weight_ih))
        self.weight_ih, self.chunks = weight_ih, time_chunks(order)
        self.overlaps = overlaps(self.chunks, self.gates.size)
        self.ready = [Future() for _ in self.chunks]

    def _project(self, chunk):
        start, stop = _span(chunk)
        N = self.gates.shape[1]
        np.matmul(self.x2[start * N:stop * N], self.weight_ih.T,
                  out=self.gates[start:stop].reshape((stop - start) * N, -1))

    def _project_rest(self):
        """Chunks 1... in order (on the pool thread); an error goes to every chunk left."""
        for k in range(1, len(self.chunks)):
            try:
                self._project(self.chunks[k])
                self.ready[k].set_result(None)
            except BaseException as error:
                for future in self.ready[k:]:
                    future.set_exception(error)
                return

    def __iter__(self):
        if not self.chunks:                                        # no time steps
            return
        self._project(self.chunks[0])
        if self.overlaps:
            _get_pool(num_threads()).submit(self._project_rest)
        else:
            for chunk in self.chunks[1:]:
                self._project(chunk)
        for k, chunk in enumerate(self.chunks):
            if self.overlaps and k:
                self.ready[k].result()
            yield chunk


class WeightGrads:
    """dW_ih and dW_hh of a sequence as sums over its chunks, each chunk's products started as
    soon as the backward loop is done with it (`done`)."""

    def __init__(self, dgates_x, dgates_h, x2, hs, first_prev, chunks):
        self.arrays = (dgates_x, dgates_h, x2, hs, first_prev)
        self.in_block = deferred.in_block()
        self.overlaps = self.in_block or overlaps(chunks, dgates_x.size)
        self.parts = []

    def _products(self, start, stop):
        """(dW_ih, dW_hh) of the time steps start:stop: dg_x[t]^T x_t and dg_h[t]^T h_{t-1}."""
        dgates_x, dgates_h, x2, hs, first_prev = self.arrays
        rows = (stop - start) * dgates_x.shape[1]                      # steps * N
        x_rows = x2[start * dgates_x.shape[1]:stop * dgates_x.shape[1]]   # [rows, I]
        h_prev = hs[start + first_prev:stop + first_prev].reshape(rows, -1)   # [rows, H]
        return (dgates_x[start:stop].reshape(rows, -1).T @ x_rows,
                dgates_h[start:stop].reshape(rows, -1).T @ h_prev)

    def done(self, chunk) -> None:
        """The loop has the gate gradients of these time steps."""
        start, stop = _span(chunk)
        if self.in_block:
            self.parts.append(deferred.run(lambda: self._products(start, stop)))
        elif self.overlaps:
            self.parts.append(_get_pool(num_threads()).submit(self._products, start, stop))
        else:
            self.parts.append(self._products(start, stop))

    def sums(self):
        """(dW_ih, dW_hh): the chunks added in the order the loop finished them; futures inside
        a deferred block."""
        def total(i):
            parts = iter(self.parts)
            result = _value(next(parts))[i]
            for part in parts:
                result += _value(part)[i]
            return result
        if not self.parts:                                         # no time steps: zeros
            self.parts.append(self._products(0, 0))
        if self.in_block:
            return deferred.run(lambda: total(0)), deferred.run(lambda: total(1))
        return total(0), total(1)


def bias_grads(dgates_x, dgates_h=None):
    """(db_ih, db_hh): the pre-activation gradients summed over time and batch (on the deferred
    worker inside a block); where one array holds both (dgates_h None), db_hh is a copy."""
    db_ih = deferred.run(lambda: dgates_x.reshape(-1, dgates_x.shape[-1]).sum(axis=0))
    if dgates_h is None:
        return db_ih, deferred.run(lambda: _value(db_ih).copy())
    return db_ih, deferred.run(lambda: dgates_h.reshape(-1, dgates_h.shape[-1]).sum(axis=0))
