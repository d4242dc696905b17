"""Keep glibc from returning big freed blocks to the OS after every step.

Each training step allocates the same large temporaries again. By default glibc serves
blocks over 128 KiB with mmap and unmaps them on free, so every step page-faults its
memory back in; raising the mmap and trim thresholds keeps those pages in the heap.
Set NT_NO_MALLOPT=1 to leave the allocator alone.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3


def tune_malloc(threshold_bytes: int = 1 << 30) -> bool:
    """Raise glibc's mmap and trim thresholds; False where there is no glibc."""
    if os.environ.get("NT_NO_MALLOPT") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap_max = 32 << 20  # glibc caps M_MMAP_THRESHOLD at 32 MiB on 64-bit
    ok = libc.mallopt(M_MMAP_THRESHOLD, min(threshold_bytes, mmap_max))
    ok &= libc.mallopt(M_TRIM_THRESHOLD, threshold_bytes)
    return bool(ok)
