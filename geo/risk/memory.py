"""Handing freed memory back to the system between the steps of a full scoring run (issue 18: a national run
under 8 GB).

The C library's allocator keeps what Python, numpy and shapely free in its heaps, one heap per thread that
allocated it, for reuse by that thread; a scoring run allocates on three threads in turn (the rules, the
database worker, the helper), so what one step freed on one thread was still counted in the process's memory
while the next step allocated anew on another: at a million national features, 0.8 GB of a 1.3 GB process was
such freed memory at the end of a run (bench/scale/memory.py).  ``give_back`` returns it (glibc's
``malloc_trim``; elsewhere nothing) with Arrow's unused pool memory.  It frees nothing still in use, so no
result changes; it costs tens of milliseconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):  # (not glibc)
        return None


def give_back(*_ignored) -> None:
    """Return the memory freed so far to the system (arguments ignored: it can be queued on the run's database
    worker, which passes its connection)."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()
    trim = _trim()
    if trim is not None:
        trim(0)
