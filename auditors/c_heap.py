"""This process's C heap (glibc's malloc): its free pages given back to the system.

glibc keeps a freed block's pages resident inside its heap until a trim, for the next allocation. Blocks
mapped apart (a worker maps them from 8 MB: `schoolaudit.workers`) never reuse those pages, so the models'
large tensors came on top of them.

Those large tensors are mapped afresh for each heavy model run (the arena gives them back when such a run ends:
`auditors.onnx_session`), and the kernel faulted them in 4 KB at a time: on a 12 MP photo, whose fine face pass
maps about 50 MB, some 12,000 faults a run. The processes schoolaudit starts ask glibc (2.35 and later) to advise
transparent huge pages for its heap and its mapped blocks (`huge_pages_for_new_processes`, around their start):
2 MB a fault, the same memory given back (bench/README.md).
"""
from __future__ import annotations

import contextlib
import ctypes
import functools
import os
from typing import Iterator, Mapping

#: glibc's tunable (read when a process starts) that advises transparent huge pages for the C heap and the
#: blocks it maps apart; glibc before 2.35, other C libraries and kernels without them ignore it
HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb"


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


@contextlib.contextmanager
def huge_pages_for_new_processes() -> Iterator[None]:
    """Have the processes this one starts within (spawned workers) back their C heap with transparent huge pages
    where the machine has them (`HUGE_PAGES_TUNABLE`); a `GLIBC_TUNABLES` that already sets it is kept. After it
    the environment is as it was: a process started later (a browser, a mailer) is not asked."""
    before = os.environ.get("GLIBC_TUNABLES")
    tunables = _tunables(os.environ)
    if not any(_tunable_name(entry) == HUGE_PAGES_TUNABLE for entry in tunables):
        os.environ["GLIBC_TUNABLES"] = ":".join([*tunables, f"{HUGE_PAGES_TUNABLE}=1"])
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("GLIBC_TUNABLES", None)
        else:
            os.environ["GLIBC_TUNABLES"] = before


def without_huge_pages(environment: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environment` whose processes are not asked for huge pages (the other tunables kept): how a
    revision from before `huge_pages_for_new_processes` ran its workers."""
    tunables = [entry for entry in _tunables(environment) if _tunable_name(entry) != HUGE_PAGES_TUNABLE]
    copy = {name: value for name, value in environment.items() if name != "GLIBC_TUNABLES"}
    return {**copy, **({"GLIBC_TUNABLES": ":".join(tunables)} if tunables else {})}


def _tunables(environment: Mapping[str, str]) -> list[str]:
    """The `name=value` entries of the environment's `GLIBC_TUNABLES`."""
    return [entry for entry in environment.get("GLIBC_TUNABLES", "").split(":") if entry]


def _tunable_name(entry: str) -> str:
    return entry.split("=", 1)[0]
