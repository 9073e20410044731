"""Where posts are audited: in the crawling process, or in worker processes fed by the crawl.

Auditing is CPU work (image analysis above all, then the text rules and the text model), and the
crawl is network waits plus parsing and storing; one Python process runs only one of them at a
time. `WorkerAuditing` runs the auditors in `processes` long-lived worker processes (spawned, each
loading the auditors once), while the crawling process only fetches, parses and stores. At most
`2 × processes` accounts are audited at once (`turn()`); an account waiting for its turn holds
nothing in memory but its id, because its posts are read from the store when the turn comes.

Each worker analyses its images itself (the image analyser's own process pool, `[workers] processes`
of the image rules, is for auditing in the crawling process), an account's images on `threads`
threads at once before its auditors run: the models run outside the GIL, so one worker keeps every
core busy with one copy of the models, where a process per core held them (and their memory peaks)
once per core. The crawling process mostly waits, so the threads are one per core, not per spare
core. A worker whose parent died (a killed run) exits by itself.

Memory: a worker's models are loaded on its first image (`auditors.image_analysis`; their sessions keep
no memory between images: `auditors.onnx_session`; the face and text detectors' arena is emptied after
each run), all its threads allocate from one C heap, blocks from 8 MB mapped apart
(`_one_heap_for_all_threads`), in transparent huge pages where the machine has them (the same memory, faulted in
2 MB at a time: `auditors.c_heap.huge_pages_for_new_processes`), and after each account that heap's free pages
go back to the system (`auditors.c_heap.release_free_pages`): a worker then holds about 230 MB between accounts instead of growing to 530 MB,
and about 400 MB at its peak (bench/night.py, 200 accounts: 397 MB, where main had 442; the peak is
the text detector's run while the other thread goes on). The models' runs on large
inputs (text lines found at read size, face passes at 1280 px) take turns (`auditors.onnx_session`),
so only one thread at a time is at such a peak while the other goes on with the lighter steps. What a worker
keeps it drops after each account (the image analyses, which the analysis file keeps: `forget_analyses`), and
fresh workers take over every `ACCOUNTS_PER_WORKER` accounts: a long-lived worker's level still rose with the
accounts (the heap's pages pinned here and there), and its peaks with it.
`InProcessAuditing` is the same interface without processes: `crawl.workers = 0`, and runs too small
for starting workers to pay (`POOL_MIN_ACCOUNTS`).
"""
from __future__ import annotations

import asyncio
import contextlib
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import AsyncIterator

from auditors.base import AuditContext, Policy
from auditors.c_heap import glibc, huge_pages_for_new_processes, release_free_pages
from auditors.registry import audit_posts, load_auditors, prepare
from auditors.text import forget_texts
from records.model import Account, Finding, Post

#: Fewer accounts than this are audited in the crawling process: a worker spends about two seconds
#: of CPU loading the models, more than a handful of accounts' posts cost to audit.
POOL_MIN_ACCOUNTS = 20
#: Accounts in flight per worker: one being audited, one queued so that a worker never waits.
IN_FLIGHT_PER_WORKER = 2
#: Accounts a worker audits before fresh workers take over (`WorkerAuditing._pool_for_an_account`). A long-lived
#: worker's level between accounts rose with the accounts, ever more slowly (225 MB in the first 100 accounts,
#: 257-260 MB from 500 on: the C heap's pages pinned by what it keeps, the text model's embedding pages read),
#: and its peak with it; a fresh worker loads the models again, about 2 s of CPU.
ACCOUNTS_PER_WORKER = 200


def worker_count(setting: int | None) -> int:
    """`crawl.workers` as a number of processes: unset means one, whose threads use every core
    (`image_threads`). Each worker holds the models (~200 MB) and its own memory peaks (~250 MB
    more at most), so a second one spends memory, not time."""
    return 1 if setting is None else setting


def image_threads(processes: int) -> int:
    """Threads analysing images in each of `processes` workers: the cores shared among them (the
    crawling process mostly waits on the network and the workers), at least one."""
    return max(1, (os.cpu_count() or 1) // max(1, processes))


class InProcessAuditing:
    """The auditors run in this process, on an account's posts together (`prepare`, `audit_posts`)."""

    def __init__(self, policy: Policy):
        self.policy = policy
        self.auditors, self.disabled = load_auditors(policy)
        self.cpu: dict[str, float] = {}  # CPU seconds per auditor, for the benchmarks

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        yield  # no wait: an account is stored and audited without giving the event loop a chance to stop it

    async def audit(self, account: Account, posts: list[Post]) -> list[list[Finding]]:
        return self.audit_posts(account, posts)

    def audit_posts(self, account: Account, posts: list[Post]) -> list[list[Finding]]:
        context = AuditContext(self.policy, account)
        try:
            prepare(self.auditors, posts, self.cpu)  # the text model scores the account's posts in one call
            return audit_posts([(post, context) for post in posts], self.auditors, self.cpu)
        finally:
            forget_texts()  # the text caches serve the auditors of one post; kept, they grow to 8192 texts each

    def close(self) -> None:
        pass


class WorkerAuditing:
    """The auditors run in `processes` worker processes; see the module docstring."""

    def __init__(self, policy: Policy, processes: int):
        self.policy, self.processes = policy, processes
        self.disabled: dict[str, str] = {}  # as the workers report it
        self.cpu: dict[str, float] = {}
        self.threads = image_threads(processes)
        self._window = asyncio.Semaphore(processes * IN_FLIGHT_PER_WORKER)
        self._pool: ProcessPoolExecutor | None = None
        self._retiring: ProcessPoolExecutor | None = None  # the old pool while it finishes (`close` stops it too)
        self._taken = 0  # accounts handed to the current pool
        self._replacing = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._window:
            yield

    async def audit(self, account: Account, posts: list[Post]) -> list[list[Finding]]:
        """The findings of each post, in order; raises BrokenProcessPool when a worker died on them."""
        pool = await self._pool_for_an_account()
        try:
            findings, disabled, cpu = await asyncio.wrap_future(pool.submit(_audit_in_worker, account, posts))
        except BrokenProcessPool:
            if self._pool is pool:  # the next account gets fresh workers
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            raise
        self.disabled.update(disabled)
        for name, seconds in cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + seconds
        return findings

    async def _pool_for_an_account(self) -> ProcessPoolExecutor:
        """The pool to audit the next account, fresh once the current one has taken `ACCOUNTS_PER_WORKER` accounts
        per worker: the old workers finish their accounts and exit first, so that no two sets of models are in
        memory at once (ProcessPoolExecutor's own max_tasks_per_child can hang on Python 3.11: it may start no
        new worker when one exits)."""
        async with self._replacing:
            if self._pool is not None and self._taken >= ACCOUNTS_PER_WORKER * self.processes:
                self._retiring, self._pool = self._pool, None
                await asyncio.to_thread(self._retiring.shutdown, wait=True)
                self._retiring = None
            if self._pool is None:
                huge_pages_for_new_processes()  # a model run's large tensors faulted in 2 MB at a time (c_heap)
                self._pool = ProcessPoolExecutor(self.processes, mp_context=get_context("spawn"),
                                                 initializer=_start_worker,
                                                 initargs=(self.policy, os.getpid(), self.threads))
                self._taken = 0
            self._taken += 1
            return self._pool

    def close(self) -> None:
        """Stop the workers, a retiring pool's too; an account still being audited is dropped (its posts stay
        unaudited)."""
        for pool in (self._pool, self._retiring):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._retiring = None


def auditing(policy: Policy, processes: int, accounts: int) -> InProcessAuditing | WorkerAuditing:
    """Workers for a run of `accounts` accounts, or this process when workers would not pay."""
    if processes < 1 or accounts < POOL_MIN_ACCOUNTS:
        return InProcessAuditing(policy)
    return WorkerAuditing(policy, processes)


# --- in the worker process ------------------------------------------------------------------

_WORKER: InProcessAuditing | None = None
_IMAGE_THREADS: ThreadPoolExecutor | None = None


def _start_worker(policy: Policy, parent: int, threads: int) -> None:
    global _WORKER, _IMAGE_THREADS
    _one_heap_for_all_threads()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    analyse_images_here(policy, threads)
    _WORKER = InProcessAuditing(policy)
    _IMAGE_THREADS = ThreadPoolExecutor(threads, thread_name_prefix="image") if threads > 1 else None
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="parent-watch").start()


#: glibc's mallopt parameters: the number of C heaps ("arenas") threads allocate from; the size from which a
#: block is mapped on its own (and unmapped when freed) instead of taken from a heap
_M_ARENA_MAX, _M_MMAP_THRESHOLD = -8, -3
#: Blocks from this size are mapped apart. glibc's own threshold rises to the largest block freed (up to 32 MB),
#: so the models' large tensors came from the heap and their freed pages stayed resident between images'
#: holes: on the 64 shared photos twice over on two threads, a worker's peak 352-372 -> 315-322 MB, CPU per image
#: unchanged within the noise (2 MB cost 13-16% more CPU: smaller tensors faulted in afresh each run)
MAPPED_FROM = 8 * 2**20


def _one_heap_for_all_threads() -> None:
    """Make every thread of this process allocate from one C heap, before any thread starts. glibc gives
    each thread a heap of its own, and each grew to the largest activations its thread had seen: two image
    threads on 18 photos peaked at 819 MB, against 552 MB with one heap, for the same CPU (a fixed
    mmap threshold of 2 MB instead gave 480 MB at 50% more CPU: the pages are faulted in again for every tensor).
    Blocks from `MAPPED_FROM` are mapped apart, so that a model's largest tensors leave no resident holes."""
    if (libc := glibc()) is not None:
        libc.mallopt(_M_ARENA_MAX, 1)
        libc.mallopt(_M_MMAP_THRESHOLD, MAPPED_FROM)


def analyse_images_here(policy: Policy, threads: int = 1) -> None:
    """Make every image analysis built from `policy` (this process's copy) run in this process: a worker
    is already one of the processes, and a pool of its own per worker would multiply the models' memory.
    Text is read on `threads` threads: readings take turns (one image at a time, for its memory peak),
    so one reading has the worker's cores while its other threads find faces."""
    from auditors.image_auditors import RULES_FILE, load_image_rules  # the crawling process never needs them

    rules, _ = load_image_rules(policy)  # the very table the image auditors will read, when the policy has one
    rules["workers"] = {**rules.get("workers", {}), "processes": 1, "text_threads": threads}
    if load_image_rules(policy)[0] is not rules:  # the bundled example's file, read afresh each time
        policy.rule_files[RULES_FILE.removesuffix(".toml")] = rules


def _exit_with(parent: int) -> None:
    """End this worker when its parent is gone (killed): nobody is left to read its results."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _audit_in_worker(account: Account, posts: list[Post]) -> tuple[list[list[Finding]], dict, dict]:
    """(findings per post, auditors off here, CPU seconds per auditor for these posts)."""
    from auditors.image_auditors import forget_analyses  # as in analyse_images_here: workers only

    _WORKER.cpu = {}
    try:
        if _IMAGE_THREADS is not None:
            _analyse_images_ahead(posts)
        return _WORKER.audit_posts(account, posts), _WORKER.disabled, _WORKER.cpu
    finally:
        forget_analyses()  # each is in the analysis file: kept, they pinned heap pages account after account
        release_free_pages()  # once an account: after every image it cost 15% more CPU (pages faulted again)


def _analyse_images_ahead(posts: list[Post]) -> None:
    """Analyse the posts' images on the worker's threads; the auditors then read them from the cache.
    Their CPU (all threads') counts as the reading auditor's, as it would without the threads."""
    from auditors.image_auditors import analyse_images  # as in analyse_images_here: workers only

    started = time.process_time()
    reader = analyse_images(_WORKER.auditors, posts, _IMAGE_THREADS.map)
    if reader is not None:
        _WORKER.cpu[reader] = _WORKER.cpu.get(reader, 0.0) + time.process_time() - started
