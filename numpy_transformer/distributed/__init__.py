"""Data parallelism over MPI (mpi4py): the same training on N processes, one shard of every
global batch each, gradients averaged by all-reduce.

    mpiexec -n 2 numpy-transformer train gpt-shakespeare     # or: ... train gpt-shakespeare --nproc 2

Without mpi4py, or in a process not started by an MPI launcher, the world is this one process
and everything here is a no-op."""
from .comm import World, get_world, launched_by_mpi
from .data_parallel import DataParallel, shard_batch

__all__ = ["World", "get_world", "launched_by_mpi", "DataParallel", "shard_batch"]
