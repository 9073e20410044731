"""Per-host politeness: at most `concurrency` requests at once to one host, `delay` seconds apart.

A host is the URL's scheme, host name and port. The delay between the starts of two requests to
one host is the larger of the configured delay and the Crawl-delay the host's robots.txt asks
for. Loopback hosts (127.0.0.0/8, ::1, localhost: the demo, tests and benchmarks run there) get no
configured delay, only their own Crawl-delay: the delay protects other people's servers. A host
that answered 429 / 503 with Retry-After is `pause`d: no request starts there until then.
"""
from __future__ import annotations

import asyncio
import ipaddress
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit


def host_key(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme, 0)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"


def is_loopback_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class _Host:
    slots: asyncio.Semaphore
    delay: float
    crawl_delay: float = 0.0
    next_start: float = 0.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class HostThrottle:
    def __init__(self, concurrency: int = 2, delay: float = 0.5, max_crawl_delay: float = 30.0):
        self.concurrency = max(1, int(concurrency))
        self.delay = max(0.0, float(delay))
        self.max_crawl_delay = max_crawl_delay
        self._hosts: dict[str, _Host] = {}

    def _host(self, url: str) -> _Host:
        key = host_key(url)
        if key not in self._hosts:
            delay = 0.0 if is_loopback_host(url) else self.delay
            self._hosts[key] = _Host(asyncio.Semaphore(self.concurrency), delay)
        return self._hosts[key]

    def set_crawl_delay(self, url: str, seconds: float | None) -> None:
        """The Crawl-delay of the host's robots.txt (capped at `max_crawl_delay`)."""
        if seconds:
            self._host(url).crawl_delay = min(float(seconds), self.max_crawl_delay)

    def min_interval(self, url: str) -> float:
        host = self._host(url)
        return max(host.delay, host.crawl_delay)

    def pause(self, url: str, seconds: float) -> None:
        """No request to this host starts in the next `seconds` (a Retry-After)."""
        host = self._host(url)
        host.next_start = max(host.next_start, time.monotonic() + seconds)

    @asynccontextmanager
    async def slot(self, url: str):
        """Hold one of the host's request slots, started no sooner than its delay allows."""
        host = self._host(url)
        async with host.slots:
            async with host.lock:  # starts are spaced one after another
                wait = host.next_start - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                host.next_start = time.monotonic() + max(host.delay, host.crawl_delay)
            yield
