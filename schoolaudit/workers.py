"""Where posts are audited: in the crawling process, or in worker processes fed by the crawl.

Auditing is CPU work (image analysis above all, then the text rules and the text model), and the
crawl is network waits plus parsing and storing; one Python process runs only one of them at a
time. `WorkerAuditing` runs the auditors in `processes` long-lived worker processes (spawned, each
loading the auditors once), while the crawling process only fetches, parses and stores. At most
`2 × processes` accounts are audited at once (`turn()`); an account waiting for its turn holds
nothing in memory but its id, because its posts are read from the store when the turn comes.

Each worker analyses its images itself (the image analyser's own process pool, `[workers] processes`
of the image rules, is for auditing in the crawling process), on `threads` threads at once before an
account's auditors run: the models run outside the GIL, so one worker keeps every core busy with one
copy of the models, where a process per core held them (and their memory peaks) once per core. The
crawling process mostly waits, so the threads are one per core, not per spare core. A lone worker is
told each account's posts as soon as the account is handed to it (`_ImagesAhead`), so its threads go
on to the next account's images while the last of one account's run: waiting for an account's last
image had kept one of its two threads idle 8 % of a night. A worker whose parent died (a killed run)
exits by itself.

Memory: a worker's models are loaded on its first image (`auditors.image_analysis`; their sessions keep
little memory between images: `auditors.onnx_session`; the face and text detectors' arena is emptied after
each heavy run), all its threads allocate from one C heap, blocks from 8 MB mapped apart
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
import logging
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import AsyncIterator

from auditors.base import AuditContext, Policy
from auditors.c_heap import glibc, huge_pages_for_new_processes, release_free_pages
from auditors.registry import audit_posts, load_auditors, prepare
from auditors.text import forget_texts
from records.model import Account, Finding, Post

log = logging.getLogger(__name__)

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
        # a lone worker with threads is told each account's posts ahead of its turn; with several, whichever
        # worker heard of them might not be the one that audits them
        self._tell_ahead = processes == 1 and self.threads > 1
        self._ahead = None  # the current pool's queue of (ticket: its `_taken` then, posts) told ahead
        self._retiring: ProcessPoolExecutor | None = None  # the old pool while it finishes (`close` stops it too)
        self._taken = 0  # accounts handed to the current pool
        self._replacing = asyncio.Lock()

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        async with self._window:
            yield

    async def audit(self, account: Account, posts: list[Post]) -> list[list[Finding]]:
        """The findings of each post, in order; raises BrokenProcessPool when a worker died on them."""
        pool, ticket = await self._pool_for_an_account()
        if self._ahead is not None:
            self._ahead.put((ticket, posts))
        with huge_pages_for_new_processes():  # a pool starts its workers in `submit`, as it needs them (c_heap)
            future = pool.submit(_audit_in_worker, account, posts, ticket)
        try:
            findings, disabled, cpu = await asyncio.wrap_future(future)
        except BrokenProcessPool:
            if self._pool is pool:  # the next account gets fresh workers
                pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
                self._stop_telling_ahead()
            raise
        self.disabled.update(disabled)
        for name, seconds in cpu.items():
            self.cpu[name] = self.cpu.get(name, 0.0) + seconds
        return findings

    async def _pool_for_an_account(self) -> tuple[ProcessPoolExecutor, int]:
        """The pool to audit the next account and the account's ticket there, fresh once the current one has taken
        `ACCOUNTS_PER_WORKER` accounts per worker: the old workers finish their accounts and exit first, so that no
        two sets of models are in memory at once (ProcessPoolExecutor's own max_tasks_per_child can hang on Python
        3.11: it may start no new worker when one exits)."""
        async with self._replacing:
            if self._pool is not None and self._taken >= ACCOUNTS_PER_WORKER * self.processes:
                self._retiring, self._pool = self._pool, None
                await asyncio.to_thread(self._retiring.shutdown, wait=True)
                self._retiring = None
                self._stop_telling_ahead()
            if self._pool is None:
                context = get_context("spawn")
                self._ahead = context.Queue() if self._tell_ahead else None
                self._pool = ProcessPoolExecutor(self.processes, mp_context=context, initializer=_start_worker,
                                                 initargs=(self.policy, os.getpid(), self.threads, self._ahead))
                self._taken = 0
            self._taken += 1
            return self._pool, self._taken

    def _stop_telling_ahead(self) -> None:
        """Close the old pool's queue of posts told ahead (its worker has exited)."""
        if self._ahead is not None:
            self._ahead.cancel_join_thread()  # what its worker never read is not waited for at exit
            self._ahead.close()
            self._ahead = None

    def close(self) -> None:
        """Stop the workers, a retiring pool's too; an account still being audited is dropped (its posts stay
        unaudited)."""
        for pool in (self._pool, self._retiring):
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        self._pool = self._retiring = None
        self._stop_telling_ahead()


def auditing(policy: Policy, processes: int, accounts: int) -> InProcessAuditing | WorkerAuditing:
    """Workers for a run of `accounts` accounts, or this process when workers would not pay."""
    if processes < 1 or accounts < POOL_MIN_ACCOUNTS:
        return InProcessAuditing(policy)
    return WorkerAuditing(policy, processes)


# --- in the worker process ------------------------------------------------------------------

_WORKER: InProcessAuditing | None = None
_IMAGES: "_ImagesAhead | None" = None
#: the worker's CPU seconds when its last account was done: what it spends until the next is done, less
#: that account's auditors, went to images (some of the next account's, analysed ahead)
_DONE_AT = 0.0


def _start_worker(policy: Policy, parent: int, threads: int, told_ahead=None) -> None:
    global _WORKER, _IMAGES, _DONE_AT
    _one_heap_for_all_threads()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    analyse_images_here(policy, threads)
    _WORKER = InProcessAuditing(policy)
    _IMAGES = _ImagesAhead(_WORKER.auditors, threads) if threads > 1 else None
    if _IMAGES is not None and told_ahead is not None:
        threading.Thread(target=_IMAGES.listen, args=(told_ahead,), daemon=True, name="told-ahead").start()
    threading.Thread(target=_exit_with, args=(parent,), daemon=True, name="parent-watch").start()
    _DONE_AT = time.process_time()  # the start-up is not the first account's


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


def _audit_in_worker(account: Account, posts: list[Post], ticket: int) -> tuple[list[list[Finding]], dict, dict]:
    """(findings per post, auditors off here, CPU seconds per auditor since the last account was done)."""
    global _DONE_AT
    from auditors.image_auditors import forget_analyses  # as in analyse_images_here: workers only

    _WORKER.cpu = {}
    try:
        if _IMAGES is not None:
            _IMAGES.wait_for(ticket, posts)
        findings = _WORKER.audit_posts(account, posts)
        if _IMAGES is not None and _IMAGES.reader is not None:
            # the threads' CPU since the last account (some of it this account's, some the next's, started
            # ahead): the rest of the worker's, the auditors' own counted apart (`auditors.registry`)
            images = time.process_time() - _DONE_AT - sum(_WORKER.cpu.values())
            _WORKER.cpu[_IMAGES.reader] = _WORKER.cpu.get(_IMAGES.reader, 0.0) + max(0.0, images)
        return findings, _WORKER.disabled, _WORKER.cpu
    finally:
        forget_analyses()  # each is in the analysis file: kept, they pinned heap pages account after account
        release_free_pages()  # once an account: after every image it cost 15% more CPU (pages faulted again)
        _DONE_AT = time.process_time()


class _ImagesAhead:
    """A worker's image threads, fed each account's images (`auditors.image_auditors.image_jobs`) as soon as
    the crawling process tells of its posts (`listen`) or, at the latest, when the account's turn comes
    (`wait_for`): the threads take them in that order, so one account's images follow the last ones of the
    account before without a thread waiting for those. An image is analysed once, whichever accounts show it."""

    def __init__(self, auditors: list, threads: int):
        from auditors.image_auditors import image_reader  # as in analyse_images_here: workers only

        self._reader = image_reader(auditors)  # analyses the images for every image auditor; None: no image is read
        self._threads = ThreadPoolExecutor(threads, thread_name_prefix="image")
        self._running: dict[str, Future] = {}  # image key -> its analysis, until an account's turn takes it
        self._turn = 0  # the ticket of the account whose turn came last: what was told of it before is old news
        self._lock = threading.Lock()

    @property
    def reader(self) -> str | None:
        """The name of the auditor whose CPU the images are (the one that reads them), None when none does."""
        return self._reader.name if self._reader is not None else None

    def listen(self, told_ahead) -> None:
        """Start the images of each account told of (ticket, posts), until the queue closes."""
        while True:
            try:
                ticket, posts = told_ahead.get()
            except (EOFError, OSError, ValueError):  # the crawling process closed it (or is gone)
                return
            try:
                with self._lock:
                    if ticket > self._turn:  # else told after its turn came: its images are started already
                        self._start(posts)
            except Exception:  # the account's turn starts them again, and says what failed
                log.exception("images of account %d not started ahead", ticket)

    def wait_for(self, ticket: int, posts: list[Post]) -> None:
        """Wait for the images of the account with `ticket`, starting those not yet started."""
        with self._lock:
            self._turn = max(self._turn, ticket)
            started = self._start(posts)
        for _, future in started:
            future.result()
        with self._lock:  # done: the analysis file has them now (an image shown again is read from there)
            for key, future in started:
                if self._running.get(key) is future:
                    del self._running[key]

    def _start(self, posts: list[Post]) -> list[tuple[str, Future]]:
        """(key, analysis) of each image of `posts`, submitted to the threads unless already there; under the lock."""
        from auditors.image_auditors import image_jobs  # as in analyse_images_here: workers only

        started = []
        for key, job in image_jobs(self._reader, posts) if self._reader is not None else ():
            if key not in self._running:
                self._running[key] = self._threads.submit(job)
            started.append((key, self._running[key]))
        return started
