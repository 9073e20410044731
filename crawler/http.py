"""One polite HTTP client for every source.

Each concern lives in a module of its own, the way scrapy splits its downloader middlewares:

- crawler.robots: robots.txt fetched once per host per run and obeyed (web pages, feeds, images;
  not platform APIs); its Crawl-delay becomes the host's minimum delay;
- crawler.throttle: at most N requests at once to one host, a minimum delay between them;
- crawler.retry: retries with exponential backoff and jitter on connection errors, 5xx and 429,
  `Retry-After` obeyed up to a cap (beyond it the fetch is `rate_limited`);
- crawler.sniff: what a body really is (an HTML page where a feed was expected, a bot-protection
  challenge, a login form);
- crawler.addresses: URLs checked for shape; no request to an internal address from any URL the
  board's configuration did not name (redirect hops, next pages, links found in pages, images),
  and the connection pinned to the address that was checked.

The client itself names schoolaudit and the board's contact URL in its User-Agent, follows at
most `MAX_REDIRECTS` redirects (a loop is recognised), bounds each request in time (connect to
last byte), decompresses gzip / deflate itself so that the size limit applies to the
decompressed bytes and reading stops as soon as it is passed (gzip bombs), sends conditional
requests (ETag / Last-Modified per URL) and turns every failure into a `FetchError` whose outcome
says why (an `HttpError` with its status for an HTTP error answer). A body shorter than its
Content-Length or a gzip / deflate stream that ends early is `malformed`, never a short success.

The client only reads validators; a 200 answer's come back in `Fetched.validators` and the
caller remembers them once the body was parsed and stored: a malformed body is fetched again
next run rather than answered by a 304 forever.
"""
from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

import httpx

from crawler import sniff
from crawler.addresses import PinnedBackend, check_url, pinned_transport, resolve_public
from crawler.limits import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, ClientSettings  # noqa: F401 (ClientSettings: importers)
from crawler.result import FetchError, HttpError, RedirectError
from records.model import Outcome
from crawler.retry import RetryPolicy, parse_retry_after, retryable_status
from crawler.robots import MAX_ROBOTS_BYTES, RobotsCache
from crawler.throttle import HostThrottle

MAX_REDIRECTS = 5
REDIRECT_STATUSES = (301, 302, 303, 307, 308)
ERROR_BODY_BYTES = 256 * 1024  # read of an error page, to recognise a challenge

class ValidatorCache(Protocol):
    """Where the client reads ETag / Last-Modified per URL (the store implements it)."""

    def validators(self, url: str) -> dict | None: ...


@dataclass
class Fetched:
    url: str  # final URL after redirects
    status: int
    headers: httpx.Headers
    content: bytes
    not_modified: bool = False
    requested: str = ""  # the URL asked for, which validators are kept under

    @property
    def validators(self) -> tuple[str, str | None, str | None]:
        """(requested URL, ETag, Last-Modified): what to remember once this body is stored."""
        return self.requested or self.url, self.headers.get("etag"), self.headers.get("last-modified")

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        """The body decoded with the header's charset; UTF-8 when it names none, or one no codec has."""
        charset = sniff.charset_of(self.headers.get("content-type", ""))
        return self.content.decode(sniff.codec(charset) or "utf-8", errors="replace")


def user_agent(contact_url: str) -> str:
    return f"schoolaudit/0.1 (+{contact_url})"


class _Retry(Exception):
    """One attempt failed in a way worth another try after `wait` seconds."""

    def __init__(self, wait: float | None, error: FetchError):
        self.wait, self.error = wait, error


class HttpClient:
    def __init__(
        self,
        contact_url: str,
        cache: ValidatorCache | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
        settings: ClientSettings | None = None,
    ):
        settings = settings or ClientSettings(timeout=timeout, max_bytes=max_bytes)
        self.settings = settings
        self.cache = cache
        self.timeout = settings.timeout
        self.max_bytes = settings.max_bytes
        self.retry = RetryPolicy(retries=max(0, settings.retries), backoff=settings.backoff,
                                 max_retry_after=settings.max_retry_after)
        self.throttle = HostThrottle(settings.per_host_concurrency, settings.per_host_delay)
        self.robots = RobotsCache(self._fetch_robots, self.throttle.set_crawl_delay) if settings.obey_robots else None
        self.bytes_received = 0  # body bytes as sent on the wire (before decompression), for benchmarks
        self.requests_sent = 0
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=100)
        self._addresses = PinnedBackend()
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent(contact_url), "Accept-Encoding": "gzip, deflate"},
            timeout=settings.timeout,
            follow_redirects=False,  # followed here, so that every hop is checked and throttled
            transport=transport or pinned_transport(self._addresses, limits),
            limits=limits,
        )

    async def __aenter__(self) -> "HttpClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, trusted: bool = False, conditional: bool = True, headers: dict | None = None,
                  max_bytes: int | None = None, robots: bool = True, expect: str | None = None) -> Fetched:
        """GET `url`; raise FetchError with the reason when it cannot be had.

        `trusted`: the URL comes from the board's configuration (an account's target, its API
        base): its first request may go to any address. Every other URL, and every redirect hop,
        must resolve to public addresses unless `allow_private_addresses` is set.
        `robots`: check robots.txt (not for a platform's API).
        `expect`: 'feed' or 'image': a body that sniffs as an HTML page is refused as such.
        """
        request_headers = dict(headers or {})  # `url` is checked with each hop, the first one included
        if conditional and self.cache:
            request_headers.update(_conditional_headers(self.cache.validators(url)))
        response, content, final = await self._request(url, request_headers, max_bytes or self.max_bytes,
                                                       check_robots=robots and self.robots is not None,
                                                       trusted=trusted)
        if response.status_code == 304:
            return Fetched(final, 304, response.headers, b"", not_modified=True, requested=url)
        _raise_for_status(final, response, content)
        _check_body(final, response.headers, content, expect)
        return Fetched(final, response.status_code, response.headers, content, requested=url)

    # -- redirects, robots, SSRF -------------------------------------------------------------

    async def _request(self, url: str, headers: dict, limit: int, *, check_robots: bool,
                       trusted: bool) -> tuple[httpx.Response, bytes, str]:
        """Follow redirects by hand; each hop is checked (shape, addresses, robots), throttled and retried.

        Returns the last response, its body and its URL."""
        current, seen = url, {url}
        for hop in range(MAX_REDIRECTS + 1):
            hop_trusted = trusted and hop == 0  # the configuration names the first hop only
            check_url(current)
            if not hop_trusted and not self.settings.allow_private_addresses:
                self._addresses.pin(urlsplit(current).hostname, await resolve_public(current))
            if check_robots:
                await self.robots.check(current, hop_trusted)
            response, content = await self._send(current, headers, limit)
            location = response.headers.get("location")
            if response.status_code not in REDIRECT_STATUSES or not location:
                return response, content, current
            following = urljoin(current, location.strip())
            if urlsplit(following).scheme not in ("http", "https"):
                raise FetchError(Outcome.ERROR, f"{url}: redirected to a non-HTTP URL {following}", url)
            if urlsplit(following).netloc != urlsplit(current).netloc:
                headers = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "cookie")}
            if following in seen:
                raise RedirectError(f"{url}: redirect loop ({current} -> {following})", url)
            seen.add(following)
            current = following
        raise RedirectError(f"{url}: more than {MAX_REDIRECTS} redirects", url)

    async def _fetch_robots(self, url: str, trusted: bool) -> tuple[int, bytes]:
        response, content, _ = await self._request(url, {}, MAX_ROBOTS_BYTES, check_robots=False, trusted=trusted)
        return response.status_code, content

    # -- one hop: throttle, time limit, retries ----------------------------------------------

    async def _send(self, url: str, headers: dict, limit: int) -> tuple[httpx.Response, bytes]:
        attempt = 0
        while True:
            try:
                async with self.throttle.slot(url):
                    return await self._attempt(url, headers, limit)
            except _Retry as retry:
                if attempt >= self.retry.retries:
                    raise retry.error from None
                wait = retry.wait if retry.wait is not None else self.retry.backoff_delay(attempt)
                if retry.wait is not None:
                    self.throttle.pause(url, wait)  # the whole host asked for a pause, not just this URL
                attempt += 1
                await asyncio.sleep(wait)

    async def _attempt(self, url: str, headers: dict, limit: int) -> tuple[httpx.Response, bytes]:
        self.requests_sent += 1
        try:
            async with asyncio.timeout(self.timeout):
                async with self._client.stream("GET", url, headers=headers) as response:
                    status = response.status_code
                    if retryable_status(status):
                        body = await self._read(response, ERROR_BODY_BYTES, truncate=True)
                        self._retry_or_fail(url, response, body)
                    if status >= 400:
                        return response, await self._read(response, ERROR_BODY_BYTES, truncate=True)
                    if status == 304 or status in REDIRECT_STATUSES:
                        # read to its end (a 304 has no body) so that the connection is kept for the next request
                        await self._read(response, ERROR_BODY_BYTES, truncate=True)
                        return response, b""
                    return response, await self._read(response, limit)
        except (TimeoutError, httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout) as exc:
            raise FetchError(Outcome.TIMEOUT, f"{url}: no complete answer within {self.timeout:g} s", url) from exc
        except httpx.ConnectTimeout as exc:
            raise _Retry(None, FetchError(Outcome.TIMEOUT, f"{url}: could not connect within {self.timeout:g} s",
                                          url)) from exc
        except (httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError) as exc:
            if "complete message body" in str(exc) or "incomplete chunked" in str(exc).lower():
                error = FetchError(Outcome.MALFORMED, f"{url}: body truncated: {exc}", url)
            else:
                error = FetchError(Outcome.ERROR, f"{url}: {type(exc).__name__}: {exc}", url)
            raise _Retry(None, error) from exc
        except httpx.TransportError as exc:
            raise FetchError(Outcome.ERROR, f"{url}: {type(exc).__name__}: {exc}", url) from exc
        except httpx.InvalidURL as exc:
            raise FetchError(Outcome.MALFORMED, f"{url}: invalid URL ({exc})", url) from exc

    def _retry_or_fail(self, url: str, response: httpx.Response, body: bytes) -> None:
        """A 429 / 5xx: raise _Retry (with the Retry-After wait, if any) or the final FetchError."""
        status = response.status_code
        challenge = _challenge(url, response, body)
        if challenge:
            raise challenge  # a bot-protection page answers the same however often it is asked
        wait = parse_retry_after(response.headers.get("retry-after"))
        error = _status_error(url, response)
        if wait is not None and wait > self.retry.max_retry_after:
            raise HttpError(Outcome.RATE_LIMITED, f"{url}: HTTP {status}, asked to retry after {wait:.0f} s "
                                                  f"(more than the {self.retry.max_retry_after:g} s we wait); "
                                                  "left for the next run", url, status)
        raise _Retry(wait, error)

    async def _read(self, response: httpx.Response, limit: int, truncate: bool = False) -> bytes:
        """The decompressed body, refused (or, for error pages, cut) as soon as it passes `limit` bytes."""
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity")
        url = str(response.url)
        if not truncate and declared.isdigit() and int(declared) > limit and encoding.lower() in ("", "identity"):
            raise FetchError(Outcome.MALFORMED, f"{url}: body of {declared} bytes exceeds the {limit}-byte limit", url)
        decoder = _Decoder(encoding, url)
        chunks, size, received = [], 0, 0
        async for raw in response.aiter_raw():
            self.bytes_received += len(raw)
            received += len(raw)
            chunk = decoder.decode(raw, limit - size)
            size += len(chunk)
            if size > limit:
                if truncate:
                    chunks.append(chunk)
                    break
                raise FetchError(Outcome.MALFORMED, f"{url}: body exceeds the {limit}-byte limit"
                                                    + (f" once decompressed ({encoding})" if decoder.compressed else ""),
                                 url)
            chunks.append(chunk)
        if truncate:
            return b"".join(chunks)[:limit]
        if declared.isdigit() and received < int(declared):
            raise FetchError(Outcome.MALFORMED, f"{url}: body truncated: {received} of the {declared} bytes "
                                                "its Content-Length announced", url)
        decoder.finish()
        return b"".join(chunks)


class _Decoder:
    """gzip / deflate decompression that never produces more than it is allowed to (gzip bombs)."""

    def __init__(self, encoding: str, url: str):
        self.url = url
        self.encoding = encoding.strip().lower()
        if self.encoding in ("", "identity"):
            self.compressed = False
        elif self.encoding in ("gzip", "x-gzip", "deflate"):
            self.compressed = True
        else:
            raise FetchError(Outcome.MALFORMED, f"{url}: unsupported Content-Encoding {encoding!r}", url)
        self._zlib = None
        self._started = False

    def _new(self, data: bytes):
        if self.encoding == "deflate":  # zlib-wrapped, as the RFC says, or raw, as some servers send
            return zlib.decompressobj(zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS)
        return zlib.decompressobj(16 + zlib.MAX_WBITS)

    def decode(self, data: bytes, room: int) -> bytes:
        """Decompress `data`, returning at most room + 1 bytes (more than `room` means over the limit)."""
        if self.compressed and not self._started and data:
            self._started = True
            if self.encoding != "deflate" and not data.startswith(b"\x1f\x8b"[:len(data)]):
                self.compressed = False  # labelled gzip but sent plain, as some servers do: read it as it is
        if not self.compressed:
            return data
        out = b""
        try:
            while data and len(out) <= room:
                if self._zlib is None:
                    self._zlib = self._new(data)
                out += self._zlib.decompress(data, max(1, room + 1 - len(out)))
                if self._zlib.unconsumed_tail:
                    if len(out) > room:
                        break
                    data = self._zlib.unconsumed_tail
                    continue
                if self._zlib.eof:  # another gzip member may follow
                    data, self._zlib = self._zlib.unused_data, None
                    if data.strip(b"\x00") == b"":
                        break
                    continue
                break
        except zlib.error as exc:
            raise FetchError(Outcome.MALFORMED, f"{self.url}: body could not be decompressed ({exc})", self.url) from exc
        return out

    def finish(self) -> None:
        """Raise `malformed` when the compressed stream stopped before its end (a truncated body)."""
        if self._zlib is not None and not self._zlib.eof:  # a member began and never ended
            raise FetchError(Outcome.MALFORMED, f"{self.url}: body truncated: the {self.encoding} stream "
                                                "ends before its end marker", self.url)


def _conditional_headers(validators: dict | None) -> dict:
    headers = {}
    if validators and validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators and validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def _challenge(url: str, response: httpx.Response, body: bytes) -> FetchError | None:
    if body and sniff.kind(body, response.headers.get("content-type", "")) == "html":
        found = sniff.barrier(body, url)
        if found and found.outcome == Outcome.BLOCKED:
            return found
    return None


def _status_error(url: str, response: httpx.Response) -> HttpError:
    status = response.status_code
    if status in (404, 410):
        return HttpError(Outcome.NOT_FOUND, f"{url}: HTTP {status}", url, status)
    if status == 401:
        return HttpError(Outcome.LOGIN_WALL, f"{url}: HTTP 401, the server asks for a login", url, status)
    if status == 403:
        return HttpError(Outcome.BLOCKED, f"{url}: HTTP 403, access refused", url, status)
    if status == 429:
        retry = response.headers.get("retry-after")
        return HttpError(Outcome.RATE_LIMITED, f"{url}: HTTP 429" + (f", retry after {retry}" if retry else ""),
                         url, status)
    return HttpError(Outcome.ERROR, f"{url}: HTTP {status}", url, status)


def _raise_for_status(url: str, response: httpx.Response, body: bytes = b"") -> None:
    if response.status_code < 400:
        return
    raise _challenge(url, response, body) or _status_error(url, response)


def _check_body(url: str, headers: httpx.Headers, content: bytes, expect: str | None) -> None:
    """Refuse a challenge page, a login form, or an HTML page where a feed or an image was expected."""
    content_type = headers.get("content-type", "")
    if sniff.kind(content, content_type) != "html":
        return
    found = sniff.barrier(content, url)
    if found:
        raise found
    if expect in ("feed", "image"):
        raise FetchError(Outcome.MALFORMED, f"{url}: expected {'a feed' if expect == 'feed' else 'an image'} "
                                            f"but the server sent an HTML page ({content_type or 'no Content-Type'})",
                         url)
