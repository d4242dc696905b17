"""Data sets as arrays: `dataset[indices]` returns a whole batch at once (one fancy index per array)."""
import math

import numpy as np

from ..random import default_generator

__all__ = ["ArrayDataset", "Subset", "random_split"]


class ArrayDataset:
    """Samples are rows of equally long arrays; `ds[i]` and `ds[index_array]` give a tuple, one entry per array."""

    def __init__(self, *arrays):
        if not arrays:
            raise ValueError("ArrayDataset needs at least one array")
        arrays = tuple(a if hasattr(a, "shape") else np.asarray(a) for a in arrays)
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"ArrayDataset needs arrays of the same length, got shapes {shapes}")
        self.arrays = arrays

    def __len__(self) -> int:
        return len(self.arrays[0])

    def __getitem__(self, index):
        return tuple(a[index] for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{a.dtype}{list(a.shape)}" for a in self.arrays)
        return f"{type(self).__name__}({shapes})"


class Subset:
    """The samples of `dataset` at `indices`, in that order; indexing maps through `indices`."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[self.indices[index]]

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {self.dataset!r})"


def random_split(dataset, lengths, generator: np.random.Generator | None = None) -> list[Subset]:
    """Split into non-overlapping random subsets of the given sizes (ints, or fractions that sum to 1)."""
    n = len(dataset)
    lengths = _split_sizes(n, list(lengths))
    order = (generator or default_generator()).permutation(n)
    bounds = np.cumsum([0] + lengths)
    return [Subset(dataset, order[start:stop]) for start, stop in zip(bounds[:-1], bounds[1:])]


def _split_sizes(n: int, lengths: list) -> list[int]:
    """Integer sizes; fractions are floored and the remainder handed out one by one from the first."""
    if lengths and all(isinstance(x, float) for x in lengths):
        if not math.isclose(sum(lengths), 1.0) or min(lengths) < 0:
            raise ValueError(f"random_split fractions must be >= 0 and sum to 1, got {lengths}")
        sizes = [math.floor(n * f) for f in lengths]
        for i in range(n - sum(sizes)):
            sizes[i % len(sizes)] += 1
        return sizes
    if sum(lengths) != n or min(lengths, default=0) < 0:
        raise ValueError(f"random_split sizes {lengths} must be >= 0 and sum to the data set's "
                         f"length {n} (or be fractions summing to 1)")
    return [int(x) for x in lengths]
