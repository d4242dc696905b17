"""The optimizers' per-parameter updates, the big ones on the thread pool.

Each parameter's update is independent of the others and NumPy's ufuncs release the GIL, so
two parameters update on two cores at once with the results of a plain loop; small parameters
stay on the calling thread meanwhile (`threads.MIN_JOB_ELEMENTS`)."""
from .threads import parallel_for

__all__ = ["foreach"]


def foreach(fn, jobs, sizes) -> None:
    """fn(job) for every job; `sizes`: each job's element count."""
    parallel_for(fn, jobs, sizes)
