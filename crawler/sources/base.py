"""The source contract: one module per platform, each a `Source` subclass.

A source turns an account's target (feed URL, handle, page name) into `Post`s. It talks to the
network only through the shared `HttpClient`, raises `FetchError` with an `Outcome` when the
account cannot be read, and never crashes on malformed data: bad items are skipped and counted.
A source whose platform needs a token reads it from the environment variable `token_env`
(through crawler.secrets, which strips it and keeps it out of every message); when it is missing,
`Source.check_ready` says so once, as an `auth_missing` outcome.

URLs built from the account's target or the configured API base are passed to the client as
`trusted`; URLs a server named (next pages, links found in a page) are not.

Parsing is a function of bytes: `Source.parse(body, account_id, url, headers)` reads one response
of the platform (a feed, a page, one page of an API answer) without the network, the same way
`fetch` reads what it downloads, so conformance tests feed every source its fixtures alike.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar
from urllib.parse import urljoin

import httpx

from crawler import secrets
from crawler.http import HttpClient
from crawler.result import FetchError, FetchResult
from records.model import Account, Outcome, Post


class Source:
    platform: ClassVar[str]
    token_env: ClassVar[str | None] = None
    default_api_base: ClassVar[str | None] = None

    def __init__(self, client: HttpClient, api_base: str | None = None):
        self.client = client
        self.api_base = (api_base or self.default_api_base or "").rstrip("/")

    @classmethod
    def token(cls) -> str | None:
        return secrets.token(cls.token_env) if cls.token_env else None

    @classmethod
    def check_ready(cls) -> None:
        """Raise `auth_missing` when this platform needs a token that the environment lacks."""
        if cls.token_env and not cls.token():
            raise FetchError(Outcome.AUTH_MISSING,
                             f"{cls.platform}: set the environment variable {cls.token_env} to read this platform")

    def base_url(self, account: Account) -> str:
        """The API base for `account`: its own `api_base`, else the source's (configured or default)."""
        return (account.api_base or self.api_base or "").rstrip("/")

    async def fetch(self, account: Account, limit: int = 50) -> FetchResult:
        raise NotImplementedError

    @classmethod
    def parse(cls, body: bytes, account_id: str, url: str, headers: Mapping[str, str] | None = None) -> list[Post]:
        """The posts of one response of this platform: `body` as received from `url` with `headers`
        (Content-Type with its charset, Content-Location). Raises `malformed` when it cannot be read."""
        raise NotImplementedError


def response_headers(headers: Mapping[str, str] | None) -> httpx.Headers:
    """Headers looked up without regard to case, whatever mapping they came in."""
    return headers if isinstance(headers, httpx.Headers) else httpx.Headers(dict(headers or {}))


def document_base(url: str, headers: Mapping[str, str] | None) -> str:
    """The URL relative links of a body are resolved against: its Content-Location, else its URL."""
    location = response_headers(headers).get("content-location", "").strip()
    if not location:
        return url
    try:
        return urljoin(url, location)
    except ValueError:
        return url
