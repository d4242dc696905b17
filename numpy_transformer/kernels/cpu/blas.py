"""NumPy's OpenBLAS: its thread count, and its idle threads put to sleep instead of spinning.

After each matrix product OpenBLAS's worker threads spin for 2^28 cycles (about 0.1 s) waiting
for the next one. A spinning thread holds a core, so on 2 cores the elementwise passes that
follow a product, which our own threads share out (`threads`), get one core between them: a
MultiheadAttention training step took 85 ms instead of 62. OPENBLAS_THREAD_TIMEOUT=12 makes
them spin for 2^12 cycles (a microsecond or two, enough for back-to-back products), then sleep;
4 (sleep at once) was 2-5% slower for small products. `sleep_idle_blas_threads` sets it for a
running process (`tune_cpu` calls it); nothing here runs at import.
"""
import contextlib
import ctypes
import glob
import os
import sys
import threading

__all__ = ["sleep_idle_blas_threads", "blas_thread_control", "single_threaded_blas"]

TIMEOUT_VARIABLE = "OPENBLAS_THREAD_TIMEOUT"
SHORT_SPIN = "12"                   # log2 of the cycles an idle thread spins (OpenBLAS: 4 to 30)

_openblas = None                    # (library, get, set), or False for another BLAS


def _library():
    """(NumPy's OpenBLAS library, get_num_threads, set_num_threads), or None for another BLAS."""
    global _openblas
    if _openblas is None:
        _openblas = _find_openblas() or False
    return _openblas or None


def _find_openblas():
    import numpy as np
    folder = os.path.dirname(np.__file__)
    for path in glob.glob(os.path.join(folder + ".libs", "*openblas*")) + \
            glob.glob(os.path.join(folder, ".dylibs", "*openblas*")):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix, suffix in (("scipy_openblas", "64_"), ("scipy_openblas", ""),
                               ("openblas", "64_"), ("openblas", "")):
            get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
            set_ = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
            if get is not None and set_ is not None:
                set_.argtypes = [ctypes.c_int]
                return lib, get, set_
    return None


def sleep_idle_blas_threads() -> bool:
    """OpenBLAS's idle threads sleep after a short spin (OPENBLAS_THREAD_TIMEOUT=12) unless the
    user set the variable; True when the setting took effect.

    Before NumPy is imported the variable is enough (OpenBLAS reads it when it starts). After, we
    make OpenBLAS read the environment again and stop its threads: the next product starts them
    anew with the new timeout (the same path as after a fork)."""
    if TIMEOUT_VARIABLE in os.environ:
        return False                                       # the user's choice stands
    numpy_started = "numpy" in sys.modules
    os.environ[TIMEOUT_VARIABLE] = SHORT_SPIN
    if not numpy_started:
        return True
    found = _library()
    lib = found[0] if found else None
    read_env = getattr(lib, "openblas_read_env", None)
    shutdown = getattr(lib, "blas_thread_shutdown_", None)
    if read_env is None or shutdown is None:
        return False
    read_env()
    shutdown()
    return True


def blas_thread_control():
    """(get, set) of the thread count of NumPy's OpenBLAS, or None for another BLAS."""
    found = _library()
    return None if found is None else found[1:]


_blas_users, _blas_saved = 0, None
_blas_lock = threading.Lock()


@contextlib.contextmanager
def single_threaded_blas():
    """OpenBLAS runs each product on one thread meanwhile (when our own threads share the cores).

    OpenBLAS's count is process-wide: the last user restores it, so big GEMMs elsewhere keep theirs."""
    global _blas_users, _blas_saved
    control = blas_thread_control()
    if control is None:
        yield
        return
    get, set_ = control
    with _blas_lock:
        if _blas_users == 0:
            _blas_saved = get()
            set_(1)
        _blas_users += 1
    try:
        yield
    finally:
        with _blas_lock:
            _blas_users -= 1
            if _blas_users == 0:
                set_(_blas_saved)
