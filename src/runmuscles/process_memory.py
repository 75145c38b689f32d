"""Memory settings for a one-shot command: no transparent huge pages for NumPy's arrays, and
freed memory kept in the process (less system time, fewer page faults).

NumPy asks the kernel for transparent huge pages for every array of 4 MB or more
(``madvise(MADV_HUGEPAGE)``; NumPy's documentation, environment variable
``NUMPY_MADVISE_HUGEPAGE``). Where the kernel's THP ``defrag`` setting is ``madvise`` (the
default of Debian and Ubuntu kernels), each such fault may compact memory synchronously
(Linux kernel documentation, "Transparent Hugepage Support"); on a host with many busy
processes that cost the 30 s Fukuchi 2017 trial 5-6 s of system time out of 11.7 s of CPU
(the muscle stage 6.6 s instead of 0.8 s). :func:`no_huge_pages` turns the advice off.

A whole-trial analysis allocates and frees many arrays of tens of megabytes (moment arms of
4400 frames x 92 muscles x 39 coordinates are 127 MB; the static-optimization problem and the
inverse dynamics' temporaries are of the same order). glibc's ``malloc`` serves blocks above its
``mmap`` threshold (128 kB, raised dynamically up to 32 MB; glibc manual, "Memory Allocation
Tunables") with fresh ``mmap`` pages and returns them to the system on ``free``, so every such
array costs its page faults again: on the 30 s Fukuchi 2017 trial ~170 000 minor faults and
5-7 s of system time. Serving them from the heap and keeping it (``M_MMAP_MAX`` = 0,
``M_TRIM_THRESHOLD`` large; ``mallopt(3)``) lets later arrays reuse pages already touched.

This suits a process that runs one analysis and exits (the ``analyze`` command); a long-lived
worker keeps its peak memory instead, so it is not done there.

In such a process Arrow's default allocator (mimalloc, which maps its own memory from the
system) made writing ``timeseries.parquet`` cost 1.0-1.3 s of CPU, mostly system time, instead
of 0.2 s with the C library's ``malloc`` (30 s Fukuchi 2017 trial, measured in the ``analyze``
process after the analysis; Arrow's environment variable ``ARROW_DEFAULT_MEMORY_POOL``, Arrow
documentation "Memory Management"): :func:`arrow_system_allocator` chooses the latter.

A Dask worker needs a milder repair: its nanny starts it with ``MALLOC_TRIM_THRESHOLD_=65536``
(distributed's ``distributed.nanny.pre-spawn-environ``, so that freed memory goes back to the
system), and setting any of glibc's thresholds turns its dynamic ``mmap`` threshold off
(``mallopt(3)``, M_MMAP_THRESHOLD): every block above 128 kB is then a fresh ``mmap`` for the
life of the worker, where a plain process raises the threshold after its first large ``free``.
On the 28 Hamner 2013 strides (one stride each) that cost two workers 2.9-3.7 s of system time,
against 0.55 s for the same trials in one plain process (2-core host, load 3-5).
:func:`steady_malloc_thresholds` sets the thresholds a plain process's dynamic adjustment ends
at, bounding what is kept.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

__all__ = [
    "arrow_system_allocator",
    "keep_freed_memory",
    "no_huge_pages",
    "steady_malloc_thresholds",
    "tune_for_one_analysis",
]

# mallopt(3) parameter numbers (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_MMAP_MAX = -4

#: Heap kept after ``free`` before it is returned to the system (bytes). Project choice: above
#: the analysis's peak, so that nothing is returned while it runs.
TRIM_THRESHOLD_BYTES = 2**31 - 1
#: glibc's upper bound of the dynamic ``mmap`` threshold on 64-bit systems,
#: ``DEFAULT_MMAP_THRESHOLD_MAX`` = 4 MiB x sizeof(long) (``mallopt(3)``, M_MMAP_THRESHOLD).
DYNAMIC_MMAP_THRESHOLD_MAX_BYTES = 32 * 1024 * 1024


def _glibc_mallopt():
    """glibc's ``mallopt``, or None (other systems and C libraries are left alone)."""
    if not sys.platform.startswith("linux"):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
        libc.gnu_get_libc_version  # noqa: B018 (glibc only: musl has mallopt as a no-op)
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return mallopt


def _mallopt_all(settings: tuple[tuple[int, int], ...]) -> bool:
    """Apply each ``(parameter, value)`` with glibc's ``mallopt``; whether all were applied
    (False on other C libraries, which are left alone)."""
    mallopt = _glibc_mallopt()
    if mallopt is None:
        return False
    return all([mallopt(param, value) == 1 for param, value in settings])


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` serve large blocks from the heap and keep freed heap memory.

    Returns
    -------
    bool
        Whether the settings were applied (False on other C libraries, which are left alone).
    """
    return _mallopt_all(((_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES)))


def steady_malloc_thresholds() -> bool:
    """Set glibc's ``mmap`` threshold to the top of its dynamic range (32 MiB) and its trim
    threshold to twice that, as a plain process's dynamic adjustment leaves them after it frees
    its first block of that size (``mallopt(3)``): blocks below 32 MiB are then served from the
    heap and reused, and at most 64 MiB of free heap top is kept. For a long-lived worker whose
    start fixed the thresholds (Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_``).

    Returns
    -------
    bool
        Whether the settings were applied (False on other C libraries, which are left alone).
    """
    top = DYNAMIC_MMAP_THRESHOLD_MAX_BYTES
    return _mallopt_all(((_M_MMAP_THRESHOLD, top), (_M_TRIM_THRESHOLD, 2 * top)))


def no_huge_pages() -> bool:
    """Stop NumPy advising transparent huge pages for its arrays (as ``NUMPY_MADVISE_HUGEPAGE=0``
    does at import). Returns whether NumPy offered the switch."""
    try:
        from numpy._core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
    except ImportError:
        try:
            from numpy.core.multiarray import _set_madvise_hugepage  # noqa: PLC0415
        except ImportError:
            return False
    _set_madvise_hugepage(False)
    return True


def arrow_system_allocator() -> bool:
    """Make Arrow (Parquet writing) allocate with the C library's ``malloc``, unless the user
    chose an allocator (``ARROW_DEFAULT_MEMORY_POOL``) or Arrow is already loaded (its pool is
    then chosen). Returns whether the setting will take effect."""
    if "pyarrow" in sys.modules or "ARROW_DEFAULT_MEMORY_POOL" in os.environ:
        return False
    os.environ["ARROW_DEFAULT_MEMORY_POOL"] = "system"
    return True


def tune_for_one_analysis() -> dict[str, bool]:
    """The settings for a process that runs one analysis (the ``analyze`` command); which ones
    were applied."""
    return {
        "no_huge_pages": no_huge_pages(),
        "keep_freed_memory": keep_freed_memory(),
        "arrow_system_allocator": arrow_system_allocator(),
    }
