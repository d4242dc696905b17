"""Run independent jobs (one parameter's update each) on a few threads when they are big.

NumPy's elementwise ufuncs use one core but release the GIL, so updating two parameters on two
threads takes about half the time; small jobs stay on the calling thread (no thread overhead)."""
from concurrent.futures import ThreadPoolExecutor
import os

# Below this many elements in all the jobs together, threads cost more than they save.
MIN_PARALLEL_ELEMENTS = 1 << 18

_pool, _pool_size = None, 0


def num_threads() -> int:
    """OMP_NUM_THREADS if set (as torch and BLAS read it), else the number of cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, int(value)) if value.isdigit() else (os.cpu_count() or 1)


def parallel_for(fn, jobs, sizes) -> None:
    """fn(job) for every job; on several threads when there is enough work for them."""
    threads = num_threads()
    if threads <= 1 or len(jobs) <= 1 or sum(sizes) < MIN_PARALLEL_ELEMENTS:
        for job in jobs:
            fn(job)
        return
    global _pool, _pool_size
    if _pool_size != threads:                   # OMP_NUM_THREADS may change between steps
        if _pool is not None:
            _pool.shutdown(wait=False)
        _pool, _pool_size = ThreadPoolExecutor(threads, thread_name_prefix="nt-optim"), threads
    # Largest jobs first, so that no thread is left with a big one at the end.
    order = sorted(range(len(jobs)), key=lambda i: -sizes[i])
    for _ in _pool.map(fn, [jobs[i] for i in order]):
        pass
