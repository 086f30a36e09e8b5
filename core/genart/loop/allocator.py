"""Keep freed host memory inside the process while training on a CPU.

PyTorch's CPU tensors come straight from ``malloc``. glibc serves every block above its mmap threshold
(128 KiB to start with) from a fresh ``mmap`` and unmaps it on ``free``, and it hands the free top of its
heap back to the kernel; so a training step, which frees and reallocates the same activations every
step, page-faults all of them in again each time: 275 (bf16) to 740 (fp32) page faults per step of the
default VAE on the 2-core EPYC, and a bare fp32 loop ran 1.11-1.16x faster without them (docs/scaling.md).
A training loop asks for the same sizes step after step, so keeping freed blocks for reuse costs little
beyond holding the peak, which is what PyTorch's caching allocator does on CUDA anyway.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform

#: blocks above this still get their own mapping, returned to the OS on free
MMAP_THRESHOLD = 1 << 30
#: older glibc refuses an mmap threshold above 32 MiB (half its maximum heap size)
FALLBACK_MMAP_THRESHOLD = 32 << 20
#: free memory at the top of the heap beyond this goes back to the OS
TRIM_THRESHOLD = 1 << 30
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers in glibc's malloc.h
_USER_SETTINGS = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")


@functools.cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds, once per process; returns whether they are in force.

    Leaves malloc alone on other C libraries (macOS, Windows, musl), when the user already tunes
    glibc's malloc through its environment variables or ``GLIBC_TUNABLES``, and when
    ``GENART_KEEP_FREED_MEMORY=0`` (for a process that must give memory back between phases)."""
    if os.environ.get("GENART_KEEP_FREED_MEMORY", "1").strip() == "0":
        return False
    if any(os.environ.get(name) for name in _USER_SETTINGS) or "malloc" in os.environ.get("GLIBC_TUNABLES", ""):
        return False
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if not (mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) or mallopt(_M_MMAP_THRESHOLD, FALLBACK_MMAP_THRESHOLD)):
        return False
    return bool(mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
