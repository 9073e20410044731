"""The C heap of the processes schoolaudit starts: transparent huge pages (auditors/c_heap.py)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from auditors.c_heap import HUGE_PAGES_TUNABLE, glibc, huge_pages_for_new_processes

LARGE_BLOCK_IN_HUGE_PAGES = """
import ctypes
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
size = 64 * 2**20  # a fine face pass's tensors are about this size, mapped on their own (numpy asks for huge
block = libc.malloc(size)  # pages itself: onnxruntime's arena takes its blocks from malloc)
ctypes.memset(block, 1, size)
rollup = open("/proc/self/smaps_rollup").read().splitlines()
print(next(int(line.split()[1]) for line in rollup if line.startswith("AnonHugePages:")) // 1024)
"""


def test_new_processes_are_asked_for_huge_pages_beside_the_tunables_already_set(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", "glibc.malloc.arena_max=2")
    with huge_pages_for_new_processes():
        assert os.environ["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{HUGE_PAGES_TUNABLE}=1"
        with huge_pages_for_new_processes():  # once only
            assert os.environ["GLIBC_TUNABLES"] == f"glibc.malloc.arena_max=2:{HUGE_PAGES_TUNABLE}=1"
    assert os.environ["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2", "processes started later are not asked"
    monkeypatch.delenv("GLIBC_TUNABLES")
    with huge_pages_for_new_processes():
        assert os.environ["GLIBC_TUNABLES"] == f"{HUGE_PAGES_TUNABLE}=1"
    assert "GLIBC_TUNABLES" not in os.environ


def test_an_operators_own_huge_pages_setting_is_kept(monkeypatch):
    monkeypatch.setenv("GLIBC_TUNABLES", f"{HUGE_PAGES_TUNABLE}=0")
    with huge_pages_for_new_processes():
        assert os.environ["GLIBC_TUNABLES"] == f"{HUGE_PAGES_TUNABLE}=0"
    assert os.environ["GLIBC_TUNABLES"] == f"{HUGE_PAGES_TUNABLE}=0"


def _huge_mb(environment: dict[str, str]) -> int:
    return int(subprocess.run([sys.executable, "-c", LARGE_BLOCK_IN_HUGE_PAGES], env=environment,
                              capture_output=True, text=True, check=True).stdout)


def test_a_process_started_after_it_holds_a_large_block_in_huge_pages(monkeypatch):
    """Where the machine offers huge pages on request (the kernel's `madvise` mode) and glibc reads the
    tunable (2.35 and later), a large block of a process started after it is in 2 MB pages, and without it not."""
    modes = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    if glibc() is None or not modes.is_file() or "[madvise]" not in modes.read_text():
        pytest.skip("needs glibc and transparent huge pages on request (the kernel's madvise mode)")
    version = os.confstr("CS_GNU_LIBC_VERSION").split()[-1]  # "glibc 2.36"
    if tuple(int(part) for part in version.split(".")[:2]) < (2, 35):
        pytest.skip(f"glibc {version} does not read the huge pages tunable (2.35 and later)")
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    without = _huge_mb(dict(os.environ))
    with huge_pages_for_new_processes():
        within = _huge_mb(dict(os.environ))
    assert without == 0 and within >= 32 and _huge_mb(dict(os.environ)) == 0


def test_the_bench_runs_an_older_revision_as_its_workers_ran(tmp_path, monkeypatch):
    """bench/old_code.py: a revision whose workers never asked for huge pages is timed without them."""
    from bench.old_code import revision_environment

    monkeypatch.setenv("GLIBC_TUNABLES", f"glibc.malloc.arena_max=2:{HUGE_PAGES_TUNABLE}=1")
    (tmp_path / "auditors").mkdir()
    heap = tmp_path / "auditors" / "c_heap.py"
    heap.write_text("def release_free_pages(): ...\n")
    assert revision_environment(tmp_path)["GLIBC_TUNABLES"] == "glibc.malloc.arena_max=2"
    heap.write_text(Path(sys.modules["auditors.c_heap"].__file__).read_text())
    assert revision_environment(tmp_path)["GLIBC_TUNABLES"] == os.environ["GLIBC_TUNABLES"]
