"""One audit run: crawl accounts, store their posts and images, audit what is new or changed.

Accounts are crawled concurrently; each account's outcome is recorded whatever happens to the
others. Auditing works from the store (posts whose content hash differs from the hash they were
last audited at), so a run that was killed half-way is completed by the next one.
"""
from __future__ import annotations

import asyncio
import logging
import sys
import threading
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auditors.base import Policy
from crawler.http import HttpClient
from crawler.media import MediaFetcher
from crawler.result import FetchError, FetchResult
from crawler.sources import read_account
from records.model import Account, Outcome
from records.store import Store
from schoolaudit.config import Settings
from schoolaudit.lock import RunLock
from schoolaudit.workers import InProcessAuditing, WorkerAuditing, auditing, worker_count

log = logging.getLogger(__name__)

Auditing = InProcessAuditing | WorkerAuditing

@dataclass
class AccountResult:
    account: Account
    outcome: str
    detail: str = ""
    posts_seen: int = 0
    posts_new: int = 0
    posts_changed: int = 0
    findings_new: int = 0


@dataclass
class RunSummary:
    run_id: int
    results: list[AccountResult] = field(default_factory=list)
    disabled_auditors: dict[str, str] = field(default_factory=dict)
    audit_cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per auditor, wherever it ran

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.results)

    @property
    def failed(self) -> list[AccountResult]:
        return [r for r in self.results if r.outcome != Outcome.OK.value]


class Pipeline:
    def __init__(self, settings: Settings, policy: Policy, store: Store,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.settings, self.policy, self.store, self.transport = settings, policy, store, transport

    #: Set (e.g. by SIGTERM in `schoolaudit serve`) to stop between accounts; the run is marked "interrupted".
    stop: threading.Event | None = None

    def run(self, accounts: list[Account], kind: str = "audit", show_progress: bool = True) -> RunSummary:
        """Crawl and audit `accounts`; the run and every account's outcome are recorded.

        Holds the run lock (one run at a time, `schoolaudit.lock`). When `stop` is set, the crawl is
        cancelled at its next wait: an account whose findings were being saved (which has no wait in
        it) is finished; one still being fetched or audited is left for the next run.
        """
        with RunLock(self.store, purpose=kind):
            self.store.sync_accounts(accounts)
            run_id = self.store.start_run(kind)
            summary = RunSummary(run_id)
            audit = auditing(self.policy, worker_count(self.settings.crawl.workers), len(accounts))
            try:
                stopped = asyncio.run(self._crawl_until_stopped(accounts, summary, audit, show_progress))
            except BaseException as exc:
                self._finish(summary, "interrupted", f"{type(exc).__name__}: {exc}")
                raise
            finally:
                audit.close()
                summary.disabled_auditors, summary.audit_cpu = dict(audit.disabled), dict(audit.cpu)
            self.store.resolve_removed_findings()
            if stopped:
                self._finish(summary, "interrupted", f"stopped after {len(summary.results)} of {len(accounts)} accounts")
            else:
                self._finish(summary, "finished")
            return summary

    async def _crawl_until_stopped(self, accounts: list[Account], summary: RunSummary, audit: Auditing,
                                   show_progress: bool) -> bool:
        """Run `_crawl_all`, cancelling it when `stop` is set; True when it was stopped."""
        if self.stop is not None and self.stop.is_set():
            return True
        task = asyncio.ensure_future(self._crawl_all(accounts, summary, audit, show_progress))
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            if self.stop is not None and self.stop.is_set() and not task.done():
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    return True
        task.result()
        return False

    def _finish(self, summary: RunSummary, status: str, detail: str = "") -> None:
        self.store.finish_run(
            summary.run_id, status, detail,
            accounts_ok=len(summary.results) - len(summary.failed), accounts_failed=len(summary.failed),
            posts_new=summary.total("posts_new"), posts_changed=summary.total("posts_changed"),
            findings_new=summary.total("findings_new"))

    async def _crawl_all(self, accounts: list[Account], summary: RunSummary, audit: Auditing,
                         show_progress: bool) -> None:
        limit = asyncio.Semaphore(self.settings.crawl.concurrency)
        async with HttpClient(self.settings.contact_url, cache=self.store, transport=self.transport,
                              settings=self.settings.client_settings()) as client:
            media = MediaFetcher(client, self.store, self.settings.media_dir,
                                 max_per_post=self.settings.crawl.max_images_per_post)
            with _progress(show_progress) as progress:
                task = progress.add_task("Crawling accounts", total=len(accounts))

                async def one(account: Account) -> None:
                    summary.results.append(await self._account(client, account, limit, media, audit, summary.run_id))
                    progress.advance(task)

                # gather makes the tasks in registry order, so accounts start in that order (deterministic numbers)
                await asyncio.gather(*(one(account) for account in accounts))

    async def _account(self, client: HttpClient, account: Account, limit: asyncio.Semaphore, media: MediaFetcher,
                       audit: Auditing, run_id: int) -> AccountResult:
        """Fetch, store, audit and record one account.

        The fetched posts are stored and let go before the account waits for its turn to be audited,
        so accounts crawled ahead of the auditors cost the store's disk, not memory.
        """
        stored = self._store(account, await self._fetch(client, account, limit, media), run_id)
        if stored.outcome != Outcome.OK.value:
            return stored
        async with audit.turn():
            posts = self.store.unaudited_posts(account.id)
            try:
                findings = await audit.audit(account, posts) if posts else []
            except BrokenProcessPool:
                detail = "an audit worker stopped (out of memory?); its posts are audited by the next run"
                self.store.record_check(run_id, account.id, Outcome.ERROR.value, detail)
                return AccountResult(account, Outcome.ERROR.value, detail)
        with self.store.transaction():  # the account's findings and its check, one commit
            stored.findings_new = len(self.store.save_audits(list(zip(posts, findings)), run_id))
            self.store.record_check(run_id, account.id, Outcome.OK.value, stored.detail, stored.posts_seen)
        return stored

    def _account_deadline(self) -> float:
        """Seconds one account's fetch may take: three requests' worth, plus the longest Retry-After we obey."""
        crawl = self.settings.crawl
        return crawl.timeout_seconds * 3 + crawl.max_retry_after_seconds

    async def _fetch(self, client: HttpClient, account: Account, limit: asyncio.Semaphore,
                     media: MediaFetcher) -> FetchResult | FetchError:
        """The account's posts with their images, or why they could not be had.

        Runs concurrently with the other accounts' fetches: the network part of an account
        (its source, then its images, both within the account's deadline) happens here.
        """
        async with limit:
            deadline = asyncio.get_running_loop().time() + self._account_deadline()
            try:
                async with asyncio.timeout_at(deadline):
                    result = await read_account(client, account, self.settings.crawl.posts_per_account)
            except FetchError as exc:
                return exc
            except TimeoutError:
                return FetchError(Outcome.TIMEOUT, f"{account.target}: the account took too long to fetch")
            except Exception as exc:  # a source's bug must not stop the other accounts
                log.exception("source %s failed on account %s", account.platform, account.id)
                return FetchError(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            if not result.not_modified:
                try:
                    await media.attach(result.posts, deadline)  # images left when time is up: a later run
                except Exception:  # the posts are kept whatever happens to their images
                    log.exception("images of account %s not stored", account.id)
            return result

    def _store(self, account: Account, result: FetchResult | FetchError, run_id: int) -> AccountResult:
        """Store one account's posts (or record why there are none); no awaits, so a stop never cuts it in half.

        A 304 (not modified) costs no parse and no save (only posts a killed run left unaudited are
        audited). ETag / Last-Modified are remembered only with the posts, in the same transaction,
        so a body that could not be parsed or stored is fetched in full again next run. Auditing
        happens after this commit, outside any transaction, so the database's write lock is never
        held while auditors think; a kill before the findings are saved leaves the posts unaudited,
        and the next run audits them.
        """
        if isinstance(result, FetchError):
            self.store.record_check(run_id, account.id, result.outcome.value, result.detail)
            return AccountResult(account, result.outcome.value, result.detail)
        new, changed = [], []
        detail = "not modified since the last crawl" if result.not_modified else ""
        with self.store.transaction():
            if not result.not_modified:
                new, changed = self.store.save_posts(account, result.posts, result.complete_window)
            for url, etag, last_modified in result.validators:
                self.store.remember_validators(url, etag, last_modified)
        return AccountResult(account, Outcome.OK.value, detail, len(result.posts), len(new), len(changed))


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True, disable=not (enabled and sys.stderr.isatty()))
