"""robots.txt: fetched once per host per run, cached, and obeyed for web pages, feeds and images.

Calls to a platform's API (Mastodon, Bluesky, the Graph API, X) are not robots-checked: those
sources ask `HttpClient.get(..., robots=False)`. Everything else (pages, feeds, the WordPress
API of a school's site, images a post links to) is checked.

Statuses follow RFC 9309: a 4xx robots.txt (none, or not readable by us) allows everything; a
5xx or 429 one means "unreachable" and disallows everything for the run; a timeout or connection
error ends the fetch with that outcome; redirects that loop or go on too long, or a body that
cannot be read, count as no robots.txt. The host's Crawl-delay becomes its minimum delay between
requests (see crawler.throttle). robots.txt is asked of the host being fetched, trusted as that
request is: where it redirects is checked like any URL the configuration did not name.
"""
from __future__ import annotations

import asyncio
from typing import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

from protego import Protego

from crawler.result import FetchError, HttpError, RedirectError
from records.model import Outcome

#: The product token robots.txt groups are matched against (`User-agent: schoolaudit`).
ROBOTS_AGENT = "schoolaudit"
MAX_ROBOTS_BYTES = 500 * 1024  # what RFC 9309 asks crawlers to read at least


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/robots.txt", "", ""))


class _Rules:
    """One host's robots.txt: a Protego parser, or allow-all / disallow-all with the reason."""

    def __init__(self, parser: Protego | None = None, allow_all: bool = True, reason: str = ""):
        self.parser, self.allow_all, self.reason = parser, allow_all, reason

    def allows(self, url: str) -> bool:
        if self.parser is not None:
            return self.parser.can_fetch(url, ROBOTS_AGENT)
        return self.allow_all

    def crawl_delay(self) -> float | None:
        return self.parser.crawl_delay(ROBOTS_AGENT) if self.parser is not None else None


# Fetches a robots.txt URL (trusted or not): returns (status, body) or raises FetchError.
RobotsFetcher = Callable[[str, bool], Awaitable[tuple[int, bytes]]]


class RobotsCache:
    def __init__(self, fetch: RobotsFetcher, on_crawl_delay: Callable[[str, float | None], None] | None = None):
        self._fetch = fetch
        self._on_crawl_delay = on_crawl_delay
        self._rules: dict[str, asyncio.Future] = {}

    async def check(self, url: str, trusted: bool = False) -> None:
        """Raise `blocked` when the host's robots.txt disallows `url` for schoolaudit.

        `trusted`: `url` was named by the configuration, and so is its host's robots.txt."""
        rules = await self.rules_for(url, trusted)
        if not rules.allows(url):
            detail = rules.reason or f"disallowed by robots.txt ({robots_url(url)})"
            raise FetchError(Outcome.BLOCKED, f"{url}: {detail}")

    async def rules_for(self, url: str, trusted: bool = False) -> _Rules:
        key = robots_url(url)
        future = self._rules.get(key)
        if future is None:  # first request to this host in this run: fetch, everyone else waits for it
            future = self._rules[key] = asyncio.get_running_loop().create_future()
            try:
                rules = await self._load(key, trusted)
            except FetchError as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: no "never retrieved" warning when nobody else waits
                raise
            future.set_result(rules)
            if self._on_crawl_delay:
                self._on_crawl_delay(url, rules.crawl_delay())
            return rules
        return await asyncio.shield(future)

    async def _load(self, url: str, trusted: bool) -> _Rules:
        try:
            status, body = await self._fetch(url, trusted)
        except HttpError as exc:
            status = exc.status  # a 429 / 5xx that retries did not cure
        except RedirectError:
            return _Rules()  # redirecting forever: no usable rules (RFC 9309: unavailable)
        except FetchError as exc:
            if exc.outcome == Outcome.MALFORMED:
                return _Rules()  # unreadable: no usable rules
            # a timeout, a connection error, a redirect to an internal address: the fetch ends so
            raise FetchError(exc.outcome, f"robots.txt: {exc.detail}", url) from None
        if status == 429 or status >= 500:
            return _Rules(allow_all=False, reason=f"robots.txt unreachable (HTTP {status}); crawling the host "
                                                  "is disallowed for this run (RFC 9309)")
        if status >= 400:
            return _Rules()  # none, or not for us to read: everything is allowed
        return _Rules(Protego.parse(body.decode("utf-8", errors="replace")))
