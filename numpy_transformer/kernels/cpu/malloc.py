"""Keep glibc from returning big freed blocks to the OS after every step.

Each training step allocates the same large temporaries again. By default glibc serves
blocks over 128 KiB with mmap and unmaps them on free, so every step page-faults its
memory back in (the kernel zeroes every page again). We raise the trim threshold and stop
glibc from using mmap for big blocks at all (M_MMAP_MAX = 0; M_MMAP_THRESHOLD alone is capped
at 32 MiB, and arrays of 32 MiB or more, e.g. [64, 128, 1024] float32 or a vocabulary's logits,
were still faulted in every step: GELU on such an array was about 15% slower, a cross-entropy
over [3072, 8192] 9%). Every block then comes from the heap and is reused by the next step.

The trade-off: freed memory stays with the process (up to 1 GiB above the heap's top, and any
hole below it), so the resident size is the high-water mark of the run rather than of the
moment, and a pattern of ever-growing arrays (concatenating onto a cache) can leave about a
third more resident than with mmap. Set NT_NO_MALLOPT=1 to leave the allocator alone.
"""
import ctypes
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_MMAP_MAX = -4


def tune_malloc(threshold_bytes: int = 1 << 30) -> bool:
    """Raise glibc's trim threshold and serve big blocks from the heap, not mmap; False where
    there is no glibc (or NT_NO_MALLOPT is set)."""
    if os.environ.get("NT_NO_MALLOPT") or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return False
    mmap_max = 32 << 20  # glibc caps M_MMAP_THRESHOLD at 32 MiB on 64-bit
    ok = libc.mallopt(M_MMAP_THRESHOLD, min(threshold_bytes, mmap_max))
    ok &= libc.mallopt(M_TRIM_THRESHOLD, threshold_bytes)
    ok &= libc.mallopt(M_MMAP_MAX, 0)
    return bool(ok)
