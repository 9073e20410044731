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
from dataclasses import dataclass, field

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from auditors.base import AuditContext, Policy
from auditors.registry import audit_post, load_auditors
from crawler.http import HttpClient
from crawler.media import MediaFetcher
from crawler.result import FetchError, FetchResult
from crawler.sources import read_account
from records.model import Account, Finding, Outcome, Post
from records.store import Store
from schoolaudit.config import Settings
from schoolaudit.lock import RunLock

log = logging.getLogger(__name__)



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

    def total(self, attribute: str) -> int:
        return sum(getattr(r, attribute) for r in self.results)

    @property
    def failed(self) -> list[AccountResult]:
        return [r for r in self.results if r.outcome != Outcome.OK.value]


class Pipeline:
    def __init__(self, settings: Settings, policy: Policy, store: Store,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.settings, self.policy, self.store, self.transport = settings, policy, store, transport
        self.auditors, self.disabled = load_auditors(policy)

    #: Set (e.g. by SIGTERM in `schoolaudit serve`) to stop between accounts; the run is marked "interrupted".
    stop: threading.Event | None = None

    def run(self, accounts: list[Account], kind: str = "audit", show_progress: bool = True) -> RunSummary:
        """Crawl and audit `accounts`; the run and every account's outcome are recorded.

        Holds the run lock (one run at a time, `schoolaudit.lock`). When `stop` is set, the crawl is
        cancelled at its next wait: an account whose posts were being saved and audited (which has
        no wait in it) is finished, the others are left for the next run.
        """
        with RunLock(self.store, purpose=kind):
            self.store.sync_accounts(accounts)
            run_id = self.store.start_run(kind)
            summary = RunSummary(run_id, disabled_auditors=dict(self.disabled))
            try:
                stopped = asyncio.run(self._crawl_until_stopped(accounts, summary, show_progress))
            except BaseException as exc:
                self._finish(summary, "interrupted", f"{type(exc).__name__}: {exc}")
                raise
            self.store.resolve_removed_findings()
            if stopped:
                self._finish(summary, "interrupted", f"stopped after {len(summary.results)} of {len(accounts)} accounts")
            else:
                self._finish(summary, "finished")
            return summary

    async def _crawl_until_stopped(self, accounts: list[Account], summary: RunSummary, show_progress: bool) -> bool:
        """Run `_crawl_all`, cancelling it when `stop` is set; True when it was stopped."""
        if self.stop is not None and self.stop.is_set():
            return True
        task = asyncio.ensure_future(self._crawl_all(accounts, summary, show_progress))
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

    async def _crawl_all(self, accounts: list[Account], summary: RunSummary, show_progress: bool) -> None:
        limit = asyncio.Semaphore(self.settings.crawl.concurrency)
        async with HttpClient(self.settings.contact_url, cache=self.store, transport=self.transport,
                              settings=self.settings.client_settings()) as client:
            media = MediaFetcher(client, self.store, self.settings.media_dir,
                                 max_per_post=self.settings.crawl.max_images_per_post)
            with _progress(show_progress) as progress:
                task = progress.add_task("Crawling accounts", total=len(accounts))
                # Tasks made here start in registry order (as_completed would start bare coroutines in set order).
                jobs = [asyncio.ensure_future(self._fetch(client, account, limit, media)) for account in accounts]
                for job in asyncio.as_completed(jobs):
                    account, result = await job
                    summary.results.append(self._process(account, result, summary.run_id))
                    progress.advance(task)

    def _account_deadline(self) -> float:
        """Seconds one account's fetch may take: three requests' worth, plus the longest Retry-After we obey."""
        crawl = self.settings.crawl
        return crawl.timeout_seconds * 3 + crawl.max_retry_after_seconds

    async def _fetch(self, client: HttpClient, account: Account, limit: asyncio.Semaphore, media: MediaFetcher):
        """(account, FetchResult or FetchError).

        Runs concurrently with the other accounts' fetches: the network part of an account
        (its source, then its images, both within the account's deadline) happens here;
        `_process` only writes the store.
        """
        async with limit:
            deadline = asyncio.get_running_loop().time() + self._account_deadline()
            try:
                async with asyncio.timeout_at(deadline):
                    result = await read_account(client, account, self.settings.crawl.posts_per_account)
            except FetchError as exc:
                return account, exc
            except TimeoutError:
                return account, FetchError(Outcome.TIMEOUT, f"{account.target}: the account took too long to fetch")
            except Exception as exc:  # a source's bug must not stop the other accounts
                log.exception("source %s failed on account %s", account.platform, account.id)
                return account, FetchError(Outcome.ERROR, f"{type(exc).__name__}: {exc}")
            if not result.not_modified:
                try:
                    await media.attach(result.posts, deadline)  # images left when time is up: a later run
                except Exception:  # the posts are kept whatever happens to their images
                    log.exception("images of account %s not stored", account.id)
            return account, result

    def _process(self, account: Account, result: FetchResult | FetchError, run_id: int) -> AccountResult:
        """Store one account's result and audit what is new; no awaits, so a stop never cuts it in half.

        A 304 (not modified) costs no parse, no save and no re-audit (only posts a killed run left
        unaudited are audited). ETag / Last-Modified are remembered only with the posts, in the same
        transaction, so a body that could not be parsed or stored is fetched in full again next run.
        Auditing happens between the two writes, outside any transaction, so the database's write
        lock is never held while auditors think; a kill in between leaves the posts unaudited, and
        the next run audits them.
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
        audited = self.audit_pending(account)
        with self.store.transaction():  # the account's findings and its check, one commit
            findings_new = sum(len(self.store.save_findings(post, findings, run_id)) for post, findings in audited)
            self.store.record_check(run_id, account.id, Outcome.OK.value, detail, len(result.posts))
        return AccountResult(account, Outcome.OK.value, detail, len(result.posts), len(new), len(changed), findings_new)

    def audit_pending(self, account: Account) -> list[tuple[Post, list[Finding]]]:
        """Every post of `account` whose current content has not been audited, with its findings."""
        context = AuditContext(self.policy, account)
        return [(post, audit_post(post, context, self.auditors)) for post in self.store.unaudited_posts(account.id)]


def _progress(enabled: bool) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    transient=True, disable=not (enabled and sys.stderr.isatty()))
