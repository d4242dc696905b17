"""One small thread pool for the library's data-parallel work.

NumPy's elementwise ufuncs run on one core but release the GIL, so a memory-bound pass over a
big array (LayerNorm, GELU, softmax, an optimizer update...) takes about half the time when two
threads each do half of it. Work is split into contiguous pieces whose results are exactly those
of the whole (independent jobs, or rows of a row-wise computation), so threads change only the
speed. Small work stays on the calling thread: below `MIN_PARALLEL_ELEMENTS` elements a thread
hand-off costs more than it saves. The thread count is OMP_NUM_THREADS (as torch and BLAS read
it), else the number of cores; work submitted from inside a worker runs inline (no nesting).
"""
from concurrent.futures import ThreadPoolExecutor
import os
import threading

import numpy as np

from .blas import single_threaded_blas

__all__ = ["num_threads", "parallel_for", "parallel_rows", "parallel_blocks", "indexed_blocks",
           "parallel_slices",
           "parallel_copy", "parallel_ufunc", "row_chunks", "run_chunks", "MIN_PARALLEL_ELEMENTS"]

# Below this many elements (in all the jobs together), threads cost more than they save.
MIN_PARALLEL_ELEMENTS = 1 << 18
# parallel_for: a job smaller than this runs on the calling thread. AdamW steps, in one process,
# every job on the pool / this: GPT's 27 parameters (0.8M) 3.69 / 2.83 ms, BERT's 82 (5.6M)
# 13.6 / 12.3 ms.
MIN_JOB_ELEMENTS = 1 << 17

# os.cpu_count() reads /sys on every call (~8 us here; a training step asks ~50 times).
_CORES = os.cpu_count() or 1

_pool, _pool_size = None, 0
_pool_lock = threading.Lock()
_local = threading.local()           # .worker is True on the pool's threads


def num_threads() -> int:
    """OMP_NUM_THREADS if set (as torch and BLAS read it), else the number of cores."""
    value = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, int(value)) if value.isdigit() else _CORES


def _mark_worker():
    _local.worker = True


def in_worker() -> bool:
    """True on one of the pool's threads (work submitted there runs inline)."""
    return getattr(_local, "worker", False)


def _forget_pool():
    """A forked child has none of the parent's threads: start a new pool when needed."""
    global _pool, _pool_size, _pool_lock
    _pool, _pool_size, _pool_lock = None, 0, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def _get_pool(threads: int) -> ThreadPoolExecutor:
    """The shared pool with `threads` workers (rebuilt when OMP_NUM_THREADS changes)."""
    global _pool, _pool_size
    with _pool_lock:
        if _pool_size != threads:
            if _pool is not None:
                _pool.shutdown(wait=False)
            _pool = ThreadPoolExecutor(threads, thread_name_prefix="nt-worker",
                                       initializer=_mark_worker)
            _pool_size = threads
        return _pool


def parallel_for(fn, jobs, sizes, min_elements: int = None, min_job_elements: int = None) -> None:
    """fn(job) for every job; the big ones on the pool's threads (largest first) when there is
    enough work, the small ones on the calling thread meanwhile.

    A small job is many short NumPy calls: on two threads such calls wait on each other for the
    GIL, so they stay on one thread (`MIN_JOB_ELEMENTS`). Jobs must be independent (each writes
    its own arrays)."""
    threads = num_threads()
    limit = MIN_PARALLEL_ELEMENTS if min_elements is None else min_elements
    if threads <= 1 or len(jobs) <= 1 or in_worker() or sum(sizes) < limit:
        for job in jobs:
            fn(job)
        return
    big_enough = MIN_JOB_ELEMENTS if min_job_elements is None else min_job_elements
    big = sorted((i for i in range(len(jobs)) if sizes[i] >= big_enough), key=lambda i: -sizes[i])
    pool = _get_pool(threads)
    futures = [pool.submit(fn, jobs[i]) for i in big]    # largest first: none left alone at the end
    try:
        for i in range(len(jobs)):
            if sizes[i] < big_enough:
                fn(jobs[i])
    finally:
        for future in futures:
            future.result()


def row_chunks(n_rows: int, size: int, min_elements: int = None, align: int = 1):
    """Contiguous (start, stop) row ranges, one per thread, for work of `size` elements over
    `n_rows` rows; one range (0, n_rows) when the work is too small or threads are off.
    Boundaries are multiples of `align` rows (e.g. so that a cache-blocked loop keeps its blocks)."""
    limit = MIN_PARALLEL_ELEMENTS if min_elements is None else min_elements
    if size < limit or n_rows < 2 * align:               # small work: no thread hand-off at all
        return [(0, n_rows)]
    threads = min(num_threads(), n_rows // max(align, 1))
    if threads <= 1 or in_worker():
        return [(0, n_rows)]
    units = -(-n_rows // align)
    bounds = [min(n_rows, (units * k // threads) * align) for k in range(threads + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]


def run_chunks(fn, chunks) -> None:
    """fn(start, stop) for each (start, stop) in `chunks`: the first on the calling thread, the
    others on the pool at the same time. While the calling thread runs its chunk it counts as a
    worker: what it submits meanwhile runs inline, as on the pool's threads."""
    if len(chunks) == 1:
        fn(*chunks[0])
        return
    pool = _get_pool(num_threads())
    futures = [pool.submit(fn, a, b) for a, b in chunks[1:]]
    was_worker = in_worker()
    _local.worker = True
    try:
        fn(*chunks[0])
    finally:
        _local.worker = was_worker
        for future in futures:
            future.result()


def parallel_rows(fn, *arrays, size: int = None, min_elements: int = None, align: int = 1):
    """fn(*row_slices) over contiguous ranges of the leading axis of `arrays`, one per thread.

    Every array (None passes through as None) is sliced along axis 0 with the same range, so
    `fn` must compute each row from its own rows only (row-wise math, elementwise steps); the
    results are then exactly those of fn(*arrays). `size`: the work's element count (default:
    the first array's size), compared with `min_elements`."""
    first = next(a for a in arrays if a is not None)
    if first.ndim == 0:
        fn(*arrays)
        return
    chunks = row_chunks(first.shape[0], first.size if size is None else size, min_elements, align)
    if len(chunks) == 1:
        fn(*arrays)
        return
    run_chunks(lambda start, stop: fn(*(None if a is None else a[start:stop] for a in arrays)),
               chunks)


def parallel_blocks(fn, n_rows: int, row_size: int, block_size: int = 1 << 16) -> None:
    """fn(start, stop) over blocks of rows of about `block_size` elements (cache blocking: every
    step of fn runs on a block that stays in cache), the blocks shared out among threads.

    The blocks do not depend on the thread count, so neither do per-block results."""
    rows = max(1, block_size // max(row_size, 1))

    def run(first, last):
        for start in range(first, last, rows):
            fn(start, min(start + rows, last))
    run_chunks(run, row_chunks(n_rows, n_rows * row_size, align=rows))


def indexed_blocks(fn, n_rows: int, row_size: int, rows_per_block: int) -> None:
    """fn(k, start, stop) for each block k of `rows_per_block` rows (the last may be short), the
    blocks spread over threads as by `parallel_blocks`, every product in them on one BLAS thread
    (the threads share the cores). A single block runs directly on the calling thread, and its
    products keep their BLAS threads."""
    if n_rows <= rows_per_block:
        fn(0, 0, n_rows)
        return
    with single_threaded_blas():
        parallel_blocks(lambda start, stop: fn(start // rows_per_block, start, stop), n_rows,
                        row_size, rows_per_block * row_size)


def parallel_slices(fn, *arrays, axis: int = None, size: int = None) -> None:
    """fn(*slices) over ranges of one axis of the first array, one range per thread.

    Arrays line up from the right as in broadcasting: one without that axis, or of length 1
    there (a broadcast operand), a scalar or None is passed whole. `axis` (of the first array):
    default the first one at least as long as the thread count. For work whose every slice is
    independent (copies, elementwise steps, per-image loops), so that results are those of
    fn(*arrays). `size`: the work's element count (default: the first array's size)."""
    first = arrays[0]
    size = first.size if size is None else size
    if first.ndim == 0 or size < MIN_PARALLEL_ELEMENTS:
        fn(*arrays)
        return
    if axis is None:
        axis = next((a for a, n in enumerate(first.shape) if n >= num_threads()), 0)
    chunks = row_chunks(first.shape[axis], size)
    if len(chunks) == 1:
        fn(*arrays)
        return

    def piece(a, start, stop):
        at = axis - (first.ndim - getattr(a, "ndim", 0))     # the same axis in a
        if a is None or at < 0 or a.shape[at] == 1:
            return a
        return a[(slice(None),) * at + (slice(start, stop),)]
    run_chunks(lambda start, stop: fn(*(piece(a, start, stop) for a in arrays)), chunks)


def parallel_ufunc(ufunc, *inputs, out=None):
    """ufunc(*inputs, out=out) in pieces over threads when big; `out` (default: a new array
    like the first input) is returned. Inputs broadcast to the first one's shape."""
    first = inputs[0]
    if out is None:
        out = np.empty_like(first)
    parallel_slices(lambda o, *parts: ufunc(*parts, out=o), out, *inputs)
    return out


def parallel_copy(dst, src) -> None:
    """np.copyto(dst, src), split over threads when big (src broadcasts to dst)."""
    src = np.broadcast_to(src, dst.shape) if np.shape(src) != dst.shape else src
    parallel_slices(np.copyto, dst, src)
