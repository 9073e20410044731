"""This process's C heap (glibc's malloc): its free pages given back to the system.

glibc keeps a freed block's pages resident inside its heap until a trim, for the next allocation. Blocks
mapped apart (a worker maps them from 8 MB: `schoolaudit.workers`) never reuse those pages, so the models'
large tensors came on top of them.
"""
from __future__ import annotations

import ctypes
import functools


@functools.lru_cache(maxsize=1)  # asked before every heavy model run: loaded once
def glibc():
    """The C library when it is glibc (whose heap schoolaudit tunes), else None."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def release_free_pages() -> None:
    """Give the C heap's free pages back to the system (glibc keeps them otherwise); elsewhere a no-op."""
    if (libc := glibc()) is not None:
        libc.malloc_trim(0)
