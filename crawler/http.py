"""One polite HTTP client for every source.

It names schoolaudit and the board's contact URL in its User-Agent, caps body sizes, follows a
bounded number of redirects, sends conditional requests (ETag / Last-Modified remembered per URL)
and turns HTTP failures into `FetchError`s whose outcome says why the fetch failed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx

from crawler.models import FetchError, Outcome

DEFAULT_MAX_BYTES = 5 * 1024 * 1024
DEFAULT_TIMEOUT = 20.0
MAX_REDIRECTS = 5


class ValidatorCache(Protocol):
    """Where the client remembers ETag / Last-Modified per URL (the store implements it)."""

    def validators(self, url: str) -> dict | None: ...

    def remember_validators(self, url: str, etag: str | None, last_modified: str | None) -> None: ...


@dataclass
class Fetched:
    url: str  # final URL after redirects
    status: int
    headers: httpx.Headers
    content: bytes
    not_modified: bool = False

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    def text(self) -> str:
        return self.content.decode(self._charset() or "utf-8", errors="replace")

    def _charset(self) -> str | None:
        for part in self.headers.get("content-type", "").split(";")[1:]:
            name, _, value = part.partition("=")
            if name.strip().lower() == "charset":
                return value.strip().strip('"') or None
        return None


def user_agent(contact_url: str) -> str:
    return f"schoolaudit/0.1 (+{contact_url})"


class HttpClient:
    def __init__(
        self,
        contact_url: str,
        cache: ValidatorCache | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        self.cache = cache
        self.max_bytes = max_bytes
        self._client = httpx.AsyncClient(
            headers={"User-Agent": user_agent(contact_url)},
            timeout=timeout,
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            transport=transport,
        )

    async def __aenter__(self) -> "HttpClient":
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def get(self, url: str, *, conditional: bool = True, headers: dict | None = None,
                  max_bytes: int | None = None) -> Fetched:
        """GET `url`; raise FetchError with the reason when it cannot be had."""
        request_headers = dict(headers or {})
        if conditional and self.cache:
            request_headers.update(_conditional_headers(self.cache.validators(url)))
        limit = max_bytes or self.max_bytes
        try:
            async with self._client.stream("GET", url, headers=request_headers) as response:
                if response.status_code == 304:
                    return Fetched(str(response.url), 304, response.headers, b"", not_modified=True)
                _raise_for_status(response)
                content = await _read_limited(response, limit)
        except httpx.TimeoutException as exc:
            raise FetchError(Outcome.TIMEOUT, f"{url}: no answer in time ({type(exc).__name__})") from exc
        except httpx.TooManyRedirects as exc:
            raise FetchError(Outcome.ERROR, f"{url}: more than {MAX_REDIRECTS} redirects") from exc
        except httpx.DecodingError as exc:
            raise FetchError(Outcome.MALFORMED, f"{url}: body could not be decoded ({exc})") from exc
        except httpx.TransportError as exc:
            raise FetchError(Outcome.ERROR, f"{url}: {type(exc).__name__}: {exc}") from exc
        if conditional and self.cache:
            self.cache.remember_validators(url, response.headers.get("etag"),
                                           response.headers.get("last-modified"))
        return Fetched(str(response.url), response.status_code, response.headers, content)


def _conditional_headers(validators: dict | None) -> dict:
    headers = {}
    if validators and validators.get("etag"):
        headers["If-None-Match"] = validators["etag"]
    if validators and validators.get("last_modified"):
        headers["If-Modified-Since"] = validators["last_modified"]
    return headers


def _raise_for_status(response: httpx.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    where = str(response.url)
    if status in (404, 410):
        raise FetchError(Outcome.NOT_FOUND, f"{where}: HTTP {status}")
    if status == 401:
        raise FetchError(Outcome.LOGIN_WALL, f"{where}: HTTP 401, the server asks for a login")
    if status == 403:
        raise FetchError(Outcome.BLOCKED, f"{where}: HTTP 403, access refused")
    if status == 429:
        retry = response.headers.get("retry-after")
        raise FetchError(Outcome.RATE_LIMITED, f"{where}: HTTP 429" + (f", retry after {retry}" if retry else ""))
    raise FetchError(Outcome.ERROR, f"{where}: HTTP {status}")


async def _read_limited(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise FetchError(Outcome.MALFORMED, f"{response.url}: body of {declared} bytes exceeds the {limit}-byte limit")
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            raise FetchError(Outcome.MALFORMED, f"{response.url}: body exceeds the {limit}-byte limit")
        chunks.append(chunk)
    return b"".join(chunks)
