"""DataLoader: batches in index order or a seeded shuffle, reproducible batch by batch for resuming.

Every random choice derives from one integer `seed` (drawn once from the generator when the loader
is built, or given): epoch e's order is `default_rng(SeedSequence(seed, spawn_key=(0, e)))`'s
permutation and batch b of epoch e is transformed with `SeedSequence(seed, spawn_key=(1, e, b))`.
So any batch can be rebuilt from (seed, epoch, batch) alone, whatever ran before it.

Resuming bit-identically: save `loader.state_dict()` ({"seed", "epoch", "batch"}: the next batch
to hand out) in the checkpoint after each optimiser step; on resume build the loader the same way and
call `loader.load_state_dict(state)`. The next `iter(loader)` continues that epoch at that batch,
and later epochs follow as in an uninterrupted run.

    for epoch in range(loader.epoch, epochs):   # each iter() is a new epoch, as in PyTorch
        for x, y in loader:
            ...step...
            save({"loader": loader.state_dict(), ...})
"""
import math

import numpy as np

from ..device import get_device
from ..random import default_generator
from .device_loader import put_batch
from .transforms import apply_transform

__all__ = ["DataLoader", "default_collate"]


class ResumablePosition:
    """Where a seeded loader is: `seed`, and `_position` (epoch, batch) of the next batch."""

    def state_dict(self) -> dict:
        """{"seed", "epoch", "batch"}: where the next batch handed out comes from (JSON-serialisable)."""
        epoch, batch = self._position
        return {"seed": self.seed, "epoch": epoch, "batch": batch}

    def load_state_dict(self, state: dict) -> None:
        """Continue from a `state_dict`: the next iter() resumes that epoch at that batch."""
        epoch, batch = int(state["epoch"]), int(state["batch"])
        if batch >= len(self):
            epoch, batch = epoch + 1, 0
        self.seed = int(state["seed"])
        self.epoch, self._resume_batch, self._position = epoch, batch, (epoch, batch)


class DataLoader(ResumablePosition):
    """Iterate `dataset` in batches (tuples of arrays), shuffled with a seeded permutation if `shuffle`.

    `dataset[index_array]` must return a whole batch (ArrayDataset, MNIST, Subset, an array); a list
    or tuple of samples is gathered one by one and combined by `collate` (default: np.stack per field).
    For array data sets `collate`, if given, maps the gathered batch. `transform` maps the batch's
    first array (the inputs), or the batch itself if it is a single array. With `device`
    ("cuda"), every batch is put on that device after the transform.
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 generator: np.random.Generator | None = None, transform=None, collate=None,
                 seed: int | None = None, device=None):
        if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ValueError(f"DataLoader batch_size must be a positive integer, got {batch_size!r}")
        self.dataset, self.batch_size = dataset, int(batch_size)
        self.shuffle, self.drop_last = shuffle, drop_last
        self.transform, self.collate = transform, collate
        self.device = None if device in (None, "cpu") else get_device(device)
        self.seed = int(seed) if seed is not None else int((generator or default_generator()).integers(2**63))
        self.epoch = 0              # the epoch the next iter() runs
        self._resume_batch = 0      # its first batch (non-zero only after load_state_dict)
        self._position = (0, 0)     # (epoch, batch) of the next batch to hand out, for state_dict

    def __len__(self) -> int:
        """Number of batches per epoch."""
        n = len(self.dataset)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self):
        """The batches of epoch `self.epoch` (from the resumed batch, if any); advances `self.epoch`."""
        epoch, start = self.epoch, self._resume_batch
        self.epoch, self._resume_batch = epoch + 1, 0
        self._position = (epoch, start)
        return self._hand_out(epoch, start)

    def _hand_out(self, epoch: int, start: int):
        order, count = self.epoch_indices(epoch), len(self)
        for b in range(start, count):
            batch = self._make_batch(epoch, b, order[b * self.batch_size:(b + 1) * self.batch_size])
            if self.device is not None:
                batch = put_batch(batch, self.device)
            self._position = (epoch, b + 1) if b + 1 < count else (epoch + 1, 0)
            yield batch

    def epoch_indices(self, epoch: int) -> np.ndarray:
        """Sample order of `epoch`: arange(n), or a permutation seeded by (seed, epoch)."""
        n = len(self.dataset)
        if not self.shuffle:
            return np.arange(n)
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(0, epoch))).permutation(n)

    def batch_indices(self, epoch: int, batch: int) -> np.ndarray:
        """Sample indices of batch `batch` of `epoch`."""
        self._check_batch(batch)
        return self.epoch_indices(epoch)[batch * self.batch_size:(batch + 1) * self.batch_size]

    def batch_generator(self, epoch: int, batch: int) -> np.random.Generator:
        """The generator random transforms use for batch `batch` of `epoch`."""
        return np.random.default_rng(np.random.SeedSequence(self.seed, spawn_key=(1, epoch, batch)))

    def get_batch(self, epoch: int, batch: int):
        """Batch `batch` of `epoch`, exactly as iteration produces it; does not move the loader."""
        return self._make_batch(epoch, batch, self.batch_indices(epoch, batch))

    def _make_batch(self, epoch: int, b: int, indices: np.ndarray):
        if isinstance(self.dataset, (list, tuple)):  # plain Python samples: gather one by one
            batch = (self.collate or default_collate)([self.dataset[i] for i in indices])
        else:
            batch = self.dataset[indices]
            if self.collate is not None:
                batch = self.collate(batch)
        if self.transform is None:
            return batch
        rng = self.batch_generator(epoch, b)
        if isinstance(batch, tuple):
            return (apply_transform(self.transform, batch[0], rng), *batch[1:])
        return apply_transform(self.transform, batch, rng)

    def set_epoch(self, epoch: int) -> None:
        """Make the next iter() run `epoch` from its first batch."""
        self.epoch, self._resume_batch, self._position = int(epoch), 0, (int(epoch), 0)

    def _check_batch(self, batch: int) -> None:
        if not 0 <= batch < len(self):
            raise IndexError(f"DataLoader has {len(self)} batches per epoch, no batch {batch}")

    def __repr__(self) -> str:
        return (f"DataLoader({len(self.dataset)} samples, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, seed={self.seed})")


def default_collate(samples: list):
    """Stack a list of samples: tuples field by field into a tuple of arrays, else one array."""
    if samples and isinstance(samples[0], tuple):
        return tuple(np.stack([np.asarray(s[k]) for s in samples]) for k in range(len(samples[0])))
    return np.stack([np.asarray(s) for s in samples])


