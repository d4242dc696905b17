"""The processes of a run: rank, size, broadcast and all-reduce (mpi4py, or one process alone)."""
import os

import numpy as np

__all__ = ["World", "get_world", "launched_by_mpi"]

MPI_ENV = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")


def launched_by_mpi() -> bool:
    """Whether an MPI launcher (mpiexec, srun) started this process."""
    return any(name in os.environ for name in MPI_ENV)


class World:
    """This run's processes. `comm` is an mpi4py communicator, or None for one process."""

    def __init__(self, comm=None):
        self.comm = comm
        self.rank = comm.Get_rank() if comm is not None else 0
        self.size = comm.Get_size() if comm is not None else 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes logs, plots and checkpoints."""
        return self.rank == 0

    def broadcast(self, array: np.ndarray, root: int = 0) -> np.ndarray:
        """Overwrite `array` (contiguous) with root's, in place; returns it."""
        if self.size > 1:
            self.comm.Bcast(array, root=root)
        return array

    def all_reduce_sum(self, array: np.ndarray) -> np.ndarray:
        """Every rank's `array` summed, in place on each (a fixed reduction order: the result does
        not depend on timing)."""
        if self.size > 1:
            from mpi4py import MPI
            self.comm.Allreduce(MPI.IN_PLACE, array, op=MPI.SUM)
        return array

    def all_reduce_sum_start(self, array: np.ndarray):
        """Start summing `array` across ranks without waiting; `.Wait()` the returned request."""
        if self.size == 1:
            return _Done()
        from mpi4py import MPI
        return self.comm.Iallreduce(MPI.IN_PLACE, array, op=MPI.SUM)

    def keys_of_rank0(self, keys: list) -> list:
        """Rank 0's list of names on every rank (a rank with nothing to report learns them)."""
        return self.comm.bcast(keys, root=0) if self.size > 1 else keys

    def all_gather(self, value) -> list:
        """Every rank's `value` (any picklable object), in rank order, on every rank."""
        return self.comm.allgather(value) if self.size > 1 else [value]

    def gather(self, value) -> list:
        """Every rank's `value` in rank order on rank 0 (None on the others)."""
        return self.comm.gather(value, root=0) if self.size > 1 else [value]

    def all_gather_arrays(self, local: np.ndarray, counts: list) -> np.ndarray:
        """Every rank's 1-d `local` (rank r's has counts[r] elements) end to end, on every rank."""
        if self.size == 1:
            return local.copy()
        whole = np.empty(sum(counts), local.dtype)
        self.comm.Allgatherv(np.ascontiguousarray(local), (whole, counts))
        return whole

    def abort(self, code: int) -> None:
        """End every rank now: one rank's error must not leave the others waiting."""
        if self.size > 1:
            import sys
            import time
            sys.stdout.flush()
            sys.stderr.flush()
            time.sleep(0.5)        # the launcher forwards output on its own time: let the error out
            self.comm.Abort(code)

    def sum_scalars(self, values: dict) -> dict:
        """{key: sum over ranks} of float values, the keys in the same order on every rank."""
        keys = sorted(values)
        summed = self.all_reduce_sum(np.array([float(values[k]) for k in keys], np.float64))
        return dict(zip(keys, summed.tolist()))

    def barrier(self) -> None:
        if self.size > 1:
            self.comm.Barrier()


class _Done:
    """The request of an all-reduce over one process: already complete."""

    def Wait(self):
        return None


_WORLD = None


def get_world() -> World:
    """The run's World: MPI's when an MPI launcher started this process, else one process."""
    global _WORLD
    if _WORLD is None:
        comm = None
        if launched_by_mpi():
            try:
                from mpi4py import MPI
            except ImportError:
                raise RuntimeError("this process was started by an MPI launcher but mpi4py is not "
                                   "installed: pip install -e \".[mpi]\"") from None
            comm = MPI.COMM_WORLD
        _WORLD = World(comm)
        if _WORLD.size > 1:
            _abort_on_uncaught_exceptions(_WORLD)
    return _WORLD


def _abort_on_uncaught_exceptions(world: World) -> None:
    """An exception no one catches on one rank ends them all (after its traceback)."""
    import sys
    default = sys.excepthook

    def hook(kind, value, traceback):
        default(kind, value, traceback)
        print(f"rank {world.rank} of {world.size} failed: ending every rank", file=sys.stderr)
        world.abort(1)
    sys.excepthook = hook
