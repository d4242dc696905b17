"""Data parallelism over MPI (mpi4py): the same training on N processes, one shard of every
global batch each, gradients averaged by all-reduce.

    mpiexec -n 2 numpy-transformer train gpt-shakespeare     # or: ... train gpt-shakespeare --nproc 2

In Python: `get_world()` (rank, size, broadcast, all_reduce_sum, ...), `Trainer(..., zero=1)`
trains data parallel by itself when started by mpiexec; `DataParallel`, `ShardedLoader`,
`SyncBatchNorm` and `ZeroOptimizer` are its parts, for a loop of your own.

Without mpi4py, or in a process not started by an MPI launcher, the world is this one process
and everything here is a no-op."""
from .comm import World, get_world, launched_by_mpi
from .data_parallel import DataParallel, shard_batch
from .sharded_loader import ShardedLoader, merge_over_shards, sum_over_shards
from .sync_batch_norm import SyncBatchNorm, convert_sync_batch_norm
from .zero import ZeroOptimizer

__all__ = ["World", "get_world", "launched_by_mpi", "DataParallel", "shard_batch",
           "ShardedLoader", "sum_over_shards", "merge_over_shards", "SyncBatchNorm",
           "convert_sync_batch_norm", "ZeroOptimizer"]
