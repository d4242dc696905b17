"""Sharded evaluation: each rank evaluates its part of every batch, and the ranks' sums are
added up, so the metrics are those of one process over the whole evaluation set."""
from .data_parallel import shard_batch

__all__ = ["ShardedLoader", "sum_over_shards", "merge_over_shards"]


class ShardedLoader:
    """This rank's contiguous part of every batch of `loader` (as `shard_batch` cuts it), batches
    where it has none skipped. Everything else (`dataset`, `batch_size`) is the loader's."""

    def __init__(self, loader, world):
        self.loader, self.world = loader, world

    def __iter__(self):
        for batch in self.loader:
            part, share = shard_batch(batch, self.world.rank, self.world.size)
            if share:
                yield part

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name):
        return getattr(self.loader, name)


def sum_over_shards(loader, sums: dict) -> dict:
    """{key: the sum over every rank} of the float sums a task counted over `loader`: its own,
    unless `loader` is a ShardedLoader (then every rank must call it, with the same keys)."""
    if isinstance(loader, ShardedLoader):
        return loader.world.sum_scalars(sums)
    return {k: float(v) for k, v in sums.items()}


def merge_over_shards(loader, items: dict) -> dict:
    """The union of every rank's {key: value} (say, each example's decoded output) for a
    ShardedLoader; `items` itself otherwise."""
    if not isinstance(loader, ShardedLoader):
        return items
    merged = {}
    for part in loader.world.all_gather(items):
        merged.update(part)
    return merged
