"""Keep CPU training from holding on to memory it has already freed.

glibc raises its mmap threshold each time a large block is freed, so later large tensors come
from the heap, and the heap keeps freed pages: a CPU training run's resident memory then grows
by hundreds of megabytes beyond what its tensors use (measured in benchmarks/bench_memory.py:
SmolLM2 LoRA peaked at 4.2 GB with the default and at 2.7 GB with a fixed threshold). Fixing the
threshold makes every large tensor its own mapping, returned to the system when freed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 64 * 1024


def limit_allocator_retention() -> bool:
    """Fix glibc's mmap threshold for this process; False where there is no glibc."""
    if not sys.platform.startswith("linux"):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
    except (OSError, AttributeError):
        return False


def peak_rss_bytes() -> int:
    """The most resident memory this process has used so far (0 where the OS does not say)."""
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux
