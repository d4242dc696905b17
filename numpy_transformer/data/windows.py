"""Windows of a token stream, the batches a next-token language model trains on.

    x = tokens[i : i + T]     y = tokens[i + 1 : i + T + 1]     (predict each next token)

`RandomBlocks` draws the start i of each window uniformly, as nanoGPT's get_batch does, from a
seed per (epoch, batch): any batch can be rebuilt from those alone, so a resumed run sees the
same batches as an uninterrupted one. `SplitWindows` cuts a split into consecutive windows, each
token predicted once: the whole split, for evaluation.
"""
import numpy as np

from ..random import default_generator
from .loader import ResumablePosition

__all__ = ["RandomBlocks", "SplitWindows"]


class RandomBlocks(ResumablePosition):
    """Batches (x [B, T], y [B, T]) of random windows of `tokens` (a 1-D int array).

    An epoch is `batches_per_epoch` batches (default: about one pass over the tokens). With
    `fixed=True` every epoch hands out the same batches (an evaluation set). Resumable like
    DataLoader: state_dict() / load_state_dict({"seed", "epoch", "batch"})."""

    def __init__(self, tokens, block_size: int, batch_size: int, batches_per_epoch: int = None,
                 seed: int = None, fixed: bool = False, generator=None):
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(f"RandomBlocks needs a 1-D integer token array, got {tokens.dtype} "
                             f"with shape {tokens.shape}")
        if len(tokens) <= block_size:
            raise ValueError(f"RandomBlocks: {len(tokens)} tokens cannot fill a window of "
                             f"block_size={block_size} plus its next token")
        self.tokens, self.block_size, self.batch_size = tokens, int(block_size), int(batch_size)
        per_pass = max(1, len(tokens) // (batch_size * block_size))   # ~ one pass over the tokens
        self.batches_per_epoch = batches_per_epoch or per_pass
        self.fixed = fixed
        if seed is None:
            seed = (generator or default_generator()).integers(2**63)
        self.seed = int(seed)
        self.epoch, self._resume_batch, self._position = 0, 0, (0, 0)
        self._offsets = np.arange(block_size + 1)                         # [T + 1]

    def __len__(self) -> int:
        return self.batches_per_epoch

    def get_batch(self, epoch: int, batch: int):
        """Batch `batch` of `epoch`, always the same for the same seed."""
        key = (0 if self.fixed else epoch, batch)
        rng = np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=key))
        starts = rng.integers(0, len(self.tokens) - self.block_size, size=self.batch_size)
        windows = self.tokens[starts[:, None] + self._offsets]            # [B, T + 1]
        return windows[:, :-1], windows[:, 1:]

    def __iter__(self):
        epoch, start = self.epoch, self._resume_batch
        self.epoch, self._resume_batch = epoch + 1, 0
        self._position = (epoch, start)
        return self._hand_out(epoch, start)

    def _hand_out(self, epoch, start):
        for b in range(start, len(self)):
            batch = self.get_batch(epoch, b)
            self._position = (epoch, b + 1) if b + 1 < len(self) else (epoch + 1, 0)
            yield batch

    def __repr__(self):
        return (f"RandomBlocks({len(self.tokens)} tokens, block_size={self.block_size}, "
                f"batch_size={self.batch_size}, batches_per_epoch={len(self)}, seed={self.seed})")


class SplitWindows:
    """Batches (x [b, T], y [b, T]) of the consecutive windows tokens[k T : (k + 1) T] (targets
    one further): every token but the first is a target exactly once, so a mean over them is
    the loss on the whole split. The last window may be shorter, the last batches smaller."""

    def __init__(self, tokens, block_size: int, batch_size: int):
        tokens = np.asarray(tokens)
        if tokens.ndim != 1 or not np.issubdtype(tokens.dtype, np.integer) or len(tokens) < 2:
            raise ValueError(f"SplitWindows needs a 1-D integer array of at least 2 tokens, got "
                             f"{tokens.dtype} with shape {tokens.shape}")
        self.tokens, self.block_size, self.batch_size = tokens, int(block_size), int(batch_size)
        T = self.block_size
        n_full = (len(tokens) - 1) // T                          # whole windows
        self._x = tokens[:n_full * T].reshape(n_full, T)         # [n_full, T] views
        self._y = tokens[1:n_full * T + 1].reshape(n_full, T)
        self._rest = tokens[n_full * T:]                         # a shorter last window, if any
        self.n_windows = n_full + (len(self._rest) > 1)

    def __len__(self) -> int:
        return -(-len(self._x) // self.batch_size) + (len(self._rest) > 1)

    def __iter__(self):
        for start in range(0, len(self._x), self.batch_size):
            yield self._x[start:start + self.batch_size], self._y[start:start + self.batch_size]
        if len(self._rest) > 1:
            yield self._rest[None, :-1], self._rest[None, 1:]

    def __repr__(self):
        return (f"SplitWindows({len(self.tokens)} tokens, block_size={self.block_size}, "
                f"batch_size={self.batch_size}, {self.n_windows} windows)")
