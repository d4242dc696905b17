"""Run independent jobs (one parameter's update each) on a few threads when they are big.

NumPy's elementwise ufuncs use one core but release the GIL, so updating two parameters on two
threads takes about half the time; small work stays on the calling thread (no thread overhead),
and so do small parameters while the pool updates the big ones.
The pool is the library's shared one (numpy_transformer/_parallel.py)."""
from .. import _parallel
from .._parallel import num_threads

__all__ = ["parallel_for", "num_threads", "MIN_PARALLEL_ELEMENTS", "MIN_JOB_ELEMENTS"]

# Below this many elements in all the jobs together, threads cost more than they save.
MIN_PARALLEL_ELEMENTS = _parallel.MIN_PARALLEL_ELEMENTS
# A parameter smaller than this is updated on the calling thread.
MIN_JOB_ELEMENTS = _parallel.MIN_JOB_ELEMENTS


def parallel_for(fn, jobs, sizes) -> None:
    """fn(job) for every job; on several threads when there is enough work for them."""
    _parallel.parallel_for(fn, jobs, sizes, min_elements=MIN_PARALLEL_ELEMENTS,
                           min_job_elements=MIN_JOB_ELEMENTS)
