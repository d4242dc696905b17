"""The process-wide settings the fast CPU kernels run best with, made only when asked.

Two settings, each measured in its own module: OpenBLAS's idle threads sleep after a short spin
instead of holding a core (`blas.py`), and glibc keeps big freed blocks for the next step
instead of returning them to the OS (`malloc.py`). The CLI and the Trainer call `tune_cpu`;
importing the package never does.
"""
from .blas import sleep_idle_blas_threads
from .malloc import tune_malloc

__all__ = ["tune_cpu", "cpu_tuned"]

_settings = None                     # what the first call set: {setting: took effect}


def tune_cpu() -> dict:
    """Make both settings for this process (once; later calls return the first's result):
    {'blas_idle_threads_sleep': bool, 'malloc_keeps_big_blocks': bool}, each True where it took
    effect (False where the user set OPENBLAS_THREAD_TIMEOUT or NT_NO_MALLOPT, or on another
    BLAS or C library)."""
    global _settings
    if _settings is None:
        _settings = {"blas_idle_threads_sleep": sleep_idle_blas_threads(),
                     "malloc_keeps_big_blocks": tune_malloc()}
    return dict(_settings)


def cpu_tuned() -> bool:
    """True once `tune_cpu` has run in this process."""
    return _settings is not None
