"""Data parallelism: every rank holds the whole model, trains on its shard of each global batch,
and the gradients are averaged in buckets before the optimizer steps, so every rank takes the
same step. The average weighs each rank by its share of the batch's loss (its examples, or the
tokens a task's loss averages), so it is the one-process gradient of the global batch."""
import contextlib
import time

import numpy as np

from .comm import World
from .sync_batch_norm import convert_sync_batch_norm

__all__ = ["DataParallel", "shard_batch"]

BUCKET_BYTES = 25 << 20          # DDP's default bucket: 25 MiB of gradients per all-reduce


def shard_batch(batch, rank: int, size: int):
    """(this rank's contiguous part of every array in the batch, its share of the examples).
    The parts differ by at most one example, the larger ones first: a batch smaller than the
    world leaves the last ranks empty, never rank 0."""
    arrays = batch if isinstance(batch, (tuple, list)) else (batch,)
    n = len(arrays[0])
    base, extra = divmod(n, size)                    # the first `extra` ranks take one more
    begin = rank * base + min(rank, extra)
    end = begin + base + (rank < extra)
    part = tuple(a[begin:end] for a in arrays)
    return (part if isinstance(batch, (tuple, list)) else part[0]), (end - begin) / n


class DataParallel:
    """The gradient averaging and weight broadcast of one task's parameters over a World.

    With `sync_batch_norm` (the default) the BatchNorm layers become SyncBatchNorm layers: their
    statistics are the global batch's, so N ranks train as one process does. (DDP keeps each
    rank's own unless the model is converted.)"""

    def __init__(self, world: World, modules: dict, bucket_bytes: int = BUCKET_BYTES,
                 sync_batch_norm: bool = True):
        self.world = world
        self.synced = [layer for name in sorted(modules) if sync_batch_norm and world.size > 1
                       for layer in convert_sync_batch_norm(modules[name], world)]
        # every rank lists the parameters in the same order (module name, then parameter name)
        self.params = [p for name in sorted(modules) for _, p in modules[name].named_parameters()]
        self.buckets = _buckets(self.params[::-1], bucket_bytes)   # the last layers' grads first
        self.expected = None             # how often each gradient lands in a backward
        self.sending = []                # per step: seconds packing buckets, starting all-reduces
        self.waiting = []                # per step: seconds waiting for them after backward

    def broadcast_parameters(self) -> None:
        """Rank 0's weights on every rank (run once, before training)."""
        for param in self.params:
            self.world.broadcast(param.data)

    @contextlib.contextmanager
    def averaging(self, share: float):
        """`with parallel.averaging(share): ...backward...`: the gradients that land inside are
        averaged over the ranks on leaving (begin, then finish)."""
        self.begin(share)
        try:
            yield self
        except BaseException:
            self._unhook()
            raise
        self.finish()

    def average_gradients(self, share: float) -> None:
        """grad = sum over ranks of share_r * grad_r for a backward already done (no overlap)."""
        self.begin(share)
        self.finish()

    def begin(self, share: float) -> None:
        """Before backward: from the second step on, each bucket's all-reduce starts as soon as
        its gradients have all landed (as often as in the first step: tied weights twice), in
        bucket order, while backward goes on."""
        self.share, self.sent, self.pending = share, 0, []
        self.sending.append(0.0)
        for layer in self.synced:
            layer.share = share
        self.landed = {id(p): 0 for p in self.params}
        for param in self.params:
            param.on_grad = self._on_grad

    def finish(self) -> None:
        """After backward: start the buckets not yet started, wait for all, unpack."""
        if not self.expected:                      # the first step tells how often each lands
            self.expected = {id(p): max(1, n) for p, n in zip(self.params, self.landed.values())}
        while self.sent < len(self.buckets):
            self._send_next()
        started = time.perf_counter()
        for request in [request for _, _, request in self.pending]:
            request.Wait()
        self.waiting.append(time.perf_counter() - started)
        for bucket, flat, _ in self.pending:
            offset = 0
            for param in bucket:
                size = param.data.size
                param.grad[...] = flat[offset:offset + size].reshape(param.data.shape)
                offset += size
        self._unhook()

    def _unhook(self) -> None:
        for param in self.params:
            param.on_grad = None

    def timing(self) -> dict:
        """Milliseconds per step after the first (every rank calls it): sending; waiting, this
        rank's; exposed, what the rank arriving last waited (the all-reduce backward did not
        hide); skew, how much earlier the first rank arrived (waiting for the slowest)."""
        steps = len(self.waiting) - 1
        if steps < 1:
            return {}
        every = np.array(self.world.all_gather(self.waiting[1:]))          # [ranks, steps]
        mean = lambda values: round(1000 * float(np.mean(values)), 3)      # noqa: E731
        return {"sending": mean(self.sending[1:]), "waiting": mean(every[self.world.rank]),
                "exposed": mean(every.min(axis=0)), "skew": mean(np.ptp(every, axis=0))}

    def _on_grad(self, param) -> None:
        self.landed[id(param)] += 1
        while self.expected and self.sent < len(self.buckets) and all(
                self.landed[id(p)] >= self.expected[id(p)] for p in self.buckets[self.sent]):
            self._send_next()

    def _send_next(self) -> None:
        started = time.perf_counter()
        bucket = self.buckets[self.sent]
        flat = np.concatenate([_grad_of(p).ravel() for p in bucket])   # in the gradients' dtype
        flat *= self.share
        self.pending.append((bucket, flat, self.world.all_reduce_sum_start(flat)))
        self.sent += 1
        self.sending[-1] += time.perf_counter() - started


def _grad_of(param) -> np.ndarray:
    if param.grad is None:
        param.grad = np.zeros_like(param.data)
    return param.grad


def _buckets(params, bucket_bytes: int) -> list:
    """Consecutive parameters grouped into lists of about `bucket_bytes` of gradients."""
    buckets, current, size = [], [], 0
    for param in params:
        current.append(param)
        size += param.data.nbytes
        if size >= bucket_bytes:
            buckets.append(current)
            current, size = [], 0
    return buckets + ([current] if current else [])
